using System.Diagnostics;
using System.Globalization;
using Sna.Research.Storage;

namespace Sna.Bench;

/// <summary>
/// <c>dotnet run -c Release --project bench/Sna.Bench -- store [--batches N] [--rows R]</c>
/// <para>The cost of keeping a results database self-contained: <see cref="ResultStore.WriteResults"/> of R-row batches
/// (default 512 = the sweep's positions=last batch) into three fresh stores in the temp folder — a WAL checkpoint after every
/// commit, the default interval (<see cref="ResultStore.DefaultCheckpointInterval"/>), and none — interleaved batch by batch
/// (rotating the order) so load affects all alike. Prints the median and mean milliseconds per batch of each, the checkpoint's
/// own cost (every-commit minus none), and the load average before and after. The bench writes back to back, so the default
/// interval covers more batches here than in a sweep, where each batch also computes.</para>
/// </summary>
public static class StoreBench
{
    public static int Run(string[] args)
    {
        string Opt(string name, string dflt) => BenchArgs.String(args, name, dflt)!;
        int batches = int.Parse(Opt("--batches", "200"), CultureInfo.InvariantCulture);
        int rowsPerBatch = int.Parse(Opt("--rows", "512"), CultureInfo.InvariantCulture);
        Console.WriteLine($"store bench: {batches} batches × {rowsPerBatch} rows; load average {LoadAverage()}");
        string dir = Directory.CreateTempSubdirectory("sna-store-bench-").FullName;
        try
        {
            var modes = new (string Name, TimeSpan? Interval)[] { ("every commit", TimeSpan.Zero), ($"every {ResultStore.DefaultCheckpointInterval.TotalSeconds:G} s (default)", ResultStore.DefaultCheckpointInterval), ("none", null) };
            var stores = modes.Select((m, i) => { var s = ResultStore.Open(Path.Combine(dir, $"s{i}.db")); s.CheckpointInterval = m.Interval; return s; }).ToArray();
            var times = modes.Select(_ => new List<double>(batches)).ToArray();
            var rnd = new Random(3);
            for (int b = 0; b < batches; b++)
            {
                var rows = new List<ResultRow>(rowsPerBatch);
                for (int i = 0; i < rowsPerBatch; i++)
                {
                    double pb = rnd.NextDouble() * 0.2, pp = rnd.NextDouble() * 0.2;
                    rows.Add(new ResultRow(b * rowsPerBatch + i, "bench", i, 12, 10, 1.5, "last", "differential", pb, pp, Math.Log(pb), Math.Log(pp),
                        rnd.Next(50257), (pp - pb) / pb * 100));
                }
                for (int k = 0; k < stores.Length; k++)
                {
                    int j = (b + k) % stores.Length;   // rotate who goes first
                    var sw = Stopwatch.StartNew();
                    stores[j].WriteResults(rows);
                    times[j].Add(sw.Elapsed.TotalMilliseconds);
                }
            }
            for (int j = 0; j < modes.Length; j++)
                Console.WriteLine($"checkpoint {modes[j].Name,-22}: median {Median(times[j]),8:F3} ms/batch, mean {times[j].Average(),8:F3} ms/batch, wal left {WalBytes(stores[j].Path) / 1024} KiB");
            Console.WriteLine($"one checkpoint costs ≈ {Median(times[0]) - Median(times[2]):F3} ms (median every-commit − none)");
            foreach (var s in stores) s.Dispose();
            Console.WriteLine($"load average after: {LoadAverage()}");
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
        return 0;
    }

    private static long WalBytes(string db) => File.Exists(db + "-wal") ? new FileInfo(db + "-wal").Length : 0;

    private static double Median(List<double> x)
    {
        var s = x.OrderBy(v => v).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "n/a"; }
    }
}
