using System.Diagnostics;
using System.Globalization;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Numerics;
using Sna.Research.Storage;
using Sna.Research.Sweeps;

namespace Sna.Bench;

/// <summary>
/// <c>dotnet run -c Release --project bench/Sna.Bench -- sweep [--quick] [--naive-samples N] [--positions all|last|both]
/// [--threads N] [--layers LIST]</c>
/// <para>A GPT-2-Medium-shaped model (24 layers, d 1024, 16 heads, d_mlp 4096, vocab 50257; <see cref="RandomModel"/> with
/// pooled random F32 weights, std 0.02) and one
/// task of 10 prompts × 16 tokens. The full grid is 24 layers × 7 counts × 12 multipliers × 10 prompts = 20,160 scored
/// configurations per positions mode. Reports configurations/s for the engine (into a real SQLite store) and for the naive
/// loop (one full batch-1 forward with hooks per configuration, on a random sample of the same grid), their ratio, the
/// engine's effective GFLOP/s (the FLOPs it must do / time) and the prefix cache's memory.</para>
/// <para><c>--threads</c>: batches in flight, default the CLI's (one per core). Just before and just after the engine, the
/// same process times the GEMM on one block's projections at M = 1344 (rounds over two seconds each time) and prints the
/// engine's effective rate as a share of the best round of either and of the median of all rounds.
/// <c>--gemm-threads N</c>: the model's GEMM with N threads (default: one per core). <c>--gemm-profile</c>: time every GEMM
/// call of the engine and print, per weight shape and row count, the calls, FLOPs and rate, and the share of the engine's
/// wall time spent inside the GEMM (what is left is attention, activations, norms, scoring and bookkeeping).</para>
/// <para><c>--quick</c>: layers 0,6,12,18,23, counts 3,10,25, multipliers 1.1:2.4:4 (600 per mode), 20 naive samples.</para>
/// </summary>
public static class SweepBench
{
    private const int NPrompts = 10, PromptLen = 16;

    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        string Opt(string name, string dflt) => BenchArgs.String(args, name, dflt)!;
        int naiveSamples = int.Parse(Opt("--naive-samples", quick ? "20" : "200"), CultureInfo.InvariantCulture);
        int threads = int.Parse(Opt("--threads", new SweepOptions().Threads.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);   // the CLI's default
        var positions = Opt("--positions", "both") switch
        {
            "all" => new[] { PositionsMode.All },
            "last" => new[] { PositionsMode.Last },
            _ => new[] { PositionsMode.All, PositionsMode.Last },
        };

        var cfg = RandomModel.Gpt2Medium with { BosTokenId = 50256 };
        var sw = Stopwatch.StartNew();
        using var loaded = RandomModel.Create(cfg, seed: 1234, fill: RandomFill.Pooled);
        var model = loaded;   // a view on another GEMM when asked (views share the weights and own nothing)
        if (BenchArgs.String(args, "--gemm-threads", null) is { } gt) model = model.WithGemm(new ManagedGemm(int.Parse(gt, CultureInfo.InvariantCulture)));
        var timing = args.Contains("--gemm-profile") ? new TimingGemm(model.Gemm) : null;
        if (timing is not null) model = model.WithGemm(timing);
        Console.WriteLine($"model: GPT-2-Medium shape, random F32 weights, built in {sw.Elapsed.TotalSeconds:F1} s; GEMM '{model.Gemm.Name}', {Environment.ProcessorCount} cores, engine threads {threads}");

        var rnd = new Random(7);
        var prompts = Enumerable.Range(0, NPrompts).Select(i =>
        {
            var ids = new int[PromptLen];
            ids[0] = cfg.BosTokenId;
            for (int t = 1; t < PromptLen; t++) ids[t] = rnd.Next(cfg.VocabSize);
            return new SweepPrompt($"p{i}", "t", ids, rnd.Next(cfg.VocabSize));
        }).ToList();
        var task = new SweepTask("bench", prompts, NeuronSources.Random(1, cfg.DMlp));
        int[]? layers = quick ? [0, 6, 12, 18, 23] : Sna.Runtime.InputParsing.Layers(Opt("--layers", "all"));
        int[] counts = quick ? [3, 10, 25] : SweepDefinition.DefaultCounts;
        double[] mults = SweepDefinition.ParseMultipliers(quick ? "1.1:2.4:4" : SweepDefinition.DefaultMultipliers);

        foreach (var pos in positions)
        {
            var def = new SweepDefinition
            {
                Name = "bench", Model = new SweepModel("(random)", "random-1234"), Tasks = ["bench"], Layers = layers,
                Counts = counts, Multipliers = mults, Positions = [pos], NeuronSource = "random:1",
            };
            var engine = new SweepEngine(model, def, [task]);
            int evals = engine.Grid.Count * NPrompts;
            string db = Path.Combine(Path.GetTempPath(), $"sna-sweepbench-{Environment.ProcessId}-{pos}.db");
            foreach (var f in new[] { db, db + "-wal", db + "-shm" }) File.Delete(f);
            Console.WriteLine();
            Console.WriteLine($"== positions={SweepDefinition.PositionsName(pos)}: {engine.Grid.Count} configurations × {NPrompts} prompts = {evals} scored configurations");

            // ---- GEMM reference rounds just before the engine (and again just after: the host's speed drifts by a few
            // percent over minutes, so the engine's rate is compared with both)
            var refBefore = BlockGemmRounds(model, 1344);

            // ---- engine (into a real store)
            SweepRunResult res;
            timing?.Reset();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var sys0 = Process.GetCurrentProcess().PrivilegedProcessorTime;
            long faults0 = MinorFaults();
            var gcPause0 = GC.GetTotalPauseDuration();
            int gc0 = GC.CollectionCount(0), gc2 = GC.CollectionCount(2);
            sw.Restart();
            using (var store = ResultStore.Open(db)) res = engine.Run(store, new SweepOptions { Threads = threads });
            double engineSecs = sw.Elapsed.TotalSeconds;
            double engineCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            double engineSys = (Process.GetCurrentProcess().PrivilegedProcessorTime - sys0).TotalSeconds;
            long faults = MinorFaults() - faults0;
            double gcPause = (GC.GetTotalPauseDuration() - gcPause0).TotalSeconds;
            int gcs0 = GC.CollectionCount(0) - gc0, gcs2 = GC.CollectionCount(2) - gc2;
            double engineRate = evals / engineSecs;
            double flops = EngineFlops(cfg, engine.Grid, pos);
            Console.WriteLine($"engine: {engineSecs:F2} s, {engineRate:F1} configurations/s, {flops / engineSecs / 1e9:F1} effective GFLOP/s ({flops / 1e12:F2} TFLOP required); process CPU {engineCpu:F2} s (kernel {engineSys:F2} s, {faults} minor page faults; {gcs0} GCs, {gcs2} gen-2, paused {gcPause:F2} s), {flops / engineCpu / 1e9:F1} GFLOP per CPU-second");
            timing?.Print(engineSecs);
            Console.WriteLine($"prefix cache: {res.PrefixCacheBytes / 1048576.0:F1} MiB for {NPrompts} prompts × {PromptLen} tokens");
            var refAfter = BlockGemmRounds(model, 1344);
            double gemmRate = Math.Max(refBefore.Max(), refAfter.Max()), gemmMedian = Median([.. refBefore, .. refAfter]);
            Console.WriteLine($"GEMM reference (same process, just before and just after the engine): one block's four projections at M = 1344 on layer 0's weights, " +
                              $"best {refBefore.Max():F1} / {refAfter.Max():F1} GFLOP/s (median {Median(refBefore):F1} / {Median(refAfter):F1}); " +
                              $"engine effective rate = {flops / engineSecs / 1e9 / gemmRate * 100:F0}% of the best round of either " +
                              $"({flops / engineSecs / 1e9 / gemmMedian * 100:F0}% of the median of all rounds)");

            // ---- naive: one full batch-1 forward with hooks per sampled (configuration, prompt)
            var stored = new Dictionary<(int, int), double>();
            using (var store = ResultStore.OpenReadOnly(db))
                foreach (var r in store.ReadResults()) stored[(r.ConfigId, r.PromptIndex)] = r.LogProbPost;
            var sample = new Random(99);
            var picks = Enumerable.Range(0, naiveSamples).Select(_ => (engine.Grid[sample.Next(engine.Grid.Count)], sample.Next(NPrompts))).ToList();
            double worst = 0;
            sw.Restart();
            foreach (var (c, pi) in picks)
            {
                var amp = Amplification.Single(c.Layer, task.Neurons(c.Layer, c.Count), c.MultiplierF, pos);
                var s = Scoring.Score(model.ForwardLast(prompts[pi].Ids, amp.ToHooks(cfg)), prompts[pi].TargetId);
                worst = Math.Max(worst, Math.Abs(s.LogProb - stored[(c.Id, pi)]));
            }
            double naiveSecs = sw.Elapsed.TotalSeconds;
            double naiveRate = naiveSamples / naiveSecs;
            Console.WriteLine($"naive:  {naiveSamples} samples in {naiveSecs:F2} s, {naiveRate:F2} configurations/s, {NaiveFlops(cfg, pos) * naiveSamples / naiveSecs / 1e9:F1} GFLOP/s; max |Δ logprob| vs engine {worst:E1}");
            // The FLOP ratio is what an exact engine saves over the naive loop; the rest of the ratio is GEMM efficiency.
            Console.WriteLine($"ratio:  {engineRate / naiveRate:F1}x; FLOP ratio naive/engine {NaiveFlops(cfg, pos) * evals / flops:F1}x");
            foreach (var f in new[] { db, db + "-wal", db + "-shm" }) File.Delete(f);
        }
        return 0;
    }

