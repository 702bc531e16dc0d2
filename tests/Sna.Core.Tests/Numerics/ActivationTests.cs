using System.Numerics;
using System.Runtime.Intrinsics;
using Sna.Runtime.Numerics;

namespace Sna.Core.Tests.Numerics;

/// <summary>The fused GELU (gelu_new), SiLU, their float exp and the scorer's Σ exp against double-precision references, and
/// the same bits at every width.</summary>
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

    [Fact]
    public void Exp_gives_the_same_bits_on_16_lanes_as_on_one()
    {
        // GeluTanh, SiLU, attention's softmax and SumExp use the 16-lane ExpF when AVX-512 is there; without it Vector512
        // runs in software, which must give the same bits too (test.sh reruns this with AVX-512 off).
        var r = new Random(11);
        for (int i = 0; i < 5_000; i++)
        {
            var lanes = new float[16];
            for (int j = 0; j < 16; j++) lanes[j] = (float)(r.NextDouble() * 200 - 100);
            var got = Activations.ExpF(Vector512.Create(lanes));
            for (int j = 0; j < 16; j++)
                Assert.Equal(BitConverter.SingleToInt32Bits(Activations.ExpF(lanes[j])), BitConverter.SingleToInt32Bits(got[j]));
        }
    }

    private static double SiluRef(double x) => x / (1 + Math.Exp(-x));

    [Fact]
    public void Silu_matches_the_double_reference_with_the_same_bits_in_every_lane()
    {
        var xs = Inputs();
        var y = (float[])xs.Clone();
        Activations.Silu(y);
        for (int i = 0; i < xs.Length; i++)
        {
            double want = SiluRef(xs[i]);
            double tol = 4e-7 * Math.Max(Math.Abs(xs[i]), 1e-30) + 1e-36;
            Assert.True(float.IsFinite(y[i]), $"silu({xs[i]}) = {y[i]}");
            Assert.True(Math.Abs(y[i] - want) <= tol, $"silu({xs[i]:R}) = {y[i]:R}, reference {want:R}");
        }
        // one element at a time runs the scalar lane; any split of the buffer gives the same bits
        for (int i = 0; i < xs.Length; i++)
        {
            var one = new[] { xs[i] };
            Activations.Silu(one);
            Assert.Equal(BitConverter.SingleToInt32Bits(y[i]), BitConverter.SingleToInt32Bits(one[0]));
        }
        var split = (float[])xs.Clone();
        Activations.Silu(split.AsSpan(0, 29));
        Activations.Silu(split.AsSpan(29));
        Assert.Equal(y, split);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(33)]
    [InlineData(50257)]
    public void Sum_of_exp_matches_the_double_reference(int n)
    {
        var r = new Random(n);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(r.NextDouble() * 30 - 20);
        float max = x.Max();
        double want = x.Sum(v => Math.Exp((double)v - max));
        double got = Softmax.SumExp(x, max);
        Assert.True(Math.Abs(got - want) <= 3e-7 * want, $"n = {n}: {got:R} vs {want:R}");
        Assert.Equal(got, Softmax.SumExp(x, max));
        // log-sum-exp as the sweep scorer forms it, against the double-precision one the naive path uses
        Assert.True(Math.Abs(max + Math.Log(got) - Softmax.LogSumExp(x)) < 1e-6);
        Assert.Equal(0.0, Softmax.SumExp(ReadOnlySpan<float>.Empty, 0f));
    }
}
