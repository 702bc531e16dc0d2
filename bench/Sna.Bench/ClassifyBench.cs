using System.Diagnostics;
using System.Runtime.InteropServices;
using Sna.Core.Classification;
using Sna.Core.Models;
using Sna.Core.Tokenization;
using Spectre.Console;

namespace Sna.Bench;

/// <summary>
/// Throughput of <c>sna classify</c>'s grid on a GPT-2-Medium-shaped model with random weights
/// (<see cref="RandomModel.Create"/>(<see cref="RandomModel.Gpt2Medium"/>): 24 layers, d_model 1024, 16 heads, d_mlp 4096,
/// vocab 50257, F32) on real SST-2 prompts tokenized by the GPT-2 tokenizer, all three engines in one process:
/// <list type="bullet">
/// <item>prefix (the default: the sweep engine's prefix cache) runs the whole experiment — baseline, neurons, full grid;</item>
/// <item>batched (pairs as rows of full forwards) and naive (one full forward per pair) re-run the same grid (same baseline,
/// same neurons) on the first <c>--batched-n</c> / <c>--naive-n</c> examples, and their predictions are checked against
/// the prefix engine's.</item>
/// </list>
/// Rates are examples × configurations per second, counting multiplier-1 cells as answered (they reuse the baseline in
/// every engine), and "run" rates counting only the pairs actually evaluated. Full: 200 examples × 5 layers × 6 multipliers;
/// <c>--quick</c>: 16 examples, 4 batched, 1 naive.
/// Options: --quick, --n N, --train-n N, --batch N, --batched-n N (0 = skip, -1 = all), --naive-n N, --layers a,b, --multipliers a,b.
/// </summary>
public static class ClassifyBench
{
    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        int n = IntOption(args, "--n", quick ? 16 : 200);
        int trainN = IntOption(args, "--train-n", quick ? 16 : 100);
        int batch = IntOption(args, "--batch", 32);
        int batchedN = IntOption(args, "--batched-n", quick ? 4 : 24);
        int naiveN = IntOption(args, "--naive-n", quick ? 1 : 2);
        if (batchedN < 0) batchedN = n;
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
            Layers = args.Contains("--layers") ? ParseList(args, "--layers", int.Parse) : null,
            Multipliers = args.Contains("--multipliers") ? ParseList(args, "--multipliers", s => float.Parse(s, System.Globalization.CultureInfo.InvariantCulture)) : [1, 2, 4, 8, 12, 16],
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

        // The other engines on the first examples of the same run.
        (double Rate, double RunRate, int Examples, double Seconds, int Mismatches, double MaxLogErr)? Rerun(ClassifyEngine engine, int count)
        {
            if (count <= 0) return null;
            var (after, secs, seqs) = ClassificationExperiment.RerunGrid(model, tok, data, r, engine, count, reporter);
            Console.Error.WriteLine();
            count = after[0].Length;
            int mismatches = 0; double maxErr = 0;
            for (int c = 0; c < configs; c++)
                for (int i = 0; i < count; i++)
                {
                    var a = after[c][i]; var b = r.Grid[c].Predictions[i];
                    if (a.Predicted != b.Predicted) mismatches++;
                    maxErr = Math.Max(maxErr, Math.Max(Math.Abs(Math.Log(a.P0) - Math.Log(b.P0)), Math.Abs(Math.Log(a.P1) - Math.Log(b.P1))));
                }
            return ((double)count * configs / secs, seqs / secs, count, secs, mismatches, maxErr);
        }
        var batched = Rerun(ClassifyEngine.Batched, batchedN);
        var naive = Rerun(ClassifyEngine.Naive, naiveN);

        var table = new Table().RoundedBorder().AddColumn("measure").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("examples × configurations", $"{n} × {configs} = {t.ExampleConfigurations} (layers {string.Join(",", r.Layers)}; multipliers {string.Join(",", options.Multipliers)}; {runPerExample} run per example)");
        table.AddRow("mean prompt tokens", $"{meanTokens:F1}");
        table.AddRow("baseline / neurons / grid seconds (prefix)", $"{t.BaselineSeconds:F1} / {t.DiscoverySeconds:F1} / {t.GridSeconds:F1}");
        table.AddRow("prefix: base runs + evaluator calls", $"{t.GridForwards} ({t.GridSequences} pairs run)");
        table.AddRow($"[bold]prefix: examples × configs / s[/] (all {n})", $"[bold]{t.GridRate:F2}[/] (run pairs {t.ForwardRate:F2})");
        void Row(string name, (double Rate, double RunRate, int Examples, double Seconds, int Mismatches, double MaxLogErr)? x)
        {
            if (x is not { } v) return;
            table.AddRow($"[bold]{name}: examples × configs / s[/] (first {v.Examples}, {v.Seconds:F1} s)", $"[bold]{v.Rate:F2}[/] (run pairs {v.RunRate:F2}); prefix x{t.GridRate / v.Rate:F2}");
            table.AddRow($"{name} vs prefix: differing predictions / max |Δ log p|", $"{v.Mismatches} / {v.MaxLogErr:E1}");
        }
        Row("batched", batched);
        Row("naive", naive);
        if (naive is { } nv) table.AddRow("naive estimate for the whole grid", $"{t.ExampleConfigurations / nv.Rate:F0} s (prefix: {t.GridSeconds:F0} s)");
        table.AddRow("total wall time", $"{sw.Elapsed.TotalSeconds:F1} s (experiment {total:F1} s)");
        AnsiConsole.Write(table);
        Console.WriteLine($"RESULT classify n={n} configs={configs} prefix_rate={t.GridRate:F3} prefix_run_rate={t.ForwardRate:F3} grid_s={t.GridSeconds:F1} "
            + $"batched_rate={batched?.Rate ?? double.NaN:F3} batched_n={batched?.Examples ?? 0} naive_rate={naive?.Rate ?? double.NaN:F3} naive_n={naive?.Examples ?? 0} "
            + $"mismatches={(batched?.Mismatches ?? 0) + (naive?.Mismatches ?? 0)} load_end={LoadAverage()}");
        return 0;
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
        catch (UnauthorizedAccessException) { return "?"; }
    }

    private static int IntOption(string[] args, string name, int dflt)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v) ? v : dflt;
    }

    private static T[] ParseList<T>(string[] args, string name, Func<string, T> parse)
    {
        int i = Array.IndexOf(args, name);
        return args[i + 1].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(parse).ToArray();
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
