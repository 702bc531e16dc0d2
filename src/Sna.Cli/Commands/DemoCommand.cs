using Sna.Runtime;
using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Sna.Cli.Output;
using Sna.Research.Formatting;
using Sna.Research.Method;
using Sna.Research.Reporting;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna demo [--out-dir DIR] [--tasks a,b|FILE,...] [--tasks-dir DIR]</c>: the whole story on the bundled model in a few minutes — advise on the 12 built-in tasks,
/// a reduced sweep, the controls, the analysis and the report — then print where the report is.
/// </summary>
public static class DemoCommand
{
    public static Command Build()
    {
        var model = Options.Model();
        var outDir = Options.OutDir("Output directory (sweep databases, interference.csv, report/).", "sna-demo");
        var seeds = Options.Int("--control-seeds", $"Random-neuron control sets per task (default {DemoOptions.DefaultControlSeeds}: with 12 tasks the smallest Holm-adjusted p is 12/(sets+1)).", 0, 10_000, DemoOptions.DefaultControlSeeds);
        var inSample = new Option<bool>("--in-sample") { Description = "The old in-sample path: discover, choose and measure on the same prompts (marked in the report)." };
        var splitSeed = Options.Seed("--split-seed", "Seed of each task's held-out prompt split.", PromptSplit.DefaultSeed);
        var genTokens = Options.Int("--generate-tokens", "Greedy tokens per prompt for the exact-match evaluation (0 = skip).", 0, 64, Sna.Research.Experiments.GenerationEvaluator.DefaultMaxNewTokens);
        var zones = Options.Zones();
        var tasks = Options.Tasks("all");
        var tasksDir = Options.TasksDir();
        var counts = Options.Counts("3,8,25");
        var mults = Options.Multipliers("1.5,2,3");
        var layers = Options.Layers("all");
        var cmd = new Command("demo", "Run the SNA study end to end on the bundled model: advise, sweep, controls, analysis, report.")
        { model, outDir, seeds, zones, tasks, tasksDir, counts, mults, layers, inSample, splitSeed, genTokens };
        cmd.SetAction((r, ct) =>
        {
            int nGen = r.GetValue(genTokens);
            var dirs = Options.TaskDirs(r, tasksDir);
            var resolved = TaskResolver.ResolveList(r.GetValue(tasks)!, dirs);
            var o = new DemoOptions
            {
                OutDir = Path.GetFullPath(r.GetValue(outDir)!),
                ControlSeeds = r.GetValue(seeds),
                Zones = r.GetValue(zones)!,
                Tasks = resolved.Select(t => t.Given).ToArray(),
                TaskDirs = dirs,
                Counts = r.GetValue(counts)!,
                Multipliers = r.GetValue(mults)!,
                Layers = r.GetValue(layers)!.Indices,
                ClassificationData = ClassifyCommand.BundledDataPath(),
                InSample = r.GetValue(inSample),
                SplitSeed = r.GetValue(splitSeed),
                GenerationMaxTokens = nGen,
                Provenance =
                [
                    new("command", "sna " + string.Join(" ", r.Tokens.Select(x => x.Value))),
                    new("version", Common.Version),
                    new("date", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture)),
                ],
            };
            var (m, tok, _) = Common.Load(r.GetValue(model));
            using var _m = m;
            InputParsing.CheckLayers(o.Layers, m.Config.NLayers);
            foreach (int c in o.Counts) InputParsing.CheckCount(c, m.Config.DMlp, "--counts");
            AnsiConsole.MarkupLine($"[bold]SNA demo[/] on {Markup.Escape(m.Provenance.Source)} (sha256 {m.Provenance.ContentHash[..12]}…, {m.Config.NLayers} layers × {m.Config.DMlp} neurons, gemm {m.Gemm.Name})");
            AnsiConsole.MarkupLine($"[grey]grid: {o.Tasks.Count} tasks × all layers × counts {string.Join(',', o.Counts)} × multipliers {string.Join(',', o.Multipliers)}; {(o.InSample ? "IN-SAMPLE controls" : $"held-out protocol (split seed {o.SplitSeed}): neurons and configuration from split A, measured on split B")}: bottom-k, {o.ControlSeeds} random sets, exact match, collateral cost; interference[/]");
            // Step lines on stdout; counted progress (rows, sets, evaluations, with rate and ETA) on stderr, one line per unit.
            var lines = new DemoProgressLines();
            DemoResult result;
            try
            {
                result = DemoPipeline.Run(m, tok, o with { Steps = lines.Report, Bos = tok.BosPolicyFor(null) }, new SyncProgress<DemoStep>(s =>
                {
                    lines.End();
                    AnsiConsole.MarkupLine($"  [blue]{s.Name}[/] {Markup.Escape(s.Detail)}");
                }), ct);
            }
            finally { lines.End(); }

            var a = result.Report.Analysis;
            // Tables through the shared renderer: boxed on a terminal, aligned plain columns when piped (nothing wraps).
            var fmt = TableOutput.Resolve(null);
            var taskTable = new TextTable("tasks", "task", "P_base", "zone", "mean impr.", "max impr.", "success", "golden (>10%)", "best layer") { Title = "Tasks (all prompts)" };
            foreach (var t in a.Tasks)
                taskTable.Add(t.Task, Num.Prob(t.Baseline), t.Zone.ToString(CultureInfo.InvariantCulture), Num.Pct(t.MeanImprovementPct), Num.Pct(t.MaxImprovementPct),
                          Num.Share(t.SuccessRate), t.GoldenZoneCount.ToString(CultureInfo.InvariantCulture), t.BestLayer.ToString(CultureInfo.InvariantCulture));
            TableOutput.Write(fmt, taskTable);
            var st = a.Statistics;
            if (st.Spearman is { } sp)
                Console.WriteLine($"Baseline vs mean improvement over n = {st.N} tasks: Spearman ρ = {Num.F(sp.Rho)} (p = {Num.P(st.SpearmanPPreferred)}, {st.SpearmanPPreferredKind}), " +
                                  $"95% bootstrap CI {(st.SpearmanCi is { } ci ? Num.Interval(ci.Lower, ci.Upper) : Num.Missing)}; Pearson r = {Num.F(st.Pearson?.R)} (p = {(st.Pearson is { } pe ? Num.P(pe.PValue) : Num.Missing)}).");
            Console.WriteLine($"ρ² of baseline alone = {Num.F(st.Spearman?.RhoSquared)} (paper: 0.58 = 0.762²). improvement_pct = mean over prompts of 100 (P_post - P_base)/P_base.");
            var gen = result.Generation.ToDictionary(g => g.Task, StringComparer.Ordinal);
            var ho = new TextTable("chosen", "task", "configuration", "gain", "random mean", "p", "Holm p", "BH p", "survives (Holm)", "exact match before->after", "McNemar p")
            { Title = o.InSample ? "Chosen configuration (IN-SAMPLE: chosen and measured on the same prompts)" : "Chosen on split A, measured on split B (held out)" };
            for (int i = 0; i < result.Controls.Count; i++)
            {
                var c = result.Controls[i]; var adj = result.Adjusted[i];
                var em = gen.TryGetValue(c.Task, out var g) ? g.ExactMatch : null;
                ho.Add(c.Task, $"L{c.Configuration.Layer} k={c.Configuration.Count} x{Num.Sig(c.Configuration.Multiplier)}",
                    Num.Pct(c.TaskNeuronImprovementPct), Num.Pct(c.RandomMeanPct), P(adj?.PValue), P(adj?.Holm), P(adj?.BenjaminiHochberg),
                    adj is null ? Num.Missing : adj.SurvivesHolm ? "yes" : "no", em is null ? Num.Missing : $"{em.CorrectBefore}/{em.N} -> {em.CorrectAfter}/{em.N}", em is null ? Num.Missing : P(em.McNemar.PValue));
            }
            TableOutput.Write(fmt, ho);
            AnsiConsole.MarkupLine($"[grey]paper (GPT-2 Medium): ρ = −0.762, p = 0.004. Elapsed {result.Elapsed.TotalSeconds:F0} s.[/]");
            AnsiConsole.MarkupLine($"Report: [link]{Markup.Escape(result.Report.HtmlPath)}[/]");
            return Task.FromResult(0);
        });
        return cmd;
    }

    private static string P(double? p) => p is double v && double.IsFinite(v) ? Num.P(v) : Num.Missing;
}

/// <summary>One <see cref="Sna.Cli.Output.ProgressLine"/> per unit in turn: a new unit (or a step line) ends the current one.</summary>
internal sealed class DemoProgressLines
{
    private Sna.Cli.Output.ProgressLine? _line;
    private string? _unit;
    private readonly object _gate = new();

    public void Report(string unit, string stage, long done, long total)
    {
        lock (_gate)
        {
            if (_unit != unit) { _line?.Dispose(); _line = new Sna.Cli.Output.ProgressLine(unit); _unit = unit; }
            _line!.Report(stage, done, total);
        }
    }

    public void End()
    {
        lock (_gate) { _line?.Dispose(); _line = null; _unit = null; }
    }
}

/// <summary>An IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool and can reorder lines).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
