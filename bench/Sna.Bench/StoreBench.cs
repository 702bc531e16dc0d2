using System.Diagnostics;
using System.Globalization;
using Sna.Research.Storage;

namespace Sna.Bench;

/// <summary>
/// <c>dotnet run -c Release --project bench/Sna.Bench -- store [--batches N] [--rows R]</c>
/// <para>The cost of keeping a results database self-contained: <see cref="ResultStore.WriteResults"/> of R-row batches
/// (default 512 = the sweep's positions=last batch) with the per-commit WAL checkpoint on and off, into two fresh stores in
/// the temp folder, interleaved batch by batch (ABAB…) so load affects both alike. Prints the median and mean milliseconds per
/// batch of each, the difference per batch and the ratio, and the load average before and after.</para>
/// </summary>
public static class StoreBench
{
    public static int Run(string[] args)
    {
        string Opt(string name, string dflt) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt; }
        int batches = int.Parse(Opt("--batches", "200"), CultureInfo.InvariantCulture);
        int rowsPerBatch = int.Parse(Opt("--rows", "512"), CultureInfo.InvariantCulture);
        Console.WriteLine($"store bench: {batches} batches × {rowsPerBatch} rows, checkpoint on vs off interleaved; load average {LoadAverage()}");
        string dir = Directory.CreateTempSubdirectory("sna-store-bench-").FullName;
        try
        {
            using var on = ResultStore.Open(Path.Combine(dir, "on.db"));
            using var off = ResultStore.Open(Path.Combine(dir, "off.db"));
            on.CheckpointAfterEachCommit = true;
            off.CheckpointAfterEachCommit = false;
            var tOn = new List<double>(batches); var tOff = new List<double>(batches);
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
                // Alternate which store goes first so neither always pays for a cold cache.
                var order = b % 2 == 0 ? new[] { (on, tOn), (off, tOff) } : new[] { (off, tOff), (on, tOn) };
                foreach (var (store, times) in order)
                {
                    var sw = Stopwatch.StartNew();
                    store.WriteResults(rows);
                    times.Add(sw.Elapsed.TotalMilliseconds);
                }
            }
            double mOn = Median(tOn), mOff = Median(tOff);
            Console.WriteLine($"checkpoint on : median {mOn:F3} ms/batch, mean {tOn.Average():F3} ms/batch");
            Console.WriteLine($"checkpoint off: median {mOff:F3} ms/batch, mean {tOff.Average():F3} ms/batch");
            Console.WriteLine($"cost of the checkpoint: {mOn - mOff:F3} ms/batch (median), ratio on/off {mOn / mOff:F2}; " +
                              $"files: on {new FileInfo(on.Path).Length / 1024} KiB + wal {WalBytes(on.Path) / 1024} KiB, off {new FileInfo(off.Path).Length / 1024} KiB + wal {WalBytes(off.Path) / 1024} KiB");
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
