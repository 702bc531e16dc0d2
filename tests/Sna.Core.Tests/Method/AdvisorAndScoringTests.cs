using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Method;

/// <summary>Batched and teacher-forced scoring against unbatched runs; the advisor's zones; zone-targeted selection.</summary>
public class AdvisorAndScoringTests
{
    public static TheoryData<string> AllFixtures() => new(MethodFixtures.All);

    private static readonly TaskSuite Small = new()
    {
        Name = "small",
        Prompts =
        [
            new("What is 3 + 4? Answer:", " 7"), new("The cat sat on the", " mat and slept"),
            new("def add(a, b):\n    return a", " + b"), new("All men are mortal. Socrates is a man. Therefore, Socrates is", " mortal"),
            new("Roses are red,", " violets are blue"),
        ],
    };

    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void Batched_first_token_scores_equal_single_runs(string fixture)
    {
        var (model, tok) = MethodFixtures.Get(fixture);
        var enc = EncodedTask.Encode(Small, tok, BosPolicy.None);
        var batched = TaskScoring.FirstToken(model, enc.Prompts, enc.FirstTargetIds, batchSize: 3);
        for (int i = 0; i < enc.Prompts.Count; i++)
        {
            var single = Scoring.Score(model.ForwardLast(enc.Prompts[i]), enc.FirstTargetIds[i]);
            Assert.True(Math.Abs(single.LogProb - batched[i].LogProb) < 1e-4, $"prompt {i}");
            Assert.Equal(single.Rank, batched[i].Rank);
        }
    }

    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void Sequence_score_is_the_sum_of_teacher_forced_token_logprobs(string fixture)
    {
        var (model, tok) = MethodFixtures.Get(fixture);
        var enc = EncodedTask.Encode(Small, tok, BosPolicy.Prepend);
        var amp = Amplification.Single(0, [1, 2, 3], 3f);
        foreach (var hooks in new[] { null, amp.ToHooks(model.Config) })
        {
            var seq = TaskScoring.Sequence(model, enc.Prompts, enc.Targets, hooks, batchSize: 2);
            for (int i = 0; i < enc.Prompts.Count; i++)
            {
                double want = 0;
                var ctx = enc.Prompts[i].ToList();
                foreach (int t in enc.Targets[i])
                {
                    want += Scoring.Score(model.ForwardLast(ctx.ToArray(), hooks), t).LogProb;
                    ctx.Add(t);
                }
                Assert.True(Math.Abs(want - seq[i].LogProb) < 2e-4, $"prompt {i}: {seq[i].LogProb} vs {want}");
                Assert.Equal(enc.Targets[i].Length, seq[i].Tokens.Length);
                // the first token of the sequence score is the first-token score
                var first = Scoring.Score(model.ForwardLast(enc.Prompts[i], hooks), enc.Targets[i][0]);
                Assert.True(Math.Abs(first.LogProb - seq[i].Tokens[0].LogProb) < 1e-4);
                Assert.Equal(first.Rank, seq[i].Rank);
            }
        }
    }

    [SharedFact]
    public void Task_amplification_with_multiplier_one_changes_nothing()
    {
        var (model, tok) = MethodFixtures.Get("gpt2-tiny-f32");
        var o = TaskAmplification.Evaluate(model, tok, Small, Amplification.Single(1, [0, 1, 2], 1f), BosPolicy.Prepend);
        Assert.All(o.Prompts, p => Assert.Equal(p.Base.Probability, p.Post.Probability));
        Assert.Equal(0, o.ImprovementPct);
        var o2 = TaskAmplification.Evaluate(model, tok, Small, Amplification.Single(1, [0, 1, 2], 5f), BosPolicy.Prepend);
        Assert.Equal((o2.MeanPPost - o2.MeanPBase) / o2.MeanPBase * 100, o2.ImprovementOfMeansPct, 9);
        Assert.Equal(o2.Prompts.Average(p => (p.Post.Probability - p.Base.Probability) / p.Base.Probability * 100), o2.ImprovementPct, 9);
        var sorted = o2.Prompts.Select(p => p.ImprovementPct).Order().ToArray();
        Assert.Equal(sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2, o2.MedianImprovementPct, 9);
        Assert.Throws<Sna.Runtime.SnaInputException>(() => TaskAmplification.Evaluate(model, tok, Small, Amplification.Single(1, [0], 2f, PositionsMode.Last), BosPolicy.Prepend, ScoreKind.Sequence));
    }

