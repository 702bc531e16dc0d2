using System.Diagnostics;
using System.Runtime.InteropServices;
using Sna.Core.Analysis;
using Sna.Core.Classification;
using Sna.Core.Models;
using Sna.Core.Numerics;
using Sna.Core.Tokenization;
using Spectre.Console;

namespace Sna.Bench;

/// <summary>
/// Throughput of <c>sna classify</c>'s grid on a GPT-2-Medium-shaped model with random weights (24 layers, d_model 1024,
/// 16 heads, d_mlp 4096, vocab 50257, F32, weights ~N(0, 0.02)) built in memory, on real SST-2 prompts tokenized by the
/// GPT-2 tokenizer: examples × configurations per second for the batched-rows grid, against the naive rate (one full
/// forward per example per configuration, timed on a sample). Full: 200 examples × 5 layers × 6 multipliers;
/// <c>--quick</c>: 16 examples.
/// Options: --quick, --n N, --train-n N, --batch N, --naive N, --layers a,b, --multipliers a,b.
/// </summary>
public static class ClassifyBench
{
    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        int n = IntOption(args, "--n", quick ? 16 : 200);
        int trainN = IntOption(args, "--train-n", quick ? 16 : 100);
        int batch = IntOption(args, "--batch", 32);
        int naiveN = IntOption(args, "--naive", quick ? 4 : 12);
        string? root = FindRepoRoot();
        if (root is null) { Console.Error.WriteLine("error: repository root (Sna.sln) not found: the bench reads data/sst2/dev.tsv and the GPT-2 tokenizer of models/sna-demo-gpt2"); return 2; }

        var tok = ModelTokenizer.FromDirectory(Path.Combine(root, "models", "sna-demo-gpt2"));   // the real GPT-2 BPE
        var data = LabeledDataset.LoadTsv(Path.Combine(root, "data", "sst2", "dev.tsv"));
        AnsiConsole.MarkupLine($"[bold]classify benchmark[/] ({(quick ? "quick" : "full")}): GPT-2-Medium-shaped random model, {n} SST-2 examples, batch {batch}");
        AnsiConsole.MarkupLine($"CPU: {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}");

        var sw = Stopwatch.StartNew();
        using var model = RandomGpt2Medium(seed: 1);
        AnsiConsole.MarkupLine($"model built in {sw.Elapsed.TotalSeconds:F1} s; gemm {Markup.Escape(model.Gemm.Name)}");

        var options = new ClassifyOptions
        {
            N = n, TrainN = trainN, Seed = 42, BatchSize = batch, NaiveSample = naiveN,
            Layers = args.Contains("--layers") ? ParseList(args, "--layers", int.Parse) : null,
            Multipliers = args.Contains("--multipliers") ? ParseList(args, "--multipliers", s => float.Parse(s, System.Globalization.CultureInfo.InvariantCulture)) : [1, 2, 4, 8, 12, 16],
        };
        sw.Restart();
        var r = ClassificationExperiment.Run(model, tok, data, options,
            new Reporter(p => { if (p.Done == p.Total || p.Done % 64 == 0) Console.Error.Write($"\r{p.Stage}: {p.Done}/{p.Total}   "); }));
        Console.Error.WriteLine();
        double total = sw.Elapsed.TotalSeconds;
        var t = r.Timing;
        double meanTokens = r.Examples.Average(e => e.Tokens);
        int configs = r.Grid.Length;

