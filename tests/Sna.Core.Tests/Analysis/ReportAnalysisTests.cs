using Sna.Research.Analysis;
using Sna.Research.Method;
using Sna.Core.Tests.Reporting;

namespace Sna.Core.Tests.Analysis;

public class ReportAnalysisTests
{
    private static SweepRow Row(string task, int prompt, int layer, int count, double m, double pBase, double imp, string source = "task")
    {
        var (d, l) = SweepResultSet.ParseTaskName(task);
        double post = pBase * (1 + imp / 100);
        return new SweepRow(task, d, l, prompt, layer, count, m, "all", source, pBase, post, Math.Log(pBase), Math.Log(post), imp);
    }

    /// <summary>math-easy: 2 prompts (P_base 0.05, 0.07) × 4 configurations; code-hard: 1 prompt, 1 configuration.</summary>
    private static SweepResultSet Tiny() => new(
    [
        Row("math-easy", 0, 0, 1, 2, 0.05, 10), Row("math-easy", 1, 0, 1, 2, 0.07, 30),   // config A: 20
        Row("math-easy", 0, 0, 1, 4, 0.05, -10), Row("math-easy", 1, 0, 1, 4, 0.07, 0),   // config B: -5
        Row("math-easy", 0, 1, 1, 2, 0.05, 5), Row("math-easy", 1, 1, 1, 2, 0.07, 15),     // config C: 10
        Row("math-easy", 0, 1, 1, 4, 0.05, 40), Row("math-easy", 1, 1, 1, 4, 0.07, 20),    // config D: 30
        Row("code-hard", 0, 3, 8, 5, 0.2, 2),
    ], "tiny", "m", null);

    [Fact]
    public void Per_task_metrics_match_hand_computation()
    {
        var tasks = TaskSummaries.Compute(Tiny());
        Assert.Equal(2, tasks.Count);
        var t = tasks[0];
        Assert.Equal("math-easy", t.Task);
        Assert.Equal("math", t.Domain);
        Assert.Equal("easy", t.Level);
        Assert.Equal(2, t.Prompts);
        Assert.Equal(4, t.Configurations);
        Assert.Equal(0.06, t.Baseline, 12);
        Assert.Equal((20 - 5 + 10 + 30) / 4.0, t.MeanImprovementPct, 12);
        Assert.Equal(30, t.MaxImprovementPct, 12);
        Assert.Equal(0.75, t.SuccessRate, 12);
        Assert.Equal(2, t.GoldenZoneCount);                       // 20 and 30; 10 is not > 10
        Assert.Equal(1, t.Zone);
        Assert.Equal(new SweepConfiguration(1, 1, 4, "all", "task"), t.Best.Configuration);
        Assert.Equal(1, t.BestLayer);
        Assert.Equal(7.5, t.LayerMeanImprovementPct[0], 12);
        Assert.Equal(20, t.LayerMeanImprovementPct[1], 12);
        Assert.Equal(20 / 27.5, t.Localization, 12);
        Assert.Equal([20.0, -5.0, 10.0, 30.0], t.ConfigurationResults.Select(c => c.MeanImprovementPct).ToArray());

        var c = tasks[1];
        Assert.Equal(3, c.Zone);
        Assert.Equal(1.0, c.SuccessRate);
        Assert.Equal(0, c.GoldenZoneCount);
        Assert.Equal(1.0, c.Localization);
    }

    [Theory]
    [InlineData(0.0699, 1)]
    [InlineData(0.07, 2)]
    [InlineData(0.10, 2)]
    [InlineData(0.1001, 3)]
    public void Zone_boundaries_follow_thresholds(double baseline, int zone)
    {
        var set = new SweepResultSet([Row("t", 0, 0, 1, 2, baseline, 5)]);
        Assert.Equal(zone, TaskSummaries.Compute(set, ZoneThresholds.Paper).Single().Zone);
    }

    [Fact]
    public void Localization_handles_no_gain_and_even_spread()
    {
        Assert.Equal(0, TaskSummaries.Localization([-1.0, -2.0]));
        Assert.Equal(0.25, TaskSummaries.Localization([3.0, 3.0, 3.0, 3.0]), 12);
        Assert.Equal(1, TaskSummaries.Localization([-5.0, 4.0]), 12);
    }

