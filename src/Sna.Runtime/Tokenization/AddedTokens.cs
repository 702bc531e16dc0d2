using System.Text;

namespace Sna.Runtime.Tokenization;

/// <summary>An entry of tokenizer.json's <c>added_tokens</c>, with Hugging Face's flags.</summary>
internal sealed record AddedToken(int Id, string Content, bool Special, bool SingleWord, bool LStrip, bool RStrip, bool Normalized);

/// <summary>
/// Splits text on added-token occurrences as Hugging Face tokenizers' <c>AddedVocabulary::find_matches</c> does:
/// leftmost-longest matching (its Aho-Corasick automaton uses <c>MatchKind::LeftmostLongest</c>), then the
/// <c>single_word</c>, <c>lstrip</c> and <c>rstrip</c> rules.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly (string Pattern, AddedToken Token)[] _patterns;
    // First char → indices into _patterns, longest pattern first.
    private readonly Dictionary<char, int[]> _byFirstChar;

    /// <param name="tokens">The tokens with the text each is matched by (already normalized where HF normalizes it).</param>
    public AddedTokenMatcher(IEnumerable<(string Pattern, AddedToken Token)> tokens)
    {
        // HF keeps the first registration of a given content; duplicates do not occur in practice.
        _patterns = tokens.Where(t => t.Pattern.Length > 0)
                          .GroupBy(t => t.Pattern, StringComparer.Ordinal).Select(g => g.First()).ToArray();
        _byFirstChar = Enumerable.Range(0, _patterns.Length)
            .GroupBy(i => _patterns[i].Pattern[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(i => _patterns[i].Pattern.Length).ToArray());
    }

    public bool IsEmpty => _patterns.Length == 0;

    /// <summary>
    /// Splits <paramref name="text"/> into consecutive segments; a segment is either an added token (its id) or
    /// plain text (id null). Empty plain segments are not produced.
    /// </summary>
    public void Split(string text, List<(int Start, int Length, int? Id)> segments)
    {
        int startOffset = 0;
        int pos = 0;
        while (pos < text.Length)
        {
            if (!TryMatchAt(text, pos, out int patternIndex))
            {
                pos++;
                continue;
            }
            var token = _patterns[patternIndex].Token;
            int start = pos, stop = pos + _patterns[patternIndex].Pattern.Length;
            // The automaton resumes after the raw match whatever happens below.
            pos = stop;

            if (token.SingleWord)
            {
                bool startSpace = start == 0 || !EndsWithWordChar(text.AsSpan(0, start));
                bool stopSpace = stop == text.Length || !StartsWithWordChar(text.AsSpan(stop));
                if (!startSpace || !stopSpace) continue;
            }
            if (token.LStrip)
            {
                int newStart = start;
                while (newStart > 0 && char.IsWhiteSpace(text[newStart - 1])) newStart--;
                start = Math.Max(newStart, startOffset);
            }
            if (token.RStrip)
            {
                while (stop < text.Length && char.IsWhiteSpace(text[stop])) stop++;
            }
            // HF would emit an overlapping match here (only reachable after an rstrip token); we drop it instead.
            if (start < startOffset) continue;

            if (startOffset < start) segments.Add((startOffset, start - startOffset, null));
            segments.Add((start, stop - start, token.Id));
            startOffset = stop;
            pos = Math.Max(pos, stop);
        }
        if (startOffset < text.Length) segments.Add((startOffset, text.Length - startOffset, null));
    }

    private bool TryMatchAt(string text, int pos, out int patternIndex)
    {
        if (_byFirstChar.TryGetValue(text[pos], out int[]? candidates))
        {
            foreach (int i in candidates)
            {
                if (text.AsSpan(pos).StartsWith(_patterns[i].Pattern, StringComparison.Ordinal))
                {
                    patternIndex = i;
                    return true;
                }
            }
        }
        patternIndex = -1;
        return false;
    }

    // Rust's char::is_alphanumeric() || '_' (approximated by letters and numbers).
    private static bool IsWordRune(Rune r) => Rune.IsLetter(r) || Rune.IsNumber(r) || r.Value == '_';

    private static bool EndsWithWordChar(ReadOnlySpan<char> s) =>
        Rune.DecodeLastFromUtf16(s, out Rune r, out _) == System.Buffers.OperationStatus.Done && IsWordRune(r);

    private static bool StartsWithWordChar(ReadOnlySpan<char> s) =>
        Rune.DecodeFromUtf16(s, out Rune r, out _) == System.Buffers.OperationStatus.Done && IsWordRune(r);
}
