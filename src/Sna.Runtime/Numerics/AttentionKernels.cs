using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sna.Runtime.Numerics;

/// <summary>
/// The inner loops of attention for one (row, head): a query's dot products with keys, a softmax over the unmasked span of
/// one score row, and the probability-weighted sum of values. Inline loops over raw pointers (one library call per key
/// cost more than the arithmetic at dh = 64 and a few dozen keys). Each result depends only on its own operands, in a
/// fixed order of operations per SIMD width, so a row gives the same bits whatever else shares its batch.
/// </summary>
internal static unsafe class AttentionKernels
{
    /// <summary>q · k over <paramref name="n"/> floats: lane-wise products summed in ascending chunks, the lanes summed, then
    /// the scalar tail in order.</summary>
    /// <param name="q">[n]</param>
    /// <param name="k">[n]</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* q, float* k, int n)
    {
        int w = Vector<float>.Count, i = 0;
        float sum = 0f;
        if (Vector.IsHardwareAccelerated && n >= w)
        {
            var acc = *(Vector<float>*)q * *(Vector<float>*)k;
            for (i = w; i + w <= n; i += w) acc += *(Vector<float>*)(q + i) * *(Vector<float>*)(k + i);
            sum = Vector.Sum(acc);
        }
        for (; i < n; i++) sum += q[i] * k[i];
        return sum;
    }

    /// <summary>
    /// In place over one score row's unmasked span: s[j] = exp(s[j] − max) / Σ exp(s − max), with
    /// <see cref="Activations.ExpF(Vector{float})"/> (same bits in vector and scalar lanes) and the sum taken in order.
    /// </summary>
    /// <param name="s">scores [n], n ≥ 1, no −∞ (the masked slots are outside the span)</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Softmax(float* s, int n)
    {
        float max = s[0];
        for (int j = 1; j < n; j++) max = MathF.Max(max, s[j]);
        int w = Vector<float>.Count, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var m = Vector512.Create(max);
            for (; i + 16 <= n; i += 16) *(Vector512<float>*)(s + i) = Activations.ExpF(*(Vector512<float>*)(s + i) - m);
        }
        if (Vector.IsHardwareAccelerated)
        {
            var m = new Vector<float>(max);
            for (; i + w <= n; i += w) *(Vector<float>*)(s + i) = Activations.ExpF(*(Vector<float>*)(s + i) - m);
        }
        for (; i < n; i++) s[i] = Activations.ExpF(s[i] - max);
        float sum = 0f;
        for (int j = 0; j < n; j++) sum += s[j];
        for (int j = 0; j < n; j++) s[j] /= sum;
    }

    /// <summary>z += p · v over <paramref name="n"/> floats (a product, then a sum: two roundings, as in the scalar tail).</summary>
    /// <param name="z">[n], accumulated</param>
    /// <param name="v">[n]</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddScaled(float* z, float* v, float p, int n)
    {
        int w = Vector<float>.Count, i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var pv = new Vector<float>(p);
            for (; i + w <= n; i += w) *(Vector<float>*)(z + i) += *(Vector<float>*)(v + i) * pv;
        }
        for (; i < n; i++) z[i] += v[i] * p;
    }
}
