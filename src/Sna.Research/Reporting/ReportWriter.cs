using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sna.Research.Analysis;
using Sna.Research.Classification;

namespace Sna.Research.Reporting;

/// <summary>Options of <see cref="ReportWriter.Write"/>.</summary>
public sealed record ReportOptions
{
    /// <summary>Analysis options (zones, bootstrap, exact-p limit, control sources).</summary>
    public AnalysisOptions Analysis { get; init; } = new();

    /// <summary>Measured cross-task interference (needs the model); the section says "not measured" when null.</summary>
    public InterferenceMatrix? Interference { get; init; }

    /// <summary>
    /// Per task, how much the differential top-k lists change between per-text and per-token weighting of the discovery means
    /// (needs the model, so only a run that measured it has it; the demo does).
    /// </summary>
    public IReadOnlyList<Sna.Research.Method.WeightingComparison>? WeightingComparisons { get; init; }

    /// <summary>The asymmetry tests of the interference measurement (they need per-prompt values, so only a run that measured it has them).</summary>
    public InterferenceAsymmetryTests? InterferenceTests { get; init; }

    /// <summary>Control comparisons measured elsewhere; added to those found in the sweep's control rows.</summary>
    public IReadOnlyList<ControlComparison>? Controls { get; init; }

    /// <summary>A stored classification (SST-2-style) run to include (<c>sna classify --db</c>); the section is omitted when null.</summary>
    public Sna.Research.Classification.ClassifyReportData? Classification { get; init; }

    /// <summary>How the controls were obtained (e.g. the held-out design), printed under the controls table.</summary>
    public string? ControlsNote { get; init; }

    /// <summary>True when <see cref="Controls"/> were measured on prompts held out from neuron discovery and configuration choice; false marks them in-sample.</summary>
    public bool ControlsHeldOut { get; init; }

    /// <summary>Generation-level (exact-match) evaluation to include; the section is omitted when null.</summary>
    public IReadOnlyList<Sna.Research.Experiments.GenerationOutcome>? Generation { get; init; }

    /// <summary>Collateral cost on neutral text (needs the model); the section says "not measured" when null.</summary>
    public IReadOnlyList<CollateralCost>? Collateral { get; init; }

    /// <summary>Also write SVG files.</summary>
    public bool WriteSvg { get; init; } = true;

    /// <summary>Embed figures in the HTML as inline SVG instead of base64 PNG.</summary>
    public bool InlineSvgInHtml { get; init; }

    /// <summary>Figure size in pixels.</summary>
    public int FigureWidth { get; init; } = 960;

    /// <summary>Figure size in pixels.</summary>
    public int FigureHeight { get; init; } = 620;

    /// <summary>
    /// Provenance known to the caller, shown first in the provenance block: command line, version with commit, date, BOS,
    /// definition hash, seeds… (the report adds model, hash, grid and definitions from the results).
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Provenance { get; init; }

    /// <summary>Report title; default "SNA sweep report: {sweep} ({model})".</summary>
    public string? Title { get; init; }
}

/// <summary>What <see cref="ReportWriter.Write"/> produced.</summary>
/// <param name="Directory">Output directory.</param>
/// <param name="HtmlPath">report.html.</param>
/// <param name="MarkdownPath">report.md.</param>
/// <param name="JsonPath">summary.json.</param>
/// <param name="Figures">Figure files.</param>
/// <param name="Analysis">The analysis the report shows.</param>
/// <param name="Controls">Control comparisons shown (from the sweep and from the options).</param>
public sealed record ReportOutput(string Directory, string HtmlPath, string MarkdownPath, string JsonPath,
    IReadOnlyList<FigureFile> Figures, SweepAnalysisResult Analysis, IReadOnlyList<ControlComparison> Controls);

/// <summary>Writes the analysis report of a sweep: report.html (self-contained), report.md, summary.json and figures.</summary>
public static class ReportWriter
{
    /// <summary>Schema tag written to summary.json.</summary>
    public const string SchemaVersion = "sna.report/1";

    /// <summary>Figure file stems.</summary>
    public const string Figure1 = "figure1_baseline_vs_improvement", LayerHeatmap = "layer_task_heatmap",
        MultiplierFigure = "improvement_vs_multiplier", InterferenceFigure = "interference_matrix", ClassifyFigure = "figure2_classification_zones";

    /// <summary>Analyses <paramref name="set"/> and writes the report files into <paramref name="outDir"/> (created if needed).</summary>
    public static ReportOutput Write(SweepResultSet set, ReportOptions options, string outDir)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        var a = SweepAnalysis.Run(set, options.Analysis);
        var controls = a.Controls.Concat(options.Controls ?? []).ToArray();
        Directory.CreateDirectory(outDir);

        var figures = new List<FigureFile>();
        FigureFile Save(ScottPlot.Plot p, string name, string title) =>
            Figures.Save(p, outDir, name, title, options.FigureWidth, options.FigureHeight, options.WriteSvg);
        var f1 = Save(Figures.BaselineVsImprovement(a), Figure1,
            "Figure 1. Per-task baseline P_base (log scale) vs mean improvement over configurations; shaded: zones.");
        figures.Add(f1);
        FigureFile? fLayer = Figures.LayerTaskHeatmap(a.Layers) is { } lp
            ? Save(lp, LayerHeatmap, "Layer × task mean improvement (%); red squares: each task's optimal layer.") : null;
        if (fLayer is not null) figures.Add(fLayer);
        FigureFile? fMult = Figures.MultiplierCurves(a.MultiplierCurves) is { } mp
            ? Save(mp, MultiplierFigure, "Mean improvement vs multiplier, averaged over the tasks of each zone.") : null;
        if (fMult is not null) figures.Add(fMult);
        FigureFile? fInt = options.Interference is { } im
            ? Save(Figures.InterferenceHeatmap(im), InterferenceFigure, "Interference: mean relative % change of the target task's P(target) (column) when the source task's (row) neurons are amplified (improvement_pct).") : null;
        if (fInt is not null) figures.Add(fInt);
        FigureFile? fCls = options.Classification is { } cls
            ? Save(Figures.ClassificationZones(cls), ClassifyFigure, $"Figure 2. Accuracy change per margin zone vs multiplier at layer {cls.BestLayer} (the layer where Zone 1 gains most).") : null;
        if (fCls is not null) figures.Add(fCls);

