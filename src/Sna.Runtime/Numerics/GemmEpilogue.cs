using System.Runtime.CompilerServices;

namespace Sna.Runtime.Numerics;

/// <summary>Element-wise activation a GEMM can apply to C as it finishes it (<see cref="GemmEpilogue"/>).</summary>
public enum GemmActivation
{
    None,
    /// <summary><see cref="Activations.GeluTanh(Span{float})"/> (GPT-2's gelu_new).</summary>
    GeluTanh,
}

/// <summary>
/// What a GEMM does to each element of C after the product: add the column's bias, then apply the activation. Applied by
/// the managed GEMM to each block of C while it is still in cache; the result is bitwise that of the plain product followed
/// by <see cref="Apply(Span{float}, int, int)"/> over all of C (the same float operations per element).
/// </summary>
public readonly struct GemmEpilogue(float[]? bias, GemmActivation activation = GemmActivation.None)
{
    /// <summary>[N] added to every row of C (null or empty: none).</summary>
    public float[]? Bias { get; } = bias is { Length: > 0 } ? bias : null;
    public GemmActivation Activation { get; } = activation;
    public bool IsEmpty => Bias is null && Activation == GemmActivation.None;

    /// <summary>Throws unless the bias (if any) has one value per column of C.</summary>
    public void Validate(int n)
    {
        if (Bias is { } bias && bias.Length != n) throw new ArgumentException($"bias has {bias.Length} values, C has {n} columns");
    }

    /// <summary>The epilogue over C [m, n], row-major.</summary>
    public void Apply(Span<float> c, int m, int n)
    {
        Validate(n);
        if (IsEmpty) return;
        for (int r = 0; r < m; r++) ApplyRow(c.Slice(r * n, n), 0);
    }

    /// <summary>The epilogue over rows of C: <paramref name="rows"/> rows of <paramref name="w"/> columns starting at column
    /// <paramref name="n0"/>, the first at <paramref name="c"/>, row stride <paramref name="ldc"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal unsafe void Apply(float* c, long ldc, int rows, int n0, int w)
    {
        if (IsEmpty) return;
        for (int r = 0; r < rows; r++) ApplyRow(new Span<float>(c + r * ldc, w), n0);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ApplyRow(Span<float> row, int n0)
    {
        if (Bias is not null) System.Numerics.Tensors.TensorPrimitives.Add(row, Bias.AsSpan(n0, row.Length), row);
        if (Activation == GemmActivation.GeluTanh) Activations.GeluTanh(row);
    }
}
