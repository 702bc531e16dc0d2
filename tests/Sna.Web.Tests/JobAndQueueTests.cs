using System.Text.Json.Nodes;

namespace Sna.Web.Tests;

public sealed class JobAndQueueTests
{
    private const string Prompt = "Q: What is 7 + 5? A:";

    private static async Task<JsonNode> WaitFor(WebServer s, string id, Func<JsonNode, bool> until, int seconds = 60)
    {
        var end = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var (status, body, _) = await s.SendAsync(HttpMethod.Get, $"/api/heatmap/{id}");
            Assert.Equal(200, status);
            if (until(body!)) return body!;
            if (DateTime.UtcNow > end) throw new TimeoutException($"job {id}: {body!.ToJsonString()}");
            await Task.Delay(50);
        }
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task Heatmap_Completes_AndItsCellsEqualSingleAmplifications()
    {
        await using var s = await WebServer.StartAsync();
        var (status, body, _) = await s.PostAsync("/api/heatmap", new { model = WebServer.TinyId, prompt = Prompt, target = " 12", multipliers = new[] { 0.5, 2.0, 5.0 }, count = 4 });
        Assert.Equal(202, status);
        string id = (string)body!["id"]!;
        Assert.Equal(9, (int)body["total"]!);   // 3 layers × 3 multipliers
        var done = await WaitFor(s, id, b => (string?)b["state"] is "completed" or "failed" or "cancelled");
        Assert.Equal("completed", (string?)done["state"]);
        var cells = done["cells"]!.AsArray();
        Assert.Equal(9, cells.Count);
        // Each cell is the amplify endpoint's number for that layer's neurons and multiplier.
        var cell = cells.First(c => (int)c!["layer"]! == 1 && (double)c["multiplier"]! == 5.0)!;
        var neurons = done["neuronsByLayer"]!["1"]!.AsArray().Select(n => (int)n!).ToArray();
        Assert.Equal(4, neurons.Length);
        var a = await s.PostAsync("/api/amplify", new { model = WebServer.TinyId, prompt = Prompt, target = " 12", layer = 1, neurons, multiplier = 5.0, generate = 0 });
        // The heat map runs the sweep evaluator (prefix cache + rank-k delta), /api/amplify a hooked forward: equal within
        // float rounding (1e-5 in log-probability, the engine's equivalence tolerance), not bit for bit.
        double want = (double)a.Body!["amplified"]!["probability"]!, got = (double)cell["probability"]!;
        Assert.True(Math.Abs(Math.Log(want) - Math.Log(got)) <= 1e-5, $"heat-map cell P {got} vs amplify P {want}");
        Assert.Equal((double)a.Body["baseline"]!["probability"]!, (double)done["baselineProbability"]!);
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task Heatmap_ReportsProgress_AndIsCancellable()
    {
        await using var s = await WebServer.StartAsync(o => o with { HeatmapCellDelay = TimeSpan.FromMilliseconds(150) });
        var (status, body, _) = await s.PostAsync("/api/heatmap", new { model = WebServer.TinyId, prompt = Prompt, target = " 12", multipliers = new[] { 0.5, 1.5, 2, 3, 5, 10 } });
        Assert.Equal(202, status);
        string id = (string)body!["id"]!;
        var mid = await WaitFor(s, id, b => (int)b["done"]! >= 2);
        Assert.Equal("running", (string?)mid["state"]);
        Assert.Equal(18, (int)mid["total"]!);

        var (delStatus, _, _) = await s.SendAsync(HttpMethod.Delete, $"/api/heatmap/{id}");
        Assert.Equal(202, delStatus);
        var end = await WaitFor(s, id, b => (string?)b["state"] != "running");
        Assert.Equal("cancelled", (string?)end["state"]);
        Assert.True((int)end["done"]! < 18);
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task Heatmap_EventStream_SendsProgressThenDone()
    {
        await using var s = await WebServer.StartAsync(o => o with { HeatmapCellDelay = TimeSpan.FromMilliseconds(30) });
        var (_, body, _) = await s.PostAsync("/api/heatmap", new { model = WebServer.TinyId, prompt = Prompt, target = " 12", multipliers = new[] { 2.0, 4.0 } });
        string id = (string)body!["id"]!;
        using var resp = await s.Client.GetAsync($"/api/heatmap/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", resp.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync());
        var events = new List<string>();
        string? line; JsonNode? last = null;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            if (line.StartsWith("event: ")) events.Add(line[7..]);
            if (line.StartsWith("data: ")) last = JsonNode.Parse(line[6..]);
        }
        Assert.Contains("progress", events);
        Assert.Equal("done", events[^1]);
        Assert.Equal("completed", (string?)last!["state"]);
        Assert.Equal(6, last["cells"]!.AsArray().Count);
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task Heatmap_UnknownJob_Is404_AndTooManyCells_Is400()
    {
        await using var s = await WebServer.StartAsync(o => o with { MaxHeatmapCells = 4 });
        Assert.Equal(404, (await s.SendAsync(HttpMethod.Get, "/api/heatmap/0123456789abcdef")).Status);
        Assert.Equal(404, (await s.SendAsync(HttpMethod.Delete, "/api/heatmap/..%2f..%2fetc")).Status);
        var (status, body, _) = await s.PostAsync("/api/heatmap", new { model = WebServer.TinyId, prompt = Prompt, target = " 12", multipliers = new[] { 2.0, 3.0 } });
        Assert.Equal(400, status);
        Assert.Contains("the limit is 4", (string)body!["errors"]!["layers"]![0]!);
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task FullQueue_Is429ProblemWithRetryAfter()
    {
        // One slot, no queue: a slow heat-map job holds the slot, so the next computation is refused at once.
        await using var s = await WebServer.StartAsync(o => o with { MaxConcurrency = 1, QueueLimit = 0, HeatmapCellDelay = TimeSpan.FromMilliseconds(200) });
        var (status, body, _) = await s.PostAsync("/api/heatmap", new { model = WebServer.TinyId, prompt = Prompt, target = " 12", multipliers = new[] { 1.5, 2, 3, 5 } });
        Assert.Equal(202, status);
        string id = (string)body!["id"]!;
        await WaitFor(s, id, b => (string?)b["state"] == "running");

        using var r = await s.Client.PostAsync("/api/baseline", System.Net.Http.Json.JsonContent.Create(new { model = WebServer.TinyId, prompt = Prompt, target = " 12" }));
        Assert.Equal(429, (int)r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        Assert.Equal("1", r.Headers.GetValues("Retry-After").Single());
        Assert.Contains("queue is full", await r.Content.ReadAsStringAsync());

        var second = await s.PostAsync("/api/heatmap", new { model = WebServer.TinyId, prompt = Prompt, target = " 12", multipliers = new[] { 2.0 } });
        Assert.Equal(429, second.Status);

        await s.SendAsync(HttpMethod.Delete, $"/api/heatmap/{id}");
        await WaitFor(s, id, b => (string?)b["state"] == "cancelled");
        // The slot is free again.
        var ok = await s.PostAsync("/api/baseline", new { model = WebServer.TinyId, prompt = Prompt, target = " 12" });
        Assert.Equal(200, ok.Status);
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task AbortedRequest_LeavesTheQueue()
    {
        await using var s = await WebServer.StartAsync(o => o with { MaxConcurrency = 1, QueueLimit = 4, HeatmapCellDelay = TimeSpan.FromMilliseconds(200) });
        var (_, body, _) = await s.PostAsync("/api/heatmap", new { model = WebServer.TinyId, prompt = Prompt, target = " 12", multipliers = new[] { 1.5, 2, 3, 5 } });
        string id = (string)body!["id"]!;
        await WaitFor(s, id, b => (string?)b["state"] == "running");
        var gate = (Sna.Web.Api.ComputeGate)s.App.Services.GetService(typeof(Sna.Web.Api.ComputeGate))!;

        using var cts = new CancellationTokenSource();
        var pending = s.Client.PostAsync("/api/baseline", System.Net.Http.Json.JsonContent.Create(new { model = WebServer.TinyId, prompt = Prompt, target = " 12" }), cts.Token);
        var until = DateTime.UtcNow.AddSeconds(10);
        while (gate.Statistics!.CurrentQueuedCount == 0 && DateTime.UtcNow < until) await Task.Delay(20);
        Assert.Equal(1, gate.Statistics!.CurrentQueuedCount);
        cts.Cancel();   // the browser went away
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        until = DateTime.UtcNow.AddSeconds(10);
        while (gate.Statistics!.CurrentQueuedCount != 0 && DateTime.UtcNow < until) await Task.Delay(20);
        Assert.Equal(0, gate.Statistics!.CurrentQueuedCount);   // its place in the queue was given up
        await s.SendAsync(HttpMethod.Delete, $"/api/heatmap/{id}");
    }
}
