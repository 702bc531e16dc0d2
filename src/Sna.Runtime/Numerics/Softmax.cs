using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sna.Runtime.Numerics;

/// <summary>
/// Numerically stable log-sum-exp (<c>TensorPrimitives.SoftMax</c> does not subtract the maximum and overflows to NaN on
/// large logits). Attention's softmax is <see cref="AttentionKernels.Softmax"/>.
/// </summary>
public static class Softmax
{
    /// <summary>
    /// log Σ exp(x), computed in double around the maximum (the normaliser of log-probabilities): max + ln Σ exp(x_i − max),
    /// summed in index order. NaN or +∞ in x, or no finite value, gives a non-finite result; empty x throws.
    /// </summary>
    public static double LogSumExp(ReadOnlySpan<float> x) => LogSumExp<float>(x);

    /// <summary>log Σ exp(x) of double values (the same arithmetic as <see cref="LogSumExp(ReadOnlySpan{float})"/>).</summary>
    public static double LogSumExp(ReadOnlySpan<double> x) => LogSumExp<double>(x);

    /// <summary>
    /// log softmax of a logits row into <paramref name="dst"/> (double, no allocation): dst[i] = x[i] − <see cref="LogSumExp(ReadOnlySpan{float})"/>.
    /// Returns the normaliser; when it is not finite (NaN or +∞ logits, or none finite) the row is meaningless and callers refuse it.
    /// </summary>
    public static double LogSoftmax(ReadOnlySpan<float> x, Span<double> dst) => LogSoftmax<float>(x, dst);

    /// <summary>log softmax of double logits into <paramref name="dst"/> (see <see cref="LogSoftmax(ReadOnlySpan{float}, Span{double})"/>).</summary>
    public static double LogSoftmax(ReadOnlySpan<double> x, Span<double> dst) => LogSoftmax<double>(x, dst);

    private static double LogSumExp<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double max = double.CreateTruncating(TensorPrimitives.Max(x));
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += Math.Exp(double.CreateTruncating(x[i]) - max);
        return max + Math.Log(sum);
    }

    private static double LogSoftmax<T>(ReadOnlySpan<T> x, Span<double> dst) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (dst.Length != x.Length) throw new ArgumentException($"destination holds {dst.Length} values for {x.Length} logits", nameof(dst));
        double lse = LogSumExp(x);
        for (int i = 0; i < x.Length; i++) dst[i] = double.CreateTruncating(x[i]) - lse;
        return lse;
    }

    /// <summary>
    /// Σ exp(x[i] − <paramref name="shift"/>) with <see cref="Activations.ExpF(Vector{float})"/> (float, about 2 ulp per
    /// term) summed in double: per SIMD lane in ascending order, then the lanes, then the scalar tail. With the maximum as
    /// the shift, <c>shift + log(SumExp)</c> is log Σ exp(x) to about 1e-7. Only +, −, ×, floor and widening, in one fixed
    /// order per SIMD width, so a row gives the same bits whenever and wherever it is computed on that CPU (the JIT's tier
    /// does not matter, as it did for <c>TensorPrimitives.Exp</c>, which ran 15× slower than this until re-jitted).
    /// </summary>
    /// <param name="x">values [n]; none above shift + 88 (the shift is normally their maximum)</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe double SumExp(ReadOnlySpan<float> x, float shift)
    {
        int n = x.Length, i = 0;
        double sum = 0;
        fixed (float* px = x)
        {
            if (Vector512.IsHardwareAccelerated && n >= 16)
            {
                var m = Vector512.Create(shift);
                var lo = Vector512<double>.Zero;
                var hi = Vector512<double>.Zero;
                for (; i + 16 <= n; i += 16)
                {
                    var e = Activations.ExpF(Vector512.Load(px + i) - m);      // [16]
                    lo += Vector512.WidenLower(e);
                    hi += Vector512.WidenUpper(e);
                }
                sum = Vector512.Sum(lo + hi);
            }
            else if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
            {
                int w = Vector<float>.Count;
                var m = new Vector<float>(shift);
                var lo = Vector<double>.Zero;
                var hi = Vector<double>.Zero;
                for (; i + w <= n; i += w)
                {
                    var e = Activations.ExpF(*(Vector<float>*)(px + i) - m);  // [w]
                    Vector.Widen(e, out var a, out var b);
                    lo += a;
                    hi += b;
                }
                sum = Vector.Sum(lo + hi);
            }
            for (; i < n; i++) sum += Activations.ExpF(px[i] - shift);
        }
        return sum;
    }
}
