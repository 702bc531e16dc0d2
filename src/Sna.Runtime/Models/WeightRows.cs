using System.Numerics.Tensors;
using Sna.Runtime.Numerics;

namespace Sna.Runtime.Models;

/// <summary>Reads one stored row of a weight matrix (an embedding lookup), widening 16-bit storage to float32.</summary>
internal static unsafe class WeightRows
{
    /// <summary>dst[len] = row <paramref name="row"/> of the matrix as stored ([N, K] when Transposed, else [K, N]).</summary>
    public static void Copy(in WeightMatrix m, int row, Span<float> dst)
    {
        int len = m.Transposed ? m.K : m.N;
        int rowsStored = m.Transposed ? m.N : m.K;
        if ((uint)row >= (uint)rowsStored) throw new ArgumentOutOfRangeException(nameof(row));
        long off = (long)row * len;
        switch (m.DType)
        {
            case WeightDType.F32: new ReadOnlySpan<float>((float*)m.Data + off, len).CopyTo(dst); break;
            case WeightDType.F16: TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>((Half*)m.Data + off, len), dst); break;
            default:
                var src = new ReadOnlySpan<ushort>((ushort*)m.Data + off, len);
                for (int i = 0; i < len; i++) dst[i] = BitConverter.Int32BitsToSingle(src[i] << 16);
                break;
        }
    }
}
