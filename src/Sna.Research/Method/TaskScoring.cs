using Sna.Runtime;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Method;

/// <summary>How a prompt's target is scored.</summary>
public enum ScoreKind
{
    /// <summary>The paper's measure: P(target's first token | prompt) at the last position.</summary>
    FirstToken,
    /// <summary>P(all target tokens | prompt) by teacher forcing: the product of each token's probability given the ones before.</summary>
    Sequence,
}

/// <summary>
/// The score of a whole target sequence by teacher forcing: log P(target | prompt) = Σ_i log P(t_i | prompt, t_&lt;i).
/// <see cref="Tokens"/> holds each token's score at its position; <see cref="Rank"/> is the first token's rank.
/// </summary>
public sealed record SequenceScore(int[] TargetIds, TargetScore[] Tokens)
{
    public double LogProb => Tokens.Sum(t => t.LogProb);
    public double Probability => Math.Exp(LogProb);
    public int Rank => Tokens[0].Rank;
    /// <summary>As a <see cref="TargetScore"/> (first token's id and rank, the sequence's probability).</summary>
    public TargetScore AsTargetScore() => new(TargetIds[0], Probability, LogProb, Rank);
}

/// <summary>A task's prompts and targets as token ids under one BOS policy.</summary>
public sealed record EncodedTask(TaskSuite Suite, BosPolicy Bos, IReadOnlyList<int[]> Prompts, IReadOnlyList<int[]> Targets)
{
    public IReadOnlyList<int> FirstTargetIds => Targets.Select(t => t[0]).ToArray();

    /// <summary>How each target was tokenized (<see cref="ModelTokenizer.EncodeTarget"/>): rule and warnings, in prompt order.</summary>
    public IReadOnlyList<TargetTokens> TargetEncodings { get; init; } = [];

    /// <summary>Encodes every prompt (with <paramref name="bos"/>) and its target after it (<see cref="ModelTokenizer.EncodeTarget"/>,
    /// never BOS); an empty encoding is an error naming the prompt.</summary>
    public static EncodedTask Encode(TaskSuite suite, ModelTokenizer tok, BosPolicy bos, ScoreKind kind = ScoreKind.FirstToken)
    {
        var p = new int[suite.Prompts.Count][];
        var t = new int[suite.Prompts.Count][];
        var e = new TargetTokens[suite.Prompts.Count];
        for (int i = 0; i < p.Length; i++)
        {
            p[i] = tok.Encode(suite.Prompts[i].Text, bos);
            if (p[i].Length == 0) throw new SnaInputException($"task '{suite.Name}' prompt {i}: the prompt encodes to no tokens");
            e[i] = TargetOf(tok, suite.Name, i, suite.Prompts[i].Text, suite.Prompts[i].Target, kind);
            t[i] = e[i].Ids;
        }
        return new EncodedTask(suite, bos, p, t) { TargetEncodings = e };
    }

    /// <summary>The target's tokens after its prompt, with an error naming the task and prompt when there are none.</summary>
    public static TargetTokens TargetOf(ModelTokenizer tok, string task, int index, string prompt, string target, ScoreKind kind = ScoreKind.FirstToken)
    {
        try { return tok.EncodeTarget(prompt, target, kind == ScoreKind.FirstToken); }
        catch (SnaInputException ex) { throw new SnaInputException("target", $"task '{task}' prompt {index}: {ex.Message}", ex); }
    }

    /// <summary>The first token of each class continuation (classification suites), in class order.</summary>
    public int[] ClassTokenIds(ModelTokenizer tok)
    {
        if (!Suite.IsClassification) throw new SnaInputException($"task '{Suite.Name}' has no classes");
        // Each continuation as it follows the suite's first prompt (the target rule; Llama 2 needs the context).
        string context = Suite.Prompts.Count > 0 ? Suite.Prompts[0].Text : "";
        var ids = Suite.Classes!.Values.Select(v => v.Length == 0 ? [] : tok.EncodeTarget(context, v).Ids).ToArray();
        for (int i = 0; i < ids.Length; i++)
            if (ids[i].Length == 0) throw new SnaInputException($"task '{Suite.Name}': class continuation \"{Suite.Classes.Values.ElementAt(i)}\" encodes to no tokens");
        if (ids[0][0] == ids[1][0]) throw new SnaInputException($"task '{Suite.Name}': both classes start with the same token {ids[0][0]}, so their first-token probabilities cannot be told apart");
        return ids.Select(x => x[0]).ToArray();
    }
}

