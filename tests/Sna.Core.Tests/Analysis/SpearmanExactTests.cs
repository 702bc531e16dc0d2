using Sna.Runtime.Numerics;
using Sna.Research.Analysis;

namespace Sna.Core.Tests.Analysis;

public class SpearmanExactTests
{
    [SkippableTheory]
    [InlineData(3, 1, false)]
    [InlineData(5, 2, false)]
    [InlineData(6, 3, true)]
    [InlineData(7, 4, true)]
    [InlineData(8, 5, false)]
    [InlineData(8, 6, true)]
    [InlineData(9, 7, true)]
    public void Dynamic_programme_equals_brute_force_enumeration(int n, ulong seed, bool ties)
    {
        var rng = new DeterministicRandom(seed);
        var x = new double[n];
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = ties ? rng.NextInt(n / 2 + 1) : rng.NextDouble();
            y[i] = ties ? rng.NextInt(n / 2 + 1) + 0.3 * x[i] : x[i] + rng.NextDouble();
        }
        Skip.If(x.Distinct().Count() == 1 || y.Distinct().Count() == 1, "this seed draws a constant x or y: Spearman's rho is undefined");
        double[] rx = Ranks.Average(x), ry = Ranks.Average(y);
        var dp = SpearmanExactPermutation.CountAtLeastAsExtreme(rx, ry);
        var bf = SpearmanExactPermutation.CountAtLeastAsExtremeBruteForce(rx, ry);
        Assert.Equal(bf, dp);
        Assert.Equal(SpearmanExactPermutation.Factorial(n), dp.Total);
    }

    [Fact]
    public void Untied_null_distribution_is_symmetric_and_known_for_n4()
    {
        // n = 4, rho = 0.8 (one adjacent swap): |rho*| >= 0.8 for rho* in {1, 0.8, -0.8, -1} => 1+3+3+1 = 8 of 24.
        var r = Correlation.Spearman([1.0, 2, 3, 4], [1.0, 2, 4, 3]);
        Assert.Equal(0.8, r.Rho, 1e-15);
        Assert.Equal(8.0 / 24.0, r.PValueExact!.Value, 1e-15);
    }

    [Fact]
    public void Twelve_tasks_are_fast()
    {
        var c = ScipyReference.Correlations.Single(x => x.Name == "ties12");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 3; i++) Correlation.Spearman(c.X, c.Y);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }
}
