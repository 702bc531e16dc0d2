using Sna.Core.Tests.Method;
using Sna.Research.Experiments;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Analysis;

/// <summary>Generation-level evaluation: greedy decoding with and without an amplification, exact match and McNemar.</summary>
public class GenerationEvaluatorTests
{
    private static string Fixture => Sna.Core.Tests.Models.ModelFixtures.AnyGpt2;   // f32, or the vendored f16 on a bare clone

    private static TaskSuite Suite() => new()
    {
        Name = "gen",
        Prompts = [new("The house is on a", " quiet street"), new("She walked to the", " store"), new("It is a sunny", " day in"), new("The table was", " made")],
    };

    [SharedFact]
    public void Greedy_equals_step_by_step_argmax_of_single_forwards()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var prompts = new[] { tok.Encode("The house is on a", BosPolicy.Prepend), tok.Encode("She walked", BosPolicy.Prepend) };
        var got = GenerationEvaluator.Greedy(model, prompts, [3, 2]);
        for (int i = 0; i < prompts.Length; i++)
        {
            var seq = prompts[i].ToList();
            var expected = new List<int>();
            for (int s = 0; s < got[i].Length; s++)
            {
                var logits = model.ForwardLast(seq.ToArray());
                int best = 0;
                for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[best]) best = v;
                expected.Add(best); seq.Add(best);
            }
            Assert.Equal(expected, got[i]);
        }
        Assert.Equal([3, 2], got.Select(g => g.Length));
        Assert.Equal(1, TransformerModel.ArgMax([0f, 2f, 2f, -1f]));   // Generate's argmax: ties to the lower id, as the loop it replaced
    }

    /// <summary>
    /// The KV-cached Greedy against the reference it replaced (the plain hooked forward re-run on prompt + generated tokens,
    /// argmax with ties to the lower id), under a strong amplification at every position, with mixed step counts and batch sizes.
    /// </summary>
    [SharedFact]
    public void Greedy_with_hooks_equals_re_running_the_hooked_forward_per_token_at_any_batch_size()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var prompts = Suite().Prompts.Select(p => tok.Encode(p.Text, BosPolicy.Prepend)).ToArray();
        int[] steps = [4, 1, 3, 4];
        var hooks = Amplification.Single(0, Enumerable.Range(0, 40).ToArray(), 25f).ToHooks(model.Config);
        var got = GenerationEvaluator.Greedy(model, prompts, steps, hooks);
        var unhooked = GenerationEvaluator.Greedy(model, prompts, steps);
        Assert.NotEqual(unhooked.SelectMany(x => x), got.SelectMany(x => x));   // the hooks reach the generated tokens
        for (int i = 0; i < prompts.Length; i++)
        {
            var seq = prompts[i].ToList();
            var expected = new List<int>();
            for (int s = 0; s < steps[i]; s++)
            {
                int best = TransformerModel.ArgMax(model.ForwardLast(seq.ToArray(), hooks));
                expected.Add(best); seq.Add(best);
            }
            Assert.Equal(expected, got[i]);
        }
        var one = GenerationEvaluator.Greedy(model, prompts, steps, hooks, batchSize: 1);
        Assert.Equal(got, one);
    }

    /// <summary>
    /// positions = last: each decoding pass amplifies only its newest position (prompt + generated tokens re-run per token),
    /// the intervention the teacher-forced log P measures; decoding on the KV cache would keep every earlier position's
    /// amplification, which gives other answers here (checked, so the comparison can tell the two apart).
    /// </summary>
    [SharedFact]
    public void Positions_last_decodes_by_re_running_so_each_pass_amplifies_only_its_last_position()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var suite = Suite() with { Prompts = [.. Suite().Prompts.Select(p => new TaskPrompt(p.Text, p.Target + " and so on and on"))] };
        var enc = EncodedTask.Encode(suite, tok, BosPolicy.Prepend);
        var steps = enc.Targets.Select(t => Math.Min(t.Length, GenerationEvaluator.DefaultMaxNewTokens)).ToArray();
        // The first amplification (of a small grid) under which the two decodings give different answers on this model.
        var amp = (from layer in Enumerable.Range(0, model.Config.NLayers)
                   from mult in new[] { 25f, -25f, 200f }
                   let a = Amplification.Single(layer, Enumerable.Range(0, Math.Min(64, model.Config.DMlp)).ToArray(), mult, PositionsMode.Last)
                   let h = a.ToHooks(model.Config)
                   where !GenerationEvaluator.Greedy(model, enc.Prompts, steps, h, kvCache: true).SelectMany(x => x)
                       .SequenceEqual(GenerationEvaluator.Greedy(model, enc.Prompts, steps, h, kvCache: false).SelectMany(x => x))
                   select a).FirstOrDefault();
        Assert.True(amp is not null, "no amplification in the grid tells cached from re-run decoding apart: the test would be vacuous");
        var hooks = amp!.ToHooks(model.Config);
        var g = GenerationEvaluator.Evaluate(model, tok, suite, amp, BosPolicy.Prepend, zone: 1);
        for (int i = 0; i < enc.Prompts.Count; i++)
        {
            var seq = enc.Prompts[i].ToList();
            var expected = new List<int>();
            for (int s = 0; s < steps[i]; s++)
            {
                int best = TransformerModel.ArgMax(model.ForwardLast(seq.ToArray(), hooks));
                expected.Add(best); seq.Add(best);
                if (model.Config.EosTokenIds.Contains(best)) break;
            }
            Assert.Equal(expected, g.Prompts[i].After);
        }
    }

    [SharedFact]
    public void Multiplier_one_changes_no_answer_and_targets_set_the_token_budget()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var g = GenerationEvaluator.Evaluate(model, tok, Suite(), Amplification.Single(1, [1, 2, 3], 1f), BosPolicy.Prepend, zone: 1);
        Assert.All(g.Prompts, p => Assert.Equal(p.Before, p.After));
        Assert.All(g.Prompts, p => Assert.Equal(p.SequenceLogProbBase, p.SequenceLogProbPost));
        Assert.All(g.Prompts, p => Assert.Equal(p.Target.Length, p.Before.Length));
        var e = g.ExactMatch;
        Assert.Equal((0, 0, 1.0), (e.McNemar.Improved, e.McNemar.Worsened, e.McNemar.PValue));
        Assert.Equal(0, g.MeanSequenceLogProbChange);
        Assert.Contains(g.Prompts, p => p.MultiToken);
    }

    [SharedFact]
    public void Exact_match_is_token_equality_with_the_target_and_strong_amplification_moves_answers()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var suite = Suite();
        // Make the target the model's own greedy answer for half the prompts: those are exact matches before.
        var enc = EncodedTask.Encode(suite, tok, BosPolicy.Prepend);
        var own = GenerationEvaluator.Greedy(model, enc.Prompts, enc.Targets.Select(t => t.Length).ToArray());
        var p = new GenerationPrompt(0, own[0], own[0], [.. own[0].Take(own[0].Length - 1), own[0][^1] + 1], 0, 0);
        Assert.True(p.CorrectBefore);
        Assert.False(p.CorrectAfter);
        var g = GenerationEvaluator.Evaluate(model, tok, suite, Amplification.Single(0, Enumerable.Range(0, 40).ToArray(), 25f), BosPolicy.Prepend, zone: 1);
        Assert.Contains(g.Prompts, x => !x.Before.SequenceEqual(x.After));
        Assert.NotEqual(0, g.MeanSequenceLogProbChange);
    }
}
