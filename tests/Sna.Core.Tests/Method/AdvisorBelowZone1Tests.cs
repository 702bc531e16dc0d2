using Sna.Research.Method;

namespace Sna.Core.Tests.Method;

/// <summary>"Below Zone 1" (issue #16): a Zone 1 task whose targets the model does not rank in its top 1,000 gets its own advice.</summary>
public class AdvisorBelowZone1Tests
{
    private static AdvisorReport Report(params (double P, int Rank)[] prompts) =>
        Advisor.Report("t", false, ScoreKind.FirstToken,
            prompts.Select((x, i) => new PromptConfidence(i, $"p{i}", " x", 1, x.P, Math.Log(x.P), x.Rank, ZoneThresholds.Paper.Zone(x.P))).ToArray(),
            ZoneThresholds.Paper, MarginZones.Paper);

    [Fact]
    public void Targets_beyond_rank_1000_are_below_zone_1_not_zone_1()
    {
        // The task: ranks 22,701–46,789, P_base 2.5e-7.
        var r = Report((2.5e-7, 22_701), (2.4e-7, 46_789), (3e-7, 30_000));
        Assert.Equal(1, r.Zone);
        Assert.True(r.BelowZone1);
        Assert.Equal("unlikely", r.Verdict);
        Assert.StartsWith("Below Zone 1", r.Advice);
        Assert.Contains("top 1,000", r.Advice);
        Assert.Contains("rarely creates knowledge", r.Advice);
        Assert.DoesNotContain("likely to help", r.Advice);
        Assert.Equal(30_000, r.MedianRank);
        Assert.Equal(3, r.BeyondKnowledgeRank);
    }

    [Fact]
    public void A_prompt_zone_cell_reads_the_zone_condition_and_summary_or_below_zone_1_with_the_rank()
    {
        var z = ZoneThresholds.Paper;
        Assert.Equal("1 (P < 0.07: low confidence, where SNA helps most)", ZoneAdvice.Cell(1, 5, z));
        Assert.Equal("2 (0.07 ≤ P ≤ 0.1: transition, unstable gains)", ZoneAdvice.Cell(2, 1, z));
        Assert.Equal("3 (P > 0.1: saturated, little room to gain)", ZoneAdvice.Cell(3, 1, z));
        Assert.Equal("Below Zone 1 (rank 3,012 > 1,000)", ZoneAdvice.Cell(1, 3_012, z));
        Assert.Equal(ZoneAdvice.PromptLabel(1, 3_012, z), ZoneAdvice.Cell(1, 3_012, z));
        Assert.Equal("3 (P > 0.1: saturated, little room to gain)", ZoneAdvice.Cell(3, 3_012, z));   // rank matters in Zone 1 only
    }

    [Fact]
    public void A_zone_1_task_the_model_knows_keeps_the_zone_1_advice()
    {
        var r = Report((0.04, 3), (0.02, 12), (0.001, 900));
        Assert.False(r.BelowZone1);
        Assert.Equal("likely", r.Verdict);
        Assert.StartsWith("Zone 1", r.Advice);
    }

    [Fact]
    public void The_rule_needs_a_majority_beyond_rank_1000_and_one_prompt_names_its_rank()
    {
        Assert.False(Report((1e-5, 1500), (0.03, 4)).BelowZone1);          // one of two: not a majority
        Assert.True(Report((1e-5, 1500), (1e-6, 2000), (0.03, 4)).BelowZone1);
        var one = Report((1e-6, 20_826));
        Assert.True(one.BelowZone1);
        Assert.Contains("the target ranks 20,826", one.Advice);
        Assert.False(Report((1e-6, 1000)).BelowZone1);                     // rank 1000 is still in the top 1,000
        Assert.False(Report((0.5, 5000)).BelowZone1);                      // not Zone 1 (cannot happen with real scores; the rule is Zone 1 only)
    }
}