    /// <summary>
    /// GFLOP/s of the model's GEMM provider on one block's four projections (qkv, attention out, MLP in and out) at
    /// <paramref name="m"/> rows, the weights the engine uses: after a warm-up round, timed rounds for at least two seconds
    /// (and at least 5), one rate per round. (The best of three rounds, as before, read 312 and 373 GFLOP/s in two full
    /// runs of the same day.)
    /// </summary>
    private static List<double> BlockGemmRounds(TransformerModel model, int m)
    {
        var w = model.Weights.Layers[0];
        var mats = new[] { w.Wqkv, w.Wo, w.Win, w.Wout };
        var a = new float[m * mats.Max(x => x.K)];
        var c = new float[m * mats.Max(x => x.N)];
        for (int i = 0; i < a.Length; i++) a[i] = (i % 17 - 8) * 0.01f;
        double flops = mats.Sum(x => 2.0 * m * x.K * x.N);
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        for (int round = 0; round == 0 || times.Count < 5 || total.Elapsed.TotalSeconds < 2; round++)
        {
            var sw = Stopwatch.StartNew();
            foreach (var x in mats) model.Gemm.Sgemm(a.AsSpan(0, m * x.K), m, x, c.AsSpan(0, m * x.N), accumulate: false);
            if (round > 0) times.Add(sw.Elapsed.TotalSeconds);
        }
        return times.Select(t => flops / t / 1e9).ToList();
    }