        var table = new Table().RoundedBorder().AddColumn("measure").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("examples × configurations", $"{n} × {configs} = {t.ExampleConfigurations} (layers {string.Join(",", r.Layers)}; multipliers {string.Join(",", options.Multipliers)})");
        table.AddRow("mean prompt tokens", $"{meanTokens:F1}");
        table.AddRow("baseline / neurons / grid seconds", $"{t.BaselineSeconds:F1} / {t.DiscoverySeconds:F1} / {t.GridSeconds:F1}");
        table.AddRow("grid forwards (sequences run)", $"{t.GridForwards} ({t.GridSequences}; multiplier-1 cells reuse the baseline)");
        table.AddRow("[bold]batched rows: examples × configs / s[/]", $"[bold]{t.GridRate:F2}[/]");
        table.AddRow("batched rows, pairs actually run / s", $"{t.ForwardRate:F2}");
        if (t.NaiveRate is double nr)
        {
            table.AddRow($"[bold]naive: one forward per pair / s[/] ({t.NaiveSample} timed)", $"[bold]{nr:F2}[/]");
            table.AddRow("speed-up (all pairs / run pairs only)", $"x{t.GridRate / nr:F2} / x{t.ForwardRate / nr:F2}");
            table.AddRow("naive estimate for the whole grid", $"{t.ExampleConfigurations / nr:F0} s");
        }
        table.AddRow("total wall time", $"{total:F1} s");
        AnsiConsole.Write(table);
        Console.WriteLine($"RESULT classify n={n} configs={configs} rate={t.GridRate:F3} forward_rate={t.ForwardRate:F3} naive_rate={t.NaiveRate ?? double.NaN:F3} grid_s={t.GridSeconds:F1}");
        return 0;
    }

    /// <summary>A GPT-2 Medium-shaped model (F32) with weights ~N(0, 0.02), LayerNorm gains 1, biases 0; deterministic in the seed.</summary>
    public static unsafe TransformerModel RandomGpt2Medium(ulong seed, int nLayers = 24)
    {
        var c = new ModelConfig
        {
            Architecture = ArchitectureKind.Gpt2, DModel = 1024, NHeads = 16, NKvHeads = 16, NLayers = nLayers, DMlp = 4096,
            NCtx = 1024, VocabSize = 50257, LayerNormEps = 1e-5f, Activation = "gelu_new", BosTokenId = 50256,
            SourceArchitecture = "GPT2LMHeadModel (random, bench)",
        };
        int D = c.DModel, M = c.DMlp, V = c.VocabSize;
        var w = new ModelWeights();
        WeightMatrix Matrix(int k, int nOut, bool transposed, ulong s)
        {
            var buf = new NativeBuffer((long)k * nOut * 4);
            w.Owners.Add(buf);
            Fill(new Span<float>(buf.Pointer, k * nOut), s);
            return new WeightMatrix(buf.Pointer, WeightDType.F32, k, nOut, transposed);
        }
        static float[] Ones(int n) { var a = new float[n]; Array.Fill(a, 1f); return a; }
        w.TokenEmbedding = Matrix(D, V, true, seed * 1000 + 1);
        w.Unembed = w.TokenEmbedding;
        w.PosEmbedding = new float[c.NCtx * D];
        Fill(w.PosEmbedding, seed * 1000 + 2);
        w.LnFinalW = Ones(D); w.LnFinalB = new float[D];
        w.Layers = new LayerWeights[nLayers];
        // Layers are filled in parallel (each from its own seed), so the build is quick and still deterministic.
        var mats = new (WeightMatrix Qkv, WeightMatrix O, WeightMatrix In, WeightMatrix Out)[nLayers];
        var bufs = new NativeBuffer[nLayers * 4];
        for (int l = 0; l < nLayers; l++)
        {
            bufs[4 * l] = new NativeBuffer((long)D * 3 * D * 4); bufs[4 * l + 1] = new NativeBuffer((long)D * D * 4);
            bufs[4 * l + 2] = new NativeBuffer((long)D * M * 4); bufs[4 * l + 3] = new NativeBuffer((long)M * D * 4);
        }
        foreach (var b in bufs) w.Owners.Add(b);
        Parallel.For(0, nLayers * 4, i => Fill(bufs[i].AsSpan<float>(), seed * 1000 + 10 + (ulong)i));
        for (int l = 0; l < nLayers; l++)
        {
            w.Layers[l] = new LayerWeights
            {
                Ln1W = Ones(D), Ln1B = new float[D], Ln2W = Ones(D), Ln2B = new float[D],
                Wqkv = new WeightMatrix(bufs[4 * l].Pointer, WeightDType.F32, D, 3 * D, false), Bqkv = new float[3 * D],
                Wo = new WeightMatrix(bufs[4 * l + 1].Pointer, WeightDType.F32, D, D, false), Bo = new float[D],
                Win = new WeightMatrix(bufs[4 * l + 2].Pointer, WeightDType.F32, D, M, false), Bin = new float[M],
                Wout = new WeightMatrix(bufs[4 * l + 3].Pointer, WeightDType.F32, M, D, false), Bout = new float[D],
            };
        }
        return new TransformerModel(c, w);
    }

    private static void Fill(Span<float> s, ulong seed)
    {
        var rng = new DeterministicRandom(seed);
        for (int i = 0; i < s.Length; i++) s[i] = (float)(0.02 * rng.NextGaussian());
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
