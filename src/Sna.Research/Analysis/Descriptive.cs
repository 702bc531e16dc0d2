namespace Sna.Research.Analysis;

/// <summary>
/// Small descriptive-statistics helpers used by the analysis layer.
/// All methods reject empty input and non-finite values with <see cref="ArgumentException"/>.
/// </summary>
public static class Descriptive
{
    /// <summary>Arithmetic mean.</summary>
    public static double Mean(IReadOnlyList<double> values)
    {
        Guard.FiniteNonEmpty(values, nameof(values));
        double sum = 0;
        for (int i = 0; i < values.Count; i++) sum += values[i];
        return sum / values.Count;
    }

    /// <summary>Sample variance with denominator n - 1 (numpy <c>var(ddof=1)</c>). Requires n &gt;= 2.</summary>
    public static double SampleVariance(IReadOnlyList<double> values)
    {
        Guard.FiniteNonEmpty(values, nameof(values));
        if (values.Count < 2) throw new ArgumentException("Sample variance needs at least 2 values.", nameof(values));
        double mean = Mean(values);
        double ss = 0;
        for (int i = 0; i < values.Count; i++)
        {
            double d = values[i] - mean;
            ss += d * d;
        }
        return ss / (values.Count - 1);
    }

    /// <summary>Sample standard deviation (denominator n - 1, numpy <c>std(ddof=1)</c>). Requires n &gt;= 2.</summary>
    public static double SampleStandardDeviation(IReadOnlyList<double> values) => Math.Sqrt(SampleVariance(values));

    /// <summary>Median (numpy <c>median</c>: linear quantile at 0.5).</summary>
    public static double Median(IReadOnlyList<double> values) => Quantile(values, 0.5);

    /// <summary>
    /// Quantile with linear interpolation, identical to numpy's default
    /// (<c>np.quantile(values, q, method="linear")</c>, Hyndman &amp; Fan type 7):
    /// h = (n - 1) q, result = x[floor(h)] + (h - floor(h)) (x[floor(h)+1] - x[floor(h)]) on the sorted values,
    /// using numpy's two-sided lerp so results agree bit for bit.
    /// </summary>
    /// <param name="values">Data (not modified).</param>
    /// <param name="q">Probability in [0, 1].</param>
    public static double Quantile(IReadOnlyList<double> values, double q)
    {
        Guard.FiniteNonEmpty(values, nameof(values));
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return QuantileOfSorted(sorted, q);
    }

    /// <summary>Like <see cref="Quantile"/> but for data already sorted ascending (not checked).</summary>
    public static double QuantileOfSorted(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0) throw new ArgumentException("Quantile of an empty sample.", nameof(sorted));
        if (!(q >= 0 && q <= 1)) throw new ArgumentOutOfRangeException(nameof(q), q, "q must lie in [0, 1].");
        int n = sorted.Count;
        double virtualIndex = (n - 1) * q;                    // numpy 'linear': (n - 1) * quantiles
        double previous = Math.Floor(virtualIndex);
        double gamma = virtualIndex - previous;
        int lo = (int)Math.Clamp(previous, 0, n - 1);
        int hi = (int)Math.Clamp(previous + 1, 0, n - 1);
        double a = sorted[lo], b = sorted[hi];
        // numpy _lerp: a + (b - a) t, or b - (b - a)(1 - t) when t >= 0.5.
        double diff = b - a;
        return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
    }
}

/// <summary>
/// A distribution-free confidence interval for a median: the order statistics x₍LowRank₎ and x₍HighRank₎ (1-based, HighRank =
/// n + 1 − LowRank) of the sorted sample, whose coverage for any continuous distribution is exactly
/// <see cref="Coverage"/> = 1 − 2·P(Bin(n, ½) ≤ LowRank − 1).
/// </summary>
public readonly record struct MedianInterval(double Median, double Low, double High, int LowRank, int HighRank, double Coverage);

