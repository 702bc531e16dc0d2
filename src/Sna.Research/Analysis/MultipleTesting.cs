namespace Sna.Research.Analysis;

/// <summary>
/// Adjusted p-values for a family of tests (one per task): Holm's step-down (controls the family-wise error rate under any
/// dependence) and Benjamini–Hochberg's step-up (controls the false discovery rate under independence or positive
/// dependence). Both return adjusted p-values in the input order, capped at 1, as <c>statsmodels.stats.multitest.multipletests</c>
/// with <c>method="holm"</c> / <c>"fdr_bh"</c>. NaN inputs stay NaN and do not count towards the family size.
/// </summary>
public static class MultipleTesting
{
    /// <summary>Holm: sort ascending, p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j)).</summary>
    public static double[] Holm(IReadOnlyList<double> p)
    {
        var (idx, m) = Sorted(p);
        var adj = Fill(p.Count);
        double running = 0;
        for (int r = 0; r < m; r++)
        {
            double v = Math.Min(1.0, (m - r) * p[idx[r]]);
            running = Math.Max(running, v);
            adj[idx[r]] = running;
        }
        return adj;
    }

    /// <summary>Benjamini–Hochberg: sort ascending, p̃_(i) = min_{j ≥ i} min(1, m p_(j) / j).</summary>
    public static double[] BenjaminiHochberg(IReadOnlyList<double> p)
    {
        var (idx, m) = Sorted(p);
        var adj = Fill(p.Count);
        double running = 1.0;
        for (int r = m - 1; r >= 0; r--)
        {
            double v = Math.Min(1.0, m * p[idx[r]] / (r + 1));
            running = Math.Min(running, v);
            adj[idx[r]] = running;
        }
        return adj;
    }

    /// <summary>
    /// The smallest Holm-adjusted p a family of <paramref name="tests"/> randomisation tests with <paramref name="controls"/>
    /// control sets each can reach: tests / (controls + 1). With 12 tasks, 200 sets give 0.0597 (nothing can pass 0.05),
    /// 239 sets are the least that can, and 499 give 0.024.
    /// </summary>
    public static double SmallestHolmP(int tests, int controls) => Math.Min(1.0, tests / (controls + 1.0));

    private static (int[] Index, int M) Sorted(IReadOnlyList<double> p)
    {
        ArgumentNullException.ThrowIfNull(p);
        for (int i = 0; i < p.Count; i++)
            if (!double.IsNaN(p[i]) && (p[i] < 0 || p[i] > 1)) throw new ArgumentOutOfRangeException(nameof(p), $"p-value {i} = {p[i]} is outside [0, 1]");
        var idx = Enumerable.Range(0, p.Count).Where(i => !double.IsNaN(p[i])).OrderBy(i => p[i]).ThenBy(i => i).ToArray();
        return (idx, idx.Length);
    }

    private static double[] Fill(int n)
    {
        var a = new double[n];
        Array.Fill(a, double.NaN);
        return a;
    }
}

/// <summary>Result of an exact McNemar test on paired binary outcomes.</summary>
/// <param name="Improved">Pairs wrong before and right after (b).</param>
/// <param name="Worsened">Pairs right before and wrong after (c).</param>
/// <param name="PValue">Two-sided exact p: min(1, 2 · P[X ≤ min(b, c)]), X ~ Binomial(b + c, 1/2); 1 when b + c = 0.</param>
public sealed record McNemarResult(int Improved, int Worsened, double PValue);

/// <summary>Exact (binomial) McNemar test, as <c>statsmodels.stats.contingency_tables.mcnemar(table, exact=True)</c>.</summary>
public static class McNemar
{
    /// <summary>Tests paired outcomes <paramref name="before"/>[i] vs <paramref name="after"/>[i] (true = correct).</summary>
    public static McNemarResult Exact(IReadOnlyList<bool> before, IReadOnlyList<bool> after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        if (before.Count != after.Count) throw new ArgumentException($"{before.Count} outcomes before but {after.Count} after");
        int b = 0, c = 0;
        for (int i = 0; i < before.Count; i++)
        {
            if (!before[i] && after[i]) b++;
            else if (before[i] && !after[i]) c++;
        }
        return Exact(b, c);
    }

    /// <summary>The test from the discordant counts: <paramref name="improved"/> (wrong → right) and <paramref name="worsened"/> (right → wrong).</summary>
    public static McNemarResult Exact(int improved, int worsened)
    {
        if (improved < 0 || worsened < 0) throw new ArgumentOutOfRangeException(nameof(improved), "counts must be ≥ 0");
        int n = improved + worsened;
        if (n == 0) return new McNemarResult(improved, worsened, 1.0);
        int k = Math.Min(improved, worsened);
        // P[X ≤ k] for X ~ Bin(n, 1/2), summed in log space so n in the thousands stays exact to rounding.
        double logHalfN = n * Math.Log(0.5), cdf = 0, logC = 0;
        for (int i = 0; i <= k; i++)
        {
            if (i > 0) logC += Math.Log(n - i + 1) - Math.Log(i);
            cdf += Math.Exp(logC + logHalfN);
        }
        return new McNemarResult(improved, worsened, Math.Min(1.0, 2 * cdf));
    }
}
