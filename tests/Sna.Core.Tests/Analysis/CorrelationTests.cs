using Sna.Runtime.Numerics;
using Sna.Research.Analysis;

namespace Sna.Core.Tests.Analysis;

public class CorrelationTests
{
    private const double Tol = 1e-9;

    public static TheoryData<string> CorrelationSets()
    {
        var data = new TheoryData<string>();
        foreach (var c in ScipyReference.Correlations) data.Add(c.Name);
        return data;
    }

    private static CorrRef Ref(string name) => ScipyReference.Correlations.Single(c => c.Name == name);

    [Theory]
    [MemberData(nameof(CorrelationSets))]
    public void Pearson_matches_scipy_pearsonr(string name)
    {
        var c = Ref(name);
        var r = Correlation.Pearson(c.X, c.Y);
        Assert.Equal(c.X.Length, r.N);
        Assert.Equal(c.PearsonR, r.R, Tol);
        Assert.Equal(c.PearsonP, r.PValue, Tol);
    }

    [Theory]
    [MemberData(nameof(CorrelationSets))]
    public void Spearman_matches_scipy_spearmanr(string name)
    {
        var c = Ref(name);
        var s = Correlation.Spearman(c.X, c.Y);
        Assert.Equal(c.SpearmanRho, s.Rho, Tol);
        Assert.Equal(c.SpearmanRho * c.SpearmanRho, s.RhoSquared, Tol);
        if (double.IsNaN(c.SpearmanP)) Assert.True(double.IsNaN(s.PValueT));
        else Assert.Equal(c.SpearmanP, s.PValueT, Tol);
    }

    [Theory]
    [MemberData(nameof(CorrelationSets))]
    public void Average_ranks_match_scipy_rankdata(string name)
    {
        var c = Ref(name);
        Assert.Equal(c.RankX, Ranks.Average(c.X));
    }

    [SkippableTheory]
    [MemberData(nameof(CorrelationSets))]
    public void Exact_spearman_p_matches_reference_enumeration(string name)
    {
        var c = Ref(name);
        Skip.If(c.SpearmanExactP is null, $"{name}: no exact reference p (n = 2 or n > 12)");
        var s = Correlation.Spearman(c.X, c.Y);
        Assert.NotNull(s.PValueExact);
        Assert.Equal(c.SpearmanExactP.Value, s.PValueExact!.Value, 1e-12);
    }

    [Fact]
    public void Paper_like_data_has_strong_negative_rank_correlation()
    {
        var c = Ref("paper12");
        var s = Correlation.Spearman(c.X, c.Y);
        Assert.Equal(12, s.N);
        Assert.True(s.Rho < -0.7);
        Assert.True(s.PValueT < 0.01);
        Assert.True(s.PValueExact < 0.01);
        Assert.Contains("479001600", s.Method);
        Assert.Contains("t-approximation", s.Method);
    }

    [Fact]
    public void Exact_p_is_not_computed_above_the_limit()
    {
        var c = Ref("negative15");
        var s = Correlation.Spearman(c.X, c.Y);
        Assert.Null(s.PValueExact);
        Assert.Contains("not computed", s.Method);
        Assert.NotNull(Correlation.Spearman(c.X, c.Y, maxExactN: 15).PValueExact);
        Assert.Null(Correlation.Spearman(Ref("paper12").X, Ref("paper12").Y, computeExact: false).PValueExact);
        Assert.Throws<ArgumentOutOfRangeException>(() => Correlation.Spearman(c.X, c.Y, maxExactN: 17));
    }

    [Fact]
    public void Perfect_correlations_give_p_zero()
    {
        double[] x = [1, 2, 3, 4, 5, 6];
        double[] y = [-2, -4, -6, -8, -10, -12];
        var p = Correlation.Pearson(x, y);
        Assert.Equal(-1.0, p.R, 1e-15);
        Assert.Equal(0.0, p.PValue, 1e-12);
        var s = Correlation.Spearman(x, y.Select(Math.Exp).ToArray());
        Assert.Equal(-1.0, s.Rho, 1e-15);
        Assert.Equal(0.0, s.PValueT);
        Assert.Equal(2.0 / 720.0, s.PValueExact!.Value, 1e-15); // only the identity and the reversal reach |rho| = 1
    }

    [Fact]
    public void N3_uses_the_arcsine_law_closed_form()
    {
        double[] x = [0.2, 1.7, 0.9];
        double[] y = [1.0, 2.0, 4.0];
        var r = Correlation.Pearson(x, y);
        Assert.Equal(1 - 2 / Math.PI * Math.Asin(Math.Abs(r.R)), r.PValue, 1e-15);
        // Same value from the t-distribution with 1 df (Cauchy): p = 2 P(T >= |t|).
        double t = r.R * Math.Sqrt(1 / (1 - r.R * r.R));
        double pT = 2 * (1 - MathNet.Numerics.Distributions.StudentT.CDF(0, 1, 1, Math.Abs(t)));
        Assert.Equal(pT, r.PValue, 1e-12);
    }

    [Fact]
    public void Constant_input_gives_nan_like_scipy()
    {
        double[] x = [1, 2, 3, 4];
        double[] c = [5, 5, 5, 5];
        Assert.True(double.IsNaN(Correlation.Pearson(x, c).R));
        Assert.True(double.IsNaN(Correlation.Pearson(c, x).PValue));
        var s = Correlation.Spearman(x, c);
        Assert.True(double.IsNaN(s.Rho));
        Assert.True(double.IsNaN(s.PValueT));
        Assert.Null(s.PValueExact);
        Assert.True(double.IsNaN(Correlation.SpearmanRho(c, x)));
    }

    [Fact]
    public void Invalid_input_throws()
    {
        Assert.Throws<ArgumentException>(() => Correlation.Pearson([1.0, 2.0], [1.0]));
        Assert.Throws<ArgumentException>(() => Correlation.Pearson([1.0], [1.0]));
        Assert.Throws<ArgumentException>(() => Correlation.Spearman([1.0, double.NaN, 3.0], [1.0, 2.0, 3.0]));
        Assert.Throws<ArgumentException>(() => Correlation.Spearman([1.0, 2.0, 3.0], [1.0, double.PositiveInfinity, 3.0]));
    }

    [Fact]
    public void Planted_log_relation_is_recovered()
    {
        // y = -20 log10(x) + noise, x log-uniform in [0.001, 0.6]
        var rng = new DeterministicRandom(12345);
        int n = 12;
        var x = new double[n];
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = Math.Pow(10, -3 + rng.NextDouble() * (3 + Math.Log10(0.6)));
            y[i] = -20 * Math.Log10(x[i]) + 5 * rng.NextGaussian();
        }
        var s = Correlation.Spearman(x, y);
        Assert.True(s.Rho < -0.7, $"rho = {s.Rho}");
        Assert.True(s.PValueT < 0.01, $"p_t = {s.PValueT}");
        Assert.True(s.PValueExact < 0.01, $"p_exact = {s.PValueExact}");
    }
}
