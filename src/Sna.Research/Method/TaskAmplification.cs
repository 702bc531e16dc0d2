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
/// A task before and after an amplification. The task-level numbers follow the paper: mean P_base and mean P_post over the
/// prompts, and % improvement = (mean P_post − mean P_base) / mean P_base × 100 (the improvement of the means, not the mean
/// of per-prompt improvements, which one near-zero P_base would dominate; that one is <see cref="MeanOfPromptImprovementsPct"/>).
/// </summary>
public sealed record TaskOutcome(string Task, Amplification Amplification, ScoreKind Kind, IReadOnlyList<PromptOutcome> Prompts)
{
    public double MeanPBase => Prompts.Average(p => p.Base.Probability);
    public double MeanPPost => Prompts.Average(p => p.Post.Probability);
    public double ImprovementPct => Scoring.ImprovementPct(MeanPBase, MeanPPost);
    public double MeanOfPromptImprovementsPct => Prompts.Average(p => p.ImprovementPct);
}

/// <summary>Runs a task with and without an amplification (batched forwards) and compares.</summary>
public static class TaskAmplification
{
    public static TaskOutcome Evaluate(TransformerModel model, ModelTokenizer tok, TaskSuite suite, Amplification amp, BosPolicy bos, ScoreKind kind = ScoreKind.FirstToken)
    {
        amp.Validate(model.Config);
        if (kind == ScoreKind.Sequence && amp.Positions == PositionsMode.Last)
            throw new ArgumentException("positions=last with sequence scoring is ambiguous (teacher forcing moves the last position into the target); use positions=all or first-token scoring");
        var enc = EncodedTask.Encode(suite, tok, bos);
        var before = TaskScoring.Score(model, enc, kind);
        var after = TaskScoring.Score(model, enc, kind, amp.ToHooks(model.Config));
        var list = new PromptOutcome[before.Length];
        for (int i = 0; i < list.Length; i++)
            list[i] = new PromptOutcome(i, suite.Prompts[i].Text, suite.Prompts[i].Target, enc.Targets[i][0], before[i], after[i]);
        return new TaskOutcome(suite.Name, amp, kind, list);
    }
}