/// <summary>
/// Batched scoring: many prompts in a few left-padded forward passes (rows sorted by length so a batch pads little),
/// first-token or teacher-forced sequence scores. Results come back in the input order.
/// </summary>
public static class TaskScoring
{
    /// <summary>Default prompts per forward pass for last-position scoring.</summary>
    public const int DefaultBatchSize = 32;

    /// <summary>
    /// Calls <paramref name="visit"/>(promptIndex, lastLogits) for every prompt, in batches of <paramref name="batchSize"/>.
    /// </summary>
    public static void ForEachLast(TransformerModel model, IReadOnlyList<int[]> prompts, HookSet? hooks, Action<int, ReadOnlySpan<float>> visit, int batchSize = DefaultBatchSize)
    {
        foreach (var chunk in Chunks(prompts, batchSize))
        {
            var r = model.Forward(chunk.Select(i => prompts[i]).ToArray(), hooks, LogitsMode.Last);
            for (int b = 0; b < chunk.Length; b++) visit(chunk[b], r.Last(b));
        }
    }

    /// <summary>P, log P and rank of each prompt's target id at its last position.</summary>
    public static TargetScore[] FirstToken(TransformerModel model, IReadOnlyList<int[]> prompts, IReadOnlyList<int> targetIds, HookSet? hooks = null, int batchSize = DefaultBatchSize)
    {
        if (prompts.Count != targetIds.Count) throw new ArgumentException("one target per prompt");
        var res = new TargetScore[prompts.Count];
        ForEachLast(model, prompts, hooks, (i, logits) => res[i] = Scoring.Score(logits, targetIds[i]), batchSize);
        return res;
    }

    /// <summary>
    /// Teacher forcing: runs prompt + target[..^1] and scores target token i at position |prompt| − 1 + i, for every prompt.
    /// Uses <see cref="LogitsMode.All"/>, so batches are kept small (vocab × positions logits per row).
    /// </summary>
    public static SequenceScore[] Sequence(TransformerModel model, IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> targets, HookSet? hooks = null, int batchSize = 4)
    {
        if (prompts.Count != targets.Count) throw new ArgumentException("one target per prompt");
        var inputs = new int[prompts.Count][];
        for (int i = 0; i < prompts.Count; i++)
        {
            if (targets[i].Length == 0) throw new ArgumentException($"target {i} has no tokens");
            inputs[i] = [.. prompts[i], .. targets[i].AsSpan(0, targets[i].Length - 1)];
        }
        var res = new SequenceScore[prompts.Count];
        foreach (var chunk in Chunks(inputs, batchSize))
        {
            var r = model.Forward(chunk.Select(i => inputs[i]).ToArray(), hooks, LogitsMode.All);
            for (int b = 0; b < chunk.Length; b++)
            {
                int i = chunk[b];
                res[i] = Scoring.ScoreSequence(r, b, prompts[i].Length, targets[i]);
            }
        }
        return res;
    }

    /// <summary>Scores an encoded task by <paramref name="kind"/>, as <see cref="TargetScore"/>s (see <see cref="SequenceScore.AsTargetScore"/>).</summary>
    public static TargetScore[] Score(TransformerModel model, EncodedTask task, ScoreKind kind, HookSet? hooks = null) =>
        kind == ScoreKind.FirstToken
            ? FirstToken(model, task.Prompts, task.FirstTargetIds, hooks)
            : Sequence(model, task.Prompts, task.Targets, hooks).Select(s => s.AsTargetScore()).ToArray();

    /// <summary>Index chunks, each sorted so rows of similar length share a batch.</summary>
    internal static IEnumerable<int[]> Chunks(IReadOnlyList<int[]> seqs, int batchSize)
    {
        var order = Enumerable.Range(0, seqs.Count).OrderBy(i => seqs[i].Length).ThenBy(i => i).ToArray();
        int bs = Math.Max(1, batchSize);
        for (int s = 0; s < order.Length; s += bs) yield return order.Skip(s).Take(bs).ToArray();
    }
}
