namespace Sna.Runtime.Numerics;

/// <summary>
/// Reference (oracle) GEMM: a plain triple loop. Every product a[i,k]·b[k,n] is formed in double precision
/// (float→double and Half/BF16→float→double widenings are exact, and a float·float product is exact in double),
/// summed in ascending k in double, then rounded once to float. With <c>accumulate</c> the old C value is added
/// in double before that single rounding. Slow by design; use it for tests only.
/// </summary>
public sealed unsafe class NaiveGemm : IGemmProvider
{
    public string Name => "naive";
    /// <summary>Each element is its own double sum in ascending k: every call is row-invariant.</summary>
    public int RowInvariantFrom => 1;

    public void Sgemm(ReadOnlySpan<float> a, int m, in WeightMatrix b, Span<float> c, bool accumulate)
    {
        GemmArgs.Validate(a, m, b, c);
        int k = b.K, n = b.N;
        for (int i = 0; i < m; i++)
        {
            ReadOnlySpan<float> arow = a.Slice(i * k, k);
            for (int j = 0; j < n; j++)
            {
                double s = accumulate ? c[i * n + j] : 0.0;
                for (int p = 0; p < k; p++) s += (double)arow[p] * b[p, j];
                c[i * n + j] = (float)s;
            }
        }
    }
}

internal static unsafe class GemmArgs
{
    public static void Validate(ReadOnlySpan<float> a, int m, in WeightMatrix b, Span<float> c)
    {
        if (b.Data == null) throw new ArgumentException("WeightMatrix is uninitialised (default struct).", nameof(b));
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), m, "m must be >= 0");
        if ((long)a.Length < (long)m * b.K) throw new ArgumentException($"A has {a.Length} elements, needs m*K = {(long)m * b.K}.", nameof(a));
        if ((long)c.Length < (long)m * b.N) throw new ArgumentException($"C has {c.Length} elements, needs m*N = {(long)m * b.N}.", nameof(c));
    }
}
