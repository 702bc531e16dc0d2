using System.Diagnostics;
using Sna.Research.Experiments;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Numerics;
using Sna.Runtime.Tokenization;
using Spectre.Console;

namespace Sna.Bench;

/// <summary>
/// The demo's random-control step, old vs new, side by side: for each of the 12 built-in tasks, split B of its prompts (as
/// the demo measures them), <c>--seeds</c> random neuron sets at one configuration, scored one full forward per set (the
/// path before batching) and batched (<see cref="TaskEvaluator.EvaluateSets"/>: blocks before the layer once, many sets per
/// resumed forward). The two runs alternate per task (which one goes first alternates too) so load drifts hit both alike;
/// every random set's scores must agree bit for bit. Model: the bundled sna-demo-gpt2 (the demo's default).
/// </summary>
public static class ControlsBench
{
    public static int Run(string[] args)
    {
        bool quick = BenchArgs.Flag(args, "--quick");
        int seeds = BenchArgs.Int(args, "--seeds", quick ? 60 : 499);
        int count = BenchArgs.Int(args, "--count", 8);
        float mult = 2f;
        string? root = FindRepoRoot();
        if (root is null) { Console.Error.WriteLine("error: repository root (Sna.sln) not found"); return 2; }
        string dir = Path.Combine(root, "models", "sna-demo-gpt2");
        using var model = ModelLoader.Load(dir);
        var tok = ModelTokenizer.FromDirectory(dir);
        var names = TaskLibrary.BuiltInNames.Take(quick ? 4 : 12).ToArray();
        AnsiConsole.MarkupLine($"[bold]Controls[/] — sna-demo-gpt2 ({model.Config.NLayers} layers), {names.Length} tasks (split B), {seeds} random sets × {count} neurons × {mult}, " +
                               $"GEMM: {Markup.Escape(GemmProviders.Describe())}, {Environment.ProcessorCount} cores, load average {Load()}");
        var table = new Table().AddColumn("task").AddColumn("layer").AddColumn("prompts").AddColumn("one by one s").AddColumn("batched s").AddColumn("speed-up").AddColumn("bit-identical");
        double totalOld = 0, totalNew = 0;
        bool allSame = true;
        for (int i = 0; i < names.Length; i++)
        {
            var suite = TaskLibrary.BuiltIn(names[i]);
            var measured = PromptSplit.Of(suite.Name, suite.Prompts.Count, PromptSplit.DefaultSeed).MeasurementSuite(suite);
            int layer = i % model.Config.NLayers;
            var o = new ControlsOptions { Seeds = seeds, BottomK = false, Collateral = false };
            ControlsResult? a = null, b = null;
            double tOld = 0, tNew = 0;
            void Old() { var sw = Stopwatch.StartNew(); a = ControlsRunner.Run(model, tok, measured, layer, count, mult, PositionsMode.All, o with { BatchRandomSets = false }); tOld = sw.Elapsed.TotalSeconds; }
            void New() { var sw = Stopwatch.StartNew(); b = ControlsRunner.Run(model, tok, measured, layer, count, mult, PositionsMode.All, o); tNew = sw.Elapsed.TotalSeconds; }
            if (i % 2 == 0) { Old(); New(); } else { New(); Old(); }
            bool same = a!.Random.Count == b!.Random.Count && a.Random.Zip(b.Random).All(p =>
                p.First.Outcome.Prompts.Select(x => x.Post.Probability).SequenceEqual(p.Second.Outcome.Prompts.Select(x => x.Post.Probability)));
            allSame &= same;
            totalOld += tOld; totalNew += tNew;
            table.AddRow(names[i], layer.ToString(), measured.Prompts.Count.ToString(), tOld.ToString("F2"), tNew.ToString("F2"), (tOld / tNew).ToString("F2") + "×", same ? "yes" : "[red]NO[/]");
        }
        table.AddRow("[bold]all[/]", "", "", totalOld.ToString("F1"), totalNew.ToString("F1"), (totalOld / totalNew).ToString("F2") + "×", allSame ? "yes" : "[red]NO[/]");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"load average at the end {Load()}");
        return allSame ? 0 : 1;
    }

    static string Load() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]);


    static string? FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Sna.sln"))) return d.FullName;
        return null;
    }
}
