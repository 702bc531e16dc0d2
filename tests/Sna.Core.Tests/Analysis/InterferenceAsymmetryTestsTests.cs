using Sna.Research.Analysis;
using Sna.Research.Experiments;
using Sna.Research.Method;
using Sna.Core.Tests.Method;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Analysis;

/// <summary>Interference units (improvement_pct, a relative % change), the paper's preset, and the asymmetry tests (per pair and paired across pairs).</summary>
public class InterferenceAsymmetryTestsTests
{
    [Theory]
    [InlineData(24, 8)]
    [InlineData(12, 4)]
    [InlineData(6, 2)]
    [InlineData(3, 1)]
    [InlineData(2, 1)]
    [InlineData(1, 0)]
    [InlineData(36, 12)]
    public void Paper_layer_is_8_of_24_scaled_to_the_depth(int nLayers, int layer)
    {
        Assert.Equal(layer, InterferenceSourceSpec.PaperLayer(nLayers));
        var s = InterferenceSourceSpec.Paper("math-easy", nLayers);
        Assert.Equal(new InterferenceSourceSpec("math-easy", layer, 15, 2.5f), s);
    }

    /// <summary>Independent exact two-sided sign-flip p: enumerate every sign pattern, count |mean| ≥ |observed| via both tails as SciPy does.</summary>
    private static double BruteSignFlip(double[] d)
    {
        double obs = d.Average();
        long ge = 0, le = 0, n = 1L << d.Length;
        for (long mask = 0; mask < n; mask++)
        {
            double s = 0;
            for (int i = 0; i < d.Length; i++) s += ((mask >> i) & 1) == 0 ? d[i] : -d[i];
            double m = s / d.Length;
            double tol = Math.Max(1e-12, Math.Abs(1e-12 * obs));
            if (m >= obs - tol) ge++;
            if (m <= obs + tol) le++;
        }
        return Math.Min(1, 2 * Math.Min((double)ge / n, (double)le / n));
    }

    /// <summary>Independent exact two-sided two-sample p over all relabellings (difference of means).</summary>
    private static double BruteTwoSample(double[] a, double[] b)
    {
        var pooled = a.Concat(b).ToArray();
        int n = pooled.Length, na = a.Length;
        double obs = a.Average() - b.Average();
        long ge = 0, le = 0, total = 0;
        for (long mask = 0; mask < 1L << n; mask++)
        {
            if (System.Numerics.BitOperations.PopCount((ulong)mask) != na) continue;
            double sa = 0, sb = 0;
            for (int i = 0; i < n; i++) if (((mask >> i) & 1) == 1) sa += pooled[i]; else sb += pooled[i];
            double t = sa / na - sb / (n - na);
            double tol = Math.Max(1e-12, Math.Abs(1e-12 * obs));
            total++;
            if (t >= obs - tol) ge++;
            if (t <= obs + tol) le++;
        }
        return Math.Min(1, 2 * Math.Min((double)ge / total, (double)le / total));
    }

    [Fact]
    public void Tests_match_brute_force_enumeration_and_orient_by_baseline()
    {
        string[] tasks = ["a", "b", "c", "d"];
        var baseline = new Dictionary<string, double> { ["a"] = 0.01, ["b"] = 0.5, ["c"] = 0.2, ["d"] = 0.05 };
        // per-prompt relative % changes of target t with source s's neurons (4 prompts per task)
        var v = new Dictionary<(string, string), double[]>();
        var rng = new Random(7);
        foreach (var s in tasks) foreach (var t in tasks) v[(s, t)] = Enumerable.Range(0, 4).Select(_ => Math.Round(rng.NextDouble() * 20 - 10, 3)).ToArray();
        v[("a", "b")] = [30, 32, 35, 31];   // a (low baseline) → b strongly positive
        var r = InterferenceAsymmetryTests.Run(tasks, (s, t) => v[(s, t)], t => baseline[t]);

        Assert.Equal(6, r.Pairs.Count);
        var holmInput = new List<double>();
        foreach (var p in r.Pairs)
        {
            var ab = v[(p.A, p.B)]; var ba = v[(p.B, p.A)];
            Assert.Equal(ab.Average(), p.AToB, 12);
            Assert.Equal(ba.Average(), p.BToA, 12);
            Assert.Equal(p.AToB - p.BToA, p.Difference, 12);
            Assert.Equal(BruteTwoSample(ab, ba), p.PValue, 12);   // C(8,4) = 70 relabellings: exact
            Assert.True(p.PHolm >= p.PValue);
        }
        var ab0 = r.Pairs.Single(p => p.A == "a" && p.B == "b");
        Assert.Equal(2.0 / 70, ab0.PValue, 12);                  // the most extreme split, both tails

        // paired: orient each pair from the lower baseline to the higher
        var d = r.Pairs.Select(p => baseline[p.A] <= baseline[p.B] ? p.Difference : -p.Difference).ToArray();
        var dir = Assert.IsType<InterferenceDirectionTest>(r.Direction);
        Assert.Equal(6, dir.Pairs);
        Assert.True(dir.Exact);
        Assert.Equal(d.Average(), dir.MeanDifference, 12);
        Assert.Equal(d.Count(x => x > 0), dir.PositivePairs);
        Assert.Equal(BruteSignFlip(d), dir.PValue, 12);

        // swapping which task has the lower baseline flips the sign of the oriented mean, not the two-sided p
        var flipped = InterferenceAsymmetryTests.Run(tasks, (s, t) => v[(s, t)], t => -baseline[t]);
        Assert.Equal(-dir.MeanDifference, flipped.Direction!.MeanDifference, 12);
        Assert.Equal(dir.PValue, flipped.Direction.PValue, 12);
    }