    [Fact]
    public void Planted_negative_relation_is_recovered()
    {
        var a = SweepAnalysis.Run(SyntheticSweep.Create());
        var s = a.Statistics;
        Assert.Null(s.NotEstimable);
        Assert.Equal(12, s.N);
        Assert.True(s.Spearman!.Rho < -0.6, $"rho = {s.Spearman.Rho}");
        Assert.True(s.Spearman.Rho > -0.99, $"rho = {s.Spearman.Rho} (the synthetic data should not be a perfect line)");
        Assert.NotNull(s.Spearman.PValueExact);
        Assert.True(s.Spearman.PValueExact < 0.05);
        Assert.True(s.Spearman.PValueT < 0.05);
        Assert.Equal(s.Spearman.PValueExact!.Value, s.SpearmanPPreferred);
        Assert.True(s.Pearson!.R < 0);
        Assert.True(s.SpearmanCi!.Upper < 0, $"CI [{s.SpearmanCi.Lower}, {s.SpearmanCi.Upper}]");
        Assert.Equal(10_000, s.SpearmanCi.Resamples);
        // Deterministic: same input, same CI.
        var again = SweepAnalysis.Run(SyntheticSweep.Create());
        Assert.Equal(s.SpearmanCi.Lower, again.Statistics.SpearmanCi!.Lower);
        // Zones: Zone 1 gains exceed Zone 3 gains.
        Assert.True(a.Zones[0].MeanImprovementPct > a.Zones[2].MeanImprovementPct);
        Assert.NotNull(a.Calibration);
        Assert.True(a.Calibration!.Slope < 0);
        Assert.Equal(a.Zones.Count(z => z.Tasks.Count > 0), a.MultiplierCurves.Count);
        Assert.True(a.MultiplierCurves.Count >= 2);
    }

    [Fact]
    public void Too_few_tasks_are_reported_not_thrown()
    {
        var a = SweepAnalysis.Run(Tiny());
        Assert.StartsWith("not estimable", a.Statistics.NotEstimable);
        Assert.False(a.Decomposition.Estimable);
        Assert.StartsWith("not estimable", a.Decomposition.NotEstimable);
        Assert.Null(a.Calibration);
        Assert.NotNull(a.CalibrationNote);
        Assert.Null(a.Layers.LevelVsOptimalLayer);
    }

    [Fact]
    public void Decomposition_shares_sum_to_r2_and_baseline_only_r2_is_rho_squared()
    {
        var a = SweepAnalysis.Run(SyntheticSweep.Create(), new AnalysisOptions { HeldOutSeed = null });
        Assert.StartsWith("in-sample", a.DecompositionLocalization);
        var d = a.Decomposition;
        Assert.True(d.Estimable, d.NotEstimable);
        Assert.Equal(3, d.Shares.Count);
        Assert.Equal(d.FullRSquared, d.Shares.Sum(s => s.Share), 1e-12);
        Assert.Equal(100, d.Shares.Sum(s => s.PercentOfR2), 1e-9);
        Assert.Equal(a.Statistics.Spearman!.RhoSquared, d.BaselineOnlyRSquared, 1e-10);
        Assert.Equal([58.0, 28.0, 14.0], d.Shares.Select(s => s.PaperPercent).ToArray());
        Assert.Equal(4, d.Domains.Count);
        // The baseline dominates the planted data.
        Assert.True(d.Shares[0].Share > d.Shares[2].Share);
    }

