using System.Diagnostics;
using System.Runtime.InteropServices;
using Sna.Research.Classification;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;
using Spectre.Console;

namespace Sna.Bench;

/// <summary>
/// Throughput of <c>sna classify</c>'s grid on a GPT-2-Medium-shaped model with random weights
/// (<see cref="RandomModel.Create"/>(<see cref="RandomModel.Gpt2Medium"/>): 24 layers, d_model 1024, 16 heads, d_mlp 4096,
/// vocab 50257, F32) on real SST-2 prompts tokenized by the GPT-2 tokenizer, all three engines in one process:
/// <list type="bullet">
/// <item>prefix (the default: the sweep engine's prefix cache) runs the whole experiment — baseline, neurons, full grid;</item>
/// <item>then prefix, batched (pairs as rows of full forwards) and naive (one full forward per pair) re-run the same grid
/// (same baseline, same neurons) on the first <c>--compare-n</c> examples, interleaved chunk by chunk (<c>--chunk</c>
/// examples; naive on <c>--naive-per-chunk</c> of each) so a shared machine's load falls on all three alike; predictions are
/// checked against the full run's.</item>
/// </list>
/// Rates are examples × configurations per second, counting multiplier-1 cells as answered (they reuse the baseline in
/// every engine), and "run" rates counting only the pairs actually evaluated. Full: 200 examples × 5 layers × 6 multipliers;
/// <c>--quick</c>: 16 examples, 8 compared in chunks of 4.
/// Options: --quick, --n N, --train-n N, --batch N, --compare-n N, --chunk N, --naive-per-chunk N, --layers a,b, --multipliers a,b.
/// </summary>
public static class ClassifyBench
{
    public static int Run(string[] args)
    {
        bool quick = BenchArgs.Flag(args, "--quick");
        int n = BenchArgs.Int(args, "--n", quick ? 16 : 200);
        int trainN = BenchArgs.Int(args, "--train-n", quick ? 16 : 100);
        int batch = BenchArgs.Int(args, "--batch", 32);
        int compareN = Math.Min(n, BenchArgs.Int(args, "--compare-n", quick ? 8 : 32));
        int chunk = Math.Max(1, BenchArgs.Int(args, "--chunk", quick ? 4 : 8));
        int naivePerChunk = BenchArgs.Int(args, "--naive-per-chunk", 1);
        string? root = FindRepoRoot();
        if (root is null) { Console.Error.WriteLine("error: repository root (Sna.sln) not found: the bench reads data/sst2/dev.tsv and the GPT-2 tokenizer of models/sna-demo-gpt2"); return 2; }

        var tok = ModelTokenizer.FromDirectory(Path.Combine(root, "models", "sna-demo-gpt2"));   // the real GPT-2 BPE
        var data = LabeledDataset.LoadTsv(Path.Combine(root, "data", "sst2", "dev.tsv"));
        AnsiConsole.MarkupLine($"[bold]classify benchmark[/] ({(quick ? "quick" : "full")}): GPT-2-Medium-shaped random model, {n} SST-2 examples, batch {batch}");
        AnsiConsole.MarkupLine($"CPU: {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}; load average at start {LoadAverage()}");

        var sw = Stopwatch.StartNew();
        using var model = RandomModel.Create(RandomModel.Gpt2Medium, seed: 1);
        AnsiConsole.MarkupLine($"model built in {sw.Elapsed.TotalSeconds:F1} s; gemm {Markup.Escape(model.Gemm.ToString()!)}");

        var options = new ClassifyOptions
        {
            N = n, TrainN = trainN, Seed = 42, BatchSize = batch, NaiveSample = 0, Engine = ClassifyEngine.Prefix,
            Layers = BenchArgs.List(args, "--layers", int.Parse),
            Multipliers = BenchArgs.List(args, "--multipliers", BenchArgs.Float) ?? [1, 2, 4, 8, 12, 16],
        };
        var reporter = new Reporter(p => { if (p.Done == p.Total || p.Done % 30 == 0) Console.Error.Write($"\r{p.Stage}: {p.Done}/{p.Total}   "); });
        sw.Restart();
        var r = ClassificationExperiment.Run(model, tok, data, options, reporter);
        Console.Error.WriteLine();
        double total = sw.Elapsed.TotalSeconds;
        var t = r.Timing;
        double meanTokens = r.Examples.Average(e => e.Tokens);
        int configs = r.Grid.Length;
        long runPerExample = r.Grid.Count(c => c.Multiplier != 1f);

        // Engines compared on the same examples, interleaved chunk by chunk so that the machine's load (shared, 2 cores)
        // falls on all of them alike: per chunk of --chunk examples, prefix then batched on the chunk, then naive on its first
        // --naive-per-chunk examples. Predictions are checked against the full run's.
        var acc = new Dictionary<ClassifyEngine, (double Seconds, long Pairs, long Run, int Examples, int Mismatches, double MaxLogErr)>();
        void Rerun(ClassifyEngine engine, int first, int count)
        {
            if (count <= 0) return;
            var (after, secs, seqs) = ClassificationExperiment.RerunGrid(model, tok, data, r, engine, first, count, reporter);
            count = after[0].Length;
            int mismatches = 0; double maxErr = 0;
            for (int c = 0; c < configs; c++)
                for (int i = 0; i < count; i++)
                {
                    var a = after[c][i]; var b = r.Grid[c].Predictions[first + i];
                    if (a.Predicted != b.Predicted) mismatches++;
                    maxErr = Math.Max(maxErr, Math.Max(Math.Abs(Math.Log(a.P0) - Math.Log(b.P0)), Math.Abs(Math.Log(a.P1) - Math.Log(b.P1))));
                }
            var o = acc.GetValueOrDefault(engine);
            acc[engine] = (o.Seconds + secs, o.Pairs + (long)count * configs, o.Run + seqs, o.Examples + count, o.Mismatches + mismatches, Math.Max(o.MaxLogErr, maxErr));
        }
        for (int first = 0; first < compareN; first += chunk)
        {
            int cnt = Math.Min(chunk, compareN - first);
            Rerun(ClassifyEngine.Prefix, first, cnt);
            Rerun(ClassifyEngine.Batched, first, cnt);
            Rerun(ClassifyEngine.Naive, first, Math.Min(naivePerChunk, cnt));
        }
        Console.Error.WriteLine();

        var table = new Table().RoundedBorder().AddColumn("measure").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("examples × configurations", $"{n} × {configs} = {t.ExampleConfigurations} (layers {string.Join(",", r.Layers)}; multipliers {string.Join(",", options.Multipliers)}; {runPerExample} run per example)");
        table.AddRow("mean prompt tokens", $"{meanTokens:F1}");
        table.AddRow("baseline / neurons / grid seconds (prefix)", $"{t.BaselineSeconds:F1} / {t.DiscoverySeconds:F1} / {t.GridSeconds:F1}");
        table.AddRow("prefix: base runs + evaluator calls", $"{t.GridForwards} ({t.GridSequences} pairs run)");
        table.AddRow($"[bold]prefix: examples × configs / s[/] (all {n})", $"[bold]{t.GridRate:F2}[/] (run pairs {t.ForwardRate:F2})");
        double Rate(ClassifyEngine e) => acc.TryGetValue(e, out var v) ? v.Pairs / v.Seconds : double.NaN;
        if (acc.Count > 0)
        {
            table.AddRow($"[bold]interleaved on the first {compareN} examples[/] (chunks of {chunk}; naive {naivePerChunk} per chunk)", "");
            foreach (var (e, v) in acc)
            {
                string name = e.ToString().ToLowerInvariant();
                table.AddRow($"  [bold]{name}: examples × configs / s[/] ({v.Examples} examples, {v.Seconds:F1} s)",
                    $"[bold]{v.Pairs / v.Seconds:F2}[/] (run pairs {v.Run / v.Seconds:F2})" + (e == ClassifyEngine.Prefix ? "" : $"; prefix x{Rate(ClassifyEngine.Prefix) / (v.Pairs / v.Seconds):F2}"));
                table.AddRow($"  {name} vs the full run: differing predictions / max |Δ log p|", $"{v.Mismatches} / {v.MaxLogErr:E1}");
            }
            if (acc.ContainsKey(ClassifyEngine.Naive))
                table.AddRow("naive / batched estimate for the whole grid", $"{t.ExampleConfigurations / Rate(ClassifyEngine.Naive):F0} s / {t.ExampleConfigurations / Rate(ClassifyEngine.Batched):F0} s (prefix measured: {t.GridSeconds:F0} s)");
        }
        table.AddRow("total wall time", $"{sw.Elapsed.TotalSeconds:F1} s (experiment {total:F1} s)");
        AnsiConsole.Write(table);
        Console.WriteLine($"RESULT classify n={n} configs={configs} prefix_rate={t.GridRate:F3} prefix_run_rate={t.ForwardRate:F3} grid_s={t.GridSeconds:F1} "
            + $"paired_prefix_rate={Rate(ClassifyEngine.Prefix):F3} paired_batched_rate={Rate(ClassifyEngine.Batched):F3} paired_naive_rate={Rate(ClassifyEngine.Naive):F3} "
            + $"compare_n={compareN} mismatches={acc.Values.Sum(v => v.Mismatches)} load_end={LoadAverage()}");
        return 0;
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
        catch (UnauthorizedAccessException) { return "?"; }
    }


    private static string? FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Sna.sln"))) return d.FullName;
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Sna.sln"))) return d.FullName;
        return null;
    }

    private sealed class Reporter(Action<ClassifyProgress> f) : IProgress<ClassifyProgress>
    {
        public void Report(ClassifyProgress value) => f(value);
    }
}
