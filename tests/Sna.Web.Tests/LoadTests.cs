using System.Diagnostics;
using System.Net.Http.Json;
using Xunit.Abstractions;

namespace Sna.Web.Tests;

public sealed class LoadTests(ITestOutputHelper output)
{
    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task Baseline_20Clients_x_50Requests_NoErrors_BoundedLatency()
    {
        const int clients = 20, perClient = 50;
        await using var s = await WebServer.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients }) { BaseAddress = s.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var body = new { model = WebServer.TinyId, prompt = "Q: What is 7 + 5? A:", target = " 12" };
        (await http.PostAsJsonAsync("/api/baseline", body)).EnsureSuccessStatusCode();   // load the model once

        var latencies = new double[clients * perClient];
        int errors = 0;
        var statuses = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            for (int i = 0; i < perClient; i++)
            {
                var sw = Stopwatch.StartNew();
                try
                {
                    using var r = await http.PostAsJsonAsync("/api/baseline", new { body.model, prompt = $"Q: What is {c} + {i}? A:", body.target }, cts.Token);
                    await r.Content.ReadAsByteArrayAsync(cts.Token);
                    if (!r.IsSuccessStatusCode) { Interlocked.Increment(ref errors); statuses.Add(((int)r.StatusCode).ToString()); }
                }
                catch (Exception e) { Interlocked.Increment(ref errors); statuses.Add(e.GetType().Name); }
                latencies[c * perClient + i] = sw.Elapsed.TotalMilliseconds;
            }
        })));
        wall.Stop();
        Array.Sort(latencies);
        double P(double q) => latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(q * latencies.Length) - 1)];
        output.WriteLine($"load: {clients} clients x {perClient} baseline requests on {WebServer.TinyId}, {Environment.ProcessorCount} cores: " +
                         $"{latencies.Length} requests in {wall.Elapsed.TotalSeconds:F1} s ({latencies.Length / wall.Elapsed.TotalSeconds:F0} req/s), " +
                         $"p50 {P(0.50):F1} ms, p90 {P(0.90):F1} ms, p99 {P(0.99):F1} ms, max {latencies[^1]:F1} ms, errors {errors}" +
                         (errors > 0 ? $" ({string.Join(',', statuses.Distinct())})" : ""));
        Assert.Equal(0, errors);
        Assert.True(P(0.99) < 5000, $"p99 {P(0.99):F0} ms is over the 5 s bound");
    }
}
