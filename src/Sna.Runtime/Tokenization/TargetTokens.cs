using System.Text;

namespace Sna.Runtime.Tokenization;

/// <summary>
/// A target's token ids as the model sees them after its prompt, with the rule that found them and any warnings.
/// </summary>
/// <param name="Ids">The target's ids (never empty). <see cref="FirstId"/> is the one first-token scoring scores.</param>
/// <param name="Rule"><see cref="TargetTokens.InContext"/> or <see cref="TargetTokens.Standalone"/>.</param>
/// <param name="Warnings">One sentence each; empty when nothing is worth saying.</param>
public sealed record TargetTokens(int[] Ids, string Rule, IReadOnlyList<string> Warnings)
{
    /// <summary>Rule: the ids after the prompt's ids in <c>encode(prompt + target)</c>.</summary>
    public const string InContext = "in_context";

    /// <summary>Rule: <c>encode(target)</c> on its own (the prompt's ids were not a prefix of <c>encode(prompt + target)</c>).</summary>
    public const string Standalone = "standalone";

    /// <summary>The target's first token id.</summary>
    public int FirstId => Ids[0];

    /// <summary>The warnings joined into one line, or null when there are none (the JSON's <c>target_warning</c>).</summary>
    public string? Warning => Warnings.Count == 0 ? null : string.Join(" ", Warnings);

    /// <summary>
    /// The rule over several targets (a task): the common rule when all agree, else "mixed".
    /// </summary>
    public static string AggregateRule(IEnumerable<TargetTokens> targets)
    {
        var rules = targets.Select(t => t.Rule).Distinct().ToArray();
        return rules.Length == 1 ? rules[0] : rules.Length == 0 ? InContext : "mixed";
    }
}

public sealed partial class ModelTokenizer
{
    /// <summary>
    /// The target's tokens, one definition for every tokenizer: the ids that follow the prompt's ids in
    /// <c>Encode(prompt + target)</c> (rule <see cref="TargetTokens.InContext"/>). For GPT-2, NeoX and Llama 3 these
    /// equal <c>Encode(target)</c>; for Llama 2 they differ (<c>Encode(" light")</c> starts with a bare "▁", while after
    /// a prompt " light" is the single token "▁light"). When the prompt's ids are not a prefix of
    /// <c>Encode(prompt + target)</c> (a prompt ending in a space is the classic case: the space merges into the
    /// target's first token), the target is encoded on its own (rule <see cref="TargetTokens.Standalone"/>) and a
    /// warning says so.
    /// </summary>
    /// <param name="prompt">The prompt text (without BOS: BOS never changes the text's tokens).</param>
    /// <param name="target">The expected continuation, usually with its leading space.</param>
    /// <param name="firstTokenScoring">True when only the first token will be scored: a multi-token target gets a
    /// warning that the rest is not scored.</param>
    /// <exception cref="SnaInputException">The target is empty or encodes to no token (option <c>target</c>).</exception>
    public TargetTokens EncodeTarget(string prompt, string target, bool firstTokenScoring = true)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(target);
        if (target.Length == 0)
            throw new SnaInputException("target", "the target is empty: give the text the model should produce next, e.g. \" 12\"");

        var warnings = new List<string>();
        int[] promptIds = Encode(prompt);
        int[] full = Encode(prompt + target);
        int[] ids;
        string rule;
        if (full.Length > promptIds.Length && full.AsSpan(0, promptIds.Length).SequenceEqual(promptIds))
        {
            ids = full[promptIds.Length..];
            rule = TargetTokens.InContext;
        }
        else
        {
            ids = Encode(target);
            rule = TargetTokens.Standalone;
            warnings.Add($"The prompt's tokens are not a prefix of the tokens of prompt + target {Quote(target)} "
                + (prompt.Length > 0 && char.IsWhiteSpace(prompt[^1]) ? "(the prompt ends in whitespace, which merges into the target's first token; move it to the target)" : "(the target merges with the prompt's last token)")
                + "; the target was tokenized on its own.");
        }
        if (ids.Length == 0)
            throw new SnaInputException("target", $"the target {Quote(target)} encodes to no token");

        if (MissingLeadingSpace(prompt, target))
            warnings.Add($"The target {Quote(target)} has no leading space, so it is glued to the prompt's last word; the model's next word usually starts with a space: did you mean {Quote(" " + target)}?");
        if (firstTokenScoring && ids.Length > 1)
            warnings.Add($"The target {Quote(target)} is {ids.Length} tokens ({string.Join(", ", ids.Select(i => Quote(TokenText(i))))}); only the first, {Quote(TokenText(ids[0]))}, is scored.");
        return new TargetTokens(ids, rule, warnings);
    }

    // A prompt ending in a letter or digit followed by a target starting with one: "capital is" + "Paris".
    private static bool MissingLeadingSpace(string prompt, string target)
    {
        // Only for space-separated text: scripts written without spaces (CJK) glue words legitimately.
        if (prompt.Length == 0 || target.Length == 0 || !prompt.Contains(' ')) return false;
        return Rune.DecodeLastFromUtf16(prompt, out Rune last, out _) == System.Buffers.OperationStatus.Done
            && Rune.DecodeFromUtf16(target, out Rune first, out _) == System.Buffers.OperationStatus.Done
            && Rune.IsLetterOrDigit(last) && Rune.IsLetterOrDigit(first);
    }

    private static string Quote(string s) => JsonString.Quote(s);
}
