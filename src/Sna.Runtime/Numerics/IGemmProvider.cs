namespace Sna.Runtime.Numerics;

/// <summary>
/// A single-precision matrix-multiply provider: C[M,N] = A[M,K] · B[K,N] (+ C when <c>accumulate</c>).
/// A and C are dense row-major float32 spans. Implementations must be thread-safe (one instance serves concurrent callers).
/// </summary>
public interface IGemmProvider
{
    /// <summary>Short name reported in run records and benchmarks, e.g. "managed-avx512", "openblas", "naive".</summary>
    string Name { get; }

    /// <param name="a">A, row-major [m, b.K].</param>
    /// <param name="m">Rows of A and C.</param>
    /// <param name="b">B, K x N, any layout/dtype.</param>
    /// <param name="c">C, row-major [m, b.N].</param>
    /// <param name="accumulate">When true C += A·B, else C = A·B.</param>
    void Sgemm(ReadOnlySpan<float> a, int m, in WeightMatrix b, Span<float> c, bool accumulate);

    /// <summary>
    /// C = A·B, then <paramref name="epilogue"/> on every element of C (bias, then activation): bitwise the same as
    /// <c>Sgemm(a, m, b, c, false)</c> followed by <see cref="GemmEpilogue.Apply(Span{float}, int, int)"/>, which is what
    /// this default does; the managed GEMM applies it to each block of C while the block is in cache.
    /// </summary>
    void Sgemm(ReadOnlySpan<float> a, int m, in WeightMatrix b, Span<float> c, in GemmEpilogue epilogue)
    {
        Sgemm(a, m, b, c, accumulate: false);
        epilogue.Apply(c, m, b.N);
    }

    /// <summary>
    /// Batch invariance: in every call with at least this many rows, each row of C is bit-identical whatever m and the other
    /// rows are (so callers that keep their calls at or above it get results independent of how rows are batched).
    /// 1 = every call; <see cref="int.MaxValue"/> (the default) = no promise.
    /// </summary>
    int RowInvariantFrom => int.MaxValue;
}
