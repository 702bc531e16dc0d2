using Sna.Research.Experiments;
using Sna.Research.Analysis;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Research.Storage;
using Sna.Research.Sweeps;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Reporting;

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
    /// <summary>Random-neuron control sets per task (at each task's chosen configuration).</summary>
    public int ControlSeeds { get; init; } = 20;
    public int Resamples { get; init; } = Bootstrap.DefaultResamples;
    /// <summary>The two-label data set for the classification step (GLUE TSV; the bundled SST-2 dev set), or null to skip it.</summary>
    public string? ClassificationData { get; init; }
    /// <summary>Examples evaluated in the classification step (seeded sample).</summary>
    public int ClassificationN { get; init; } = 100;
}

/// <summary>One step of the demo, for progress display.</summary>
public sealed record DemoStep(string Name, string Detail);

/// <summary>Everything the demo produced.</summary>
public sealed record DemoResult(
    IReadOnlyList<AdvisorReport> Advice, string SweepDatabase,
    SweepRunResult Sweep, ReportOutput Report, TimeSpan Elapsed);

/// <summary>
/// The main job, end to end on one model: advise on every task (baseline confidence and zone), sweep a reduced grid with
/// the prefix-cached engine (results in SQLite, resumable), run the controls the paper lacks on held-out prompts (random
/// neurons with <see cref="DemoOptions.ControlSeeds"/> seeds, the bottom-k neurons, the collateral cost on neutral text),
/// measure cross-task interference, analyse, and write the report.
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
        var set = ResultSetReader.Read(mainDb);

        // 3. Controls on held-out prompts. Picking each task's best of many configurations and then comparing it with random
        //    neurons at that configuration favours the task neurons (the winner's curse), so the configuration is chosen on the
        //    even-indexed prompts and the controls are measured on the odd-indexed ones. Neurons stay those of the sweep
        //    (discovered on all of the task's texts).
        var controls = new List<ControlComparison>();
        var collateral = new List<CollateralCost>();
        var sources = new List<InterferenceSource>();
        foreach (var suite in suites)
        {
            ct.ThrowIfCancellationRequested();
            var best = set.Rows.Where(r => r.Task == suite.Name && r.PromptIndex % 2 == 0)
                .GroupBy(r => (r.Layer, r.Count, r.Multiplier))
                .Select(g => (g.Key, Mean: g.Average(r => r.ImprovementPct)))
                .OrderByDescending(x => x.Mean).ThenBy(x => x.Key.Layer).ThenBy(x => x.Key.Count).ThenBy(x => x.Key.Multiplier).First().Key;
            var heldOut = suite with { Prompts = suite.Prompts.Where((_, i) => i % 2 == 1).ToArray(), Texts = suite.DiscoveryTexts };
            var r = ControlsRunner.Run(model, tokenizer, heldOut, best.Layer, best.Count, (float)best.Multiplier, PositionsMode.All,
                new ControlsOptions { Seeds = o.ControlSeeds, Bos = o.Bos, Cache = cache });
            controls.Add(r.Comparison);
            if (r.CollateralCost is { } c) collateral.Add(c);
            sources.Add(new InterferenceSource(suite, best.Layer, best.Count, (float)best.Multiplier));
            progress?.Report(new DemoStep("controls", $"{suite.Name} at L{best.Layer} k={best.Count} ×{best.Multiplier}: task {r.Comparison.TaskNeuronImprovementPct:+0.00;-0.00}% vs random {r.Comparison.RandomMeanPct:+0.00;-0.00}% (p = {r.RandomTest?.PValue:G3})"));
        }

        // 4. Cross-task interference: each task's chosen configuration applied while scoring every task.
        progress?.Report(new DemoStep("interference", $"{sources.Count} sources × {suites.Count} targets"));
        var interference = InterferenceRunner.Run(model, tokenizer, sources, suites, PositionsMode.All, o.Bos, cache);
        interference.WriteCsv(Path.Combine(o.OutDir, "interference.csv"));

        // 5. Zero-shot classification (SST-2): accuracy per margin zone before and after amplifying the predicted class.
        Sna.Research.Classification.ClassifyReportData? classification = null;
        if (o.ClassificationData is { } dataPath)
        {
            ct.ThrowIfCancellationRequested();
            var data = Sna.Research.Classification.LabeledDataset.LoadTsv(dataPath);
            int L = model.Config.NLayers;
            var cls = Sna.Research.Classification.ClassificationExperiment.Run(model, tokenizer, data, new Sna.Research.Classification.ClassifyOptions
            {
                N = Math.Min(o.ClassificationN, data.Count / 2),
                TrainN = Math.Min(100, data.Count / 2),
                Layers = new[] { 0, L / 2, L - 1 }.Distinct().ToArray(),
                Multipliers = [1, 4, 12],
            });
            string clsDb = Path.Combine(o.OutDir, "classify.db");
            Sna.Research.Classification.ClassifyStore.Save(clsDb, cls, model.Provenance.Source, model.Provenance.ContentHash);
            classification = Sna.Research.Classification.ClassifyReportData.ReadLatest(clsDb);
            progress?.Report(new DemoStep("classify", $"{cls.Examples.Length} SST-2 examples, accuracy before {cls.Before[0].Accuracy:P1}; margin zones 1/2/3: " +
                string.Join('/', Enumerable.Range(1, 3).Select(z => cls.Examples.Count(e => e.Baseline.Zone == z)))));
        }

        // 6. Analysis and report.
        progress?.Report(new DemoStep("report", "statistics, figures and the HTML report"));
        var report = ReportWriter.Write(set, new ReportOptions
        {
            Analysis = new AnalysisOptions { Zones = o.Zones, Resamples = o.Resamples },
            Title = $"SNA demo on {Path.GetFileName(model.Provenance.Source)}",
            Controls = controls,
            ControlsNote = "Held-out design: each task's configuration was chosen on its even-indexed prompts; the task-neuron, random and bottom-k " +
                           "improvements above are measured on its odd-indexed prompts. Random sets exclude the task's own neurons.",
            Collateral = collateral,
            Interference = interference.Matrix,
            Classification = classification,
        }, Path.Combine(o.OutDir, "report"));
        return new DemoResult(advice, mainDb, sweep, report, DateTime.UtcNow - started);
    }
}
