using System.Numerics;
using Sna.Runtime.Numerics;

namespace Sna.Core.Tests.Numerics;

/// <summary>The fused GELU (gelu_new) and its float exp against double-precision references, and the same bits at every width.</summary>
public class ActivationTests
{
    private static float[] Inputs()
    {
        var xs = new List<float> { 0f, -0f, 1e-30f, -1e-30f, 1e-7f, -1e-7f, 0.5f, -0.5f, 3f, -3f, 10f, -10f, 30f, -30f, 1e4f, -1e4f,
                                   float.MaxValue, float.MinValue };
        var r = new Random(5);
        for (int i = 0; i < 20_000; i++) xs.Add((float)(r.NextDouble() * 24 - 12));
        for (int i = 0; i < 2_000; i++) xs.Add((float)(r.NextDouble() * 200 - 100));
        return xs.ToArray();
    }

    private static double GeluRef(double x) => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

    [Fact]
    public void Gelu_tanh_matches_the_double_reference()
    {
        var xs = Inputs();
        var y = (float[])xs.Clone();
        Activations.GeluTanh(y);
        for (int i = 0; i < xs.Length; i++)
        {
            double want = GeluRef(xs[i]);
            // within a few float ulps of |x| (the scale of the result), and never NaN or ∞ for finite x
            double tol = 4e-7 * Math.Max(Math.Abs(xs[i]), 1e-30) + 1e-37;
            Assert.True(float.IsFinite(y[i]), $"gelu({xs[i]}) = {y[i]}");
            Assert.True(Math.Abs(y[i] - want) <= tol, $"gelu({xs[i]:R}) = {y[i]:R}, reference {want:R}");
        }
        Assert.Equal(0f, GeluOf(0f));
        Assert.Equal(0f, GeluOf(-1e4f));
        Assert.Equal(0f, GeluOf(float.MinValue));
        Assert.Equal(float.MaxValue, GeluOf(float.MaxValue));
        Assert.True(float.IsNaN(GeluOf(float.NaN)));
    }

    private static float GeluOf(float x) { var a = new[] { x }; Activations.GeluTanh(a); return a[0]; }

    [Fact]
    public void Gelu_tanh_is_bitwise_the_same_in_vector_and_scalar_lanes()
    {
        var xs = Inputs();
        var vec = (float[])xs.Clone();
        Activations.GeluTanh(vec);                             // vector body (and a scalar tail)
        for (int i = 0; i < xs.Length; i++)
            Assert.Equal(BitConverter.SingleToInt32Bits(GeluOf(xs[i])), BitConverter.SingleToInt32Bits(vec[i]));   // scalar path
        // any split of the buffer gives the same bits (the forward pass splits it over threads)
        var split = (float[])xs.Clone();
        Activations.GeluTanh(split.AsSpan(0, 13));
        Activations.GeluTanh(split.AsSpan(13));
        Assert.Equal(vec, split);
    }

    [Fact]
    public void Exp_is_within_a_few_ulp_of_the_double_exp()
    {
        var r = new Random(9);
        double worst = 0;
        for (int i = 0; i < 50_000; i++)
        {
            float x = (float)(r.NextDouble() * 175 - 87);
            float got = Activations.ExpF(new Vector<float>(x))[0];
            Assert.Equal(BitConverter.SingleToInt32Bits(got), BitConverter.SingleToInt32Bits(Activations.ExpF(x)));   // the scalar lane
            double rel = Math.Abs(got - Math.Exp(x)) / Math.Exp(x);
            worst = Math.Max(worst, rel);
        }
        Assert.True(worst < 3e-7, $"worst relative error {worst:E2}");
        Assert.Equal(1f, Activations.ExpF(Vector<float>.Zero)[0]);
        Assert.True(float.IsFinite(Activations.ExpF(new Vector<float>(1000f))[0]));
        Assert.True(Activations.ExpF(new Vector<float>(-1000f))[0] > 0f);
    }
}
