using System.Diagnostics;
using Sna.Runtime.Models;
using Sna.Runtime.Numerics;
using Spectre.Console;

namespace Sna.Bench;

/// <summary>
/// Generation cost per token on a GPT-2-Medium-shaped model with random weights: greedy decoding of N new tokens after a
/// 16-token prompt, with the KV cache (each new token is one position) and without it (the whole prefix again), against
/// the batch-1 forward of the 16-token prompt. Per-token time after the first = (time for N tokens − time for 1 token) / (N − 1),
/// so the prompt's own pass is not counted. Best of several repetitions after a warm-up.
/// </summary>
public static class GenerateBench
{
    public static int Run(string[] args)
    {
        bool quick = args.Contains("--quick");
        int reps = quick ? 3 : 5, newTokens = quick ? 16 : 32, promptLen = 16;
        var cfg = args.Contains("--small") ? RandomModel.Gpt2Small : RandomModel.Gpt2Medium;
        AnsiConsole.MarkupLine($"[bold]Generation[/] — {(args.Contains("--small") ? "GPT-2 Small" : "GPT-2 Medium")} shape, prompt {promptLen} tokens, {newTokens} new tokens, " +
                               $"GEMM: {Markup.Escape(GemmProviders.Describe())}, {Environment.ProcessorCount} cores, load average {Load()}");
        using var model = RandomModel.Create(cfg, seed: 7);
        int[] prompt = Enumerable.Range(0, promptLen).Select(j => (j * 131 + 17) % cfg.VocabSize).ToArray();

        double forward = Best(reps, () => model.Forward([prompt]));
        double Gen(int n, bool kv) => Best(reps, () => model.Generate(prompt, new GenerationOptions { MaxNewTokens = n, UseKvCache = kv }));
        double kv1 = Gen(1, true), kvN = Gen(newTokens, true);
        double full1 = Gen(1, false), fullN = Gen(newTokens, false);
        double perKv = (kvN - kv1) / (newTokens - 1), perFull = (fullN - full1) / (newTokens - 1);

        var table = new Table().AddColumn("what").AddColumn("best ms").AddColumn("÷ batch-1 forward");
        table.AddRow($"batch-1 forward, {promptLen} tokens", forward.ToString("F1"), "1.00");
        table.AddRow("per new token, KV cache", perKv.ToString("F1"), (perKv / forward).ToString("F2"));
        table.AddRow("per new token, no cache (whole prefix)", perFull.ToString("F1"), (perFull / forward).ToString("F2"));
        table.AddRow($"{newTokens} tokens, KV cache (incl. prompt)", kvN.ToString("F1"), (kvN / forward).ToString("F2"));
        table.AddRow($"{newTokens} tokens, no cache (incl. prompt)", fullN.ToString("F1"), (fullN / forward).ToString("F2"));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"load average at the end {Load()}");
        return 0;
    }

    static string Load() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]);

    static double Best(int reps, Action run)
    {
        run(); // warm-up (JIT, pools)
        double best = double.MaxValue;
        for (int r = 0; r < reps; r++)
        {
            var sw = Stopwatch.StartNew();
            run();
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
        }
        return best;
    }
}
