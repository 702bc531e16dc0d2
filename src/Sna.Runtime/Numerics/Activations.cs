using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Sna.Runtime.Numerics;

/// <summary>MLP activation functions, element-wise, in place.</summary>
public static class Activations
{
    private const float Sqrt2OverPi = 0.7978845608028654f;

    /// <summary>
    /// GPT-2's <c>gelu_new</c>: 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³), in one pass as the identical
    /// x / (1 + exp(−2u)) (no cancellation in 1 + tanh for negative x). exp is <see cref="ExpF(Vector{float})"/>; the vector
    /// and scalar paths do the same float operations in the same order, so the result is bitwise the same at every SIMD width
    /// (and without SIMD, where the scalar path runs alone). With AVX-512 the body runs on 16 lanes (.NET's Vector&lt;float&gt;
    /// has 8 by default); the lane helpers are inlined into the loop (a call per vector, its arguments passed through
    /// memory, cost more than the arithmetic), and the loop is fully optimised from its first call.
    /// </summary>
    /// <param name="x">activations [n], replaced by gelu(x)</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GeluTanh(Span<float> x)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated && x.Length >= Vector512<float>.Count)
        {
            var xs = MemoryMarshal.Cast<float, Vector512<float>>(x);
            for (int j = 0; j < xs.Length; j++) xs[j] = GeluTanh(xs[j]);
            i = xs.Length * Vector512<float>.Count;
        }
        else if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var xs = MemoryMarshal.Cast<float, Vector<float>>(x);
            for (int j = 0; j < xs.Length; j++) xs[j] = GeluTanh(xs[j]);
            i = xs.Length * Vector<float>.Count;
        }
        for (; i < x.Length; i++) x[i] = GeluTanh(x[i]);
    }

    /// <summary>One lane of <see cref="GeluTanh(Vector{float})"/>: the same float operations in the same order (same bits).</summary>
    private static float GeluTanh(float x)
    {
        float x2 = x * x;
        float u = (x2 * 0.044715f + 1f) * x * Sqrt2OverPi;
        float y = x / (1f + ExpF(u * -2f));
        return x < -20f ? x * 0f : y;
    }

    /// <summary>One lane of <see cref="ExpF(Vector{float})"/> (same operations, same bits).</summary>
    internal static float ExpF(float x)
    {
        x = MathF.Min(MathF.Max(x, -87.33654f), 88f);
        float k = MathF.Floor(x * 1.44269504088896341f + 0.5f);
        float r = x - k * 0.693359375f - k * -2.12194440e-4f;
        float p = 1.9875691500E-4f;
        p = p * r + 1.3981999507E-3f;
        p = p * r + 8.3334519073E-3f;
        p = p * r + 4.1665795894E-2f;
        p = p * r + 1.6666665459E-1f;
        p = p * r + 5.0000001201E-1f;
        float y = p * (r * r) + r + 1f;
        return y * BitConverter.Int32BitsToSingle(((int)k + 127) << 23);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> GeluTanh(Vector<float> x)
    {
        var x2 = x * x;
        var u = (x2 * new Vector<float>(0.044715f) + Vector<float>.One) * x * new Vector<float>(Sqrt2OverPi);
        var y = x / (Vector<float>.One + ExpF(u * new Vector<float>(-2f)));
        // below x = −20 the exact value (≈ −20·e^−600) rounds to −0; ExpF's clamp would leave x·6e-39 there
        return Vector.ConditionalSelect(Vector.LessThan(x, new Vector<float>(-20f)), x * Vector<float>.Zero, y);
    }

    /// <summary>
    /// exp(x) in float, lane-wise (Cephes expf: x = k·ln2 + r with a two-part ln2, a degree-5 polynomial for exp(r) on
    /// |r| ≤ ln2/2, 2^k from the exponent bits); relative error about 2 ulp for x in [−87.3, 88]; x is clamped to that
    /// range (no ∞, no subnormals). Only +, −, ×, floor and bit operations: the same bits at every vector width and in
    /// scalar use.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<float> ExpF(Vector<float> x)
    {
        x = Vector.Min(Vector.Max(x, new Vector<float>(-87.33654f)), new Vector<float>(88f));
        var k = Vector.Floor(x * new Vector<float>(1.44269504088896341f) + new Vector<float>(0.5f));   // −126 ≤ k ≤ 127
        var r = x - k * new Vector<float>(0.693359375f) - k * new Vector<float>(-2.12194440e-4f);
        var p = new Vector<float>(1.9875691500E-4f);
        p = p * r + new Vector<float>(1.3981999507E-3f);
        p = p * r + new Vector<float>(8.3334519073E-3f);
        p = p * r + new Vector<float>(4.1665795894E-2f);
        p = p * r + new Vector<float>(1.6666665459E-1f);
        p = p * r + new Vector<float>(5.0000001201E-1f);
        var y = p * (r * r) + r + Vector<float>.One;
        var pow2 = Vector.AsVectorSingle(Vector.ShiftLeft(Vector.ConvertToInt32(k) + new Vector<int>(127), 23));
        return y * pow2;
    }

    /// <summary><see cref="GeluTanh(Vector{float})"/> on 16 lanes (same operations, same bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> GeluTanh(Vector512<float> x)
    {
        var x2 = x * x;
        var u = (x2 * Vector512.Create(0.044715f) + Vector512<float>.One) * x * Vector512.Create(Sqrt2OverPi);
        var y = x / (Vector512<float>.One + ExpF(u * Vector512.Create(-2f)));
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(-20f)), x * Vector512<float>.Zero, y);
    }

    /// <summary><see cref="ExpF(Vector{float})"/> on 16 lanes (same operations, same bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> ExpF(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(-87.33654f)), Vector512.Create(88f));
        var k = Vector512.Floor(x * Vector512.Create(1.44269504088896341f) + Vector512.Create(0.5f));   // −126 ≤ k ≤ 127
        var r = x - k * Vector512.Create(0.693359375f) - k * Vector512.Create(-2.12194440e-4f);
        var p = Vector512.Create(1.9875691500E-4f);
        p = p * r + Vector512.Create(1.3981999507E-3f);
        p = p * r + Vector512.Create(8.3334519073E-3f);
        p = p * r + Vector512.Create(4.1665795894E-2f);
        p = p * r + Vector512.Create(1.6666665459E-1f);
        p = p * r + Vector512.Create(5.0000001201E-1f);
        var y = p * (r * r) + r + Vector512<float>.One;
        var pow2 = Vector512.ShiftLeft(Vector512.ConvertToInt32(k) + Vector512.Create(127), 23).AsSingle();
        return y * pow2;
    }

    /// <summary>Exact GELU: 0.5·x·(1 + erf(x/√2)), erf evaluated in double.</summary>
    public static void GeluErf(Span<float> x)
    {
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            x[i] = (float)(0.5 * v * (1.0 + Erf.Evaluate(v * 0.70710678118654752440)));
        }
    }

    /// <summary>
    /// SiLU (Llama's gate activation), x·σ(x), as x / (1 + exp(−x)) with <see cref="ExpF(Vector{float})"/>: the same float
    /// operations in every lane, so the same bits at every SIMD width and whatever the JIT's tier (TensorPrimitives.Sigmoid
    /// ran its exp through an unaccelerated path until re-jitted).
    /// </summary>
    /// <param name="x">activations [n], replaced by silu(x)</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Silu(Span<float> x)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated && x.Length >= Vector512<float>.Count)
        {
            var xs = MemoryMarshal.Cast<float, Vector512<float>>(x);
            for (int j = 0; j < xs.Length; j++) xs[j] /= Vector512<float>.One + ExpF(-xs[j]);
            i = xs.Length * Vector512<float>.Count;
        }
        else if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var xs = MemoryMarshal.Cast<float, Vector<float>>(x);
            for (int j = 0; j < xs.Length; j++) xs[j] /= Vector<float>.One + ExpF(-xs[j]);
            i = xs.Length * Vector<float>.Count;
        }
        for (; i < x.Length; i++) x[i] /= 1f + ExpF(-x[i]);
    }
}