    private static PromptConfidence P(int i, double p) => new(i, $"p{i}", " t", 1, p, Math.Log(p), 1, ZoneThresholds.Paper.Zone(p));

    [Theory]
    [InlineData(new[] { 0.01, 0.02, 0.03 }, 1)]           // mean 0.02 < 0.07
    [InlineData(new[] { 0.069, 0.069 }, 1)]
    [InlineData(new[] { 0.07, 0.07 }, 2)]                 // boundary: low is Zone 2
    [InlineData(new[] { 0.05, 0.15 }, 3 - 1)]             // mean 0.10: high boundary is Zone 2
    [InlineData(new[] { 0.06, 0.16 }, 3)]                 // mean 0.11 > 0.10
    [InlineData(new[] { 0.9, 0.001, 0.001 }, 3)]          // mean 0.3007
    public void Task_zone_is_the_zone_of_the_mean_p_base(double[] ps, int zone)
    {
        var r = Advisor.Report("t", false, ScoreKind.FirstToken, ps.Select((p, i) => P(i, p)).ToArray(), ZoneThresholds.Paper, MarginZones.Paper);
        Assert.Equal(zone, r.Zone);
        Assert.Equal(ps.Average(), r.MeanPBase, 12);
        Assert.Equal(zone switch { 1 => "likely", 2 => "uncertain", _ => "unlikely" }, r.Verdict);
        Assert.Equal(ps.Order().ToArray(), r.Prompts.Select(p => p.PBase).ToArray());     // least confident first
        Assert.Contains($"Zone {zone}", r.Advice);
        if (zone == 1) Assert.Contains("+27.85%", r.Advice);
        if (zone == 3) Assert.Contains("+7%", r.Advice);
    }

    [Fact]
    public void Custom_thresholds_and_margin_zones_follow_the_hand_computed_rules()
    {
        var z = ZoneThresholds.Parse("0.2:0.5");
        Assert.Equal((1, 2, 2, 3), (z.Zone(0.19), z.Zone(0.2), z.Zone(0.5), z.Zone(0.51)));
        var r = Advisor.Report("t", false, ScoreKind.FirstToken, [P(0, 0.3), P(1, 0.3)], z, MarginZones.Paper);
        Assert.Equal(2, r.Zone);
        Assert.Equal((0.2, 0.5), (r.Low, r.High));

        // margins: |P(a) − P(b)| / (P(a) + P(b))
        Assert.Equal(0.5, MarginZones.Margin(0.3, 0.1), 12);
        var m = MarginZones.Paper;
        PromptConfidence C(int i, double pa, double pb) { double mg = MarginZones.Margin(pa, pb); return new(i, "x", " a", 1, pa, Math.Log(pa), 1, m.Zone(mg), mg, pa, pb); }
        var prompts = new[] { C(0, 0.5, 0.45), C(1, 0.6, 0.2), C(2, 0.9, 0.05) };
        Assert.Equal([1, 2, 3], prompts.Select(p => p.Zone).ToArray());    // 0.053, 0.5, 0.895
        var cr = Advisor.Report("c", true, ScoreKind.FirstToken, prompts, ZoneThresholds.Paper, m);
        Assert.Equal(prompts.Average(p => p.Margin!.Value), cr.MeanMargin!.Value, 12);   // 0.4825 → margin Zone 2
        Assert.Equal(2, cr.Zone);
        Assert.Equal((0.30, 0.60), (cr.Low, cr.High));
        Assert.Equal([0, 1, 2], cr.Prompts.Select(p => p.PromptIndex).ToArray());
    }

