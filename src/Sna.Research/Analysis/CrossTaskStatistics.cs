using Sna.Research.Method;

namespace Sna.Research.Analysis;

/// <summary>Baseline confidence vs mean improvement across tasks (the paper's rho = -0.762, r = -0.503, n = 12).</summary>
/// <param name="N">Tasks.</param>
/// <param name="Pearson">Pearson r of baseline (raw P_base) vs mean improvement; null when not estimable.</param>
/// <param name="PearsonLog">Pearson r of ln baseline vs mean improvement (the zone-calibration scale); null when not estimable.</param>
/// <param name="Spearman">Spearman rho with t-approximation p and, for n ≤ the exact limit, the exact permutation p.</param>
/// <param name="SpearmanCi">Percentile bootstrap CI of rho over tasks.</param>
/// <param name="NotEstimable">Why nothing could be computed (fewer than 3 tasks, constant input); null otherwise.</param>
public sealed record BaselineImprovementStatistics(int N, PearsonResult? Pearson, PearsonResult? PearsonLog,
    SpearmanResult? Spearman, BootstrapResult? SpearmanCi, string? NotEstimable)
{
    /// <summary>The p to quote for rho: exact permutation p when computed, else the t-approximation.</summary>
    public double SpearmanPPreferred => Spearman?.PValueExact ?? Spearman?.PValueT ?? double.NaN;

    /// <summary>Which p <see cref="SpearmanPPreferred"/> is.</summary>
    public string SpearmanPPreferredKind => Spearman?.PValueExact is not null ? "exact permutation" : "t-approximation";
}

/// <summary>Tasks of one baseline zone.</summary>
/// <param name="Zone">1, 2 or 3.</param>
/// <param name="Label">E.g. "Zone 1 (P_base &lt; 0.07)".</param>
/// <param name="Tasks">Task names.</param>
/// <param name="MeanBaseline">Mean of the tasks' baselines (NaN when empty).</param>
/// <param name="MeanImprovementPct">Mean of the tasks' mean improvements (NaN when empty).</param>
/// <param name="MaxImprovementPct">Largest configuration improvement among the zone's tasks (NaN when empty).</param>
/// <param name="MeanSuccessRate">Mean of the tasks' success rates (NaN when empty).</param>
public sealed record ZoneGroup(int Zone, string Label, IReadOnlyList<string> Tasks, double MeanBaseline,
    double MeanImprovementPct, double MaxImprovementPct, double MeanSuccessRate);

/// <summary>Statistics across tasks.</summary>
public static class CrossTaskStatistics
{
    /// <summary>
    /// Pearson (raw and log baseline), Spearman (t and exact p) and the bootstrap CI of rho for baseline vs mean improvement.
    /// Fewer than 3 tasks, or a constant baseline/improvement, give a result with <see cref="BaselineImprovementStatistics.NotEstimable"/> set.
    /// </summary>
    public static BaselineImprovementStatistics BaselineVsImprovement(IReadOnlyList<TaskSummary> tasks,
        int resamples = Bootstrap.DefaultResamples, ulong seed = Bootstrap.DefaultSeed, int maxExactN = Correlation.DefaultMaxExactN)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        int n = tasks.Count;
        if (n < 3) return new(n, null, null, null, null, $"not estimable: {n} task(s); at least 3 are needed for a correlation with a p-value.");
        double[] x = tasks.Select(t => t.Baseline).ToArray(), y = tasks.Select(t => t.MeanImprovementPct).ToArray();
        if (x.Any(v => !double.IsFinite(v)) || y.Any(v => !double.IsFinite(v)))
            return new(n, null, null, null, null, "not estimable: a task's baseline or mean improvement is not finite.");
        if (Guard.IsConstant(x) || Guard.IsConstant(y))
            return new(n, null, null, null, null, "not estimable: the baselines or the mean improvements are all equal.");
        var pearson = Correlation.Pearson(x, y);
        PearsonResult? pearsonLog = x.All(v => v > 0) ? Correlation.Pearson(x.Select(v => Math.Log(v)).ToArray(), y) : null;
        var spearman = Correlation.Spearman(x, y, computeExact: true, maxExactN: Math.Min(maxExactN, Correlation.MaxExactNLimit));
        var ci = Bootstrap.SpearmanCi(x, y, resamples, 0.95, seed);
        return new(n, pearson, pearsonLog, spearman, ci, null);
    }

    /// <summary>Groups the tasks by zone (always three groups, possibly empty).</summary>
    public static IReadOnlyList<ZoneGroup> ByZone(IReadOnlyList<TaskSummary> tasks, ZoneThresholds zones)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(zones);
        var result = new List<ZoneGroup>();
        for (int z = 1; z <= 3; z++)
        {
            var members = tasks.Where(t => t.Zone == z).ToArray();
            string label = ZoneLabel(z, zones);
            result.Add(members.Length == 0
                ? new ZoneGroup(z, label, [], double.NaN, double.NaN, double.NaN, double.NaN)
                : new ZoneGroup(z, label, members.Select(t => t.Task).ToArray(), members.Average(t => t.Baseline),
                    members.Average(t => t.MeanImprovementPct), members.Max(t => t.MaxImprovementPct), members.Average(t => t.SuccessRate)));
        }
        return result;
    }

    /// <summary>Human label of a zone under the thresholds.</summary>
    public static string ZoneLabel(int zone, ZoneThresholds zones) => zone switch
    {
        1 => $"Zone 1 (P_base < {zones.Low:0.###})",
        2 => $"Zone 2 ({zones.Low:0.###} ≤ P_base ≤ {zones.High:0.###})",
        _ => $"Zone 3 (P_base > {zones.High:0.###})",
    };

    /// <summary>
    /// <see cref="ZoneCalibration.Fit"/> of the tasks' mean improvement on ln baseline; returns the failure text instead
    /// of throwing when the fit is impossible (fewer than 3 tasks, a baseline ≤ 0, all baselines equal).
    /// </summary>
    public static (ZoneCalibrationResult? Result, string? Failure) Calibrate(IReadOnlyList<TaskSummary> tasks,
        double goldenGain = ZoneCalibration.DefaultGoldenGain, double saturationGain = ZoneCalibration.DefaultSaturationGain,
        int resamples = Bootstrap.DefaultResamples, ulong seed = Bootstrap.DefaultSeed)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        if (tasks.Count < 3) return (null, $"not estimable: {tasks.Count} task(s); the log-linear fit needs at least 3.");
        try
        {
            var r = ZoneCalibration.Fit(tasks.Select(t => t.Baseline).ToArray(), tasks.Select(t => t.MeanImprovementPct).ToArray(),
                goldenGain, saturationGain, resamples, 0.95, seed);
            return (r, r.FailureReason);
        }
        catch (ArgumentException e)
        {
            return (null, "not estimable: " + e.Message);
        }
    }
}
