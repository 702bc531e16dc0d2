namespace Sna.Research.Analysis;

/// <summary>One factor of the three-factor decomposition.</summary>
/// <param name="Factor">Factor name.</param>
/// <param name="Share">Shapley (LMG) share of R² (the shares sum to <see cref="ThreeFactorResult.FullRSquared"/>).</param>
/// <param name="PercentOfR2">100 · Share / R².</param>
/// <param name="PaperPercent">The paper's percentage for this factor (58 / 28 / 14).</param>
public sealed record FactorShare(string Factor, double Share, double PercentOfR2, double PaperPercent);

/// <summary>Result of <see cref="ThreeFactorDecomposition.Compute"/>.</summary>
/// <param name="N">Tasks.</param>
/// <param name="FullRSquared">R² of the full model (NaN when not estimable).</param>
/// <param name="Shares">Baseline, localization, task type (empty when not estimable).</param>
/// <param name="NotEstimable">Reason when the decomposition could not be computed; null otherwise.</param>
/// <param name="Domains">Distinct task types used (the categorical factor's levels).</param>
/// <param name="Method">Plain-language description of the variables and the method.</param>
/// <param name="BaselineOnlyRSquared">R² of the baseline-rank-only model (= Spearman rho² of baseline vs mean improvement); NaN when not estimable.</param>
public sealed record ThreeFactorResult(int N, double FullRSquared, IReadOnlyList<FactorShare> Shares, string? NotEstimable,
    IReadOnlyList<string> Domains, string Method, double BaselineOnlyRSquared = double.NaN)
{
    /// <summary>True when the shares were computed.</summary>
    public bool Estimable => NotEstimable is null;
}

/// <summary>
/// The paper's three-factor decomposition of SNA effectiveness (58% baseline confidence, 28% circuit localization,
/// 14% task type) as a Shapley/LMG decomposition of R² (<see cref="ShapleyR2"/>).
/// </summary>
/// <remarks>
/// Outcome: rank of the task's mean improvement (average ranks). Baseline confidence: rank of the task's baseline
/// (so the baseline-only R² equals Spearman's rho² — the paper's 58% is 0.762²). Circuit localization: rank of
/// <see cref="TaskSummary.Localization"/> (best layer's share of the total positive gain across layers). Task type:
/// the domain as a categorical predictor (dummy columns). OLS with intercept over all 2^3 sub-models; each factor's
/// share is its marginal R² averaged over the 3! orders, so the shares add up to the full R² exactly.
/// Not estimable (reported, never thrown) with fewer than 4 tasks, constant ranks, a single domain, too many domains
/// for the number of tasks (n ≤ columns + 1), or collinear predictors.
/// </remarks>
public static class ThreeFactorDecomposition
{
    /// <summary>Factor names, in order.</summary>
    public const string Baseline = "baseline confidence", Localization = "circuit localization", TaskType = "task type";

    /// <summary>
    /// The paper's figures in percent, in factor order. Only the first is comparable with anything computed here: the paper's 58%
    /// is rho² of baseline alone (0.762²), which is <see cref="ThreeFactorResult.BaselineOnlyRSquared"/>; its 28/14 are not
    /// Shapley shares, so the shares below are this toolkit's own decomposition.
    /// </summary>
    public static readonly IReadOnlyList<double> PaperPercent = [58, 28, 14];

    /// <summary>Method text shown in reports.</summary>
    public const string MethodText =
        "This toolkit's own decomposition (the paper's 58% is rho² of baseline alone, compared separately): " +
        "Shapley/LMG decomposition of R² (all 2^3 OLS sub-models with intercept, marginal R² averaged over the 3! orders). " +
        "Outcome: rank of the task's mean improvement. Predictors: rank of baseline P_base (so the baseline-only R² equals " +
        "Spearman rho²); rank of circuit localization (best layer's share of the total positive per-layer gain); task type " +
        "(domain, dummy-coded). Shares sum to the full-model R².";

    /// <summary>
    /// Decomposes the ranked mean improvement of <paramref name="tasks"/>. <paramref name="localization"/> (one per task, in task
    /// order) replaces <see cref="TaskSummary.Localization"/>: pass the localization measured on prompts held out from the
    /// outcome, so the predictor is not built from the very per-layer gains that form the outcome.
    /// </summary>
    public static ThreeFactorResult Compute(IReadOnlyList<TaskSummary> tasks, IReadOnlyList<double>? localization = null)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        int n = tasks.Count;
        var domains = tasks.Select(t => t.Domain).Distinct(StringComparer.Ordinal).OrderBy(d => d, StringComparer.Ordinal).ToArray();
        ThreeFactorResult Fail(string why) => new(n, double.NaN, [], "not estimable: " + why, domains, MethodText);

        if (n < 4) return Fail($"{n} task(s); the decomposition needs at least 4 (and more tasks than design columns + 1).");
        if (domains.Length < 2) return Fail($"all tasks share one task type ('{domains[0]}'), so task type has no variance.");
        int columns = 2 + domains.Length - 1;
        if (n <= columns + 1)
            return Fail($"{n} tasks but {columns} design columns ({domains.Length} task types → {domains.Length - 1} dummies, plus baseline and localization); " +
                        "need n > columns + 1 for a residual degree of freedom.");
        double[] y = Ranks.Average(tasks.Select(t => t.MeanImprovementPct).ToArray());
        double[] xb = Ranks.Average(tasks.Select(t => t.Baseline).ToArray());
        if (localization is not null && localization.Count != n) throw new ArgumentException($"{localization.Count} localization values for {n} tasks");
        if (localization is not null && localization.Any(v => !double.IsFinite(v))) return Fail("a held-out localization is not finite.");
        double[] xl = Ranks.Average((localization ?? tasks.Select(t => t.Localization).ToArray()).ToArray());
        try
        {
            var r = ShapleyR2.Decompose(y,
            [
                PredictorGroup.Continuous(Baseline, xb),
                PredictorGroup.Continuous(Localization, xl),
                PredictorGroup.Categorical(TaskType, tasks.Select(t => t.Domain).ToArray()),
            ]);
            var shares = r.Shares.Select((s, i) => new FactorShare(s.Name, s.Share, s.PercentOfR2, PaperPercent[i])).ToArray();
            return new ThreeFactorResult(n, r.FullRSquared, shares, null, domains, MethodText, r.RSquaredOf(Baseline));
        }
        catch (ArgumentException e)
        {
            return Fail(e.Message);
        }
    }
}
