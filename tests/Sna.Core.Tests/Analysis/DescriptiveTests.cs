using Sna.Research.Analysis;

namespace Sna.Core.Tests.Analysis;

public class DescriptiveTests
{
    [Fact]
    public void Quantile_is_bit_identical_to_numpy_linear()
    {
        for (int i = 0; i < ScipyReference.QuantileQ.Length; i++)
        {
            double q = ScipyReference.QuantileQ[i];
            Assert.Equal(ScipyReference.QuantileValues[i], Descriptive.Quantile(ScipyReference.QuantileData, q));
            Assert.Equal(ScipyReference.PercentileValues[i], Descriptive.Quantile(ScipyReference.QuantileData, q), 1e-14);
            Assert.Equal(ScipyReference.QuantileSmallValues[i], Descriptive.Quantile(ScipyReference.QuantileSmall, q));
        }
    }

    [Fact]
    public void Mean_sd_median_match_numpy()
    {
        Assert.Equal(ScipyReference.QuantileDataMean, Descriptive.Mean(ScipyReference.QuantileData), 1e-14);
        Assert.Equal(ScipyReference.QuantileDataSd, Descriptive.SampleStandardDeviation(ScipyReference.QuantileData), 1e-14);
        Assert.Equal(ScipyReference.QuantileDataMedian, Descriptive.Median(ScipyReference.QuantileData));
    }

    [Fact]
    public void Edge_cases()
    {
        Assert.Equal(4.0, Descriptive.Quantile([4.0], 0.3));
        Assert.Throws<ArgumentException>(() => Descriptive.Quantile(Array.Empty<double>(), 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Descriptive.Quantile([1.0, 2.0], 1.5));
        Assert.Throws<ArgumentException>(() => Descriptive.SampleVariance([1.0]));
        Assert.Equal([2.0, 2.0, 2.0], Ranks.Average([7.0, 7.0, 7.0]));
        Assert.Equal([3.0, 1.5, 1.5, 4.0], Ranks.Average([5.0, -1.0, -1.0, 9.0]));
    }
}
