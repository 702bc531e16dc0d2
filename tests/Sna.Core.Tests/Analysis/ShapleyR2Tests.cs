using Sna.Research.Analysis;

namespace Sna.Core.Tests.Analysis;

public class ShapleyR2Tests
{
    private static ShapleyR2Result Paper() => ShapleyR2.Decompose(ScipyReference.LmgPaperY,
    [
        PredictorGroup.Continuous("baseline", ScipyReference.LmgPaperLog10Baseline),
        PredictorGroup.Continuous("localization", ScipyReference.LmgPaperLocalization),
        PredictorGroup.Categorical("task type", ScipyReference.LmgPaperTaskType),
    ]);

    [Fact]
    public void Paper_like_decomposition_matches_numpy_brute_force()
    {
        var r = Paper();
        Assert.Equal(12, r.N);
        for (int j = 0; j < 3; j++) Assert.Equal(ScipyReference.LmgPaperShares[j], r.Shares[j].Share, 1e-10);
        for (int m = 0; m < 8; m++) Assert.Equal(ScipyReference.LmgPaperSubsetR2[m], r.SubsetRSquared[m], 1e-10);
        Assert.Equal(2, r.Shares[2].Columns);
        Assert.Equal(ScipyReference.LmgPaperSubsetR2[3], r.RSquaredOf("baseline", "localization"), 1e-10);
    }

    [Fact]
    public void Shares_sum_to_full_r2_and_percentages_to_100()
    {
        foreach (var r in new[] { Paper(), Four() })
        {
            Assert.Equal(r.FullRSquared, r.Shares.Sum(s => s.Share), 1e-12);
            Assert.Equal(100.0, r.Shares.Sum(s => s.PercentOfR2), 1e-9);
        }
    }

    private static ShapleyR2Result Four() => ShapleyR2.Decompose(ScipyReference.LmgFourY,
    [
        PredictorGroup.Continuous("x1", ScipyReference.LmgFourX1),
        PredictorGroup.Continuous("x2", ScipyReference.LmgFourX2),
        PredictorGroup.Continuous("x3", ScipyReference.LmgFourX3),
        PredictorGroup.Group("g", ScipyReference.LmgFourD1, ScipyReference.LmgFourD2),
    ]);

    [Fact]
    public void Four_predictor_decomposition_matches_numpy_brute_force()
    {
        var r = Four();
        for (int j = 0; j < 4; j++) Assert.Equal(ScipyReference.LmgFourShares[j], r.Shares[j].Share, 1e-10);
        for (int m = 0; m < 16; m++) Assert.Equal(ScipyReference.LmgFourSubsetR2[m], r.SubsetRSquared[m], 1e-10);
    }

    [Fact]
    public void Two_predictors_match_the_hand_formula()
    {
        double[] y = [3.1, 4.0, 2.2, 5.9, 6.1, 4.4, 7.3, 5.0, 8.2, 6.6];
        double[] a = [1, 2, 1, 4, 5, 3, 6, 4, 7, 5];
        double[] b = [0.3, 0.1, 0.4, 0.9, 0.2, 0.5, 0.8, 0.3, 0.6, 0.9];
        var r = ShapleyR2.Decompose(y, [PredictorGroup.Continuous("a", a), PredictorGroup.Continuous("b", b)]);
        double r1 = ShapleyR2.RSquared(y, [a]), r2 = ShapleyR2.RSquared(y, [b]), r12 = ShapleyR2.RSquared(y, [a, b]);
        Assert.Equal((r1 + (r12 - r2)) / 2, r.Shares[0].Share, 1e-14);
        Assert.Equal((r2 + (r12 - r1)) / 2, r.Shares[1].Share, 1e-14);
        // One predictor: R² equals the squared Pearson r.
        Assert.Equal(Math.Pow(Correlation.Pearson(a, y).R, 2), r1, 1e-13);
    }

    [Fact]
    public void Categorical_coding_does_not_depend_on_reference_level()
    {
        string[] renamed = ScipyReference.LmgPaperTaskType.Select(t => t == "factual" ? "zzz" : t).ToArray();
        var r = ShapleyR2.Decompose(ScipyReference.LmgPaperY,
        [
            PredictorGroup.Continuous("baseline", ScipyReference.LmgPaperLog10Baseline),
            PredictorGroup.Continuous("localization", ScipyReference.LmgPaperLocalization),
            PredictorGroup.Categorical("task type", renamed),
        ]);
        Assert.Equal(Paper().Shares[2].Share, r.Shares[2].Share, 1e-12);
    }

    [Fact]
    public void Degenerate_inputs_throw_clearly()
    {
        double[] y = [1, 2, 3, 4, 5, 6];
        double[] x = [2, 1, 4, 3, 6, 5];
        var ex = Assert.Throws<ArgumentException>(() => ShapleyR2.Decompose(y, [PredictorGroup.Continuous("c", [1, 1, 1, 1, 1, 1])]));
        Assert.Contains("constant", ex.Message);
        Assert.Throws<ArgumentException>(() => ShapleyR2.Decompose([2, 2, 2, 2, 2, 2], [PredictorGroup.Continuous("x", x)]));
        Assert.Throws<ArgumentException>(() => ShapleyR2.Decompose(y, [PredictorGroup.Categorical("t", ["a", "a", "a", "a", "a", "a"])]));
        ex = Assert.Throws<ArgumentException>(() => ShapleyR2.Decompose(y,
            [PredictorGroup.Continuous("x", x), PredictorGroup.Continuous("2x", x.Select(v => 2 * v + 1).ToArray())]));
        Assert.Contains("collinear", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => ShapleyR2.Decompose(y.Take(3).ToArray(),
            [PredictorGroup.Continuous("x", x.Take(3).ToArray()), PredictorGroup.Continuous("z", [0.5, 0.1, 0.2])]));
        Assert.Contains("n > p + 1", ex.Message);
        Assert.Throws<ArgumentException>(() => ShapleyR2.Decompose(y, [PredictorGroup.Continuous("x", x), PredictorGroup.Continuous("x", y)]));
        Assert.Throws<ArgumentException>(() => ShapleyR2.Decompose(y, [PredictorGroup.Continuous("x", [1, 2, 3])]));
    }
}
