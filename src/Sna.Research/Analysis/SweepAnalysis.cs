using Sna.Research.Method;

namespace Sna.Research.Analysis;

/// <summary>Options of <see cref="SweepAnalysis.Run"/>.</summary>
public sealed record AnalysisOptions
{
    /// <summary>Zone thresholds on P_base (default: the paper's 0.07 / 0.10).</summary>
    public ZoneThresholds Zones { get; init; } = ZoneThresholds.Paper;

    /// <summary>Golden-zone threshold on a configuration's improvement, percent (paper: 10).</summary>
    public double GoldenThresholdPct { get; init; } = TaskSummaries.DefaultGoldenThresholdPct;

    /// <summary>Bootstrap resamples (CI of rho, zone calibration).</summary>
    public int Resamples { get; init; } = Bootstrap.DefaultResamples;

    /// <summary>Bootstrap seed.</summary>
    public ulong Seed { get; init; } = Bootstrap.DefaultSeed;

    /// <summary>Largest number of tasks for the exact Spearman permutation p (≤ 16).</summary>
    public int MaxExactN { get; init; } = Correlation.DefaultMaxExactN;

    /// <summary>
    /// Neuron sources whose name starts with one of these (case-insensitive) are controls: they are left out of the
    /// paper's analyses and used for the controls section instead.
    /// </summary>
    public IReadOnlyList<string> ControlSourcePrefixes { get; init; } = ["random", "bottom"];

    /// <summary>
    /// Seed of the held-out split of each task's prompts (<see cref="PromptSplit"/>): the best configuration is chosen on split A
    /// and its gain measured on split B, and the three-factor decomposition's localization is computed on split A while its
    /// outcome comes from split B. Null = the in-sample path (selection and measurement on the same prompts), which the report marks.
    /// </summary>
    public ulong? HeldOutSeed { get; init; } = PromptSplit.DefaultSeed;

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Zones);
        Zones.Validate();
        if (Resamples < 1) throw new ArgumentOutOfRangeException(nameof(Resamples), Resamples, "At least one bootstrap resample.");
        if (MaxExactN is < 2 or > Correlation.MaxExactNLimit)
            throw new ArgumentOutOfRangeException(nameof(MaxExactN), MaxExactN, $"Must lie in 2..{Correlation.MaxExactNLimit}.");
        if (!double.IsFinite(GoldenThresholdPct)) throw new ArgumentOutOfRangeException(nameof(GoldenThresholdPct));
    }
}

/// <summary>Everything the report shows, computed from one sweep.</summary>
/// <param name="SweepName">Sweep name.</param>
/// <param name="ModelName">Model name.</param>
/// <param name="ModelHash">Model hash, when known.</param>
/// <param name="Options">Options used.</param>
/// <param name="TotalRows">Rows in the input.</param>
/// <param name="AnalysedRows">Rows entering the paper's analyses (non-control sources, finite improvement).</param>
/// <param name="ControlRows">Rows from control sources.</param>
/// <param name="NonFiniteRows">Rows dropped for a non-finite improvement (e.g. P_base = 0).</param>
/// <param name="Tasks">Per-task summaries.</param>
/// <param name="Statistics">Baseline vs mean improvement across tasks.</param>
/// <param name="Zones">Tasks grouped by zone.</param>
/// <param name="Calibration">Zone calibration fit (null when not estimable).</param>
/// <param name="CalibrationNote">Why calibration failed, when it did.</param>
/// <param name="Decomposition">Three-factor decomposition.</param>
/// <param name="Layers">Layer specialization.</param>
/// <param name="Controls">Controls extracted from control rows of the sweep (empty when none).</param>
/// <param name="MultiplierCurves">Mean improvement per zone and multiplier.</param>
/// <param name="Caveats">Plain-language caveats to show with the results.</param>
public sealed record SweepAnalysisResult(
    string SweepName, string ModelName, string? ModelHash, AnalysisOptions Options,
    int TotalRows, int AnalysedRows, int ControlRows, int NonFiniteRows,
    IReadOnlyList<TaskSummary> Tasks, BaselineImprovementStatistics Statistics, IReadOnlyList<ZoneGroup> Zones,
    ZoneCalibrationResult? Calibration, string? CalibrationNote, ThreeFactorResult Decomposition,
    LayerSpecializationResult Layers, IReadOnlyList<ControlComparison> Controls,
    IReadOnlyList<MultiplierCurve> MultiplierCurves, IReadOnlyList<string> Caveats)
{
    /// <summary>The headline correlation under each definition of a task's improvement (<see cref="ImprovementDefinitions"/>).</summary>
    public IReadOnlyList<DefinitionStatistics> Definitions { get; init; } = [];
    /// <summary>Each task's configuration chosen on split A and measured on split B (empty on the in-sample path).</summary>
    public IReadOnlyList<HeldOutConfiguration> HeldOut { get; init; } = [];
    /// <summary>How the decomposition's localization was obtained.</summary>
    public string DecompositionLocalization { get; init; } = "in-sample: from the same rows as the outcome";
}

