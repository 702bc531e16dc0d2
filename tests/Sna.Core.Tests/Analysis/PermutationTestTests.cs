using Sna.Runtime.Numerics;
using Sna.Research.Analysis;

namespace Sna.Core.Tests.Analysis;

public class PermutationTestTests
{
    [Fact]
    public void Against_controls_uses_plus_one_formula()
    {
        double[] controls = [0.5, 1.2, 3.0, 2.2, 0.1, 4.5, 2.9, 1.0, 0.7];  // m = 9
        var r = PermutationTest.AgainstControls(3.0, controls);
        // #{c >= 3.0} = 2 (3.0 and 4.5) => p = (1 + 2) / (1 + 9)
        Assert.Equal(0.3, r.PValue, 1e-15);
        Assert.Equal(2, r.Extreme);
        Assert.Equal(9, r.NullCount);
        Assert.False(r.Exact);

        var beatsAll = PermutationTest.AgainstControls(10.0, controls);
        Assert.Equal(0.1, beatsAll.PValue, 1e-15);                 // never 0: smallest p is 1/(1+m)

        var less = PermutationTest.AgainstControls(0.5, controls, Alternative.Less);
        Assert.Equal(3.0 / 10.0, less.PValue, 1e-15);              // 0.5, 0.1 <= 0.5

        var two = PermutationTest.AgainstControls(10.0, controls, Alternative.TwoSided);
        Assert.Equal(0.2, two.PValue, 1e-15);
    }

    [Fact]
    public void Task_neurons_beat_random_neurons()
    {
        var rng = new DeterministicRandom(77);
        var random = Enumerable.Range(0, 999).Select(_ => rng.NextGaussian()).ToArray();
        var r = PermutationTest.AgainstControls(4.0, random);
        Assert.True(r.PValue <= 0.002, $"p = {r.PValue}");
        Assert.True(r.PValue >= 1.0 / 1000);
    }

    [Fact]
    public void Exact_two_sample_matches_scipy_permutation_test()
    {
        var g = PermutationTest.TwoSample(ScipyReference.PermA, ScipyReference.PermB);
        Assert.True(g.Exact);
        Assert.Equal(1716, g.NullCount);                            // C(13, 6)
        Assert.Equal(ScipyReference.TwoSampleGreater, g.PValue, 1e-12);
        Assert.Equal(ScipyReference.TwoSampleLess, PermutationTest.TwoSample(ScipyReference.PermA, ScipyReference.PermB, alternative: Alternative.Less).PValue, 1e-12);
        Assert.Equal(ScipyReference.TwoSampleTwoSided, PermutationTest.TwoSample(ScipyReference.PermA, ScipyReference.PermB, alternative: Alternative.TwoSided).PValue, 1e-12);
    }

    [Fact]
    public void Exact_sign_flip_matches_scipy_permutation_test()
    {
        var g = PermutationTest.OneSample(ScipyReference.PermD);
        Assert.True(g.Exact);
        Assert.Equal(1024, g.NullCount);
        Assert.Equal(ScipyReference.OneSampleGreater, g.PValue, 1e-12);
        Assert.Equal(ScipyReference.OneSampleTwoSided, PermutationTest.OneSample(ScipyReference.PermD, alternative: Alternative.TwoSided).PValue, 1e-12);

        var zeros = new double[ScipyReference.PermD.Length];
        var paired = PermutationTest.Paired(ScipyReference.PermD, zeros);
        Assert.Equal(g.PValue, paired.PValue);
    }

    [Fact]
    public void Monte_carlo_versions_are_deterministic_and_close_to_exact()
    {
        var exact = PermutationTest.TwoSample(ScipyReference.PermA, ScipyReference.PermB);
        var mc1 = PermutationTest.TwoSample(ScipyReference.PermA, ScipyReference.PermB, resamples: 20_000, seed: 5, maxExact: 0);
        var mc2 = PermutationTest.TwoSample(ScipyReference.PermA, ScipyReference.PermB, resamples: 20_000, seed: 5, maxExact: 0);
        Assert.False(mc1.Exact);
        Assert.Equal(mc1, mc2);
        Assert.Equal(exact.PValue, mc1.PValue, 0.01);
        Assert.Equal((1.0 + mc1.Extreme) / (1.0 + 20_000), mc1.PValue, 1e-15);

        var exact1 = PermutationTest.OneSample(ScipyReference.PermD);
        var mcd = PermutationTest.OneSample(ScipyReference.PermD, resamples: 20_000, seed: 6, maxExact: 0);
        Assert.Equal(exact1.PValue, mcd.PValue, 0.01);
    }
}
