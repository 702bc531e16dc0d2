using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Sna.Research.Method;
using Sna.Research.Reporting;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna demo [--out DIR]</c>: the whole story on the bundled model in a few minutes — advise on the 12 built-in tasks,
/// a reduced sweep, the controls, the analysis and the report — then print where the report is.
/// </summary>
public static class DemoCommand
{
    public static Command Build()
    {
        var model = Common.Model();
        var outDir = new Option<string>("--out", "-o") { Description = "Output directory.", DefaultValueFactory = _ => "sna-demo" };
        var seeds = new Option<int>("--control-seeds") { Description = "Random-neuron control seeds.", DefaultValueFactory = _ => 20 };
        var zones = new Option<string>("--zones") { Description = "Zone thresholds low:high.", DefaultValueFactory = _ => "0.07:0.10" };
        var tasks = new Option<string>("--tasks") { Description = "Tasks (default: the 12 built-in suites).", DefaultValueFactory = _ => "all" };
        var counts = new Option<string>("--counts") { Description = "Neuron counts.", DefaultValueFactory = _ => "3,8,25" };
        var mults = new Option<string>("--multipliers") { Description = "Multipliers (list or start:stop:count).", DefaultValueFactory = _ => "1.5,2,3" };
        var layers = new Option<string>("--layers") { Description = "all, or a list/ranges.", DefaultValueFactory = _ => "all" };
        var cmd = new Command("demo", "Run the SNA study end to end on the bundled model: advise, sweep, controls, analysis, report.")
        { model, outDir, seeds, zones, tasks, counts, mults, layers };
        cmd.SetAction((r, ct) =>
        {
            var (m, tok, _) = Common.Load(r.GetValue(model));
            using var _m = m;
            int nSeeds = r.GetValue(seeds);
            if (nSeeds < 0 || nSeeds > 1000) throw new UserException("--control-seeds must be between 0 and 1000");
            string taskList = r.GetValue(tasks)!.Trim();
            var o = new DemoOptions
            {
                OutDir = Path.GetFullPath(r.GetValue(outDir)!),
                ControlSeeds = nSeeds,
                Zones = ZoneThresholds.Parse(r.GetValue(zones)!),
                Tasks = taskList.Equals("all", StringComparison.OrdinalIgnoreCase) ? TaskLibrary.BuiltInNames : taskList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Counts = Sna.Research.Sweeps.SweepDefinition.ParseCounts(r.GetValue(counts)!),
                Multipliers = Sna.Research.Sweeps.SweepDefinition.ParseMultipliers(r.GetValue(mults)!),
                Layers = Sna.Research.Sweeps.SweepDefinition.ParseLayers(r.GetValue(layers)!),
                ClassificationData = ClassifyCommand.BundledDataPath(),
            };
            AnsiConsole.MarkupLine($"[bold]SNA demo[/] on {Markup.Escape(m.Provenance.Source)} (sha256 {m.Provenance.ContentHash[..12]}…, {m.Config.NLayers} layers × {m.Config.DMlp} neurons, gemm {m.Gemm.Name})");
            AnsiConsole.MarkupLine($"[grey]grid: {o.Tasks.Count} tasks × all layers × counts {string.Join(',', o.Counts)} × multipliers {string.Join(',', o.Multipliers)}; controls on held-out prompts: bottom-k, {o.ControlSeeds} random sets, collateral cost; interference[/]");
            var result = DemoPipeline.Run(m, tok, o, new SyncProgress<DemoStep>(s => AnsiConsole.MarkupLine($"  [blue]{s.Name}[/] {Markup.Escape(s.Detail)}")), ct);

            var a = result.Report.Analysis;
            var table = new Table().Title("Tasks").AddColumn("task").AddColumn("P_base").AddColumn("zone").AddColumn("mean impr.").AddColumn("max impr.").AddColumn("success").AddColumn("golden").AddColumn("best layer");
            foreach (var t in a.Tasks)
                table.AddRow(t.Task, t.Baseline.ToString("G3", CultureInfo.InvariantCulture), t.Zone.ToString(), Pct(t.MeanImprovementPct), Pct(t.MaxImprovementPct),
                             t.SuccessRate.ToString("P0", CultureInfo.InvariantCulture), t.GoldenZoneCount.ToString(), t.BestLayer.ToString());
            AnsiConsole.Write(table);
            var st = a.Statistics;
            if (st.Spearman is { } sp)
                AnsiConsole.MarkupLine($"Baseline vs mean improvement over n = {st.N} tasks: Spearman ρ = {sp.Rho:F3} (p = {st.SpearmanPPreferred:G3}, {st.SpearmanPPreferredKind}), " +
                                       $"95% bootstrap CI [[{st.SpearmanCi?.Lower:F3}, {st.SpearmanCi?.Upper:F3}]]; Pearson r = {st.Pearson?.R:F3} (p = {st.Pearson?.PValue:G3}).");
            AnsiConsole.MarkupLine($"[grey]paper (GPT-2 Medium): ρ = −0.762, p = 0.004. Elapsed {result.Elapsed.TotalSeconds:F0} s.[/]");
            AnsiConsole.MarkupLine($"Report: [link]{Markup.Escape(result.Report.HtmlPath)}[/]");
            return Task.FromResult(0);
        });
        return cmd;
    }

    private static string Pct(double x) => x.ToString("+0.00;-0.00", CultureInfo.InvariantCulture) + "%";
}

/// <summary>An IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool and can reorder lines).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
