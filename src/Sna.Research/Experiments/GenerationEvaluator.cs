using Sna.Research.Analysis;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Experiments;

/// <summary>One prompt's greedy answer before and after an amplification.</summary>
/// <param name="PromptIndex">Index in the evaluated suite.</param>
/// <param name="Target">The target's token ids (the complete answer).</param>
/// <param name="Before">Greedy continuation without amplification (up to the evaluator's token budget).</param>
/// <param name="After">Greedy continuation with amplification.</param>
/// <param name="SequenceLogProbBase">Teacher-forced log P(target | prompt) without amplification (natural log).</param>
/// <param name="SequenceLogProbPost">Teacher-forced log P(target | prompt) with amplification.</param>
public sealed record GenerationPrompt(int PromptIndex, int[] Target, int[] Before, int[] After, double SequenceLogProbBase, double SequenceLogProbPost)
{
    /// <summary>Exact match: the first |target| greedy tokens are the target's tokens.</summary>
    public bool CorrectBefore => Matches(Before, Target);
    public bool CorrectAfter => Matches(After, Target);
    public bool MultiToken => Target.Length > 1;

    private static bool Matches(int[] generated, int[] target) => generated.Length >= target.Length && generated.AsSpan(0, target.Length).SequenceEqual(target);
}

/// <summary>Exact-match accuracy of a group of prompts before and after, with the exact McNemar test.</summary>
public sealed record ExactMatchSummary(string Group, int N, int CorrectBefore, int CorrectAfter, McNemarResult McNemar)
{
    public double AccuracyBefore => N == 0 ? double.NaN : (double)CorrectBefore / N;
    public double AccuracyAfter => N == 0 ? double.NaN : (double)CorrectAfter / N;

    public static ExactMatchSummary Of(string group, IReadOnlyList<GenerationPrompt> prompts) =>
        new(group, prompts.Count, prompts.Count(p => p.CorrectBefore), prompts.Count(p => p.CorrectAfter),
            Analysis.McNemar.Exact(prompts.Select(p => p.CorrectBefore).ToArray(), prompts.Select(p => p.CorrectAfter).ToArray()));
}

/// <summary>A task's generation-level evaluation under one amplification.</summary>
public sealed record GenerationOutcome(string Task, int Zone, Amplification Amplification, int MaxNewTokens, IReadOnlyList<GenerationPrompt> Prompts)
{
    public ExactMatchSummary ExactMatch => ExactMatchSummary.Of(Task, Prompts);

    /// <summary>Mean change of the teacher-forced log P(target) over the prompts whose target has several tokens (NaN when none).</summary>
    public double MeanSequenceLogProbChange
    {
        get
        {
            var m = Prompts.Where(p => p.MultiToken).ToArray();
            return m.Length == 0 ? double.NaN : m.Average(p => p.SequenceLogProbPost - p.SequenceLogProbBase);
        }
    }
}

/// <summary>
/// Generation-level evaluation (beyond the paper, which scores only P of the target's first token): greedy-decode each prompt
/// with and without an amplification and check whether the answer changes — exact match of the target's tokens — plus the
/// teacher-forced sequence log-probability for multi-token targets. Every target of a suite is taken as the complete answer.
/// </summary>
/// <remarks>
/// Decoding is the runtime's greedy generation (<see cref="TransformerModel.Generate(IReadOnlyList{int[]}, GenerationOptions, CancellationToken)"/>,
/// temperature 0: argmax, ties to the lower id), ending after the end-of-sequence token. With positions = all it runs on the
/// KV cache (the prompt once, then one position per token, the hooks on every pass), which equals re-running the hooked
/// forward on prompt + generated tokens up to float rounding. With positions = last it re-runs prompt + generated tokens for
/// every new token, so each pass amplifies only its last position: the intervention the teacher-forced log P measures, and
/// the one this evaluation made before it used <c>Generate</c> (on the cache, each earlier position would keep the
/// amplification it had when it was last, as <c>sna amplify --prompt … --generate</c> does).
/// </remarks>
public static class GenerationEvaluator
{
    /// <summary>Largest number of new tokens decoded per prompt by default.</summary>
    public const int DefaultMaxNewTokens = 8;

    /// <summary>
    /// Greedy continuation (argmax, ties to the lower id) of every prompt, <paramref name="steps"/>[i] tokens for prompt i (fewer
    /// only after the model's end-of-sequence token, which no target contains, or at its context length): <see cref="TransformerModel.Generate(IReadOnlyList{int[]}, GenerationOptions, CancellationToken)"/>
    /// with the KV cache, prompts of equal step count continued together, <paramref name="batchSize"/> at a time.
    /// </summary>
    /// <param name="kvCache">false: re-run prompt + generated tokens for every new token, so a positions = last hook amplifies
    /// only the newest position of each pass (as <see cref="TaskScoring.Sequence"/>'s teacher-forced pass does).</param>
    public static int[][] Greedy(TransformerModel model, IReadOnlyList<int[]> prompts, IReadOnlyList<int> steps, HookSet? hooks = null, int batchSize = TaskScoring.DefaultBatchSize,
        bool kvCache = true)
    {
        if (prompts.Count != steps.Count) throw new ArgumentException("one step count per prompt");
        var outs = new int[prompts.Count][];
        foreach (var group in Enumerable.Range(0, prompts.Count).GroupBy(i => Math.Max(0, steps[i])))
            foreach (var chunk in group.Chunk(Math.Max(1, batchSize)))
            {
                var g = model.Generate(chunk.Select(i => prompts[i]).ToArray(), new GenerationOptions { MaxNewTokens = group.Key, Hooks = hooks, UseKvCache = kvCache });
                for (int j = 0; j < chunk.Length; j++) outs[chunk[j]] = g[j].Tokens;
            }
        return outs;
    }

    /// <summary>
    /// Evaluates <paramref name="suite"/> before and after <paramref name="amp"/>: greedy answers of min(|target|, max) tokens
    /// (the answer's length is all exact match needs) and teacher-forced log P(target).
    /// </summary>
    public static GenerationOutcome Evaluate(TransformerModel model, ModelTokenizer tok, TaskSuite suite, Amplification amp, BosPolicy bos,
        int zone, int maxNewTokens = DefaultMaxNewTokens)
    {
        if (maxNewTokens < 1) throw new ArgumentOutOfRangeException(nameof(maxNewTokens), "at least one new token");
        amp.Validate(model.Config);
        var enc = EncodedTask.Encode(suite, tok, bos);
        var steps = enc.Targets.Select(t => Math.Min(t.Length, maxNewTokens)).ToArray();
        var hooks = amp.ToHooks(model.Config);
        var before = Greedy(model, enc.Prompts, steps);
        // positions = last: each decoding pass amplifies its last position only, the intervention the teacher-forced log P
        // below measures and the one this evaluation has always made (the KV cache would keep every earlier position's).
        var after = Greedy(model, enc.Prompts, steps, hooks, kvCache: amp.Positions != PositionsMode.Last);
        var seqBase = TaskScoring.Sequence(model, enc.Prompts, enc.Targets);
        var seqPost = TaskScoring.Sequence(model, enc.Prompts, enc.Targets, hooks);
        var prompts = Enumerable.Range(0, enc.Prompts.Count)
            .Select(i => new GenerationPrompt(i, enc.Targets[i], before[i], after[i], seqBase[i].LogProb, seqPost[i].LogProb)).ToArray();
        return new GenerationOutcome(suite.Name, zone, amp, maxNewTokens, prompts);
    }
}
