namespace Sna.Research.Analysis;

/// <summary>
/// One pair's asymmetry test: A→B (the per-prompt improvements of B's prompts with A's neurons amplified) against B→A (A's
/// prompts with B's neurons), two-sided two-sample permutation test of the difference of means; Holm-adjusted across pairs.
/// </summary>
/// <param name="AToB">Mean per-prompt relative % change of B's P(target) with A's neurons amplified.</param>
/// <param name="BToA">The same, B's neurons on A's prompts.</param>
/// <param name="Difference">AToB − BToA (difference of relative % changes).</param>
/// <param name="PValue">Two-sided permutation p of the difference (the two directions are measured on different prompts, so this test is unpaired).</param>
/// <param name="PHolm">Holm-adjusted over all pairs tested.</param>
public sealed record InterferencePairTest(string A, string B, int NA, int NB, double AToB, double BToA, double Difference, double PValue, double PHolm, string Method);

/// <summary>
/// The paired test across task pairs: for each pair, X = the task with the lower baseline (mean P_base) and Y the other;
/// d = (X→Y) − (Y→X). Two-sided sign-flip test of mean d = 0 (exact over all 2^n sign patterns up to 17 pairs, else Monte
/// Carlo). H0: amplifying the less confident task's neurons moves the more confident task as much as the reverse.
/// </summary>
public sealed record InterferenceDirectionTest(string Orientation, int Pairs, double MeanDifference, int PositivePairs, double PValue, bool Exact, string Method);

/// <summary>Both asymmetry tests of an interference measurement.</summary>
public sealed record InterferenceAsymmetryTests(IReadOnlyList<InterferencePairTest> Pairs, InterferenceDirectionTest? Direction)
{
    /// <summary>
    /// Runs both tests. <paramref name="prompts"/>(s, t) gives the per-prompt relative % changes of target t's prompts with
    /// source s's neurons amplified (null when not measured); <paramref name="baseline"/>(t) is task t's mean P_base.
    /// Pairs with a non-finite value are left out.
    /// </summary>
    public static InterferenceAsymmetryTests Run(IReadOnlyList<string> tasks, Func<string, string, IReadOnlyList<double>?> prompts,
        Func<string, double> baseline, int resamples = Bootstrap.DefaultResamples, ulong seed = Bootstrap.DefaultSeed)
    {
        var raw = new List<(string A, string B, double[] Ab, double[] Ba)>();
        for (int i = 0; i < tasks.Count; i++)
            for (int j = i + 1; j < tasks.Count; j++)
            {
                var ab = prompts(tasks[i], tasks[j]); var ba = prompts(tasks[j], tasks[i]);
                if (ab is null || ba is null || ab.Count == 0 || ba.Count == 0) continue;
                if (!ab.All(double.IsFinite) || !ba.All(double.IsFinite)) continue;
                raw.Add((tasks[i], tasks[j], ab.ToArray(), ba.ToArray()));
            }
        var tests = raw.Select(r => PermutationTest.TwoSample(r.Ab, r.Ba, alternative: Alternative.TwoSided, resamples: resamples, seed: seed)).ToArray();
        var holm = MultipleTesting.Holm(tests.Select(t => t.PValue).ToArray());
        var pairs = raw.Select((r, k) => new InterferencePairTest(r.A, r.B, r.Ba.Length, r.Ab.Length, Descriptive.Mean(r.Ab), Descriptive.Mean(r.Ba),
            Descriptive.Mean(r.Ab) - Descriptive.Mean(r.Ba), tests[k].PValue, holm[k], tests[k].Method)).ToArray();

        InterferenceDirectionTest? direction = null;
        if (pairs.Length > 0)
        {
            var d = pairs.Select(p => baseline(p.A) <= baseline(p.B) ? p.Difference : -p.Difference).ToArray();
            var t = PermutationTest.OneSample(d, alternative: Alternative.TwoSided, resamples: resamples, seed: seed);
            direction = new InterferenceDirectionTest("lower-baseline task → higher-baseline task, minus the reverse", d.Length, Descriptive.Mean(d),
                d.Count(x => x > 0), t.PValue, t.Exact, "paired " + t.Method);
        }
        return new InterferenceAsymmetryTests(pairs.OrderBy(p => p.PValue).ThenByDescending(p => Math.Abs(p.Difference)).ToArray(), direction);
    }
}
