using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace Sna.Runtime.Numerics;

/// <summary>
/// LayerNorm over the last dimension, as TransformerLens computes it:
/// scale = sqrt(var(x) + eps) (biased variance), normalized = (x - mean) / scale * w + b.
/// </summary>
public static class LayerNorm
{
    /// <param name="x">input [rows, d]</param>
    /// <param name="w">gain [d]</param>
    /// <param name="b">bias [d] (empty for RMS-style callers that pass none)</param>
    /// <param name="y">output [rows, d]; may alias x</param>
    /// <param name="scale">per-row scale [rows] (the <c>hook_scale</c> activation)</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, float eps,
                               Span<float> y, Span<float> scale, int d)
    {
        int rows = x.Length / d;
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * d, d);
            var yr = y.Slice(r * d, d);
            float mean = TensorPrimitives.Sum(xr) / d;
            TensorPrimitives.Subtract(xr, mean, yr);                 // yr = x - mean
            float var = TensorPrimitives.SumOfSquares(yr) / d;
            float s = MathF.Sqrt(var + eps);
            scale[r] = s;
            TensorPrimitives.Divide(yr, s, yr);
            TensorPrimitives.Multiply(yr, w, yr);
            if (!b.IsEmpty) TensorPrimitives.Add(yr, b, yr);
        }
    }

    /// <summary>RMSNorm (Llama): scale = sqrt(mean(x²) + eps), y = x / scale * w.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsForward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, float eps, Span<float> y, Span<float> scale, int d)
    {
        int rows = x.Length / d;
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * d, d);
            var yr = y.Slice(r * d, d);
            float s = MathF.Sqrt(TensorPrimitives.SumOfSquares(xr) / d + eps);
            scale[r] = s;
            TensorPrimitives.Divide(xr, s, yr);
            TensorPrimitives.Multiply(yr, w, yr);
        }
    }
}