        // The title names the model; its full path and hash are in the provenance block and the overview.
        string title = options.Title ?? $"SNA sweep report: {a.SweepName} ({ShortModelName(a.ModelName)})";
        var adjusted = StatisticsSections.AdjustControls(a.Controls, options.Controls ?? [], options.ControlsHeldOut);
        var doc = BuildDocument(title, a, options, adjusted, f1, fLayer, fMult, fInt, fCls, set);
        string html = Path.Combine(outDir, "report.html"), md = Path.Combine(outDir, "report.md"), json = Path.Combine(outDir, "summary.json");
        var utf8 = new UTF8Encoding(false);
        File.WriteAllText(html, doc.ToHtml(options.InlineSvgInHtml), utf8);
        File.WriteAllText(md, doc.ToMarkdown(), utf8);
        var summary = Summary(a, options, controls, figures);
        StatisticsSections.Json(summary, a, adjusted, options.Generation);
        File.WriteAllText(json, summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), utf8);
        return new ReportOutput(outDir, html, md, json, figures, a, controls);
    }

    // ---------------------------------------------------------------- document

    private static ReportDocument BuildDocument(string title, SweepAnalysisResult a, ReportOptions o,
        IReadOnlyList<StatisticsSections.AdjustedControl> controls, FigureFile f1, FigureFile? fLayer, FigureFile? fMult, FigureFile? fInt, FigureFile? fCls, SweepResultSet set)
    {
        var z = a.Options.Zones;
        var d = new ReportDocument(title);
        var st = a.Statistics;

        d.H("provenance", 2, "Provenance");
        d.KeyValues("table-provenance", "How these results were produced", Provenance(a, o, set));

        d.H("overview", 2, "Overview");
        d.P($"Sweep {a.SweepName}; model {a.ModelName}{(a.ModelHash is null ? "" : $" (sha256 {a.ModelHash})")}; " +
            $"{a.Tasks.Count} task(s), {a.TotalRows} row(s) ({a.AnalysedRows} analysed, {a.ControlRows} control, {a.NonFiniteRows} non-finite). " +
            $"Zones on P_base: {z.Low.ToString(CultureInfo.InvariantCulture)} / {z.High.ToString(CultureInfo.InvariantCulture)}; golden threshold {a.Options.GoldenThresholdPct.ToString(CultureInfo.InvariantCulture)}%.");
        if (st.Spearman is { } s0)
            d.P($"Headline: baseline vs mean improvement_pct (mean over prompts of 100 (P_post − P_base)/P_base, averaged over configurations), Spearman rho = {Fmt.F(s0.Rho)} (p = {Fmt.P(st.SpearmanPPreferred)}, {st.SpearmanPPreferredKind}, n = {s0.N}; " +
                $"95% bootstrap CI [{Fmt.F(st.SpearmanCi?.Lower ?? double.NaN)}, {Fmt.F(st.SpearmanCi?.Upper ?? double.NaN)}]). Paper (GPT-2 Medium, 12 tasks): rho = -0.762, p = 0.004.");
        else d.P("Headline statistic " + st.NotEstimable, note: true);

        d.H("caveats", 2, "Caveats");
        d.List(a.Caveats);

        // Tasks
        d.H("tasks", 2, "Per-task summary");
        d.P("Configuration = (layer, count, multiplier, positions, neuron source); its improvement is the mean over the task's prompts of " +
            "the per-prompt % improvement. Baseline = mean P_base over the task's prompts. Success rate = share of configurations with " +
            $"improvement > 0; golden = configurations with improvement > {a.Options.GoldenThresholdPct.ToString(CultureInfo.InvariantCulture)}%. " +
            "Best layer = layer with the highest improvement averaged over its configurations.");
        d.Table("table-tasks", "Per-task summary",
            ["task", "prompts", "configs", "baseline P_base", "zone", "mean impr.", "impr. of mean P", "median impr.",
             "max impr. (in-sample)", "success rate", "golden", "best layer", "localization", "best configuration (in-sample)"],
            a.Tasks.Select(t => (IReadOnlyList<string>)[t.Task, I(t.Prompts), I(t.Configurations), Fmt.Prob(t.Baseline),
                I(t.Zone), Fmt.Pct(t.MeanImprovementPct, 2), Fmt.Pct(t.MeanImprovementOfMeansPct, 2), Fmt.Pct(t.MeanMedianImprovementPct, 2), Fmt.Pct(t.MaxImprovementPct, 2), Sna.Research.Formatting.Num.Share(t.SuccessRate), I(t.GoldenZoneCount),
                I(t.BestLayer), Fmt.F(t.Localization, 2), Compact(t.Best.Configuration)]));

        // Statistics
        d.H("statistics", 2, "Baseline confidence vs improvement");
        d.Figure(f1);
        if (st.NotEstimable is { } ne) d.P("Statistics " + ne, note: true);
        else
        {
            var p = st.Pearson!; var s = st.Spearman!; var ci = st.SpearmanCi!;
            d.Table("table-statistics", $"Across tasks (n = {st.N}): baseline P_base vs mean improvement",
                ["statistic", "value", "p", "method", "paper"],
                [
                    ["Pearson r (raw P_base)", Fmt.F(p.R), Fmt.P(p.PValue), "two-sided, t with n−2 df (scipy.stats.pearsonr)", "-0.503 (p = 0.095)"],
                    ["Pearson r (ln P_base)", Fmt.F(st.PearsonLog?.R), Fmt.P(st.PearsonLog?.PValue ?? double.NaN), "as above on the log baseline", "—"],
                    ["Spearman rho", Fmt.F(s.Rho), Fmt.P(s.PValueT), "t-approximation with n−2 df (scipy.stats.spearmanr)", "-0.762 (p = 0.004)"],
                    ["Spearman rho, exact p", Fmt.F(s.Rho), s.PValueExact is double pe ? Fmt.P(pe) : "not computed",
                        s.PValueExact is null ? $"exact permutation p only for n ≤ {a.Options.MaxExactN}" : $"exact permutation over all {st.N}! pairings (preferred at small n)", "—"],
                    ["rho²", Fmt.F(s.RhoSquared), "", "share of rank variance explained by baseline rank", "0.58"],
                    ["rho 95% CI", $"[{Fmt.F(ci.Lower)}, {Fmt.F(ci.Upper)}]", "", $"percentile bootstrap over tasks, {ci.Resamples} resamples, seed {ci.Seed}, {ci.Skipped} undefined skipped", "—"],
                ]);
            d.P(s.Method, note: true);
        }
        StatisticsSections.Definitions(d, a);

        // Zones
        d.H("zones", 2, "Zone model");
        d.Table("table-zones", "Tasks by baseline zone", ["zone", "tasks", "n", "mean baseline", "mean impr.", "max impr.", "mean success rate"],
            a.Zones.Select(g => (IReadOnlyList<string>)[g.Label, string.Join(", ", g.Tasks), I(g.Tasks.Count), Fmt.Prob(g.MeanBaseline),
                Fmt.Pct(g.MeanImprovementPct, 2), Fmt.Pct(g.MaxImprovementPct, 2), Sna.Research.Formatting.Num.Share(g.MeanSuccessRate)]));
        d.P("Paper (GPT-2 Medium): Zone 1 mean +27.85% (up to +70.3%), Zone 2 unstable, Zone 3 rarely above +7%.", note: true);
        d.H("calibration", 3, "Threshold calibration");
        if (a.Calibration is { } cal)
        {
            d.P($"Fit: mean improvement = {Fmt.F(cal.Intercept, 2)} + ({Fmt.F(cal.Slope, 2)}) · ln P_base, R² = {Fmt.F(cal.RSquared)}, slope p = {Fmt.P(cal.SlopePValue)}, n = {cal.N}. " +
                $"Boundaries: expected gain {ZoneCalibration.DefaultGoldenGain.ToString(CultureInfo.InvariantCulture)}% (Zone 1/2) and {ZoneCalibration.DefaultSaturationGain.ToString(CultureInfo.InvariantCulture)}% (Zone 2/3); " +
                $"{(int)(cal.ConfidenceLevel * 100)}% percentile-bootstrap CIs, {cal.Resamples} resamples, {cal.Skipped} skipped (slope ≥ 0).");
            var rows = new List<IReadOnlyList<string>>();
            // A boundary read off a slope that is not distinguishable from zero is extrapolation of noise: say so instead of printing it.
            bool estimable = double.IsFinite(cal.SlopePValue) && cal.SlopePValue < CalibrationAlpha && cal.Slope < 0;
            string why = estimable ? "" : $"not estimable (slope {Fmt.F(cal.Slope, 3)}, p = {Fmt.P(cal.SlopePValue)}: no reliable trend)";
            foreach (var (name, b, cur) in new[] { ("Zone 1/2", cal.Zone12, z.Low), ("Zone 2/3", cal.Zone23, z.High) })
                rows.Add(!estimable ? [name, why, "—", "—", Fmt.Prob(cur)]
                    : b is null ? [name, "—", "—", "—", Fmt.Prob(cur)]
                    : [name, Fmt.Prob(b.Baseline), $"[{Fmt.Prob(b.CiLower)}, {Fmt.Prob(b.CiUpper)}]", b.Extrapolated ? "yes" : "no", Fmt.Prob(cur)]);
            d.Table("table-calibration", "Calibrated zone boundaries (P_base)", ["boundary", "fitted", "95% CI", "extrapolated", "configured"], rows);
            if (a.CalibrationNote is { } cn) d.P(cn, note: true);
        }
        else d.P("Calibration " + (a.CalibrationNote ?? "not estimable."), note: true);
        if (fMult is not null) d.Figure(fMult);

        // Decomposition
        d.H("decomposition", 2, "Three-factor decomposition");
        var dec = a.Decomposition;
        StatisticsSections.BaselineRhoSquared(d, a);
        if (dec.Estimable)
        {
            d.Table("table-decomposition", $"This toolkit's Shapley/LMG shares of R² (n = {dec.N}, full R² = {Fmt.F(dec.FullRSquared)}); not the paper's method",
                ["factor", "share of R²", "% of R²", "paper's figure (different quantity)"],
                dec.Shares.Select(f => (IReadOnlyList<string>)[f.Factor, Fmt.F(f.Share), Fmt.F(f.PercentOfR2, 1), Fmt.F(f.PaperPercent, 0)])
                    .Append(["total", Fmt.F(dec.Shares.Sum(f => f.Share)), "100.0", "100"]));
        }
        else d.P("Decomposition " + dec.NotEstimable, note: true);
        d.P(dec.Method, note: true);

        // Layers
        d.H("layers", 2, "Layer specialization");
        var L = a.Layers;
        if (fLayer is not null) d.Figure(fLayer);
        d.Table("table-layer-tasks", "Optimal layer per task", ["task", "domain", "level", "optimal layer", "improvement there"],
            a.Tasks.Select(t => (IReadOnlyList<string>)[t.Task, t.Domain, t.Level, I(t.BestLayer), Fmt.Pct(t.LayerMeanImprovementPct[t.BestLayer], 2)]));
        d.Table("table-layer-domains", "Optimal layer per domain (layer means averaged over the domain's tasks)",
            ["domain", "tasks", "optimal layer", "mean of tasks' optimal layers", "tasks' optimal layers"],
            L.ByDomain.Select(g => (IReadOnlyList<string>)[g.Group, string.Join(", ", g.Tasks), I(g.OptimalLayer), Fmt.F(g.MeanOptimalLayer, 2), string.Join(", ", g.TaskOptimalLayers)]));
        d.Table("table-layer-levels", "Optimal layer per difficulty level", ["level", "tasks", "optimal layer", "mean of tasks' optimal layers", "tasks' optimal layers"],
            L.ByLevel.Select(g => (IReadOnlyList<string>)[g.Group, string.Join(", ", g.Tasks), I(g.OptimalLayer), Fmt.F(g.MeanOptimalLayer, 2), string.Join(", ", g.TaskOptimalLayers)]));
        if (L.LevelVsOptimalLayer is { } lv)
            d.P($"Difficulty vs optimal layer: Spearman rho = {Fmt.F(lv.Rho)}, p = {Fmt.P(lv.PValueExact ?? lv.PValueT)} " +
                $"({(lv.PValueExact is null ? "t-approximation" : "exact permutation")}), n = {lv.N}. {L.LevelNote}");
        else if (L.LevelNote is not null) d.P("Difficulty vs optimal layer " + L.LevelNote, note: true);
        d.Table("table-layer-matrix", "Layer × task mean improvement (%)", ["layer", .. L.Tasks],
            L.Layers.Select((layer, i) => (IReadOnlyList<string>)[I(layer), .. L.Tasks.Select((_, j) => Fmt.F(L.Matrix[i, j], 2))]));

        // Interference
        d.H("interference", 2, "Cross-task interference");
        if (o.Interference is { } im)
        {
            var asym = im.Analyze();
            if (fInt is not null) d.Figure(fInt);
            d.Table("table-interference", $"Interference matrix ({im.Metric}); row = source (amplified), column = target",
                ["source \\ target", .. im.Tasks],
                im.Tasks.Select((s, i) => (IReadOnlyList<string>)[s, .. im.Tasks.Select((_, j) => Fmt.F(im[i, j], 2))]));
            d.P("Values are improvement_pct: the mean over the target's prompts of the relative % change 100 (P_post − P_base) / P_base — a relative change, not percentage points (older files call it delta_pp). " +
                $"Asymmetry index {Fmt.F(asym.AsymmetryIndex)} (0 = symmetric, 0.5 = directions unrelated, 1 = antisymmetric); mean |A→B − B→A| = {Fmt.F(asym.MeanAbsDifference, 2)} %; " +
                $"{asym.OppositeSignPairs} of {asym.Pairs.Count} pair(s) with opposite signs; mean cross-task effect {Fmt.F(asym.MeanOffDiagonal, 2)} %, mean self effect {Fmt.F(asym.MeanDiagonal, 2)} %.");
            if (o.InterferenceTests is { Direction: { } dir } tests)
            {
                d.P($"Paired asymmetry test across {dir.Pairs} task pairs ({dir.Orientation}): mean difference {Fmt.F(dir.MeanDifference, 2)} %, " +
                    $"{dir.PositivePairs} of {dir.Pairs} positive, p = {Fmt.P(dir.PValue)} ({dir.Method}). " +
                    $"Per pair: two-sided permutation test of A→B's per-prompt changes against B→A's (different prompts, so unpaired), Holm-adjusted over the {tests.Pairs.Count} pairs; " +
                    $"{tests.Pairs.Count(p => p.PHolm < 0.05)} survive(s) at 0.05.");
                d.Table("table-interference-asymmetry", "Most asymmetric pairs (A→B vs B→A, mean relative % change) with their tests", ["A", "B", "A→B", "B→A", "difference", "p", "Holm p"],
                    tests.Pairs.Take(15).Select(p => (IReadOnlyList<string>)[p.A, p.B, Fmt.F(p.AToB, 2), Fmt.F(p.BToA, 2), Fmt.F(p.Difference, 2), Fmt.P(p.PValue), Fmt.P(p.PHolm)]));
            }
            else
                d.Table("table-interference-asymmetry", "Most asymmetric pairs (A→B vs B→A, mean relative % change)", ["A", "B", "A→B", "B→A", "difference", "opposite signs"],
                    asym.Pairs.Take(15).Select(p => (IReadOnlyList<string>)[p.A, p.B, Fmt.F(p.AToB, 2), Fmt.F(p.BToA, 2), Fmt.F(p.Difference, 2), p.OppositeSigns ? "yes" : "no"]));
        }
        else d.P("Not measured in this report: interference needs the model (amplify each task's neurons and score every other task).", note: true);

        // Controls
        d.H("controls", 2, "Controls and corrected p-values");
        StatisticsSections.HeldOut(d, a);
        StatisticsSections.Controls(d, controls, o.ControlsNote);
        StatisticsSections.Generation(d, o.Generation, zone => Fmt.Zone(zone, z));

        d.H("collateral", 2, "Collateral cost");
        if (o.Collateral is { Count: > 0 } col)
        {
            d.Table("table-collateral", "Neutral-text cost of the intervention", ["task", "configuration", "positions", "mean KL (nats)", "PPL base", "PPL post", "PPL change"],
                col.Select(c => (IReadOnlyList<string>)[c.Task, c.Configuration?.ToString() ?? "—", I(c.Positions), Fmt.F(c.MeanKl, 5),
                    Fmt.F(c.PerplexityBase, 3), Fmt.F(c.PerplexityPost, 3), Fmt.Pct(c.PerplexityChangePct, 2)]));
            d.P("KL(P_base ‖ P_post) of the next-token distribution averaged over neutral-corpus positions, from log-softmax in double; perplexity = exp(−mean ln p(next token)).", note: true);
        }
        else d.P("Not measured in this report: collateral cost needs the model and a neutral corpus.", note: true);

        if (o.Classification is { } cr)
        {
            d.H("classification", 2, "Classification (zero-shot, margin zones)");
            d.P($"{cr.N} examples from {Path.GetFileName(cr.DataSource)} (seed {cr.Seed}); template \"{cr.Template}\"; {cr.Method} neurons, k = {cr.K} per class; " +
                $"amplified: {cr.Amplify}{(AmplifyTargets.IsOracle(cr.Amplify) ? " — ORACLE: it reads each example's label, so these accuracies are an upper bound, not a classifier's" : "")}; margin zones {cr.ZoneLow.ToString(CultureInfo.InvariantCulture)} / {cr.ZoneHigh.ToString(CultureInfo.InvariantCulture)}; " +
                $"accuracy before {Fmt.F(cr.AccuracyBefore, 3)}. " +
                (cr.Grid.Any(c => c.Zone == 3 && c.N > 0)
                    ? $"Zone 3 unchanged in every non-identity cell ({cr.Grid.Where(c => c.Multiplier != 1).Select(c => (c.Layer, c.Multiplier)).Distinct().Count()} configurations; ×1 cells are the baseline and not counted): {(cr.Zone3Unchanged ? "yes" : "no")} (paper: exactly 0.0 pp in all 60 configurations)."
                    : "Zone 3 has no examples in this sample, so the paper's \"Zone 3 unchanged\" finding cannot be checked here."));
            string Z(int layer, double m, int zone) => cr.Grid.FirstOrDefault(c => c.Layer == layer && c.Multiplier == m && c.Zone == zone) is { } c
                ? (c.N == 0 ? "—" : $"{(c.DeltaPp is double dd ? dd.ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture) : "—")} ({c.Fixed}/{c.Broken})") : "—";
            int Nz(int zone) => cr.Grid.FirstOrDefault(c => c.Zone == zone)?.N ?? 0;
            d.Table("table-classification", "Accuracy change (pp) per margin zone; in brackets examples fixed / broken",
                ["layer", "multiplier", $"Zone 1 (n={Nz(1)})", $"Zone 2 (n={Nz(2)})", $"Zone 3 (n={Nz(3)})", $"all (n={Nz(0)})"],
                cr.Layers.SelectMany(l => cr.Multipliers.Select(m => (IReadOnlyList<string>)[I(l), m.ToString("0.##", CultureInfo.InvariantCulture),
                    Z(l, m, 1), Z(l, m, 2), Z(l, m, 3), Z(l, m, 0)])));
            if (fCls is not null) d.Figure(fCls);
        }

        d.H("discovery-weighting", 2, "Discovery: per-text vs per-token weighting");
        if (o.WeightingComparisons is { Count: > 0 } wc)
        {
            int nl = wc.Max(w => w.Layers.Count);
            d.P($"Each task's differential top-{wc[0].K} neurons per layer, found with the means weighted per text (every text counts once: the default, the paper's) and per token " +
                $"(every position counts once, so long texts weigh more), positions {Sna.Research.Method.DiscoveryMeanOptions.PositionNames[(int)wc[0].Positions]}. " +
                "Cells: Jaccard |A ∩ B| / |A ∪ B| of the two lists (1 = identical) and, in brackets, the shared count; the last column is the mean Jaccard over layers.");
            d.Table("table-discovery-weighting", "Top-k change between per-text and per-token weighting (Jaccard, shared)",
                ["task", .. Enumerable.Range(0, nl).Select(l => $"L{l}"), "mean"],
                wc.Select(w => (IReadOnlyList<string>)[w.Task, .. Enumerable.Range(0, nl).Select(l => l < w.Layers.Count ? $"{Fmt.F(w.Layers[l].Jaccard, 2)} ({w.Layers[l].Shared})" : "—"), Fmt.F(w.MeanJaccard, 3)]));
        }
        else d.P("Not measured in this report: comparing the weightings needs the model (the demo measures it; `sna neurons --weighting per-text|per-token` shows either list).", note: true);

        d.H("method", 2, "Method");
        d.List(
        [
            "Per-prompt improvement = 100 (P_post − P_base) / P_base as stored in the sweep; configuration improvement_pct = mean over prompts; " +
                "improvement_of_means_pct = 100 (mean P_post − mean P_base) / mean P_base; median_improvement_pct = median over prompts.",
            $"Control rows (neuron sources starting with {string.Join(", ", a.Options.ControlSourcePrefixes)}) are excluded from the task statistics.",
            "Pearson/Spearman as scipy.stats (SciPy 1.10); exact Spearman p by exhaustive null distribution (dynamic programme), not Monte Carlo.",
            $"Bootstrap: percentile intervals, {a.Options.Resamples} resamples, xoshiro256** seed {a.Options.Seed} (reproducible).",
            "Three-factor decomposition: " + ThreeFactorDecomposition.MethodText,
            "Circuit localization = best layer's share of the total positive per-layer gain (max_L g⁺_L / Σ_L g⁺_L).",
        ]);
        return d;
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>A model directory's name ("/…/models/sna-demo-gpt2" → "sna-demo-gpt2"); a hub id ("org/name") or bare name as given.</summary>
    public static string ShortModelName(string model) =>
        Path.IsPathRooted(model) || model.StartsWith('.') || model.Contains('\\') ? Path.GetFileName(model.TrimEnd('/', '\\')) is { Length: > 0 } n ? n : model : model;

    /// <summary>Calibrated boundaries are shown only when the fitted slope is negative with p below this.</summary>
    public const double CalibrationAlpha = 0.05;

    /// <summary><c>L3 k8 x3</c>, with positions and source only when they are not the defaults (all, differential).</summary>
    private static string Compact(SweepConfiguration c) =>
        $"L{c.Layer} k{c.Count} x{Sna.Research.Formatting.Num.Sig(c.Multiplier, 4)}" + (c.Positions == "all" ? "" : $" {c.Positions}")
        + (c.NeuronSource is "differential" or "" ? "" : $" {c.NeuronSource}");

    /// <summary>The provenance block: the caller's entries (command line, version, date, BOS, seeds), then what the results say.</summary>
    private static IEnumerable<KeyValuePair<string, string>> Provenance(SweepAnalysisResult a, ReportOptions o, SweepResultSet set)
    {
        var caller = o.Provenance ?? [];
        foreach (var kv in caller) yield return kv;
        bool Has(string k) => caller.Any(kv => kv.Key == k);
        if (!Has("version")) yield return new("version", Sna.Research.Provenance.SnaVersion.Text);
        if (!Has("date")) yield return new("date", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
        yield return new("model", a.ModelName + (a.ModelHash is null ? " (hash unknown)" : $" (sha256 {a.ModelHash})"));
        yield return new("sweep", $"{a.SweepName}: {a.Tasks.Count} task(s), {a.TotalRows} row(s)");
        static string List<T>(IEnumerable<T> xs, Func<T, string> f) => string.Join(", ", xs.Distinct().Order().Select(f));
        var rows = set.Rows;
        if (rows.Count > 0)
        {
            int perTask = rows.Select(r => r.Configuration).Distinct().Count();
            yield return new("grid", $"layers {List(rows.Select(r => r.Layer), I)}; counts {List(rows.Select(r => r.Count), I)}; " +
                $"multipliers {List(rows.Select(r => r.Multiplier), m => Sna.Research.Formatting.Num.Sig(m, 4))} ({perTask} configuration(s) in all)");
            yield return new("positions", List(rows.Select(r => r.Positions), x => x));
            yield return new("neuron source", List(rows.Select(r => r.NeuronSource), x => x));
        }
        if (!Has("BOS")) yield return new("BOS", "not recorded in these results");
        yield return new("bootstrap", $"seed {a.Options.Seed}, {a.Options.Resamples} resamples");
        yield return new("definitions", $"improvement = (P_post - P_base) / P_base x 100 per prompt, mean over prompts per configuration; " +
            $"P = probability of the target's first token at the last position; zones on mean P_base: Zone 1 < {Fmt.Prob(a.Options.Zones.Low)} <= Zone 2 <= {Fmt.Prob(a.Options.Zones.High)} < Zone 3; " +
            $"golden = configuration improvement > {Sna.Research.Formatting.Num.Sig(a.Options.GoldenThresholdPct)}%; success = improvement > 0");
    }

    // ---------------------------------------------------------------- summary.json

    /// <summary>The summary.json document (see docs/analysis.md for the schema).</summary>
    public static JsonObject Summary(SweepAnalysisResult a, ReportOptions o, IReadOnlyList<ControlComparison> controls, IReadOnlyList<FigureFile> figures)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(o);
        var st = a.Statistics;
        var root = new JsonObject
        {
            ["schema"] = SchemaVersion,
            ["sweep"] = a.SweepName,
            ["model"] = a.ModelName,
            ["model_hash"] = a.ModelHash,
            ["options"] = new JsonObject
            {
                ["zones"] = new JsonObject { ["low"] = a.Options.Zones.Low, ["high"] = a.Options.Zones.High },
                ["golden_threshold_pct"] = a.Options.GoldenThresholdPct,
                ["bootstrap_resamples"] = a.Options.Resamples,
                ["seed"] = a.Options.Seed,
                ["max_exact_n"] = a.Options.MaxExactN,
                ["control_source_prefixes"] = Arr(a.Options.ControlSourcePrefixes.Select(s => (JsonNode?)s)),
            },
            ["rows"] = new JsonObject { ["total"] = a.TotalRows, ["analysed"] = a.AnalysedRows, ["control"] = a.ControlRows, ["non_finite"] = a.NonFiniteRows },
            ["tasks"] = Arr(a.Tasks.Select(t => (JsonNode?)new JsonObject
            {
                ["task"] = t.Task,
                ["domain"] = t.Domain,
                ["level"] = t.Level,
                ["prompts"] = t.Prompts,
                ["configurations"] = t.Configurations,
                ["baseline"] = N(t.Baseline),
                ["mean_improvement_pct"] = N(t.MeanImprovementPct),
                ["mean_improvement_of_means_pct"] = N(t.MeanImprovementOfMeansPct),
                ["mean_median_improvement_pct"] = N(t.MeanMedianImprovementPct),
                ["max_improvement_pct"] = N(t.MaxImprovementPct),
                ["success_rate"] = N(t.SuccessRate),
                ["golden_zone_count"] = t.GoldenZoneCount,
                ["zone"] = t.Zone,
                ["best_layer"] = t.BestLayer,
                ["localization"] = N(t.Localization),
                ["best_configuration"] = Config(t.Best.Configuration, t.Best.MeanImprovementPct),
                ["layer_mean_improvement_pct"] = new JsonObject(t.LayerMeanImprovementPct.Select(kv =>
                    new KeyValuePair<string, JsonNode?>(kv.Key.ToString(CultureInfo.InvariantCulture), N(kv.Value)))),
            })),
            ["stats"] = new JsonObject
            {
                ["n"] = st.N,
                ["pearson_r"] = N(st.Pearson?.R),
                ["pearson_p"] = N(st.Pearson?.PValue),
                ["pearson_log_r"] = N(st.PearsonLog?.R),
                ["pearson_log_p"] = N(st.PearsonLog?.PValue),
                ["spearman_rho"] = N(st.Spearman?.Rho),
                ["spearman_p"] = N(st.Spearman?.PValueT),
                ["spearman_p_method"] = "t-approximation, n-2 df (scipy.stats.spearmanr)",
                ["spearman_p_exact"] = N(st.Spearman?.PValueExact),
                ["spearman_p_preferred"] = N(st.Spearman is null ? null : st.SpearmanPPreferred),
                ["spearman_p_preferred_method"] = st.Spearman is null ? null : st.SpearmanPPreferredKind,
                ["spearman_rho_squared"] = N(st.Spearman?.RhoSquared),
                ["spearman_ci95"] = st.SpearmanCi is { } ci ? Arr([N(ci.Lower), N(ci.Upper)]) : null,
                ["bootstrap"] = st.SpearmanCi is { } c2 ? new JsonObject { ["resamples"] = c2.Resamples, ["valid"] = c2.Valid, ["skipped"] = c2.Skipped, ["seed"] = c2.Seed, ["method"] = c2.Method } : null,
                ["not_estimable"] = st.NotEstimable,
                ["method"] = st.Spearman?.Method,
            },
            ["zones"] = Arr(a.Zones.Select(g => (JsonNode?)new JsonObject
            {
                ["zone"] = g.Zone,
                ["label"] = g.Label,
                ["tasks"] = Arr(g.Tasks.Select(t => (JsonNode?)t)),
                ["mean_baseline"] = N(g.MeanBaseline),
                ["mean_improvement_pct"] = N(g.MeanImprovementPct),
                ["max_improvement_pct"] = N(g.MaxImprovementPct),
                ["mean_success_rate"] = N(g.MeanSuccessRate),
            })),
            ["calibration"] = a.Calibration is { } cal ? new JsonObject
            {
                ["n"] = cal.N,
                ["intercept"] = N(cal.Intercept),
                ["slope"] = N(cal.Slope),
                ["slope_p"] = N(cal.SlopePValue),
                ["r_squared"] = N(cal.RSquared),
                ["zone12"] = Boundary(cal.Zone12),
                ["zone23"] = Boundary(cal.Zone23),
                ["resamples"] = cal.Resamples,
                ["skipped"] = cal.Skipped,
                ["failure"] = cal.FailureReason,
            } : null,
            ["calibration_note"] = a.CalibrationNote,
            ["shapley"] = new JsonObject
            {
                ["n"] = a.Decomposition.N,
                ["estimable"] = a.Decomposition.Estimable,
                ["r_squared"] = N(a.Decomposition.FullRSquared),
                ["shares"] = Arr(a.Decomposition.Shares.Select(f => (JsonNode?)new JsonObject
                {
                    ["factor"] = f.Factor, ["share"] = N(f.Share), ["percent_of_r2"] = N(f.PercentOfR2), ["paper_percent"] = f.PaperPercent,
                })),
                ["domains"] = Arr(a.Decomposition.Domains.Select(s => (JsonNode?)s)),
                ["not_estimable"] = a.Decomposition.NotEstimable,
                ["method"] = a.Decomposition.Method,
            },
            ["layers"] = Layers(a.Layers),
            ["interference"] = o.Interference is { } im ? Interference(im, o.InterferenceTests) : null,
            ["controls"] = Arr(controls.Select(c => (JsonNode?)new JsonObject
            {
                ["task"] = c.Task,
                ["configuration"] = Config(c.Configuration, c.TaskNeuronImprovementPct),
                ["task_improvement_pct"] = N(c.TaskNeuronImprovementPct),
                ["random_improvements_pct"] = Arr(c.RandomImprovementsPct.Select(v => N(v))),
                ["random_mean_pct"] = N(c.RandomMeanPct),
                ["random_sd_pct"] = N(c.RandomSdPct),
                ["p_vs_random"] = N(c.RandomTest?.PValue),
                ["bottom_k_improvement_pct"] = N(c.BottomKImprovementPct),
            })),
            ["collateral"] = Arr((o.Collateral ?? []).Select(c => (JsonNode?)new JsonObject
            {
                ["task"] = c.Task,
                ["configuration"] = c.Configuration is null ? null : Config(c.Configuration, double.NaN),
                ["positions"] = c.Positions,
                ["mean_kl"] = N(c.MeanKl),
                ["perplexity_base"] = N(c.PerplexityBase),
                ["perplexity_post"] = N(c.PerplexityPost),
                ["perplexity_change_pct"] = N(c.PerplexityChangePct),
            })),
            ["discovery_weighting"] = o.WeightingComparisons is not { } wcs ? null : Arr(wcs.Select(w => (JsonNode?)new JsonObject
            {
                ["task"] = w.Task, ["positions"] = Sna.Research.Method.DiscoveryMeanOptions.PositionNames[(int)w.Positions], ["k"] = w.K, ["mean_jaccard"] = N(w.MeanJaccard),
                ["layers"] = Arr(w.Layers.Select(l => (JsonNode?)new JsonObject
                {
                    ["layer"] = l.Layer, ["shared"] = l.Shared, ["overlap_pct"] = N(l.OverlapPct), ["jaccard"] = N(l.Jaccard),
                })),
            })),
            ["classification"] = o.Classification is not { } clsr ? null : new JsonObject
            {
                ["n"] = clsr.N,
                ["seed"] = clsr.Seed,
                ["method"] = clsr.Method,
                ["amplify"] = clsr.Amplify,
                ["amplify_oracle"] = AmplifyTargets.IsOracle(clsr.Amplify),
                ["accuracy_before"] = N(clsr.AccuracyBefore),
                ["zone3_unchanged"] = clsr.Zone3Unchanged,
                ["best_layer"] = clsr.BestLayer,
                ["grid"] = Arr(clsr.Grid.Select(c => (JsonNode?)new JsonObject
                {
                    ["layer"] = c.Layer, ["multiplier"] = c.Multiplier, ["zone"] = c.Zone, ["n"] = c.N,
                    ["accuracy_before"] = N(c.AccuracyBefore), ["accuracy_after"] = N(c.AccuracyAfter), ["delta_pp"] = N(c.DeltaPp),
                    ["fixed"] = c.Fixed, ["broken"] = c.Broken,
                })),
            },
            ["multiplier_curves"] = Arr(a.MultiplierCurves.Select(c => (JsonNode?)new JsonObject
            {
                ["zone"] = c.Zone,
                ["multipliers"] = Arr(c.Multipliers.Select(v => N(v))),
                ["mean_improvement_pct"] = Arr(c.MeanImprovementPct.Select(v => N(v))),
            })),
            ["caveats"] = Arr(a.Caveats.Select(s => (JsonNode?)s)),
            ["figures"] = Arr(figures.Select(f => (JsonNode?)new JsonObject
            {
                ["name"] = f.Name, ["png"] = Path.GetFileName(f.PngPath), ["svg"] = f.SvgPath is null ? null : Path.GetFileName(f.SvgPath),
            })),
        };
        return root;
    }

    private static JsonObject Layers(LayerSpecializationResult l)
    {
        var rows = new JsonArray();
        for (int i = 0; i < l.Layers.Count; i++)
            rows.Add(Arr(Enumerable.Range(0, l.Tasks.Count).Select(j => N(l.Matrix[i, j]))));
        static JsonNode Group(GroupOptimalLayer g) => new JsonObject
        {
            ["group"] = g.Group,
            ["tasks"] = Arr(g.Tasks.Select(t => (JsonNode?)t)),
            ["optimal_layer"] = g.OptimalLayer,
            ["mean_optimal_layer"] = N(g.MeanOptimalLayer),
        };
        return new JsonObject
        {
            ["layers"] = Arr(l.Layers.Select(v => (JsonNode?)v)),
            ["tasks"] = Arr(l.Tasks.Select(t => (JsonNode?)t)),
            ["matrix_mean_improvement_pct"] = rows,
            ["optimal_layer_by_task"] = new JsonObject(l.Tasks.Select((t, j) => new KeyValuePair<string, JsonNode?>(t, l.OptimalLayerByTask[j]))),
            ["by_domain"] = Arr(l.ByDomain.Select(g => (JsonNode?)Group(g))),
            ["by_level"] = Arr(l.ByLevel.Select(g => (JsonNode?)Group(g))),
            ["level_vs_optimal_layer"] = l.LevelVsOptimalLayer is { } s
                ? new JsonObject { ["n"] = s.N, ["rho"] = N(s.Rho), ["p_t"] = N(s.PValueT), ["p_exact"] = N(s.PValueExact) } : null,
            ["level_note"] = l.LevelNote,
        };
    }

    private static JsonObject Interference(InterferenceMatrix m, InterferenceAsymmetryTests? tests)
    {
        var a = m.Analyze();
        var rows = new JsonArray();
        for (int i = 0; i < m.Size; i++) rows.Add(Arr(Enumerable.Range(0, m.Size).Select(j => N(m[i, j]))));
        return new JsonObject
        {
            ["metric"] = m.Metric,
            ["tasks"] = Arr(m.Tasks.Select(t => (JsonNode?)t)),
            ["values_improvement_pct"] = rows,
            ["asymmetry_index"] = N(a.AsymmetryIndex),
            ["mean_abs_difference_pct"] = N(a.MeanAbsDifference),
            ["opposite_sign_pairs"] = a.OppositeSignPairs,
            ["mean_off_diagonal_pct"] = N(a.MeanOffDiagonal),
            ["mean_diagonal_pct"] = N(a.MeanDiagonal),
            ["asymmetry_test"] = tests is null ? null : AsymmetryTestJson(tests),
            ["pairs"] = Arr(a.Pairs.Select(p => (JsonNode?)new JsonObject
            {
                ["a"] = p.A, ["b"] = p.B, ["a_to_b"] = N(p.AToB), ["b_to_a"] = N(p.BToA), ["difference"] = N(p.Difference), ["opposite_signs"] = p.OppositeSigns,
            })),
        };
    }

    /// <summary>The asymmetry tests as JSON (the report's and <c>sna interference --json</c>'s <c>asymmetry_test</c>).</summary>
    public static JsonObject AsymmetryTestJson(InterferenceAsymmetryTests t) => new()
    {
        ["direction"] = t.Direction is not { } d ? null : new JsonObject
        {
            ["orientation"] = d.Orientation, ["pairs"] = d.Pairs, ["mean_difference_pct"] = N(d.MeanDifference), ["positive_pairs"] = d.PositivePairs,
            ["p_value"] = N(d.PValue), ["exact"] = d.Exact, ["method"] = d.Method,
        },
        ["pairs"] = Arr(t.Pairs.Select(p => (JsonNode?)new JsonObject
        {
            ["a"] = p.A, ["b"] = p.B, ["n_a"] = p.NA, ["n_b"] = p.NB, ["a_to_b"] = N(p.AToB), ["b_to_a"] = N(p.BToA), ["difference"] = N(p.Difference),
            ["p_value"] = N(p.PValue), ["p_holm"] = N(p.PHolm), ["method"] = p.Method,
        })),
    };

    private static JsonObject Config(SweepConfiguration c, double improvement) => new()
    {
        ["layer"] = c.Layer,
        ["count"] = c.Count,
        ["multiplier"] = N(c.Multiplier),
        ["positions"] = c.Positions,
        ["neuron_source"] = c.NeuronSource,
        ["improvement_pct"] = N(improvement),
    };

    private static JsonObject? Boundary(ZoneBoundary? b) => b is null ? null : new JsonObject
    {
        ["gain_threshold"] = N(b.GainThreshold), ["baseline"] = N(b.Baseline), ["ci_lower"] = N(b.CiLower), ["ci_upper"] = N(b.CiUpper), ["extrapolated"] = b.Extrapolated,
    };

    /// <summary>JSON number, or null for NaN/∞/missing (JSON has no NaN).</summary>
    private static JsonNode? N(double? v) => v is double d && double.IsFinite(d) ? JsonValue.Create(d) : null;

    private static JsonArray Arr(IEnumerable<JsonNode?> items) => new(items.ToArray());
}
