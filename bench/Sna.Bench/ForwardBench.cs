using System.Diagnostics;
using Sna.Runtime.Models;
using Sna.Runtime.Numerics;
using Spectre.Console;

namespace Sna.Bench;

/// <summary>
/// Forward-pass latency on GPT-2-Small- and GPT-2-Medium-shaped models with random weights built in memory:
/// batch 1 at 16 and 64 tokens (last-position logits, as scoring does), and 64 sequences × 16 tokens batched, with the
/// effective GFLOP/s (2 × multiply-adds the pass must do / time). Best of several repetitions after a warm-up.
/// <c>--dtype f16|bf16</c> keeps the weights in 16 bits (widened inside the GEMM).
/// </summary>
public static class ForwardBench
{
    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        var dtype = BenchArgs.String(args, "--dtype", "f32")!.ToLowerInvariant() switch
        {
            "f32" => WeightDType.F32, "f16" => WeightDType.F16, "bf16" => WeightDType.BF16,
            _ => throw new ArgumentException("--dtype must be f32, f16 or bf16"),
        };
        int reps = quick ? 3 : 7;
        AnsiConsole.MarkupLine($"[bold]Forward pass[/] — weights {dtype}, GEMM: {Markup.Escape(GemmProviders.Describe())}, {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        var table = new Table().AddColumn("model").AddColumn("batch × tokens").AddColumn("best ms").AddColumn("median ms").AddColumn("GFLOP").AddColumn("GFLOP/s");
        foreach (var (name, cfg) in new[] { ("GPT-2 Small", RandomModel.Gpt2Small), ("GPT-2 Medium", RandomModel.Gpt2Medium) })
        {
            using var model = RandomModel.Create(cfg, seed: 7, dtype);
            foreach (var (b, t) in quick ? new[] { (1, 16), (64, 16) } : new[] { (1, 16), (1, 64), (64, 16) })
            {
                var batch = Enumerable.Range(0, b).Select(i => Enumerable.Range(0, t).Select(j => (i * 131 + j * 17) % cfg.VocabSize).ToArray()).ToArray();
                model.Forward(batch); // warm-up (JIT, pools)
                var times = new List<double>();
                for (int r = 0; r < reps; r++)
                {
                    var sw = Stopwatch.StartNew();
                    model.Forward(batch);
                    times.Add(sw.Elapsed.TotalMilliseconds);
                }
                times.Sort();
                double flops = Flops(cfg, b, t);
                table.AddRow(name, $"{b} × {t}", times[0].ToString("F1"), times[times.Count / 2].ToString("F1"),
                             (flops / 1e9).ToString("F2"), (flops / 1e9 / (times[0] / 1e3)).ToString("F1"));
            }
        }
        AnsiConsole.Write(table);
        return 0;
    }

    /// <summary>2 × multiply-adds of a forward that unembeds only the last position of each sequence.</summary>
    public static double Flops(ModelConfig c, int batch, int tokens)
    {
        double rows = (double)batch * tokens, D = c.DModel, M = c.DMlp;
        double perLayer = 2 * rows * (D * 3 * D + D * D + 2 * D * M)   // qkv, out, mlp in/out
                        + 2 * 2 * batch * (tokens * (tokens + 1) / 2.0) * D; // scores + mix (causal half)
        return c.NLayers * perLayer + 2.0 * batch * D * c.VocabSize;
    }
}
