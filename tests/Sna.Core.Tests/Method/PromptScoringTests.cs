using Sna.Research.Experiments;
using Sna.Research.Method;
using Sna.Runtime;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;
using Sna.Tests;

namespace Sna.Core.Tests.Method;

/// <summary>The one-prompt baseline and amplification both front ends call (<see cref="PromptBaseline"/>, <see cref="PromptAmplification"/>).</summary>
public class PromptScoringTests
{
    private const string Prompt = "What is 2 + 3? Answer:", Target = " 5";

    private static LanguageModel Tiny() => LanguageModel.FromParts(ModelLoader.Load(TestPaths.TinyDir), ModelTokenizer.FromDirectory(TestPaths.TinyDir));

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public void Amplification_equals_two_forward_passes_and_two_greedy_runs()
    {
        using var lm = Tiny();
        var amp = Amplification.Single(1, [3, 17, 42], 2.5f, PositionsMode.Last);
        var r = PromptAmplification.Run(lm, EncodedPrompt.Encode(lm, Prompt, Target, BosPolicy.Prepend), amp, top: 5, generate: 4);

        var ids = lm.Tokenizer.Encode(Prompt, BosPolicy.Prepend);
        int target = lm.Tokenizer.Encode(Target)[0];
        var hooks = amp.ToHooks(lm.Config);
        var before = Scoring.Score(lm.Model.ForwardLast(ids), target);
        var after = Scoring.Score(lm.Model.ForwardLast(ids, hooks), target);
        Assert.Equal(ids, r.Input.Ids);
        Assert.Equal(before, r.Before);
        Assert.Equal(after, r.After);
        Assert.Equal(Scoring.ImprovementPct(before.Probability, after.Probability), r.ImprovementPct);
        Assert.Equal(Scoring.Top(lm.Model.ForwardLast(ids, hooks), 5), r.TopAfter);
        Assert.Equal(lm.Model.Generate(ids, new GenerationOptions { MaxNewTokens = 4, Hooks = hooks }).Tokens, r.ContinuationAfter);
        Assert.Equal(4, r.ContinuationBefore!.Length);
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public void Baseline_sequence_score_is_teacher_forced_with_the_first_tokens_rank()
    {
        using var lm = Tiny();
        var first = PromptBaseline.Run(lm, Prompt, " 5 apples", BosPolicy.Prepend, top: 3);
        var seq = PromptBaseline.Run(lm, Prompt, " 5 apples", BosPolicy.Prepend, top: 3, ScoreKind.Sequence);
        var expected = TaskScoring.Sequence(lm.Model, [first.Input.Ids], [first.Input.Target.Ids])[0];
        Assert.Equal(expected.LogProb, seq.Score.LogProb);
        Assert.Equal(first.Score.Rank, seq.Score.Rank);
        Assert.True(seq.Score.Probability < first.Score.Probability);
        Assert.Equal(3, first.Top.Length);
        // Only first-token scoring warns that the rest of a multi-token target is not scored.
        Assert.Contains(first.Input.Target.Warnings, w => w.Contains("only the first"));
        Assert.DoesNotContain(seq.Input.Target.Warnings, w => w.Contains("only the first"));
        Assert.Equal(first.Input.Target.Ids, seq.Input.Target.Ids);
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public void Bad_prompts_and_targets_are_input_errors_naming_the_field()
    {
        using var lm = Tiny();
        var tooLong = Assert.Throws<SnaInputException>(() => EncodedPrompt.Encode(lm, string.Concat(Enumerable.Repeat(" word", 100)), Target, BosPolicy.Prepend));
        Assert.Equal("prompt", tooLong.Option);
        Assert.Contains("the model's context is 64", tooLong.Message);
        var empty = Assert.Throws<SnaInputException>(() => EncodedPrompt.Encode(lm, "", Target, BosPolicy.None));
        Assert.Equal("prompt", empty.Option);
        var noTarget = Assert.Throws<SnaInputException>(() => EncodedPrompt.Encode(lm, Prompt, "", BosPolicy.Prepend));
        Assert.Equal("target", noTarget.Option);
        Assert.DoesNotContain("(Parameter", noTarget.Message);
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public void Heatmap_cells_equal_a_hooked_forward_with_each_layers_discovered_neurons()
    {
        using var lm = Tiny();
        var input = EncodedPrompt.Encode(lm, Prompt, Target, BosPolicy.Prepend);
        var suite = PromptDiscovery.SuiteOf(null, Prompt, Target);
        var neurons = new Dictionary<int, int[]>();
        double? baseline = null;
        var cells = PromptHeatmap.Run(lm, input, suite, [2, 0], [0.5, 3], 4, PositionsMode.All,
            new PromptHeatmapProgress { Baseline = p => baseline = p, Neurons = (l, n) => neurons[l] = n });

        var d = new NeuronDiscovery(lm.Model, lm.Tokenizer) { Bos = BosPolicy.Prepend }.ForTask(suite);
        double pBase = Scoring.Score(lm.Model.ForwardLast(input.Ids), input.TargetId).Probability;
        Assert.Equal(pBase, baseline);
        Assert.Equal(new[] { 2, 2, 0, 0 }, cells.Select(c => c.Layer));
        foreach (var c in cells)
        {
            Assert.Equal(d.TopIndices(c.Layer, 4), neurons[c.Layer]);
            var hooks = Amplification.Single(c.Layer, neurons[c.Layer], (float)c.Multiplier, PositionsMode.All).ToHooks(lm.Config);
            double p = Scoring.Score(lm.Model.ForwardLast(input.Ids, hooks), input.TargetId).Probability;
            Assert.True(Math.Abs(p - c.Probability) <= 1e-5 * Math.Max(p, 1e-30) + 1e-9, $"layer {c.Layer} x{c.Multiplier}: {c.Probability} vs {p}");
            Assert.Equal(Scoring.ImprovementPct(pBase, c.Probability), c.ImprovementPct);
        }
    }
}
