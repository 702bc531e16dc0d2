using System.Numerics;
using Sna.Research.Analysis;

namespace Sna.Core.Tests.Analysis;

public class MedianIntervalTests
{
    /// <summary>1 − 2·P(Bin(n, ½) ≤ j − 1) in exact integer arithmetic (independent of MathNet).</summary>
    private static double ExactCoverage(int n, int j)
    {
        BigInteger tail = BigInteger.Zero, c = BigInteger.One;
        for (int i = 0; i < j; i++) { tail += c; c = c * (n - i) / (i + 1); }
        return 1 - 2 * Math.Exp(BigInteger.Log(tail) - n * Math.Log(2));
    }

    [Theory]
    [InlineData(5, 1, 0.9375)]          // no interval reaches 95%: min and max, and the coverage says so
    [InlineData(6, 1, 0.96875)]
    [InlineData(7, 1, 0.984375)]
    [InlineData(15, 4, 0.96484375)]
    [InlineData(31, 10, 0.97055062651634216)]
    [InlineData(101, 41, 0.95395593307065720)]
    public void Ranks_are_the_narrowest_with_95_percent_exact_coverage(int n, int lowRank, double coverage)
    {
        var values = Enumerable.Range(0, n).Select(i => (double)((i * 37) % n)).ToArray(); // 0..n-1, shuffled
        var ci = MedianIntervals.Compute(values);
        Assert.Equal(lowRank, ci.LowRank);
        Assert.Equal(n + 1 - lowRank, ci.HighRank);
        Assert.Equal(lowRank - 1, ci.Low);           // the sorted values are 0..n-1, so x(j) = j - 1
        Assert.Equal(n - lowRank, ci.High);
        Assert.Equal(Descriptive.Median(values), ci.Median);
        Assert.Equal(coverage, ci.Coverage, 1e-12);
        Assert.Equal(ExactCoverage(n, lowRank), ci.Coverage, 1e-12);
        // Narrowest: the next rank in would fall below 95% (or there is none).
        if (2 * (lowRank + 1) <= n + 1 && lowRank + 1 <= n / 2) Assert.True(ExactCoverage(n, lowRank + 1) < 0.95);
    }

    [Theory]
    [InlineData(15, false)]
    [InlineData(31, false)]
    [InlineData(31, true)]
    public void Empirical_coverage_matches_the_stated_coverage(int n, bool skewed)
    {
        // Uniform(0,1) (median 1/2) or exponential (median ln 2): the interval is distribution-free.
        double truth = skewed ? Math.Log(2) : 0.5;
        var rng = new Random(20261207 + n);
        const int trials = 20000;
        int covered = 0;
        double stated = 0;
        var x = new double[n];
        for (int t = 0; t < trials; t++)
        {
            for (int i = 0; i < n; i++) { double u = rng.NextDouble(); x[i] = skewed ? -Math.Log(1 - u) : u; }
            var ci = MedianIntervals.Compute(x);
            stated = ci.Coverage;
            if (ci.Low <= truth && truth <= ci.High) covered++;
        }
        double rate = (double)covered / trials, sd = Math.Sqrt(stated * (1 - stated) / trials);
        Assert.InRange(rate, stated - 5 * sd, stated + 5 * sd);
    }

    [Fact]
    public void Bad_input_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => MedianIntervals.Compute([]));
        Assert.Throws<ArgumentException>(() => MedianIntervals.Compute([1.0, double.NaN, 2.0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => MedianIntervals.Compute([1.0, 2.0, 3.0], 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => MedianIntervals.Coverage(7, 5));
        var one = MedianIntervals.Compute([3.5]);
        Assert.Equal((3.5, 3.5, 3.5, 1, 1), (one.Median, one.Low, one.High, one.LowRank, one.HighRank));
        Assert.Equal(0.0, one.Coverage, 1e-12); // one value covers the median with probability 0
    }
}
