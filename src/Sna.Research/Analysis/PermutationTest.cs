using Sna.Runtime.Numerics;
namespace Sna.Research.Analysis;

/// <summary>Direction of the alternative hypothesis.</summary>
public enum Alternative
{
    /// <summary>Observed statistic is larger than under the null (e.g. task neurons beat random neurons).</summary>
    Greater,
    /// <summary>Observed statistic is smaller than under the null.</summary>
    Less,
    /// <summary>Either direction: p = min(1, 2 min(p_greater, p_less)), as <c>scipy.stats.permutation_test</c>.</summary>
    TwoSided,
}

/// <summary>Result of a permutation / randomisation test.</summary>
/// <param name="Observed">Observed statistic.</param>
/// <param name="PValue">p-value (see <see cref="Method"/> for the formula used).</param>
/// <param name="Extreme">Count of null values at least as extreme in the tested direction (for two-sided: of the smaller tail).</param>
/// <param name="NullCount">Number of null values (controls, permutations or resamples).</param>
/// <param name="Exact">True when all permutations were enumerated.</param>
/// <param name="Alternative">Direction tested.</param>
/// <param name="Method">Formula used, in words.</param>
public sealed record PermutationTestResult(
    double Observed, double PValue, long Extreme, long NullCount, bool Exact, Alternative Alternative, string Method);

/// <summary>
/// Permutation and randomisation tests.
/// </summary>
/// <remarks>
/// <para><b>Against controls</b> (<see cref="AgainstControls"/>): the observed value of the real intervention (e.g. the gain from
/// amplifying the task neurons) is compared with m values from control interventions drawn from the null (e.g. the gain
/// from amplifying m random neuron sets of the same size). p_greater = (1 + #{c_i &gt;= obs}) / (1 + m),
/// p_less = (1 + #{c_i &lt;= obs}) / (1 + m) — the observed value counts as one draw of the null, so p is never 0 and
/// the test is valid for finite m (Davison &amp; Hinkley 1997; Phipson &amp; Smyth 2010). Comparisons are exact (no tolerance).</para>
/// <para><b>Two-sample</b> (<see cref="TwoSample"/>): group labels are permuted. If C(n_a + n_b, n_a) &lt;= maxExact, all
/// relabellings are enumerated and p = #{T* &gt;= T_obs} / C (the identity relabelling is included, so p &gt;= 1/C);
/// otherwise B random relabellings give p = (1 + #{T* &gt;= T_obs}) / (1 + B).</para>
/// <para><b>Paired / one-sample</b> (<see cref="Paired"/>, <see cref="OneSample"/>): under H0 each difference d_i is
/// symmetric about 0, so signs are flipped. Exact over all 2^n sign patterns when 2^n &lt;= maxExact, else B random
/// patterns, with the same two formulas.</para>
/// <para>For generated null values "&gt;=" uses the tolerance of <c>scipy.stats.permutation_test</c> with eps = 1e-12:
/// T* &gt;= T_obs - max(eps, eps |T_obs|) (and symmetrically for "&lt;="), so ties that differ only by rounding count as ties.
/// Two-sided: p = min(1, 2 min(p_greater, p_less)), as SciPy.</para>
/// </remarks>
public static class PermutationTest
{
    /// <summary>Relative/absolute tolerance for ties between generated and observed statistics.</summary>
    public const double TieTolerance = 1e-12;

    /// <summary>Default largest number of arrangements enumerated exactly.</summary>
    public const long DefaultMaxExact = 1L << 17;

    /// <summary>Observed statistic vs m control values from the null: p = (1 + #{control &gt;= observed}) / (1 + m) (for <see cref="Alternative.Greater"/>).</summary>
    public static PermutationTestResult AgainstControls(double observed, IReadOnlyList<double> controls, Alternative alternative = Alternative.Greater)
    {
        if (!double.IsFinite(observed)) throw new ArgumentException("Observed statistic must be finite.", nameof(observed));
        Guard.FiniteNonEmpty(controls, nameof(controls));
        long ge = 0, le = 0;
        foreach (double c in controls)
        {
            if (c >= observed) ge++;
            if (c <= observed) le++;
        }
        long m = controls.Count;
        double pg = (1.0 + ge) / (1.0 + m), pl = (1.0 + le) / (1.0 + m);
        var (p, extreme) = Combine(alternative, pg, pl, ge, le);
        return new PermutationTestResult(observed, p, extreme, m, false, alternative,
            $"randomisation test against {m} controls: p = (1 + #extreme) / (1 + {m}) ({Describe(alternative)})");
    }