    [Fact]
    public void Held_out_decomposition_takes_localization_from_split_A_and_outcome_from_split_B()
    {
        var set = SyntheticSweep.Create();
        var a = SweepAnalysis.Run(set);
        Assert.StartsWith("held out", a.DecompositionLocalization);
        var splits = HeldOutSelection.Splits(set, PromptSplit.DefaultSeed);
        var tA = TaskSummaries.Compute(HeldOutSelection.Part(set, splits, true)).ToDictionary(t => t.Task);
        var tB = TaskSummaries.Compute(HeldOutSelection.Part(set, splits, false));
        var expected = ThreeFactorDecomposition.Compute(tB, tB.Select(t => tA[t.Task].Localization).ToArray());
        Assert.True(a.Decomposition.Estimable, a.Decomposition.NotEstimable);
        Assert.Equal(expected.FullRSquared, a.Decomposition.FullRSquared, 12);
        Assert.Equal(expected.Shares.Select(s => s.Share), a.Decomposition.Shares.Select(s => s.Share));
        // baseline-only R² is rho² of split B's outcome, and the held-out localization differs from the in-sample one
        var rhoB = Correlation.Spearman(tB.Select(t => t.Baseline).ToArray(), tB.Select(t => t.MeanImprovementPct).ToArray());
        Assert.Equal(rhoB.RhoSquared, a.Decomposition.BaselineOnlyRSquared, 10);
        Assert.NotEqual(tB.Select(t => t.Localization), tB.Select(t => tA[t.Task].Localization));
        Assert.Equal(a.Tasks.Count, a.HeldOut.Count);
    }

    [Fact]
    public void Decomposition_not_estimable_with_one_domain_or_a_domain_per_task()
    {
        var tasks = TaskSummaries.Compute(SyntheticSweep.Create()).ToArray();
        var oneDomain = tasks.Select(t => t with { Domain = "x" }).ToArray();
        Assert.Contains("one task type", ThreeFactorDecomposition.Compute(oneDomain).NotEstimable);
        var unique = tasks.Select(t => t with { Domain = t.Task }).ToArray();
        Assert.Contains("design columns", ThreeFactorDecomposition.Compute(unique).NotEstimable);
    }

    [Fact]
    public void Layer_specialization_finds_planted_difficulty_shift()
    {
        var l = SweepAnalysis.Run(SyntheticSweep.Create(noise: 0.5)).Layers;
        Assert.Equal(SyntheticSweep.Layers, l.Layers);
        Assert.Equal(12, l.Tasks.Count);
        Assert.Equal(6, l.Matrix.GetLength(0));
        Assert.Equal(12, l.Matrix.GetLength(1));
        Assert.Equal(["easy", "medium", "hard"], l.ByLevel.Select(g => g.Group).ToArray());
        Assert.Equal([2, 3, 4], l.ByLevel.Select(g => g.OptimalLayer).ToArray());
        Assert.Equal(4, l.ByDomain.Count);
        Assert.NotNull(l.LevelVsOptimalLayer);
        Assert.True(l.LevelVsOptimalLayer!.Rho > 0.9);
        Assert.True(l.LevelVsOptimalLayer.PValueExact < 0.01);
        // Matrix cell = task's layer mean.
        var tasks = TaskSummaries.Compute(SyntheticSweep.Create(noise: 0.5));
        Assert.Equal(tasks[5].LayerMeanImprovementPct[3], l.Matrix[3, 5], 12);
    }

    [Fact]
    public void Control_rows_are_excluded_and_extracted()
    {
        var set = SyntheticSweep.Create(randomControlSets: 20, controlTasks: 2);
        var a = SweepAnalysis.Run(set);
        Assert.Equal(SweepAnalysis.Run(SyntheticSweep.Create()).Tasks.Count, a.Tasks.Count);
        Assert.True(a.ControlRows > 0);
        Assert.Equal(2, a.Controls.Count);
        var c = a.Controls[0];
        Assert.Equal(a.Tasks[0].Best.Configuration, c.Configuration);
        Assert.Equal(20, c.RandomImprovementsPct.Count);
        Assert.NotNull(c.BottomKImprovementPct);
        Assert.Equal(1.0 / 21, c.RandomTest!.PValue, 12);               // task neurons beat every random set
        Assert.True(c.AdvantageOverBottomKPct > 0);
    }

    [Fact]
    public void Control_comparison_p_value_hand_case()
    {
        var c = new ControlComparison("t", new SweepConfiguration(1, 2, 3, "all", "task"), 5.0, [1, 2, 6, 7, 3], 0.5);
        Assert.Equal((1 + 2) / 6.0, c.RandomTest!.PValue, 12);           // #(≥5) = 2 of m = 5
        Assert.Equal(3.8, c.RandomMeanPct, 12);
        Assert.Equal(4.5, c.AdvantageOverBottomKPct, 12);
        Assert.Null((c with { RandomImprovementsPct = [] }).RandomTest);
    }

