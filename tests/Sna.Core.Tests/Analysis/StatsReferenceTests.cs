using Sna.Research.Analysis;
using Sna.Research.Method;
using Xunit;

namespace Sna.Core.Tests.Analysis;

/// <summary>
/// Issue #13's statistics recomputed from stored rows (<see cref="StatsReference.RowsCsv"/>) and compared with independent
/// implementations (numpy, SciPy, statsmodels; reference/make_stats_reference.py).
/// </summary>
public class StatsReferenceTests
{
    private static SweepResultSet Rows() => SweepResultSet.FromCsv(new StringReader(StatsReference.RowsCsv), "ref", "ref-model");

    private static void Close(double expected, double actual, double rel = 1e-12) =>
        Assert.True(Math.Abs(expected - actual) <= rel * Math.Max(1, Math.Abs(expected)), $"expected {expected:R}, got {actual:R}");

    [Fact]
    public void Task_level_definitions_match_numpy()
    {
        var tasks = TaskSummaries.Compute(Rows()).ToDictionary(t => t.Task);
        Assert.Equal(StatsReference.Definitions.Length, tasks.Count);
        foreach (var d in StatsReference.Definitions)
        {
            var t = tasks[d.Task];
            Close(d.Baseline, t.Baseline);
            Close(d.ImprovementPct, t.MeanImprovementPct);
            Close(d.ImprovementOfMeansPct, t.MeanImprovementOfMeansPct);
            Close(d.MedianImprovementPct, t.MeanMedianImprovementPct);
        }
        // the three definitions really differ on these rows (otherwise the comparison proves nothing)
        Assert.Contains(StatsReference.Definitions, d => Math.Abs(d.ImprovementPct - d.ImprovementOfMeansPct) > 1);
    }

    [Fact]
    public void Headline_correlation_per_definition_and_rho_squared_match_scipy()
    {
        var defs = ImprovementDefinitions.Compare(TaskSummaries.Compute(Rows()));
        Assert.Equal([ImprovementDefinitions.Mean, ImprovementDefinitions.OfMeans, ImprovementDefinitions.Median], defs.Select(d => d.Name).ToArray());
        foreach (var r in StatsReference.Correlations)
        {
            var d = defs.Single(x => x.Name == r.Quantity);
            Assert.NotNull(d.Spearman);
            Close(r.SpearmanRho, d.Spearman!.Rho, 1e-10);
            Close(r.RhoSquared, d.Spearman.RhoSquared, 1e-10);
            Close(r.SpearmanPT, d.Spearman.PValueT, 1e-9);
            Close(r.PearsonR, d.Pearson!.R, 1e-10);
            Close(r.PearsonP, d.Pearson.PValue, 1e-9);
        }
    }

    [Fact]
    public void Held_out_split_choice_and_gain_match_the_independent_transcription()
    {
        var set = Rows();
        var splits = HeldOutSelection.Splits(set, StatsReference.SplitSeed);
        var chosen = HeldOutSelection.Choose(set, splits).ToDictionary(h => h.Task);
        foreach (var r in StatsReference.HeldOut)
        {
            var s = PromptSplit.Of(r.Task, 8, StatsReference.SplitSeed);
            Assert.Equal(r.A, s.Selection);
            Assert.Equal(r.B, s.Measurement);
            var h = chosen[r.Task];
            Assert.Equal((r.Layer, r.Count, r.Multiplier), (h.Configuration.Layer, h.Configuration.Count, h.Configuration.Multiplier));
            Close(r.Selection, h.SelectionImprovementPct);
            Close(r.HeldOut, h.HeldOutImprovementPct);
            Assert.Equal(4, h.SelectionPrompts);
            Assert.Equal(4, h.MeasurementPrompts);
        }
        // the in-sample winner's gain overstates the held-out gain on average (the winner's curse the protocol removes)
        Assert.True(chosen.Values.Average(h => h.SelectionImprovementPct) > chosen.Values.Average(h => h.HeldOutImprovementPct));
    }

    [Fact]
    public void Holm_and_Benjamini_Hochberg_match_statsmodels()
    {
        foreach (var r in StatsReference.Adjust)
        {
            var holm = MultipleTesting.Holm(r.P);
            var bh = MultipleTesting.BenjaminiHochberg(r.P);
            for (int i = 0; i < r.P.Length; i++)
            {
                Close(r.Holm[i], holm[i]);
                Close(r.Bh[i], bh[i]);
            }
        }
    }

    [Fact]
    public void Exact_McNemar_matches_statsmodels()
    {
        foreach (var r in StatsReference.McNemar)
            Close(r.P, McNemar.Exact(r.Improved, r.Worsened).PValue, 1e-12);
        var paired = McNemar.Exact([false, false, true, true, false], [true, true, true, false, false]);
        Assert.Equal((2, 1), (paired.Improved, paired.Worsened));
    }

    [Fact]
    public void Holm_reachability_explains_the_control_count()
    {
        Assert.True(MultipleTesting.SmallestHolmP(12, 200) > 0.05);
        Assert.True(MultipleTesting.SmallestHolmP(12, 239) <= 0.05);
        Assert.True(MultipleTesting.SmallestHolmP(12, Sna.Research.Reporting.DemoOptions.DefaultControlSeeds) < 0.025);
        Assert.Equal(0.024, MultipleTesting.Holm(Enumerable.Repeat(1.0 / 500, 12).ToArray())[0], 12);
    }

    [Fact]
    public void Adjustments_keep_NaN_out_of_the_family()
    {
        var holm = MultipleTesting.Holm([0.01, double.NaN, 0.04]);
        Assert.True(double.IsNaN(holm[1]));
        Assert.Equal(0.02, holm[0], 12);
        Assert.Equal(0.04, holm[2], 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => MultipleTesting.BenjaminiHochberg([1.5]));
    }

    [Fact]
    public void Split_is_deterministic_disjoint_and_complete()
    {
        var s = PromptSplit.Of("math-easy", 21, 7);
        Assert.Equal(s, PromptSplit.Of("math-easy", 21, 7) with { Selection = s.Selection, Measurement = s.Measurement });
        Assert.Equal(PromptSplit.Of("math-easy", 21, 7).Selection, s.Selection);
        Assert.Equal(11, s.Selection.Length);
        Assert.Equal(Enumerable.Range(0, 21), s.Selection.Concat(s.Measurement).Order());
        Assert.NotEqual(s.Selection, PromptSplit.Of("math-easy", 21, 8).Selection);
        Assert.NotEqual(s.Selection, PromptSplit.Of("math-hard", 21, 7).Selection);
        Assert.Throws<ArgumentException>(() => PromptSplit.Of("x", 1));
    }
}