/// <summary>Order-statistics interval for a median (the sign-test interval; e.g. Conover, <i>Practical Nonparametric Statistics</i>, §3.2).</summary>
public static class MedianIntervals
{
    /// <summary>
    /// The median (numpy's) of <paramref name="values"/> and the narrowest order-statistics interval (x₍j₎, x₍n+1−j₎) whose
    /// exact coverage is at least <paramref name="confidence"/>. When no interval reaches it (n ≤ 5 at 95%: even the min and
    /// max cover only 1 − 2¹⁻ⁿ), the interval is (min, max) and <see cref="MedianInterval.Coverage"/> says how much it covers.
    /// n = 7 at 95%: min and max, 98.4%; n = 15: 4th and 12th, 96.5%; n = 31: 10th and 22nd, 97.1%; n = 101: 41st and 61st, 95.4%.
    /// </summary>
    public static MedianInterval Compute(IReadOnlyList<double> values, double confidence = 0.95)
    {
        Guard.FiniteNonEmpty(values, nameof(values));
        if (!(confidence > 0 && confidence < 1)) throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "must be in (0, 1)");
        int n = values.Count;
        var sorted = values.ToArray();
        Array.Sort(sorted);
        var (j, coverage) = LowRank(n, confidence);
        return new MedianInterval(Descriptive.Median(sorted), sorted[j - 1], sorted[n - j], j, n + 1 - j, coverage);
    }

    /// <summary>
    /// The rank j of <see cref="Compute"/>'s interval (x₍j₎, x₍n+1−j₎) for a sample of <paramref name="n"/> and its exact
    /// coverage: the largest j whose coverage is at least <paramref name="confidence"/>, or 1 when none reaches it.
    /// </summary>
    public static (int Rank, double Coverage) LowRank(int n, double confidence = 0.95)
    {
        if (!(confidence > 0 && confidence < 1)) throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "must be in (0, 1)");
        int j = 1;
        while (j + 1 <= n / 2 && Coverage(n, j + 1) >= confidence) j++;
        return (j, Coverage(n, j));
    }

    /// <summary>Exact coverage of (x₍j₎, x₍n+1−j₎) for the median of a continuous distribution: 1 − 2·P(Bin(n, ½) ≤ j − 1).</summary>
    public static double Coverage(int n, int j)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "must be at least 1");
        if (j < 1 || 2 * j > n + 1) throw new ArgumentOutOfRangeException(nameof(j), j, $"must be in 1..{(n + 1) / 2}");
        return 1 - 2 * MathNet.Numerics.Distributions.Binomial.CDF(0.5, n, j - 1);
    }
}

/// <summary>Ranking helpers.</summary>
public static class Ranks
{
    /// <summary>
    /// Ranks 1..n with ties given the average of the ranks they span
    /// (<c>scipy.stats.rankdata(method="average")</c>). Tied values therefore get ranks that are multiples of 0.5.
    /// </summary>
    public static double[] Average(IReadOnlyList<double> values)
    {
        Guard.FiniteNonEmpty(values, nameof(values));
        int n = values.Count;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        // Stable, deterministic ordering: by value, then by index.
        Array.Sort(order, (a, b) =>
        {
            int c = values[a].CompareTo(values[b]);
            return c != 0 ? c : a.CompareTo(b);
        });
        var ranks = new double[n];
        int start = 0;
        while (start < n)
        {
            int end = start;
            while (end + 1 < n && values[order[end + 1]] == values[order[start]]) end++;
            double rank = (start + end + 2) / 2.0;           // average of 1-based ranks start+1 .. end+1
            for (int k = start; k <= end; k++) ranks[order[k]] = rank;
            start = end + 1;
        }
        return ranks;
    }
}

internal static class Guard
{
    public static void FiniteNonEmpty(IReadOnlyList<double> values, string name)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        if (values.Count == 0) throw new ArgumentException("Input is empty.", name);
        for (int i = 0; i < values.Count; i++)
        {
            if (!double.IsFinite(values[i]))
                throw new ArgumentException($"Input contains a non-finite value ({values[i]}) at index {i}.", name);
        }
    }

    public static void Paired(IReadOnlyList<double> x, IReadOnlyList<double> y, int minCount)
    {
        FiniteNonEmpty(x, nameof(x));
        FiniteNonEmpty(y, nameof(y));
        if (x.Count != y.Count)
            throw new ArgumentException($"x and y must have the same length (got {x.Count} and {y.Count}).", nameof(y));
        if (x.Count < minCount)
            throw new ArgumentException($"At least {minCount} pairs are required (got {x.Count}).", nameof(x));
    }

    public static bool IsConstant(IReadOnlyList<double> v)
    {
        for (int i = 1; i < v.Count; i++) if (v[i] != v[0]) return false;
        return true;
    }
}