    /// <summary>
    /// Two-sample permutation test of <paramref name="statistic"/>(a, b) (default: mean(a) - mean(b)) by permuting labels.
    /// </summary>
    public static PermutationTestResult TwoSample(IReadOnlyList<double> a, IReadOnlyList<double> b,
        Func<double[], double[], double>? statistic = null, Alternative alternative = Alternative.Greater,
        int resamples = Bootstrap.DefaultResamples, ulong seed = Bootstrap.DefaultSeed, long maxExact = DefaultMaxExact)
    {
        Guard.FiniteNonEmpty(a, nameof(a));
        Guard.FiniteNonEmpty(b, nameof(b));
        statistic ??= (u, v) => Descriptive.Mean(u) - Descriptive.Mean(v);
        double[] pooled = a.Concat(b).ToArray();
        int na = a.Count, n = pooled.Length;
        double observed = statistic(a.ToArray(), b.ToArray());
        var ga = new double[na];
        var gb = new double[n - na];
        var counter = new TailCounter(observed);

        double combos = Binomial(n, na);
        if (combos <= maxExact)
        {
            // Enumerate all subsets of size na (lexicographic index combinations).
            var idx = new int[na];
            for (int i = 0; i < na; i++) idx[i] = i;
            while (true)
            {
                Split(pooled, idx, ga, gb);
                counter.Add(statistic(ga, gb));
                int k = na - 1;
                while (k >= 0 && idx[k] == n - na + k) k--;
                if (k < 0) break;
                idx[k]++;
                for (int j = k + 1; j < na; j++) idx[j] = idx[j - 1] + 1;
            }
            return counter.Result(alternative, exact: true,
                $"exact two-sample permutation test over all C({n},{na}) = {counter.Count} relabellings: p = #extreme / {counter.Count} ({Describe(alternative)})");
        }

        CheckResamples(resamples);
        var rng = new DeterministicRandom(seed);
        var perm = new int[n];
        var chosen = new int[na];
        for (int r = 0; r < resamples; r++)
        {
            for (int i = 0; i < n; i++) perm[i] = i;
            for (int i = 0; i < na; i++)                             // partial Fisher–Yates: first na = group a
            {
                int j = i + rng.NextInt(n - i);
                (perm[i], perm[j]) = (perm[j], perm[i]);
            }
            Array.Copy(perm, chosen, na);
            Array.Sort(chosen);
            Split(pooled, chosen, ga, gb);
            counter.Add(statistic(ga, gb));
        }
        return counter.Result(alternative, exact: false,
            $"Monte Carlo two-sample permutation test, {resamples} random relabellings (seed {seed}): p = (1 + #extreme) / (1 + {resamples}) ({Describe(alternative)})");
    }

    /// <summary>Paired test: sign-flip test on the differences a_i - b_i (see <see cref="OneSample"/>).</summary>
    public static PermutationTestResult Paired(IReadOnlyList<double> a, IReadOnlyList<double> b,
        Func<double[], double>? statistic = null, Alternative alternative = Alternative.Greater,
        int resamples = Bootstrap.DefaultResamples, ulong seed = Bootstrap.DefaultSeed, long maxExact = DefaultMaxExact)
    {
        Guard.Paired(a, b, 1);
        var d = new double[a.Count];
        for (int i = 0; i < d.Length; i++) d[i] = a[i] - b[i];
        return OneSample(d, statistic, alternative, resamples, seed, maxExact);
    }

