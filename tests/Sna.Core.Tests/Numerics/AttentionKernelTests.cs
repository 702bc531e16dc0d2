using Sna.Runtime.Numerics;

namespace Sna.Core.Tests.Numerics;

/// <summary>Attention's inner loops (dot, short softmax, weighted sum) against double-precision references, at lengths
/// around every SIMD width (these tests also run with AVX-512, AVX2 and all intrinsics disabled in test.sh).</summary>
public unsafe class AttentionKernelTests
{
    private static readonly int[] Lengths = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 80, 128, 130];

    private static float[] Random(int n, int seed, double scale)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((r.NextDouble() * 2 - 1) * scale)).ToArray();
    }

    [Fact]
    public void Dot_matches_the_double_reference()
    {
        foreach (int n in Lengths)
        {
            var q = Random(n, n, 2); var k = Random(n, n + 1000, 2);
            double want = 0, mag = 0;
            for (int i = 0; i < n; i++) { want += (double)q[i] * k[i]; mag += Math.Abs((double)q[i] * k[i]); }
            float got;
            fixed (float* pq = q, pk = k) got = AttentionKernels.Dot(pq, pk, n);
            Assert.True(Math.Abs(got - want) <= 4e-7 * mag + 1e-30, $"n={n}: {got} vs {want}");
        }
    }

    [Fact]
    public void Softmax_matches_the_double_reference_and_is_stable_at_large_scores()
    {
        foreach (int n in Lengths)
            foreach (double shift in new[] { 0.0, 1e4, -1e4 })
            {
                var s = Random(n, n + 7, 30).Select(x => (float)(x + shift)).ToArray();
                var want = new double[n];
                var gap = s.Select(x => (double)s.Max() - x).ToArray();   // float s − max rounds to half an ulp of the gap
                double max = s.Max(), sum = 0;
                for (int i = 0; i < n; i++) sum += want[i] = Math.Exp((double)s[i] - max);
                fixed (float* ps = s) AttentionKernels.Softmax(ps, n);
                double total = 0;
                for (int i = 0; i < n; i++)
                {
                    Assert.True(Math.Abs(s[i] - want[i] / sum) <= (1e-6 + 1.2e-7 * gap[i]) * (want[i] / sum) + 1e-37, $"n={n} shift={shift} i={i}: {s[i]} vs {want[i] / sum}");
                    total += s[i];
                }
                Assert.InRange(total, 1 - 1e-5, 1 + 1e-5);
            }
    }

    [Fact]
    public void Softmax_propagates_nan()
    {
        var s = new float[] { 1f, float.NaN, 2f, 0f, 1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f };
        fixed (float* ps = s) AttentionKernels.Softmax(ps, s.Length);
        Assert.All(s, x => Assert.True(float.IsNaN(x)));
    }

    [Fact]
    public void AddScaled_is_the_scalar_product_then_sum_in_every_lane()
    {
        foreach (int n in Lengths)
        {
            var z = Random(n, n + 3, 1); var v = Random(n, n + 4, 1);
            const float p = 0.37f;
            var want = z.Select((zi, i) => zi + v[i] * p).ToArray();
            fixed (float* pz = z, pv = v) AttentionKernels.AddScaled(pz, pv, p, n);
            Assert.Equal(want, z);
        }
    }
}
