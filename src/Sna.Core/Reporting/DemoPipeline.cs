using Sna.Core.Analysis;
using Sna.Core.Method;
using Sna.Core.Models;
using Sna.Core.Storage;
using Sna.Core.Sweeps;
using Sna.Core.Tokenization;

namespace Sna.Core.Reporting;

/// <summary>What the demo runs: a reduced version of the paper's grid on the 12 built-in tasks.</summary>
public sealed record DemoOptions
{
    public required string OutDir { get; init; }
    public IReadOnlyList<string> Tasks { get; init; } = TaskLibrary.BuiltInNames;
    /// <summary>Layers (null = all).</summary>
    public IReadOnlyList<int>? Layers { get; init; }
    public IReadOnlyList<int> Counts { get; init; } = [3, 8, 25];
    public IReadOnlyList<double> Multipliers { get; init; } = [1.5, 2.0, 3.0];
    public BosPolicy Bos { get; init; } = BosPolicy.Prepend;
    public ZoneThresholds Zones { get; init; } = ZoneThresholds.Paper;
    /// <summary>Random-neuron control seeds per task (for each task's best configuration).</summary>
    public int ControlSeeds { get; init; } = 20;
    public int Resamples { get; init; } = Bootstrap.DefaultResamples;
}

/// <summary>One step of the demo, for progress display.</summary>
public sealed record DemoStep(string Name, string Detail);

/// <summary>Everything the demo produced.</summary>
public sealed record DemoResult(
    IReadOnlyList<AdvisorReport> Advice, string SweepDatabase, IReadOnlyList<string> ControlDatabases,
    SweepRunResult Sweep, ReportOutput Report, TimeSpan Elapsed);

/// <summary>
/// The main job, end to end on one model: advise on every task (baseline confidence and zone), sweep a reduced grid with
/// the prefix-cached engine (results in SQLite, resumable), run the controls the paper lacks (random neurons with
/// <see cref="DemoOptions.ControlSeeds"/> seeds and the bottom-k neurons, on the same grid), analyse, and write the report.
/// </summary>
public static class DemoPipeline
{
    public static DemoResult Run(TransformerModel model, ModelTokenizer tokenizer, DemoOptions o, IProgress<DemoStep>? progress = null,
                                 CancellationToken ct = default)
    {
        var started = DateTime.UtcNow;
        Directory.CreateDirectory(o.OutDir);
        var suites = o.Tasks.Select(t => TaskLibrary.Resolve(t)).ToList();

        // 1. Baseline first: measure confidence and assign zones before any intervention.
        var advice = new List<AdvisorReport>();
        foreach (var s in suites)
        {
            ct.ThrowIfCancellationRequested();
            advice.Add(Advisor.Advise(model, tokenizer, s, o.Bos, o.Zones));
            progress?.Report(new DemoStep("advise", $"{s.Name}: mean P_base {advice[^1].MeanPBase:G4}, zone {advice[^1].Zone}"));
        }

        // 2. The sweep with task neurons, then the controls on the same grid, each in its own database.
        var cache = DiscoveryCache.Default();
        SweepRunResult RunSweep(string source, string db)
        {
            var def = new SweepDefinition
            {
                Name = $"demo-{source.Replace(':', '-')}",
                Model = new SweepModel(model.Provenance.Source, model.Provenance.ContentHash),
                Tasks = o.Tasks.ToArray(),
                Layers = o.Layers?.ToArray(),
                Counts = o.Counts.ToArray(),
                Multipliers = o.Multipliers.ToArray(),
                NeuronSource = source,
                Bos = o.Bos,
            };
            var tasks = SweepTaskBuilder.Build(model, tokenizer, suites, source, o.Bos, cache);
            var engine = new SweepEngine(model, def, tasks);
            using var store = ResultStore.Open(db);
            progress?.Report(new DemoStep("sweep", $"{source}: {engine.Grid.Count} configurations → {Path.GetFileName(db)}"));
            return engine.Run(store, new SweepOptions { Resume = true }, null, ct);
        }
        string mainDb = Path.Combine(o.OutDir, "sweep.db");
        var sweep = RunSweep("differential", mainDb);
        var controlDbs = new List<string>();
        var controlSources = Enumerable.Range(0, o.ControlSeeds).Select(s => $"random:{s}").Prepend("bottom").ToList();
        foreach (var src in controlSources)
        {
            ct.ThrowIfCancellationRequested();
            string db = Path.Combine(o.OutDir, "controls", $"{src.Replace(':', '-')}.db");
            Directory.CreateDirectory(Path.GetDirectoryName(db)!);
            RunSweep(src, db);
            controlDbs.Add(db);
        }

        // 3. Analysis and report (control rows are matched to each task's best configuration by the report).
        progress?.Report(new DemoStep("report", "statistics, figures and the HTML report"));
        var set = ResultSetReader.Read([mainDb, .. controlDbs]);
        var report = ReportWriter.Write(set, new ReportOptions
        {
            Analysis = new AnalysisOptions { Zones = o.Zones, Resamples = o.Resamples },
            Title = $"SNA demo on {Path.GetFileName(model.Provenance.Source)}",
        }, Path.Combine(o.OutDir, "report"));
        return new DemoResult(advice, mainDb, controlDbs, sweep, report, DateTime.UtcNow - started);
    }
}