    /// <summary>
    /// One-sample sign-flip test of <paramref name="statistic"/> (default: mean) for H0: the distribution of d is
    /// symmetric about 0. Exact over 2^n sign patterns when 2^n &lt;= <paramref name="maxExact"/>.
    /// </summary>
    public static PermutationTestResult OneSample(IReadOnlyList<double> d, Func<double[], double>? statistic = null,
        Alternative alternative = Alternative.Greater, int resamples = Bootstrap.DefaultResamples,
        ulong seed = Bootstrap.DefaultSeed, long maxExact = DefaultMaxExact)
    {
        Guard.FiniteNonEmpty(d, nameof(d));
        statistic ??= Descriptive.Mean;
        double[] x = d.ToArray();
        int n = x.Length;
        double observed = statistic(x);
        var counter = new TailCounter(observed);
        var s = new double[n];

        if (n < 62 && (1L << n) <= maxExact)
        {
            long patterns = 1L << n;
            for (long mask = 0; mask < patterns; mask++)
            {
                for (int i = 0; i < n; i++) s[i] = ((mask >> i) & 1) == 0 ? x[i] : -x[i];
                counter.Add(statistic(s));
            }
            return counter.Result(alternative, exact: true,
                $"exact sign-flip test over all 2^{n} = {patterns} sign patterns: p = #extreme / {patterns} ({Describe(alternative)})");
        }

        CheckResamples(resamples);
        var rng = new DeterministicRandom(seed);
        for (int r = 0; r < resamples; r++)
        {
            for (int i = 0; i < n; i++)
            {
                s[i] = (rng.NextUInt64() >> 63) == 0 ? x[i] : -x[i];
            }
            counter.Add(statistic(s));
        }
        return counter.Result(alternative, exact: false,
            $"Monte Carlo sign-flip test, {resamples} random sign patterns (seed {seed}): p = (1 + #extreme) / (1 + {resamples}) ({Describe(alternative)})");
    }

    private sealed class TailCounter(double observed)
    {
        private readonly double _gamma = Math.Max(TieTolerance, Math.Abs(TieTolerance * observed));
        public long Count, Ge, Le;

        public void Add(double t)
        {
            Count++;
            if (t >= observed - _gamma) Ge++;
            if (t <= observed + _gamma) Le++;
        }

        public PermutationTestResult Result(Alternative alternative, bool exact, string method)
        {
            double adj = exact ? 0 : 1;
            double pg = (Ge + adj) / (Count + adj), pl = (Le + adj) / (Count + adj);
            var (p, extreme) = Combine(alternative, pg, pl, Ge, Le);
            return new PermutationTestResult(observed, p, extreme, Count, exact, alternative, method);
        }
    }

    private static (double P, long Extreme) Combine(Alternative alternative, double pg, double pl, long ge, long le) => alternative switch
    {
        Alternative.Greater => (pg, ge),
        Alternative.Less => (pl, le),
        Alternative.TwoSided => (Math.Min(1.0, 2 * Math.Min(pg, pl)), pg <= pl ? ge : le),
        _ => throw new ArgumentOutOfRangeException(nameof(alternative)),
    };

    private static string Describe(Alternative alternative) => alternative switch
    {
        Alternative.Greater => "extreme: >= observed",
        Alternative.Less => "extreme: <= observed",
        _ => "two-sided: min(1, 2 min(p_greater, p_less))",
    };

    private static void Split(double[] pooled, int[] sortedIdx, double[] ga, double[] gb)
    {
        int ia = 0, ib = 0;
        for (int i = 0; i < pooled.Length; i++)
        {
            if (ia < sortedIdx.Length && sortedIdx[ia] == i) ga[ia++] = pooled[i];
            else gb[ib++] = pooled[i];
        }
    }

    private static double Binomial(int n, int k)
    {
        double c = 1;
        for (int i = 1; i <= k; i++) c = c * (n - k + i) / i;
        return Math.Round(c);
    }

    private static void CheckResamples(int resamples)
    {
        if (resamples < 1) throw new ArgumentOutOfRangeException(nameof(resamples), resamples, "At least one resample is required.");
    }
}
