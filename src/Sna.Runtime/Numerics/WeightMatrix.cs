namespace Sna.Runtime.Numerics;

/// <summary>Element type of a stored weight matrix. Compute is always float32; 16-bit weights are widened inside the GEMM.</summary>
public enum WeightDType { F32 = 0, F16 = 1, BF16 = 2 }

/// <summary>
/// The right-hand operand B of C[M,N] = A[M,K] · B[K,N]: a read-only K x N matrix living in unmanaged or pinned memory
/// (a memory-mapped checkpoint or a pinned array owned by the model), never moved by the GC.
/// <para>Layout <see cref="Transposed"/> = false: row-major [K, N] (Hugging Face GPT-2 Conv1D weights, stored [in, out]).</para>
/// <para>Layout <see cref="Transposed"/> = true: row-major [N, K] (torch nn.Linear weights, stored [out, in]; tied unembedding [vocab, d_model]).</para>
/// </summary>
public readonly unsafe struct WeightMatrix
{
    /// <summary>First element; element type given by <see cref="DType"/>.</summary>
    public readonly void* Data;
    public readonly WeightDType DType;
    /// <summary>Inner (reduction) dimension.</summary>
    public readonly int K;
    /// <summary>Output dimension.</summary>
    public readonly int N;
    /// <summary>True when stored as [N, K] rather than [K, N].</summary>
    public readonly bool Transposed;

    public WeightMatrix(void* data, WeightDType dtype, int k, int n, bool transposed)
    {
        if (data == null) throw new ArgumentNullException(nameof(data));
        if (k <= 0 || n <= 0) throw new ArgumentOutOfRangeException(nameof(k), $"matrix dims must be positive, got K={k}, N={n}");
        Data = data; DType = dtype; K = k; N = n; Transposed = transposed;
    }

    public int ElementSize => DType == WeightDType.F32 ? 4 : 2;
    public long ElementCount => (long)K * N;
    public long ByteCount => ElementCount * ElementSize;

    /// <summary>Element B[k, n] widened to float (slow; for oracles and tests).</summary>
    public float this[int k, int n]
    {
        get
        {
            long idx = Transposed ? (long)n * K + k : (long)k * N + n;
            return DType switch
            {
                WeightDType.F32 => ((float*)Data)[idx],
                WeightDType.F16 => (float)((Half*)Data)[idx],
                _ => BitConverter.Int32BitsToSingle(((ushort*)Data)[idx] << 16),
            };
        }
    }
}
