using Sna.Runtime;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Method;

/// <summary>One prompt before and after an amplification.</summary>
public sealed record PromptOutcome(int PromptIndex, string Text, string Target, int TargetId, TargetScore Base, TargetScore Post)
{
    /// <summary>(P_post − P_base) / P_base × 100.</summary>
    public double ImprovementPct => Scoring.ImprovementPct(Base.Probability, Post.Probability);
}

/// <summary>
/// A task before and after an amplification. One name per quantity (docs/analysis.md, "Definitions"):
/// <list type="bullet">
/// <item><see cref="ImprovementPct"/> (<c>improvement_pct</c>): the mean over prompts of the per-prompt improvement
/// 100 (P_post − P_base) / P_base — each prompt is one experiment of the paper's formula; the sweep, summary, report, controls
/// and interference use this one;</item>
/// <item><see cref="ImprovementOfMeansPct"/> (<c>improvement_of_means_pct</c>): 100 (mean P_post − mean P_base) / mean P_base,
/// the improvement of the task's mean probability (what <c>amplify --task</c> called its improvement before);</item>
/// <item><see cref="MedianImprovementPct"/> (<c>median_improvement_pct</c>): the median of the per-prompt improvements, robust
/// to the tiny baselines that dominate a mean of ratios.</item>
/// </list>
/// </summary>
public sealed record TaskOutcome(string Task, Amplification Amplification, ScoreKind Kind, IReadOnlyList<PromptOutcome> Prompts)
{
    public double MeanPBase => Prompts.Average(p => p.Base.Probability);
    public double MeanPPost => Prompts.Average(p => p.Post.Probability);
    /// <summary>Mean over prompts of the per-prompt % improvement (the task-level <c>improvement_pct</c>).</summary>
    public double ImprovementPct => Prompts.Average(p => p.ImprovementPct);
    /// <summary>100 (mean P_post − mean P_base) / mean P_base.</summary>
    public double ImprovementOfMeansPct => Scoring.ImprovementPct(MeanPBase, MeanPPost);
    /// <summary>Median over prompts of the per-prompt % improvement.</summary>
    public double MedianImprovementPct
    {
        get
        {
            var v = Prompts.Select(p => p.ImprovementPct).ToArray();
            return v.All(double.IsFinite) ? Sna.Research.Analysis.Descriptive.Median(v) : double.NaN;
        }
    }
}

/// <summary>Runs a task with and without an amplification (batched forwards) and compares.</summary>
public static class TaskAmplification
{
    public static TaskOutcome Evaluate(TransformerModel model, ModelTokenizer tok, TaskSuite suite, Amplification amp, BosPolicy bos, ScoreKind kind = ScoreKind.FirstToken)
    {
        amp.Validate(model.Config);
        if (kind == ScoreKind.Sequence && amp.Positions == PositionsMode.Last)
            throw new SnaInputException("positions=last with sequence scoring is ambiguous (teacher forcing moves the last position into the target); use positions=all or first-token scoring");
        var enc = EncodedTask.Encode(suite, tok, bos, kind);
        var before = TaskScoring.Score(model, enc, kind);
        var after = TaskScoring.Score(model, enc, kind, amp.ToHooks(model.Config));
        var list = new PromptOutcome[before.Length];
        for (int i = 0; i < list.Length; i++)
            list[i] = new PromptOutcome(i, suite.Prompts[i].Text, suite.Prompts[i].Target, enc.Targets[i][0], before[i], after[i]);
        return new TaskOutcome(suite.Name, amp, kind, list);
    }
}
