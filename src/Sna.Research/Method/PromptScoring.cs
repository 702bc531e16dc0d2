using Sna.Runtime;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Method;

/// <summary>
/// One prompt and its target as one model sees them: the prompt's ids (BOS per <see cref="Bos"/>) and the target's tokens after
/// the prompt (<see cref="ModelTokenizer.EncodeTarget"/>; first-token scoring scores <see cref="TargetId"/>).
/// </summary>
public sealed record EncodedPrompt(string Prompt, string TargetText, BosPolicy Bos, int[] Ids, TargetTokens Target)
{
    /// <summary>The target's first token (the one the paper scores).</summary>
    public int TargetId => Target.FirstId;

    /// <summary>
    /// Encodes <paramref name="prompt"/> and <paramref name="target"/> for <paramref name="lm"/>. Input errors
    /// (<see cref="SnaInputException"/>, option <c>prompt</c>, <c>target</c> or <c>bos</c>): an empty encoding, a prompt longer
    /// than the model's context, an empty target, a target token outside the model's vocabulary, BOS asked of a tokenizer without one.
    /// </summary>
    /// <param name="kind">How the target will be scored: with <see cref="ScoreKind.Sequence"/> every token counts, so the
    /// target carries no "only the first token is scored" warning.</param>
    public static EncodedPrompt Encode(LanguageModel lm, string prompt, string target, BosPolicy bos, ScoreKind kind = ScoreKind.FirstToken)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(target);
        var ids = lm.ToTokens(prompt, bos == BosPolicy.Prepend);
        if (ids.Length == 0) throw new SnaInputException("prompt", "the prompt is empty and no BOS is prepended: nothing to condition on");
        int ctx = lm.Config.NCtx;
        if (ids.Length > ctx) throw new SnaInputException("prompt", $"the prompt is {ids.Length} tokens; the model's context is {ctx}");
        var t = lm.Tokenizer.EncodeTarget(prompt, target, firstTokenScoring: kind == ScoreKind.FirstToken);
        if (t.FirstId >= lm.Config.VocabSize)
            throw new SnaInputException("target", $"the target's first token {t.FirstId} is outside the model's vocabulary ({lm.Config.VocabSize} tokens)");
        return new EncodedPrompt(prompt, target, bos, ids, t);
    }
}

/// <summary>The unmodified model's confidence in a prompt's target (<see cref="PromptBaseline.Run"/>).</summary>
/// <param name="Input">The encoded prompt and target.</param>
/// <param name="Kind">How <see cref="Score"/> was scored.</param>
/// <param name="Score">The target's score: the first token's, or with <see cref="ScoreKind.Sequence"/> the whole target's
/// probability by teacher forcing with the first token's rank.</param>
/// <param name="Top">The most likely next tokens, most likely first.</param>
public sealed record PromptBaselineResult(EncodedPrompt Input, ScoreKind Kind, TargetScore Score, TokenProbability[] Top);

/// <summary>Baseline confidence on one prompt: P(target) at the last position of the unmodified model (<c>sna baseline</c>, <c>POST /api/baseline</c>).</summary>
public static class PromptBaseline
{
    /// <inheritdoc cref="Run(LanguageModel, EncodedPrompt, int, ScoreKind, CancellationToken)"/>
    public static PromptBaselineResult Run(LanguageModel lm, string prompt, string target, BosPolicy bos, int top, ScoreKind kind = ScoreKind.FirstToken,
        CancellationToken ct = default) => Run(lm, EncodedPrompt.Encode(lm, prompt, target, bos, kind), top, kind, ct);

    /// <summary>One forward pass; with <see cref="ScoreKind.Sequence"/> a second, teacher-forced one.</summary>
    public static PromptBaselineResult Run(LanguageModel lm, EncodedPrompt input, int top, ScoreKind kind = ScoreKind.FirstToken, CancellationToken ct = default)
    {
        if (top < 0) throw new SnaInputException("top", $"top must be 0 or more, got {top}");
        ct.ThrowIfCancellationRequested();
        var logits = lm.Model.ForwardLast(input.Ids);
        var s = Scoring.Score(logits, input.TargetId);
        if (kind == ScoreKind.Sequence)
        {
            ct.ThrowIfCancellationRequested();
            var seq = TaskScoring.Sequence(lm.Model, [input.Ids], [input.Target.Ids])[0];
            s = s with { Probability = seq.Probability, LogProb = seq.LogProb };
        }
        return new PromptBaselineResult(input, kind, s, top > 0 ? Scoring.Top(logits, top) : []);
    }
}