    [Fact]
    public void Interference_asymmetry_hand_case()
    {
        double nan = double.NaN;
        var m = new InterferenceMatrix(["a", "b", "c"], new double[,]
        {
            { 10, 4, -2 },
            { 0, 8, nan },
            { 2, 1, 6 },
        });
        var r = m.Analyze();
        Assert.Equal(2, r.Pairs.Count);                                   // (b,c) has a NaN direction
        Assert.Equal("a", r.Pairs[0].A);
        Assert.Equal("b", r.Pairs[0].B);                                   // |4 - 0| = |-2 - 2| = 4: stable order keeps (a,b) first
        Assert.Equal(4, Math.Abs(r.Pairs[0].Difference), 12);
        Assert.Equal(4, r.MeanAbsDifference, 12);
        Assert.Equal(1, r.OppositeSignPairs);                              // a→c = -2, c→a = +2
        // S: (a,b) 2, (a,c) 0; A: (a,b) 2, (a,c) -2 → ‖A‖² = 2(4 + 4) = 16, ‖S‖² = 2(4 + 0) = 8.
        Assert.Equal(16.0 / 24.0, r.AsymmetryIndex, 12);
        Assert.Equal(8, r.MeanDiagonal, 12);
        Assert.Equal((4 - 2 + 0 + 2 + 1) / 5.0, r.MeanOffDiagonal, 12);
        Assert.Equal(4, m["a", "b"]);
        var sym = new InterferenceMatrix(["x", "y"], new double[,] { { 1, 3 }, { 3, 1 } });
        Assert.Equal(0, sym.Analyze().AsymmetryIndex, 12);
    }

