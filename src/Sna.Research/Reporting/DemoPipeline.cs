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
    /// <summary>Tasks as given: built-in names, task files, or names found in <see cref="TaskDirs"/> (<see cref="TaskResolver"/>).</summary>
    public IReadOnlyList<string> Tasks { get; init; } = TaskLibrary.BuiltInNames;
    /// <summary>Directories a task name is looked up in (the CLI passes ./tasks and --tasks-dir).</summary>
    public IReadOnlyList<string> TaskDirs { get; init; } = [];
    /// <summary>Layers (null = all).</summary>
    public IReadOnlyList<int>? Layers { get; init; }
    public IReadOnlyList<int> Counts { get; init; } = [3, 8, 25];
    public IReadOnlyList<double> Multipliers { get; init; } = [1.5, 2.0, 3.0];
    public BosPolicy Bos { get; init; } = BosPolicy.Prepend;
    public ZoneThresholds Zones { get; init; } = ZoneThresholds.Paper;
    /// <summary>
    /// Random-neuron control sets per task (at each task's chosen configuration). The smallest p of a randomisation test is
    /// 1/(sets + 1), so with 12 tasks the smallest Holm-adjusted p is 12/(sets + 1): 200 sets give 0.0597 (nothing could pass
    /// 0.05), 239 is the least that could; 499 gives 0.024, leaving room for a task that a few random sets tie or beat.
    /// </summary>
    public int ControlSeeds { get; init; } = DefaultControlSeeds;
    public const int DefaultControlSeeds = 499;
    /// <summary>Seed of each task's prompt split (<see cref="PromptSplit"/>); ignored when <see cref="InSample"/>.</summary>
    public ulong SplitSeed { get; init; } = PromptSplit.DefaultSeed;
    /// <summary>
    /// The old in-sample path: neurons discovered on all prompts, configuration chosen and controls measured on the same prompts.
    /// Off by default; the report marks it.
    /// </summary>
    public bool InSample { get; init; }
    /// <summary>Largest number of greedy tokens decoded per prompt in the generation-level evaluation (0 = skip it).</summary>
    public int GenerationMaxTokens { get; init; } = GenerationEvaluator.DefaultMaxNewTokens;

    /// <summary>Caller-known provenance for the report (command line, version with commit, date).</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Provenance { get; init; }
    public int Resamples { get; init; } = Bootstrap.DefaultResamples;
    /// <summary>Counted progress of the long steps: (unit, stage, done, total) — sweep rows, control sets, interference evaluations.</summary>
    public Action<string, string, long, long>? Steps { get; init; }
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
    SweepRunResult Sweep, ReportOutput Report, TimeSpan Elapsed)
{
    /// <summary>Per task: the chosen configuration, its held-out gain, p, Holm and BH adjusted p (the demo's headline table).</summary>
    public IReadOnlyList<ControlComparison> Controls { get; init; } = [];
    public IReadOnlyList<AdjustedP?> Adjusted { get; init; } = [];
    public IReadOnlyList<GenerationOutcome> Generation { get; init; } = [];
}

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
        var resolved = o.Tasks.Select(t => TaskResolver.Resolve(t, o.TaskDirs)).ToList();
        var suites = resolved.Select(t => t.Suite).ToList();

        // 1. Baseline first: measure confidence and assign zones before any intervention.
        var advice = new List<AdvisorReport>();
        foreach (var s in suites)
        {
            ct.ThrowIfCancellationRequested();
            advice.Add(Advisor.Advise(model, tokenizer, s, o.Bos, o.Zones));
            progress?.Report(new DemoStep("advise", $"{s.Name}: mean P_base {advice[^1].MeanPBase:G4}, zone {advice[^1].Zone}"));
        }

        // 2. Held-out protocol: split each task's prompts with a seed. Neurons are discovered on split A's prompts only, the sweep
        //    scores every prompt, the configuration is chosen on split A's rows and everything claimed about it (gain, controls,
        //    p-values, exact match) is measured on split B. InSample restores the old path (all prompts for everything).
        var splits = suites.ToDictionary(s => s.Name, s => PromptSplit.Of(s.Name, s.Prompts.Count, o.SplitSeed), StringComparer.Ordinal);
        var sweepSuites = o.InSample ? suites : suites.Select(s => splits[s.Name].DiscoverOnSelection(s)).ToList();
        var cache = DiscoveryCache.Default();
        SweepRunResult RunSweep(string source, string db)
        {
            var def = new SweepDefinition
            {
                Name = $"demo-{source.Replace(':', '-')}",
                Model = new SweepModel(model.Provenance.Source, model.Provenance.ContentHash),
                Tasks = resolved.Select(t => t.Name).ToArray(),
                TaskSources = resolved.Select(t => new SweepTaskSource(t.Name, t.Sha256, t.Given)).ToArray(),
                Layers = o.Layers?.ToArray(),
                Counts = o.Counts.ToArray(),
                Multipliers = o.Multipliers.ToArray(),
                NeuronSource = source,
                Bos = o.Bos,
            };
            var tasks = SweepTaskBuilder.Build(model, tokenizer, sweepSuites, source, o.Bos, cache);
            var engine = new SweepEngine(model, def, tasks);
            using var store = ResultStore.Open(db);
            progress?.Report(new DemoStep("sweep", $"{source}: {engine.Grid.Count} configurations → {Path.GetFileName(db)}"));
            return engine.Run(store, new SweepOptions { Resume = true },
                o.Steps is { } st ? new SweepSteps(p => st("rows", $"sweep {p.Stage} ({p.ConfigsDone}/{p.ConfigsTotal} configs)", p.EvaluationsDone, p.EvaluationsTotal)) : null, ct);
        }
        string mainDb = Path.Combine(o.OutDir, o.InSample ? "sweep-in-sample.db" : "sweep.db");
        var sweep = RunSweep("differential", mainDb);
        // A sweep stopped by Ctrl+C returns Completed = false: stop here (nothing after it would be honest on a partial grid),
        // say what is stored, and let the front end exit as cancelled. Running the demo again resumes the database.
        if (!sweep.Completed)
            throw new SweepInterruptedException(
                $"demo stopped during the sweep: {sweep.EvaluationsWritten} evaluations stored in {mainDb} this run " +
                $"({sweep.EvaluationsSkipped} were already there); no controls, interference or report were run. " +
                "Run the same command again to resume.", mainDb, sweep.EvaluationsWritten, ct);
        var set = ResultSetReader.Read(mainDb);
        var finite = set.Where(r => double.IsFinite(r.ImprovementPct) && double.IsFinite(r.PBase));
        var chosen = o.InSample
            ? TaskSummaries.Compute(finite).ToDictionary(t => t.Task, t => t.Best.Configuration, StringComparer.Ordinal)
            : HeldOutSelection.Choose(finite, splits).ToDictionary(h => h.Task, h => h.Configuration, StringComparer.Ordinal);

        // 3. Controls at each task's chosen configuration, on split B (in-sample: on every prompt), with neurons from split A.
        var controls = new List<ControlComparison>();
        var collateral = new List<CollateralCost>();
        var sources = new List<InterferenceSource>();
        var generation = new List<GenerationOutcome>();
        var zoneOf = advice.ToDictionary(a => a.Task, a => a.Zone, StringComparer.Ordinal);
        foreach (var suite in suites)
        {
            ct.ThrowIfCancellationRequested();
            if (!chosen.TryGetValue(suite.Name, out var best)) continue;
            var measured = o.InSample ? suite : splits[suite.Name].MeasurementSuite(suite);
            var r = ControlsRunner.Run(model, tokenizer, measured, best.Layer, best.Count, (float)best.Multiplier, PositionsMode.All,
                new ControlsOptions { Seeds = o.ControlSeeds, Bos = o.Bos, Cache = cache,
                    Steps = o.Steps is { } st ? (stage, d, t) => st("sets", "controls " + stage, d, t) : null });
            controls.Add(r.Comparison);
            if (r.CollateralCost is { } c) collateral.Add(c);
            sources.Add(new InterferenceSource(sweepSuites.First(s => s.Name == suite.Name), best.Layer, best.Count, (float)best.Multiplier));
            progress?.Report(new DemoStep("controls", $"{suite.Name} at L{best.Layer} k={best.Count} ×{best.Multiplier}: task {r.Comparison.TaskNeuronImprovementPct:+0.00;-0.00}% vs random {r.Comparison.RandomMeanPct:+0.00;-0.00}% (p = {r.RandomTest?.PValue:G3}, {measured.Prompts.Count} prompts)"));
            if (o.GenerationMaxTokens > 0)
            {
                var g = GenerationEvaluator.Evaluate(model, tokenizer, measured, Amplification.Single(best.Layer, r.TaskNeurons, (float)best.Multiplier, PositionsMode.All),
                    o.Bos, zoneOf.GetValueOrDefault(suite.Name), o.GenerationMaxTokens);
                generation.Add(g);
                var em = g.ExactMatch;
                progress?.Report(new DemoStep("generate", $"{suite.Name}: exact match {em.CorrectBefore}/{em.N} → {em.CorrectAfter}/{em.N} (McNemar p = {em.McNemar.PValue:G3})"));
            }
        }
        var adjusted = ControlFamily.Adjust(controls);

        // 4. Cross-task interference: each task's chosen configuration applied while scoring every task.
        progress?.Report(new DemoStep("interference", $"{sources.Count} sources × {suites.Count} targets"));
        var interference = InterferenceRunner.Run(model, tokenizer, sources, suites, PositionsMode.All, o.Bos, cache,
            steps: o.Steps is { } ist ? (stage, d, t) => ist("evaluations", "interference " + stage, d, t) : null);
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

        // 6. How much the discovery lists depend on weighting the means per text or per token (split A's texts, the largest count).
        var weighting = sweepSuites.Select(su => WeightingComparison.For(new NeuronDiscovery(model, tokenizer, cache) { Bos = o.Bos }, su, o.Counts.Max())).ToArray();

        // 7. Analysis and report.
        progress?.Report(new DemoStep("report", "statistics, figures and the HTML report"));
        var report = ReportWriter.Write(set, new ReportOptions
        {
            Title = $"SNA demo on {Path.GetFileName(model.Provenance.Source)}",
            Analysis = new AnalysisOptions { Zones = o.Zones, Resamples = o.Resamples, HeldOutSeed = o.InSample ? null : o.SplitSeed },
            Controls = controls,
            ControlsHeldOut = !o.InSample,
            ControlsNote = o.InSample
                ? "IN-SAMPLE (--in-sample): neurons were discovered, each task's configuration was chosen and the controls were measured on the same prompts; the gains are biased upwards."
                : $"Held-out design (seed {o.SplitSeed}): each task's prompts were split in two; neurons were discovered and the configuration chosen on split A; " +
                  $"the task-neuron, {o.ControlSeeds} random and bottom-k improvements are measured on split B. Random sets exclude the task's own neurons.",
            Generation = generation,
            Collateral = collateral,
            Interference = interference.Matrix,
            InterferenceTests = interference.AsymmetryTests(o.Resamples),
            WeightingComparisons = weighting,
            Classification = classification,
            Provenance = (o.Provenance ?? []).Concat(
            [
                new("BOS", ModelTokenizer.BosDescription(o.Bos)),
                new("control seeds", $"{o.ControlSeeds} random neuron sets per task; " + (o.InSample ? "in-sample" : $"held-out protocol, split seed {o.SplitSeed}")),
            ]).ToArray(),
        }, Path.Combine(o.OutDir, "report"));
        return new DemoResult(advice, mainDb, sweep, report, DateTime.UtcNow - started)
        {
            Controls = controls, Adjusted = adjusted, Generation = generation,
        };
    }
}

/// <summary>Sweep progress forwarded to a callback on the reporting thread.</summary>
internal sealed class SweepSteps(Action<SweepProgress> report) : IProgress<SweepProgress>
{
    public void Report(SweepProgress value) => report(value);
}