/// <summary>One prompt before and after an amplification (<see cref="PromptAmplification.Run"/>).</summary>
/// <param name="Input">The encoded prompt and target.</param>
/// <param name="Amplification">What was scaled.</param>
/// <param name="Before">The target's first-token score of the unmodified model.</param>
/// <param name="After">The same with the amplification's hooks.</param>
/// <param name="TopBefore">The most likely next tokens before (empty unless asked for).</param>
/// <param name="TopAfter">The same after.</param>
/// <param name="ContinuationBefore">Greedy new tokens before (null unless asked for).</param>
/// <param name="ContinuationAfter">The same after, the hooks on every step.</param>
public sealed record PromptAmplificationResult(EncodedPrompt Input, Amplification Amplification, TargetScore Before, TargetScore After,
    TokenProbability[] TopBefore, TokenProbability[] TopAfter, int[]? ContinuationBefore, int[]? ContinuationAfter)
{
    /// <summary>100 (P_after − P_before) / P_before; null when P_before is 0 (underflow), where no relative change exists.</summary>
    public double? ImprovementPct => Before.Probability > 0 ? Scoring.ImprovementPct(Before.Probability, After.Probability) : null;

    /// <summary>Index of the first new token where the two continuations differ; -1 when they are identical (or not generated).</summary>
    public int FirstDifference
    {
        get
        {
            if (ContinuationBefore is not { } a || ContinuationAfter is not { } b) return -1;
            int n = Math.Min(a.Length, b.Length);
            for (int i = 0; i < n; i++) if (a[i] != b[i]) return i;
            return a.Length == b.Length ? -1 : n;
        }
    }
}

/// <summary>
/// One amplification on one prompt (<c>sna amplify --prompt</c>, <c>POST /api/amplify</c>): the target's first-token score
/// at the last position without and with the amplification's hooks, optionally the top next tokens and a greedy
/// continuation (KV-cached <see cref="TransformerModel.Generate(int[], GenerationOptions, CancellationToken)"/>, the hooks
/// acting on every step) before and after.
/// </summary>
public static class PromptAmplification
{
    public static PromptAmplificationResult Run(LanguageModel lm, EncodedPrompt input, Amplification amp, int top = 0, int generate = 0, CancellationToken ct = default)
    {
        if (top < 0) throw new SnaInputException("top", $"top must be 0 or more, got {top}");
        if (generate < 0) throw new SnaInputException("generate", $"generate must be 0 or more, got {generate}");
        amp.Validate(lm.Config);
        var hooks = amp.ToHooks(lm.Config);
        ct.ThrowIfCancellationRequested();
        var logitsBefore = lm.Model.ForwardLast(input.Ids);
        ct.ThrowIfCancellationRequested();
        var logitsAfter = lm.Model.ForwardLast(input.Ids, hooks);
        int k = Math.Min(top, lm.Config.VocabSize);
        var before = Scoring.Score(logitsBefore, input.TargetId);
        var after = Scoring.Score(logitsAfter, input.TargetId);
        TokenProbability[] topBefore = k > 0 ? Scoring.Top(logitsBefore, k) : [], topAfter = k > 0 ? Scoring.Top(logitsAfter, k) : [];
        int[]? genBefore = null, genAfter = null;
        if (generate > 0)
        {
            genBefore = lm.Model.Generate(input.Ids, new GenerationOptions { MaxNewTokens = generate }, ct).Tokens;
            genAfter = lm.Model.Generate(input.Ids, new GenerationOptions { MaxNewTokens = generate, Hooks = hooks }, ct).Tokens;
        }
        return new PromptAmplificationResult(input, amp, before, after, topBefore, topAfter, genBefore, genAfter);
    }
}