    private static double Median(List<double> xs) { var s = xs.Order().ToList(); return s[s.Count / 2]; }

    /// <summary>The process's minor page faults so far (Linux; 0 elsewhere).</summary>
    private static long MinorFaults()
    {
        if (!File.Exists("/proc/self/stat")) return 0;
        var s = File.ReadAllText("/proc/self/stat");
        return long.Parse(s[(s.LastIndexOf(')') + 2)..].Split(' ')[7], CultureInfo.InvariantCulture);
    }

    /// <summary>Multiply-add FLOPs of one token through one block's projections (qkv, out, MLP in and out).</summary>
    private static double TokenLayerFlops(ModelConfig c) => 2.0 * c.DModel * (3 * c.DModel + c.DModel + 2 * c.DMlp);

    private static double NaiveFlops(ModelConfig c, PositionsMode _) =>
        c.NLayers * (PromptLen * TokenLayerFlops(c) + 4.0 * PromptLen * PromptLen / 2 * c.DModel) + 2.0 * c.DModel * c.VocabSize;

    /// <summary>What the engine must compute: one base forward per prompt, then per scored configuration the layers after L
    /// (all tokens, or the last one attending to T keys) and one unembedding row.</summary>
    private static double EngineFlops(ModelConfig c, SweepGrid grid, PositionsMode pos)
    {
        double total = NPrompts * NaiveFlops(c, pos);
        foreach (var cfg in grid.Configurations)
        {
            int after = c.NLayers - 1 - cfg.Layer;
            double per = pos == PositionsMode.All
                ? after * (PromptLen * TokenLayerFlops(c) + 4.0 * PromptLen * PromptLen / 2 * c.DModel)
                : after * (TokenLayerFlops(c) + 4.0 * PromptLen * c.DModel);
            total += NPrompts * (per + 2.0 * c.DModel * c.VocabSize);
        }
        return total;
    }
}