    [SharedFact]
    public void Advise_on_a_model_matches_single_prompt_baselines_and_thresholds()
    {
        var (model, tok) = MethodFixtures.Get("gpt2-tiny-f32");
        var z = new ZoneThresholds(1e-5, 2e-5);
        var r = Advisor.Advise(model, tok, Small, BosPolicy.Prepend, z);
        Assert.Equal(Small.Prompts.Count, r.Prompts.Count);
        foreach (var p in r.Prompts)
        {
            var ids = tok.Encode(Small.Prompts[p.PromptIndex].Text, BosPolicy.Prepend);
            var s = Scoring.Score(model.ForwardLast(ids), tok.Encode(Small.Prompts[p.PromptIndex].Target)[0]);
            Assert.True(Math.Abs(s.LogProb - p.LogProb) < 1e-4);
            Assert.Equal(p.PBase < 1e-5 ? 1 : p.PBase <= 2e-5 ? 2 : 3, p.Zone);
        }
        Assert.Equal(z.Zone(r.MeanPBase), r.Zone);
    }

    [SharedFact]
    public void Advise_on_a_classification_task_uses_margins()
    {
        var (model, tok) = MethodFixtures.Get("gpt2-tiny-f32");
        var suite = TaskSuiteJson.Parse("""
            {"name":"sent","classes":{"a":" positive","b":" negative"},
             "prompts":[{"text":"Review: a gorgeous, witty, seductive movie. Sentiment:","label":"a"},
                        {"text":"Review: a dull, tedious mess. Sentiment:","label":"b"}]}
            """, "sent.json");
        var r = Advisor.Advise(model, tok, suite, BosPolicy.Prepend);
        Assert.True(r.Classification);
        foreach (var p in r.Prompts)
        {
            Assert.Equal(MarginZones.Margin(p.PA!.Value, p.PB!.Value), p.Margin!.Value, 12);
            Assert.Equal(MarginZones.Paper.Zone(p.Margin.Value), p.Zone);
        }
        Assert.Equal(MarginZones.Paper.Zone(r.MeanMargin!.Value), r.Zone);
    }

    [SharedFact]
    public void Zone_selection_keeps_only_prompts_in_the_band()
    {
        var (model, tok) = MethodFixtures.Get("gpt2-tiny-f32");
        var pool = TaskLibrary.BuiltIn("math-easy").Prompts.Concat(Small.Prompts).ToArray();
        var enc = EncodedTask.Encode(new TaskSuite { Name = "p", Prompts = pool }, tok, BosPolicy.Prepend);
        var ps = TaskScoring.FirstToken(model, enc.Prompts, enc.FirstTargetIds).Select(s => s.Probability).Order().ToArray();
        double lo = ps[3], hi = ps[^4];   // a band that holds most but not all of the pool
        var res = ZoneSelection.Select(model, tok, pool, lo, hi, 5, BosPolicy.Prepend, "sel");
        Assert.Equal(pool.Length, res.PoolSize);
        Assert.Equal(ps.Count(p => p >= lo && p <= hi), res.Qualified);
        Assert.Equal(5, res.Task.Prompts.Count);
        Assert.All(res.Selected, s => Assert.InRange(s.PBase, lo, hi));
        var reloaded = TaskSuiteJson.Parse(res.Task.ToJson(), "sel.json");
        Assert.Equal(res.Task.Prompts, reloaded.Prompts);
        Assert.Throws<Sna.Runtime.SnaInputException>(() => ZoneSelection.Select(model, tok, pool, 0.999, 1, 5, BosPolicy.Prepend, "none"));
        Assert.Equal((0.07, 0.10), ZoneSelection.ParseBand("0.07:0.10"));
        Assert.Throws<Sna.Runtime.SnaInputException>(() => ZoneSelection.ParseBand("0.2:0.1"));
    }
}
