using MathNet.Numerics;

namespace Sna.Research.Analysis;

/// <summary>Pearson correlation with its two-sided p-value (matches <c>scipy.stats.pearsonr</c>).</summary>
/// <param name="N">Number of pairs.</param>
/// <param name="R">Correlation coefficient, clipped to [-1, 1]; NaN when x or y is constant.</param>
/// <param name="PValue">Two-sided p-value for H0: rho = 0 under bivariate normality; NaN when R is NaN.</param>
public sealed record PearsonResult(int N, double R, double PValue)
{
    /// <summary>R squared.</summary>
    public double RSquared => R * R;
}

/// <summary>Spearman rank correlation with t-approximation and (for small n) exact permutation p-values.</summary>
/// <param name="N">Number of pairs.</param>
/// <param name="Rho">Pearson correlation of the average ranks; NaN when x or y is constant.</param>
/// <param name="PValueT">Two-sided p from the t approximation with n - 2 df (<c>scipy.stats.spearmanr</c>); NaN for n = 2 or constant input.</param>
/// <param name="PValueExact">Two-sided exact permutation p, P(|rho*| &gt;= |rho|) over all n! pairings; null when not computed (n too large or not requested).</param>
/// <param name="Method">Plain-language statement of which p is which.</param>
public sealed record SpearmanResult(int N, double Rho, double PValueT, double? PValueExact, string Method)
{
    /// <summary>Rho squared.</summary>
    public double RhoSquared => Rho * Rho;
}

/// <summary>
/// Correlation coefficients and their p-values. Inputs must be finite and of equal length (n &gt;= 2);
/// violations throw <see cref="ArgumentException"/>. A constant x or y gives NaN coefficients and p-values,
/// as SciPy does (SciPy also warns); callers such as <see cref="Bootstrap"/> treat NaN as "undefined".
/// </summary>
public static class Correlation
{
    /// <summary>Largest n for which <see cref="Spearman"/> computes the exact permutation p by default.</summary>
    public const int DefaultMaxExactN = 12;

    /// <summary>Hard upper limit for the exact Spearman p (the dynamic programme grows like 2^n).</summary>
    public const int MaxExactNLimit = 16;