/// <summary>Mean improvement against the multiplier for the tasks of one zone.</summary>
/// <param name="Zone">Zone (1–3).</param>
/// <param name="Label">Zone label.</param>
/// <param name="Tasks">Tasks in the zone.</param>
/// <param name="Multipliers">Multipliers (ascending).</param>
/// <param name="MeanImprovementPct">Per multiplier: mean over the zone's tasks of the task's mean improvement over its configurations at that multiplier.</param>
public sealed record MultiplierCurve(int Zone, string Label, IReadOnlyList<string> Tasks, IReadOnlyList<double> Multipliers,
    IReadOnlyList<double> MeanImprovementPct);

/// <summary>Runs the whole analysis of a sweep.</summary>
public static class SweepAnalysis
{
    /// <summary>Computes every section of the report. Throws <see cref="ArgumentException"/> when no row can be analysed.</summary>
    public static SweepAnalysisResult Run(SweepResultSet set, AnalysisOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(set);
        options ??= new AnalysisOptions();
        options.Validate();
        bool IsControl(SweepRow r) => options.ControlSourcePrefixes.Any(p => r.NeuronSource.StartsWith(p, StringComparison.OrdinalIgnoreCase));
        var control = set.Where(IsControl);
        var main = set.Where(r => !IsControl(r));
        int nonFinite = main.Rows.Count(r => !double.IsFinite(r.ImprovementPct) || !double.IsFinite(r.PBase));
        var analysed = main.Where(r => double.IsFinite(r.ImprovementPct) && double.IsFinite(r.PBase));
        if (analysed.Rows.Count == 0)
            throw new ArgumentException(set.Rows.Count == 0 ? "The sweep has no rows." :
                "The sweep has no analysable rows (all rows are controls or have a non-finite improvement).", nameof(set));

        var tasks = TaskSummaries.Compute(analysed, options.Zones, options.GoldenThresholdPct);
        var stats = CrossTaskStatistics.BaselineVsImprovement(tasks, options.Resamples, options.Seed, options.MaxExactN);
        var zones = CrossTaskStatistics.ByZone(tasks, options.Zones);
        var (cal, calNote) = CrossTaskStatistics.Calibrate(tasks, resamples: options.Resamples, seed: options.Seed);
        // Held-out protocol: choose on split A, measure on split B; the decomposition's localization comes from split A and its
        // outcome and baseline from split B, so the predictor is not built from the outcome's own per-layer gains.
        IReadOnlyList<HeldOutConfiguration> heldOut = [];
        ThreeFactorResult decomposition;
        string decompositionLocalization = "in-sample: localization from the same rows as the outcome (no held-out split)";
        var splits = options.HeldOutSeed is ulong seed ? HeldOutSelection.Splits(analysed, seed) : null;
        if (splits is not null && splits.Count == tasks.Count)
        {
            heldOut = HeldOutSelection.Choose(analysed, splits);
            var ta = TaskSummaries.Compute(HeldOutSelection.Part(analysed, splits, true), options.Zones, options.GoldenThresholdPct).ToDictionary(t => t.Task, StringComparer.Ordinal);
            var tb = TaskSummaries.Compute(HeldOutSelection.Part(analysed, splits, false), options.Zones, options.GoldenThresholdPct);
            decomposition = tb.Count == tasks.Count && tb.All(t => ta.ContainsKey(t.Task))
                ? ThreeFactorDecomposition.Compute(tb, tb.Select(t => ta[t.Task].Localization).ToArray())
                : ThreeFactorDecomposition.Compute(tasks);
            if (tb.Count == tasks.Count)
                decompositionLocalization = $"held out: localization from split A, outcome and baseline from split B of each task's prompts (seed {options.HeldOutSeed})";
        }
        else decomposition = ThreeFactorDecomposition.Compute(tasks);
        var layers = LayerSpecialization.Compute(tasks, options.MaxExactN);
        var controls = control.Rows.Count == 0 ? [] : ControlExtraction.FromSweep(control, tasks);
        var curves = MultiplierCurves(tasks, options.Zones);

        var caveats = new List<string>();
        int n = tasks.Count;
        caveats.Add($"n = {n} task(s): every cross-task statistic rests on {n} points" +
                    (n <= options.MaxExactN ? "; for rho the exact permutation p is preferred to the t-approximation, which is anti-conservative at small n." : "."));
        if (stats.SpearmanCi is { } ci)
            caveats.Add($"The 95% bootstrap CI of rho resamples the {n} tasks ({ci.Resamples} resamples, seed {ci.Seed}; {ci.Skipped} undefined resamples skipped); with few tasks it is wide and only roughly calibrated.");
        caveats.Add("Improvements are relative (% of P_base): a low baseline inflates the ratio, which contributes to the negative baseline–improvement relation by construction.");
        caveats.Add("Mean improvement averages over every configuration swept, so it depends on the sweep grid (layers, counts, multipliers); compare sweeps with the same grid.");
        if (decomposition.Estimable)
            caveats.Add($"The three-factor decomposition fits {2 + decomposition.Domains.Count - 1} columns to {n} tasks; R² is optimistic at this n and the shares are descriptive, not tests.");
        if (nonFinite > 0) caveats.Add($"{nonFinite} row(s) with a non-finite improvement or P_base (stored NULL when P_base and P_post both underflow to 0) were left out.");
        if (set.IncompleteConfigurations > 0)
            caveats.Add($"{set.IncompleteConfigurations} configuration(s) without a result for every prompt (a partial or running sweep) were left out, as sna summary does.");
        if (control.Rows.Count > 0) caveats.Add($"{control.Rows.Count} control row(s) (sources starting with {string.Join("/", options.ControlSourcePrefixes)}) were left out of the task statistics and used as controls.");
        if (tasks.Select(t => t.Configurations).Distinct().Count() > 1)
            caveats.Add("Tasks were swept over different numbers of configurations; their mean improvements are not strictly comparable.");

        if (splits is null || heldOut.Count == 0)
            caveats.Add("In-sample: each task's best configuration was chosen and measured on the same prompts (no held-out split), so its gain is biased upwards.");
        return new SweepAnalysisResult(set.SweepName, set.ModelName, set.ModelHash, options, set.Rows.Count, analysed.Rows.Count,
            control.Rows.Count, nonFinite, tasks, stats, zones, cal, calNote, decomposition, layers, controls, curves, caveats)
        {
            Definitions = ImprovementDefinitions.Compare(tasks, options.MaxExactN),
            HeldOut = heldOut,
            DecompositionLocalization = decompositionLocalization,
        };
    }

    /// <summary>Per zone: mean over tasks of the task's mean improvement at each multiplier (tasks missing a multiplier are skipped for it).</summary>
    public static IReadOnlyList<MultiplierCurve> MultiplierCurves(IReadOnlyList<TaskSummary> tasks, ZoneThresholds zones)
    {
        var result = new List<MultiplierCurve>();
        for (int z = 1; z <= 3; z++)
        {
            var members = tasks.Where(t => t.Zone == z).ToArray();
            if (members.Length == 0) continue;
            var mults = members.SelectMany(t => t.ConfigurationResults.Select(c => c.Configuration.Multiplier)).Distinct().Order().ToArray();
            var means = mults.Select(m => members
                .Select(t => t.ConfigurationResults.Where(c => c.Configuration.Multiplier == m).Select(c => c.MeanImprovementPct).ToArray())
                .Where(v => v.Length > 0).Select(v => v.Average()).Average()).ToArray();
            result.Add(new MultiplierCurve(z, CrossTaskStatistics.ZoneLabel(z, zones), members.Select(t => t.Task).ToArray(), mults, means));
        }
        return result;
    }
}