    [Fact]
    public void Identical_directions_give_p_one_and_non_finite_pairs_are_left_out()
    {
        string[] tasks = ["a", "b", "c"];
        double[] same = [1, 2, 3];
        var r = InterferenceAsymmetryTests.Run(tasks, (s, t) => s == "c" || t == "c" ? [double.NaN, 1, 2] : same, _ => 0.1);
        var p = Assert.Single(r.Pairs);
        Assert.Equal(1.0, p.PValue);
        Assert.Equal(0.0, p.Difference);
    }

    [SharedFact]
    public void Runner_asymmetry_tests_use_the_measured_per_prompt_changes()
    {
        var (model, tok) = MethodFixtures.Get("gpt2-tiny-f32");
        var a = TaskLibrary.BuiltIn("math-easy");
        var b = TaskLibrary.BuiltIn("code-easy");
        var res = InterferenceRunner.Run(model, tok, [new InterferenceSource(a, 1, 8, 4f), new InterferenceSource(b, 2, 8, 4f)], [a, b]);
        var t = res.AsymmetryTests();
        var p = Assert.Single(t.Pairs);
        Assert.Equal(("math-easy", "code-easy"), (p.A, p.B));
        Assert.Equal(res[0, 1].ImprovementPct, p.AToB, 12);
        Assert.Equal(res[1, 0].ImprovementPct, p.BToA, 12);
        var ab = res[0, 1].Outcome.Prompts.Select(x => x.ImprovementPct).ToArray();
        var ba = res[1, 0].Outcome.Prompts.Select(x => x.ImprovementPct).ToArray();
        var want = PermutationTest.TwoSample(ab, ba, alternative: Alternative.TwoSided);
        Assert.Equal(want.PValue, p.PValue);
        Assert.InRange(p.PValue, 0, 1);
        Assert.NotNull(t.Direction);
    }

    [SharedFact]
    public void Csv_has_improvement_pct_beside_delta_pp_and_reads_either()
    {
        var (model, tok) = MethodFixtures.Get("gpt2-tiny-f32");
        var a = TaskLibrary.BuiltIn("math-easy");
        var b = TaskLibrary.BuiltIn("code-easy");
        var res = InterferenceRunner.Run(model, tok, [new InterferenceSource(a, 1, 8, 3f), new InterferenceSource(b, 2, 8, 3f)], [a, b]);
        var w = new StringWriter();
        res.WriteCsv(w);
        var lines = w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Trim().Split(',');
        Assert.Equal("delta_pp", header[2]);                      // the documented column stays where it was
        int ci = Array.IndexOf(header, "improvement_pct");
        Assert.True(ci > 2);
        foreach (var l in lines.Skip(1)) { var f = l.Trim().Split(','); Assert.Equal(f[2], f[ci]); }

        string dir = Directory.CreateTempSubdirectory("sna-interference-csv-").FullName;
        try
        {
            // improvement_pct wins over delta_pp when both are present
            string both = Path.Combine(dir, "both.csv");
            File.WriteAllText(both, "source,target,delta_pp,improvement_pct\na,b,99,1.5\nb,a,98,-2\n");
            var m = InterferenceMatrix.FromCsv(both);
            Assert.Equal(1.5, m["a", "b"]);
            Assert.Equal(-2, m["b", "a"]);
            Assert.Contains("not percentage points", m.Metric);
        }
        finally { Directory.Delete(dir, true); }
    }
}