    /// <summary>
    /// Pearson product-moment correlation and two-sided p-value, following <c>scipy.stats.pearsonr</c> (SciPy 1.10):
    /// r = &lt;(x - x̄)/|x - x̄|, (y - ȳ)/|y - ȳ|&gt; clipped to [-1, 1]; under H0 r follows Beta(n/2 - 1, n/2 - 1) on [-1, 1],
    /// so p = 2 sf(|r|) = I_{1 - r²}((n - 2)/2, 1/2), the same as the t-test with n - 2 df.
    /// Special cases as SciPy: n = 2 gives r = ±1 and p = 1; |r| = 1 gives p = 0; n = 3 uses the closed form of the
    /// arcsine law, p = 1 - (2/π) asin|r|.
    /// </summary>
    public static PearsonResult Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Guard.Paired(x, y, 2);
        int n = x.Count;
        if (Guard.IsConstant(x) || Guard.IsConstant(y)) return new PearsonResult(n, double.NaN, double.NaN);
        if (n == 2) return new PearsonResult(n, Math.Sign(x[1] - x[0]) * Math.Sign(y[1] - y[0]), 1.0);
        double r = PearsonR(x, y);
        return new PearsonResult(n, r, TwoSidedPFromR(r, n));
    }

    /// <summary>
    /// Spearman rank correlation following <c>scipy.stats.spearmanr</c> (SciPy 1.10): rho is the Pearson correlation of
    /// average ranks computed as <c>numpy.corrcoef</c> does (<see cref="Ranks.Average"/>), <c>PValueT</c> the two-sided t-approximation
    /// t = rho sqrt((n - 2)/((1 + rho)(1 - rho))) with n - 2 df (NaN for n = 2, 0 for |rho| = 1).
    /// When <paramref name="computeExact"/> and n &lt;= <paramref name="maxExactN"/>, <c>PValueExact</c> is the exact
    /// two-sided permutation p: the share of all n! pairings of the rank vectors (ties kept as average ranks) whose
    /// |rho*| &gt;= |rho_obs|. It is computed by an exact dynamic programme over the null distribution (see remarks in
    /// <see cref="SpearmanExactPermutation"/>), not by Monte Carlo; the comparison is made in exact integer arithmetic.
    /// </summary>
    /// <param name="x">First variable.</param>
    /// <param name="y">Second variable.</param>
    /// <param name="computeExact">Whether to compute the exact permutation p (when n is small enough).</param>
    /// <param name="maxExactN">Largest n for the exact p (default 12, at most <see cref="MaxExactNLimit"/>).</param>
    public static SpearmanResult Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y, bool computeExact = true, int maxExactN = DefaultMaxExactN)
    {
        Guard.Paired(x, y, 2);
        if (maxExactN > MaxExactNLimit)
            throw new ArgumentOutOfRangeException(nameof(maxExactN), maxExactN, $"The exact Spearman p is limited to n <= {MaxExactNLimit}.");
        int n = x.Count;
        if (Guard.IsConstant(x) || Guard.IsConstant(y))
            return new SpearmanResult(n, double.NaN, double.NaN, null, "undefined: x or y is constant (rho and p are NaN, as scipy.stats.spearmanr)");

        double[] rx = Ranks.Average(x), ry = Ranks.Average(y);
        double rho = CorrcoefR(rx, ry);
        double pT = n == 2 ? double.NaN : TwoSidedPFromR(rho, n);

        double? pExact = null;
        string exactText;
        if (computeExact && n <= maxExactN)
        {
            var (extreme, total) = SpearmanExactPermutation.CountAtLeastAsExtreme(rx, ry);
            pExact = (double)extreme / total;
            exactText = $"exact p = two-sided permutation p, the share of all {n}! = {total} pairings of the (average) ranks with |rho*| >= |rho| ({extreme} of {total}).";
        }
        else
        {
            exactText = computeExact
                ? $"exact p not computed: n = {n} > {maxExactN}."
                : "exact p not requested.";
        }

        string method = $"rho = Pearson correlation of average ranks; t-approximation p = two-sided, with {n - 2} df (scipy.stats.spearmanr); {exactText}";
        return new SpearmanResult(n, rho, pT, pExact, method);
    }

    /// <summary>Spearman rho only (NaN if x or y is constant). Cheap; used by the bootstrap.</summary>
    public static double SpearmanRho(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Guard.Paired(x, y, 2);
        if (Guard.IsConstant(x) || Guard.IsConstant(y)) return double.NaN;
        return CorrcoefR(Ranks.Average(x), Ranks.Average(y));
    }

    /// <summary>Pearson r only (NaN if x or y is constant).</summary>
    public static double PearsonRho(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Guard.Paired(x, y, 2);
        if (Guard.IsConstant(x) || Guard.IsConstant(y)) return double.NaN;
        if (x.Count == 2) return Math.Sign(x[1] - x[0]) * Math.Sign(y[1] - y[0]);
        return PearsonR(x, y);
    }

    /// <summary>r for non-constant inputs, computed like SciPy: centre, scale to unit norm, dot product, clip.</summary>
    internal static double PearsonR(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        int n = x.Count;
        double mx = 0, my = 0;
        for (int i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
        mx /= n;
        my /= n;
        var xm = new double[n];
        var ym = new double[n];
        for (int i = 0; i < n; i++) { xm[i] = x[i] - mx; ym[i] = y[i] - my; }
        double nx = Norm(xm), ny = Norm(ym);
        if (nx == 0 || ny == 0) return double.NaN;
        double r = 0;
        for (int i = 0; i < n; i++) r += (xm[i] / nx) * (ym[i] / ny);
        return Math.Clamp(r, -1.0, 1.0);
    }

    /// <summary>
    /// r as <c>numpy.corrcoef</c> computes it (used by <c>scipy.stats.spearmanr</c> on the ranks):
    /// c_xy = Σ x̃ỹ / (n - 1), r = c_xy / sqrt(c_xx) / sqrt(c_yy), clipped. Differs from <see cref="PearsonR"/> only in
    /// rounding, but rounding matters at |r| ≈ 1, where p is ill-conditioned (e.g. ranks 1,2,3 vs 1,2,3 give exactly 1 here).
    /// </summary>
    internal static double CorrcoefR(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        int n = x.Count;
        double mx = 0, my = 0;
        for (int i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
        mx /= n;
        my /= n;
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        double f = n - 1;
        double cxx = sxx / f, cyy = syy / f;
        if (cxx == 0 || cyy == 0) return double.NaN;
        double r = sxy / f / Math.Sqrt(cxx) / Math.Sqrt(cyy);
        return Math.Clamp(r, -1.0, 1.0);
    }

    /// <summary>
    /// Two-sided p for a correlation r from n pairs under the null of no correlation (n &gt;= 3):
    /// p = I_{(1-|r|)(1+|r|)}((n-2)/2, 1/2) — identical to 2 P(T_{n-2} &gt;= |t|) with t = r sqrt((n-2)/(1-r²)) and to
    /// SciPy's 2 sf(|r|) of Beta(n/2-1, n/2-1) on [-1, 1].
    /// </summary>
    internal static double TwoSidedPFromR(double r, int n)
    {
        if (double.IsNaN(r)) return double.NaN;
        double a = Math.Abs(r);
        if (a >= 1.0) return 0.0;
        if (n == 3) return 1.0 - 2.0 / Math.PI * Math.Asin(a);   // arcsine law, exact
        double oneMinusR2 = (1.0 - a) * (1.0 + a);
        double p = SpecialFunctions.BetaRegularized((n - 2) / 2.0, 0.5, oneMinusR2);
        return Math.Clamp(p, 0.0, 1.0);
    }

    private static double Norm(double[] v)
    {
        double scale = 0;
        foreach (double d in v) scale = Math.Max(scale, Math.Abs(d));
        if (scale == 0) return 0;
        double ss = 0;
        foreach (double d in v) { double s = d / scale; ss += s * s; }
        return scale * Math.Sqrt(ss);
    }
}
