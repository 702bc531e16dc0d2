using Sna.Research.Method;

namespace Sna.Research.Analysis;

/// <summary>
/// A task's best configuration under the held-out protocol: chosen on split A of its prompts (<see cref="PromptSplit"/>),
/// measured on split B. <see cref="SelectionImprovementPct"/> is the winner's in-sample gain (biased upwards: it is the
/// maximum of many noisy means); <see cref="HeldOutImprovementPct"/> is the unbiased estimate of the same configuration.
/// </summary>
/// <param name="Task">Task.</param>
/// <param name="Configuration">Chosen on split A (largest <c>improvement_pct</c>; ties: first in configuration order).</param>
/// <param name="SelectionPrompts">Prompts in split A.</param>
/// <param name="MeasurementPrompts">Prompts in split B.</param>
/// <param name="SelectionImprovementPct">Mean over split A's prompts of the per-prompt improvement (in-sample).</param>
/// <param name="HeldOutImprovementPct">Mean over split B's prompts of the per-prompt improvement (held out).</param>
/// <param name="HeldOutImprovementOfMeansPct">100 (mean P_post − mean P_base) / mean P_base over split B.</param>
/// <param name="HeldOutMedianImprovementPct">Median over split B's prompts of the per-prompt improvement.</param>
public sealed record HeldOutConfiguration(string Task, SweepConfiguration Configuration, int SelectionPrompts, int MeasurementPrompts,
    double SelectionImprovementPct, double HeldOutImprovementPct, double HeldOutImprovementOfMeansPct, double HeldOutMedianImprovementPct);

/// <summary>Held-out selection from sweep rows, and the split sweep sets it needs.</summary>
public static class HeldOutSelection
{
    /// <summary>Each task's split (prompt count = largest prompt index + 1, as the sweep numbers a suite's prompts).</summary>
    public static IReadOnlyDictionary<string, PromptSplit> Splits(SweepResultSet set, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(set);
        return set.Rows.GroupBy(r => r.Task, StringComparer.Ordinal)
            .Where(g => g.Max(r => r.PromptIndex) >= 1)
            .ToDictionary(g => g.Key, g => PromptSplit.Of(g.Key, g.Max(r => r.PromptIndex) + 1, seed), StringComparer.Ordinal);
    }

    /// <summary>The rows of split A (<paramref name="selection"/> true) or split B; tasks without a split are dropped.</summary>
    public static SweepResultSet Part(SweepResultSet set, IReadOnlyDictionary<string, PromptSplit> splits, bool selection) =>
        set.Where(r => splits.TryGetValue(r.Task, out var s) && s.InSelection(r.PromptIndex) == selection);

    /// <summary>Chooses each task's configuration on split A and measures it on split B (rows with non-finite improvements removed beforehand).</summary>
    public static IReadOnlyList<HeldOutConfiguration> Choose(SweepResultSet analysed, IReadOnlyDictionary<string, PromptSplit> splits)
    {
        var a = TaskSummaries.Compute(Part(analysed, splits, true));
        var b = TaskSummaries.Compute(Part(analysed, splits, false)).ToDictionary(t => t.Task, StringComparer.Ordinal);
        var result = new List<HeldOutConfiguration>();
        foreach (var t in a)
        {
            if (!b.TryGetValue(t.Task, out var tb)) continue;
            var m = tb.ConfigurationResults.FirstOrDefault(c => c.Configuration == t.Best.Configuration);
            if (m is null) continue;
            result.Add(new HeldOutConfiguration(t.Task, t.Best.Configuration, t.Prompts, tb.Prompts, t.Best.MeanImprovementPct,
                m.MeanImprovementPct, m.ImprovementOfMeansPct, m.MedianImprovementPct));
        }
        return result;
    }
}

/// <summary>One task's randomisation p with its family-wise (Holm) and false-discovery (Benjamini–Hochberg) adjustments.</summary>
/// <param name="Task">Task.</param>
/// <param name="PValue">Unadjusted p = (1 + #{random ≥ task}) / (1 + m).</param>
/// <param name="Holm">Holm-adjusted p over the family of tasks.</param>
/// <param name="BenjaminiHochberg">BH-adjusted p (q-value) over the family.</param>
/// <param name="SurvivesHolm">Holm-adjusted p &lt; alpha.</param>
/// <param name="SurvivesBh">BH-adjusted p &lt; alpha.</param>
public sealed record AdjustedP(string Task, double PValue, double Holm, double BenjaminiHochberg, bool SurvivesHolm, bool SurvivesBh);

/// <summary>Adjusts the controls' p-values across tasks.</summary>
public static class ControlFamily
{
    public const double Alpha = 0.05;

    /// <summary>
    /// One <see cref="AdjustedP"/> per comparison, aligned with the input; null where there is no p (no random sets, or a
    /// non-finite improvement). The family is the comparisons with a p.
    /// </summary>
    public static IReadOnlyList<AdjustedP?> Adjust(IReadOnlyList<ControlComparison> controls, double alpha = Alpha)
    {
        ArgumentNullException.ThrowIfNull(controls);
        var eligible = Enumerable.Range(0, controls.Count).Where(i => HasP(controls[i])).ToArray();
        var p = eligible.Select(i => controls[i].RandomTest!.PValue).ToArray();
        var holm = MultipleTesting.Holm(p);
        var bh = MultipleTesting.BenjaminiHochberg(p);
        var result = new AdjustedP?[controls.Count];
        for (int k = 0; k < eligible.Length; k++)
            result[eligible[k]] = new AdjustedP(controls[eligible[k]].Task, p[k], holm[k], bh[k], holm[k] < alpha, bh[k] < alpha);
        return result;
    }

    private static bool HasP(ControlComparison c) =>
        c.RandomImprovementsPct.Count > 0 && double.IsFinite(c.TaskNeuronImprovementPct) && c.RandomImprovementsPct.All(double.IsFinite);
}