    [Fact]
    public void Interference_from_cells_and_csv()
    {
        var m = InterferenceMatrix.FromCells([new("a", "b", 1.5), new("b", "a", -0.5), new("a", "a", 3)]);
        Assert.Equal(["a", "b"], m.Tasks);
        Assert.Equal(1.5, m[0, 1]);
        Assert.True(double.IsNaN(m[1, 1]));
        Assert.Throws<ArgumentException>(() => InterferenceMatrix.FromCells([new("a", "b", 1), new("a", "b", 2)]));
        string path = Path.Combine(Path.GetTempPath(), $"sna-int-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllText(path, "target,source,delta_pp\nb,a,1.25\na,b,-2\n");
            var f = InterferenceMatrix.FromCsv(path);
            Assert.Equal(1.25, f["a", "b"]);
            Assert.Equal(-2, f["b", "a"]);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Kl_of_identical_distributions_is_zero()
    {
        float[] z = [1.5f, -2f, 0.25f, 3f];
        Assert.Equal(0, Collateral.KlDivergence(z, z), 15);
        double[] big = [1000, 999, 998];
        Assert.Equal(0, Collateral.KlDivergence(big, big), 15);
    }

    [Fact]
    public void Kl_two_token_hand_case_and_shift_invariance()
    {
        // P = (1/2, 1/2), Q = (3/4, 1/4): KL = 1/2 ln(2/3) + 1/2 ln 2 = 1/2 ln(4/3).
        double expected = 0.5 * Math.Log(4.0 / 3.0);
        Assert.Equal(expected, Collateral.KlDivergence([0.0, 0.0], [Math.Log(3), 0.0]), 14);
        // Large logits (softmax would overflow without the max shift).
        Assert.Equal(expected, Collateral.KlDivergence([1000.0, 1000.0], [1000 + Math.Log(3), 1000.0]), 12);
        // Reverse direction: KL(Q‖P) = 3/4 ln(3/2) + 1/4 ln(1/2).
        Assert.Equal(0.75 * Math.Log(1.5) + 0.25 * Math.Log(0.5), Collateral.KlDivergence([Math.Log(3), 0.0], [0.0, 0.0]), 14);
        // Float path agrees.
        Assert.Equal(expected, Collateral.KlDivergence([0f, 0f], [(float)Math.Log(3), 0f]), 6);
        // -∞ logit in P (p = 0) contributes nothing; in Q where p > 0 gives +∞.
        Assert.Equal(Math.Log(2), Collateral.KlDivergence([0.0, double.NegativeInfinity], [0.0, 0.0]), 14);
        Assert.True(double.IsPositiveInfinity(Collateral.KlDivergence([0.0, 0.0], [0.0, double.NegativeInfinity])));
        Assert.Throws<ArgumentException>(() => Collateral.KlDivergence([0.0], [0.0, 1.0]));
    }

    /// <summary>
    /// The one log-softmax (Softmax.LogSoftmax, behind Collateral.LogSoftmax, the collateral runner and Scoring's log-probability)
    /// is bit-identical to the copies it replaced: the arithmetic of Collateral's double version (max by comparison, Σ exp(z − max)
    /// in index order, z − (max + ln Σ)) is written out here and compared with == on wide-ranging rows with −∞ entries.
    /// </summary>
    [Fact]
    public void Log_softmax_is_bit_identical_to_the_copies_it_replaced()
    {
        static double[] Old(double[] z)
        {
            double max = double.NegativeInfinity;
            foreach (double v in z) if (v > max) max = v;
            double sum = 0;
            foreach (double v in z) sum += Math.Exp(v - max);
            double lse = max + Math.Log(sum);
            return z.Select(v => v - lse).ToArray();
        }
        var rng = new Sna.Runtime.Numerics.DeterministicRandom(3);
        for (int trial = 0; trial < 30; trial++)
        {
            int n = 1 + rng.NextInt(3000);
            double scale = trial % 3 == 0 ? 1 : trial % 3 == 1 ? 30 : 3000;
            var f = Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() - 0.5) * scale)).ToArray();
            if (n > 2 && trial % 4 == 0) f[rng.NextInt(n)] = float.NegativeInfinity;
            var asDouble = f.Select(x => (double)x).ToArray();
            var want = Old(asDouble);
            var row = new double[n];
            Sna.Runtime.Numerics.Softmax.LogSoftmax(f, row);
            Assert.Equal(want, row);                                   // bitwise: xunit compares doubles exactly
            Assert.Equal(want, Collateral.LogSoftmax(f));
            Assert.Equal(want, Collateral.LogSoftmax(asDouble));
            int t = rng.NextInt(n);
            Assert.Equal(want[t], Sna.Research.Method.Scoring.Score(f, t).LogProb);
            Assert.Equal(want[t], Collateral.LogProbOf(f, t));
        }
        Assert.Throws<ArgumentException>(() => Collateral.LogSoftmax([1.0, double.NaN]));
        Assert.Throws<ArgumentException>(() => Collateral.LogSoftmax([1.0, double.PositiveInfinity]));
        Assert.Throws<ArgumentException>(() => Collateral.LogSoftmax([double.NegativeInfinity, double.NegativeInfinity]));
        Assert.Throws<ArgumentException>(() => Collateral.LogSoftmax(ReadOnlySpan<double>.Empty));
    }

    [Fact]
    public void Log_softmax_and_perplexity_hand_cases()
    {
        var ls = Collateral.LogSoftmax([0.0, Math.Log(3)]);
        Assert.Equal(Math.Log(0.25), ls[0], 14);
        Assert.Equal(Math.Log(0.75), ls[1], 14);
        Assert.Equal(Math.Sqrt(8), Collateral.Perplexity([Math.Log(0.5), Math.Log(0.25)]), 12);
        Assert.Equal(1, Collateral.Perplexity([0.0, 0.0]), 15);
        Assert.Equal(4, Collateral.Perplexity([Math.Log(0.25)]), 12);
        Assert.Throws<ArgumentException>(() => Collateral.Perplexity([]));
        Assert.Throws<ArgumentException>(() => Collateral.Perplexity([0.5]));
        Assert.Equal(10, Collateral.PerplexityChangePct(20, 22), 12);
        var cost = new CollateralCost("t", null, 100, 0.01, 20, 21);
        Assert.Equal(5, cost.PerplexityChangePct, 12);
        Assert.Equal(0.5 * Math.Log(4.0 / 3.0), Collateral.MeanKl([([0f, 0f], [(float)Math.Log(3), 0f]), ([1f, 2f], [1f, 2f])]) * 2, 6);
    }
}
