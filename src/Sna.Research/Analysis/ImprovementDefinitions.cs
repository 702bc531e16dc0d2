namespace Sna.Research.Analysis;

/// <summary>The headline baseline–improvement correlation under one definition of a task's improvement.</summary>
/// <param name="Name">JSON name of the task-level quantity (<c>improvement_pct</c>, <c>improvement_of_means_pct</c>, <c>median_improvement_pct</c>).</param>
/// <param name="Definition">Plain-language definition.</param>
/// <param name="TaskValues">Per task (in task order): the mean over its configurations of the configuration-level quantity.</param>
/// <param name="Pearson">Pearson r of raw P_base vs the values (null when not estimable).</param>
/// <param name="Spearman">Spearman rho with the t and exact p (null when not estimable).</param>
/// <param name="NotEstimable">Why not, when not.</param>
public sealed record DefinitionStatistics(string Name, string Definition, IReadOnlyList<double> TaskValues,
    PearsonResult? Pearson, SpearmanResult? Spearman, string? NotEstimable)
{
    /// <summary>Exact permutation p when computed, else the t-approximation.</summary>
    public double SpearmanPPreferred => Spearman?.PValueExact ?? Spearman?.PValueT ?? double.NaN;
}

/// <summary>
/// One name per quantity: a configuration's improvement over a task's prompts can be defined three ways, and the headline
/// correlation depends on which. <c>improvement_pct</c> (the toolkit's and the sweep's) is the mean of the per-prompt ratios,
/// which tiny baselines dominate — that alone pushes towards a negative baseline–gain relation; <c>improvement_of_means_pct</c>
/// is the ratio of the mean probabilities; <c>median_improvement_pct</c> is robust to single prompts.
/// </summary>
public static class ImprovementDefinitions
{
    public const string Mean = "improvement_pct", OfMeans = "improvement_of_means_pct", Median = "median_improvement_pct";

    /// <summary>Definitions shown in reports, keyed by JSON name.</summary>
    public static readonly IReadOnlyDictionary<string, string> Text = new Dictionary<string, string>
    {
        [Mean] = "mean over prompts of 100 (P_post − P_base) / P_base (headline)",
        [OfMeans] = "100 (mean P_post − mean P_base) / mean P_base",
        [Median] = "median over prompts of 100 (P_post − P_base) / P_base",
    };

    /// <summary>Baseline vs each definition's task value (mean over configurations), for <paramref name="tasks"/>.</summary>
    public static IReadOnlyList<DefinitionStatistics> Compare(IReadOnlyList<TaskSummary> tasks, int maxExactN = Correlation.DefaultMaxExactN)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        var x = tasks.Select(t => t.Baseline).ToArray();
        return
        [
            One(Mean, x, tasks.Select(t => t.MeanImprovementPct).ToArray(), maxExactN),
            One(OfMeans, x, tasks.Select(t => t.MeanImprovementOfMeansPct).ToArray(), maxExactN),
            One(Median, x, tasks.Select(t => t.MeanMedianImprovementPct).ToArray(), maxExactN),
        ];
    }

    private static DefinitionStatistics One(string name, double[] x, double[] y, int maxExactN)
    {
        string text = Text[name];
        if (x.Length < 3) return new(name, text, y, null, null, $"not estimable: {x.Length} task(s).");
        if (x.Concat(y).Any(v => !double.IsFinite(v))) return new(name, text, y, null, null, "not estimable: a task value is not finite.");
        if (Guard.IsConstant(x) || Guard.IsConstant(y)) return new(name, text, y, null, null, "not estimable: constant values.");
        return new(name, text, y, Correlation.Pearson(x, y),
            Correlation.Spearman(x, y, computeExact: true, maxExactN: Math.Min(maxExactN, Correlation.MaxExactNLimit)), null);
    }
}
