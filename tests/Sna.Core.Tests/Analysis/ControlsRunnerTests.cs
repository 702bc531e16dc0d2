using Sna.Research.Experiments;
using Sna.Research.Analysis;
using Sna.Research.Method;
using Sna.Research.Sweeps;
using Sna.Core.Tests.Method;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Analysis;

/// <summary>Random and bottom-k controls, and the runner that compares them with the task's neurons.</summary>
public class ControlsRunnerTests
{
    private const string Fixture = "gpt2-tiny-f32";

    [Fact]
    public void Random_picks_are_deterministic_per_seed_sorted_and_outside_the_task_list()
    {
        int[] task = [3, 17, 42, 99, 100, 101, 127];
        var a = ControlNeurons.Random(5, 1, 10, 128, task);
        Assert.Equal(a, ControlNeurons.Random(5, 1, 10, 128, task));
        Assert.Equal(10, a.Distinct().Count());
        Assert.Equal(a.Order(), a);
        Assert.Empty(a.Intersect(task));
        Assert.All(a, n => Assert.InRange(n, 0, 127));
        Assert.NotEqual(a, ControlNeurons.Random(6, 1, 10, 128, task));
        Assert.NotEqual(a, ControlNeurons.Random(5, 2, 10, 128, task));
        // 20 seeds give 20 different sets
        Assert.Equal(20, Enumerable.Range(0, 20).Select(s => string.Join(',', ControlNeurons.Random(s, 1, 10, 128, task))).Distinct().Count());
    }

    [Fact]
    public void Random_without_exclusion_is_the_sweeps_random_source()
    {
        for (int seed = 0; seed < 5; seed++)
            Assert.Equal(NeuronSources.Random(seed, 128)(2, 12), ControlNeurons.Random(seed, 2, 12, 128));
    }

    [Fact]
    public void Random_with_exclusion_is_pinned()
    {
        // The values of the Fisher–Yates/SplitMix64 draw before the two copies became NeuronSources.RandomSubset (computed
        // independently from the algorithm's definition); DefinitionTests pins the unexcluded draw.
        Assert.Equal([25, 44, 50, 51, 54, 56, 63, 107, 117, 118], ControlNeurons.Random(5, 1, 10, 128, Enumerable.Range(0, 14).Select(i => 3 * i).ToArray()));
    }

    [Fact]
    public void Random_refuses_more_neurons_than_remain()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ControlNeurons.Random(0, 0, 5, 8, [0, 1, 2, 3]));
        Assert.Equal(4, ControlNeurons.Random(0, 0, 4, 8, [0, 1, 2, 3]).Length);
    }

    [SharedFact]
    public void Bottom_k_are_the_lowest_differential_scores()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var diff = new NeuronDiscovery(model, tok).ForTask(TaskLibrary.BuiltIn("math-easy"));
        var bottom = ControlNeurons.Bottom(diff, 1, 6);
        var d = diff.Difference(1).ToArray();
        Assert.Equal(6, bottom.Distinct().Count());
        double worstIncluded = bottom.Max(i => d[i]);
        for (int i = 0; i < d.Length; i++)
            if (!bottom.Contains(i)) Assert.True(d[i] >= worstIncluded, $"neuron {i} ({d[i]}) is lower than a bottom-k neuron ({worstIncluded})");
        Assert.Equal(bottom.Select(i => d[i]).Order(), bottom.Select(i => d[i]));
        Assert.Empty(bottom.Intersect(diff.TopIndices(1, 6)));
    }

    [SharedFact]
    public void Runner_compares_task_neurons_with_random_and_bottom_k()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var suite = TaskLibrary.BuiltIn("math-easy");
        var res = ControlsRunner.Run(model, tok, suite, 1, 8, 5f, PositionsMode.All, new ControlsOptions { Seeds = 4, Collateral = false });
        var diff = new NeuronDiscovery(model, tok).ForTask(suite);
        Assert.Equal(diff.TopIndices(1, 8), res.TaskNeurons);
        var direct = TaskAmplification.Evaluate(model, tok, suite, Amplification.Single(1, res.TaskNeurons, 5f), BosPolicy.Prepend);
        var c = res.Comparison;
        Assert.Equal(direct.ImprovementPct, c.TaskNeuronImprovementPct);
        Assert.Equal(new Sna.Research.Analysis.SweepConfiguration(1, 8, 5f, "all", "differential"), c.Configuration);
        Assert.Equal(4, c.RandomImprovementsPct.Count);
        Assert.Equal([0, 1, 2, 3], res.Random.Select(r => r.Seed));
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(ControlNeurons.Random(i, 1, 8, model.Config.DMlp, res.TaskNeurons), res.Random[i].Neurons);
            var rd = TaskAmplification.Evaluate(model, tok, suite, Amplification.Single(1, res.Random[i].Neurons, 5f), BosPolicy.Prepend);
            Assert.Equal(rd.ImprovementPct, c.RandomImprovementsPct[i]);
        }
        Assert.Equal(ControlNeurons.Bottom(diff, 1, 8), res.BottomNeurons);
        Assert.NotNull(c.BottomKImprovementPct);
        var test = Assert.IsType<PermutationTestResult>(res.RandomTest);
        long ge = c.RandomImprovementsPct.Count(v => v >= c.TaskNeuronImprovementPct);
        Assert.Equal((1.0 + ge) / 5.0, test.PValue);
        Assert.Null(res.Collateral);
        Assert.Null(res.CollateralCost);
    }

    [SharedFact]
    public void Runner_with_collateral_fills_the_reports_record()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var suite = TaskLibrary.BuiltIn("code-easy");
        string[] neutral = [.. TaskLibrary.NeutralCorpus.Take(6)];
        var res = ControlsRunner.Run(model, tok, suite, 2, 5, 6f, PositionsMode.Last,
            new ControlsOptions { Seeds = 2, BottomK = false, NeutralTexts = neutral, ControlCollateral = true });
        Assert.Null(res.BottomOutcome);
        Assert.Null(res.Comparison.BottomKImprovementPct);
        var cost = Assert.IsType<CollateralCost>(res.CollateralCost);
        Assert.Equal("code-easy", cost.Task);
        Assert.Equal(res.Configuration, cost.Configuration);
        Assert.Equal(res.Collateral!.KlPositions, cost.Positions);
        Assert.True(cost.MeanKl > 0);
        // positions=last changes only each text's last position, which predicts no observed token: perplexity is unchanged
        Assert.Equal(cost.PerplexityBase, cost.PerplexityPost);
        Assert.NotNull(res.RandomCollateral);
        Assert.Null(res.BottomCollateral);
    }
}
