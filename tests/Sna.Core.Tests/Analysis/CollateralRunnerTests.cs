using Sna.Research.Experiments;
using Sna.Research.Analysis;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Core.Tests.Method;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Analysis;

/// <summary>Collateral cost (KL, perplexity) of an amplification on neutral text, on the tiny GPT-2 fixture.</summary>
public class CollateralRunnerTests
{
    private const string Fixture = "gpt2-tiny-f32";
    private static readonly string[] Texts = [.. TaskLibrary.NeutralCorpus.Take(9)];

    [SharedFact]
    public void Multiplier_one_costs_exactly_nothing()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var c = CollateralRunner.Measure(model, tok, Amplification.Single(1, [1, 2, 3, 50], 1f), Texts, batchSize: 4);
        Assert.Equal(0.0, c.MeanKl);
        Assert.Equal(0.0, c.MaxKl);
        Assert.Equal(c.PerplexityBase, c.PerplexityPost);
        Assert.Equal(0.0, c.PerplexityChangePct);
        Assert.Equal(9, c.Texts);
        int tokens = Texts.Sum(t => tok.Encode(t, BosPolicy.Prepend).Length);
        Assert.Equal(tokens, c.KlPositions);
        Assert.Equal(tokens - Texts.Length, c.PredictedTokens);
    }

    [SharedFact]
    public void A_large_multiplier_costs_something()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var c = CollateralRunner.Measure(model, tok, Amplification.Single(1, Enumerable.Range(0, 16).ToArray(), 20f), Texts, batchSize: 4);
        Assert.True(c.MeanKl > 1e-4, $"KL {c.MeanKl}");
        Assert.True(c.MaxKl >= c.MeanKl);
        Assert.NotEqual(c.PerplexityBase, c.PerplexityPost);
        var cost = c.ToCost("t", null);
        Assert.Equal(c.PerplexityChangePct, cost.PerplexityChangePct, 12);
    }

    [SharedFact]
    public void Matches_a_by_hand_computation_text_by_text()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var amp = Amplification.Single(2, [5, 9, 77], 8f);
        var hooks = amp.ToHooks(model.Config);
        var lpBase = new List<double>();
        var lpPost = new List<double>();
        var kls = new List<(float[], float[])>();
        foreach (var t in Texts)
        {
            var ids = tok.Encode(t, BosPolicy.Prepend);
            var b = model.Forward([ids], null, LogitsMode.All);
            var p = model.Forward([ids], hooks, LogitsMode.All);
            for (int i = 0; i < ids.Length; i++)
            {
                kls.Add((b.At(0, i).ToArray(), p.At(0, i).ToArray()));
                if (i + 1 < ids.Length)
                {
                    lpBase.Add(Collateral.LogProbOf(b.At(0, i), ids[i + 1]));
                    lpPost.Add(Collateral.LogProbOf(p.At(0, i), ids[i + 1]));
                }
            }
        }
        double pplBase = Collateral.Perplexity(lpBase), pplPost = Collateral.Perplexity(lpPost);
        Assert.Equal(Math.Exp(-lpBase.Average()), pplBase, 1e-9);

        // one text per batch: the same logits as by hand
        var single = CollateralRunner.Measure(model, tok, amp, Texts, batchSize: 1);
        Assert.Equal(pplBase, single.PerplexityBase, pplBase * 1e-12);
        Assert.Equal(pplPost, single.PerplexityPost, pplPost * 1e-12);
        double meanKl = Collateral.MeanKl(kls);
        Assert.Equal(meanKl, single.MeanKl, meanKl * 1e-12);

        // left-padded batches exclude padding: same numbers up to float rounding of the batched forward
        var batched = CollateralRunner.Measure(model, tok, amp, Texts, batchSize: 5);
        Assert.Equal(single.KlPositions, batched.KlPositions);
        Assert.Equal(single.PredictedTokens, batched.PredictedTokens);
        Assert.Equal(pplBase, batched.PerplexityBase, pplBase * 1e-4);
        Assert.Equal(pplPost, batched.PerplexityPost, pplPost * 1e-4);
        Assert.Equal(meanKl, batched.MeanKl, meanKl * 1e-3);
    }

    [SharedFact]
    public void Without_bos_the_first_token_is_not_predicted()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var c = CollateralRunner.Measure(model, tok, Amplification.Single(0, [1], 3f), Texts, BosPolicy.None, batchSize: 3);
        int tokens = Texts.Sum(t => tok.Encode(t).Length);
        Assert.Equal(tokens, c.KlPositions);
        Assert.Equal(tokens - Texts.Length, c.PredictedTokens);
    }
}