/// <summary>The error function in double precision (W. J. Cody's rational Chebyshev approximations, |rel err| &lt; 1e-15).</summary>
public static class Erf
{
    public static double Evaluate(double x)
    {
        double ax = Math.Abs(x);
        double r;
        if (ax <= 0.5)
        {
            double z = x * x;
            double num = (((1.85777706184603153e-1 * z + 3.16112374387056560e0) * z + 1.13864154151050156e2) * z + 3.77485237685302021e2) * z + 3.20937758913846947e3;
            double den = (((z + 2.36012909523441209e1) * z + 2.44024637934444173e2) * z + 1.28261652607737228e3) * z + 2.84423683343917062e3;
            return x * num / den;
        }
        if (ax <= 4.0)
        {
            double num = ((((((((2.15311535474403846e-8 * ax + 5.64188496988670089e-1) * ax + 8.88314979438837594e0) * ax + 6.61191906371416295e1) * ax + 2.98635138197400131e2) * ax + 8.81952221241769090e2) * ax + 1.71204761263407058e3) * ax + 2.05107837782607147e3) * ax + 1.23033935479799725e3);
            double den = (((((((ax + 1.57449261107098347e1) * ax + 1.17693950891312499e2) * ax + 5.37181101862009858e2) * ax + 1.62138957456669019e3) * ax + 3.29079923573345963e3) * ax + 4.36261909014324716e3) * ax + 3.43936767414372164e3) * ax + 1.23033935480374942e3;
            r = 1.0 - Math.Exp(-ax * ax) * num / den;
        }
        else if (ax < 27.0)
        {
            double z = 1.0 / (ax * ax);
            double num = ((((1.63153871373020978e-2 * z + 3.05326634961232344e-1) * z + 3.60344899949804439e-1) * z + 1.25781726111229246e-1) * z + 1.60837851487422766e-2) * z + 6.58749161529837803e-4;
            double den = ((((z + 2.56852019228982242e0) * z + 1.87295284992346725e0) * z + 5.27905102951428412e-1) * z + 6.05183413124413191e-2) * z + 2.33520497626869185e-3;
            double p = z * num / den;
            p = (0.56418958354775628695 - p) / ax; // 1/sqrt(pi) - ...
            r = 1.0 - Math.Exp(-ax * ax) * p;
        }
        else r = 1.0;
        return x < 0 ? -r : r;
    }
}
