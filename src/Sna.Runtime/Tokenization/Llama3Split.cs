using System.Text;

namespace Sna.Runtime.Tokenization;

/// <summary>
/// The Llama 3 pre-tokenization split (tokenizer.json <c>Split</c> with behavior <c>Isolated</c>), a hand-written
/// scanner over Unicode scalars equivalent to the regex <see cref="Pattern"/> (as matched by Oniguruma in Hugging Face
/// tokenizers and by JavaScript <c>/u</c> regexes). A .NET <see cref="System.Text.RegularExpressions.Regex"/> matches
/// UTF-16 units, so letters and digits outside the BMP would land in the wrong class; see <see cref="ByteLevel.Split"/>.
/// </summary>
internal static class Llama3Split
{
    /// <summary>The regex of the Llama 3 tokenizer.json (the only <c>Split</c> pattern accepted).</summary>
    public const string Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private enum Cls : byte { Letter, Number, Space, Newline, Other }

    /// <summary>Appends (offset, length) pairs in UTF-16 units covering <paramref name="s"/>.</summary>
    public static void Split(ReadOnlySpan<char> s, List<(int Offset, int Length)> result)
    {
        int n = s.Length;
        int i = 0;
        while (i < n)
        {
            Cls c0 = Classify(s, i, out int w0);

            // 1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if (s[i] == '\'' && i + 1 < n)
            {
                char a = Fold(s[i + 1]);
                int len = 0;
                if (a is 's' or 't' or 'm' or 'd') len = 2;
                else if (i + 2 < n && ((a is 'r' or 'v' && Fold(s[i + 2]) == 'e') || (a == 'l' && Fold(s[i + 2]) == 'l'))) len = 3;
                if (len > 0) { result.Add((i, len)); i += len; continue; }
            }

            // 2. [^\r\n\p{L}\p{N}]?\p{L}+
            {
                int j = -1;
                if (c0 == Cls.Letter) j = i;
                else if (c0 is Cls.Space or Cls.Other && i + w0 < n && Classify(s, i + w0, out _) == Cls.Letter) j = i + w0;
                if (j >= 0)
                {
                    int k = j;
                    while (k < n && Classify(s, k, out int w) == Cls.Letter) k += w;
                    result.Add((i, k - i)); i = k; continue;
                }
            }

            // 3. \p{N}{1,3}
            if (c0 == Cls.Number)
            {
                int k = i, count = 0;
                while (k < n && count < 3 && Classify(s, k, out int w) == Cls.Number) { k += w; count++; }
                result.Add((i, k - i)); i = k; continue;
            }

            // 4. ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            {
                int j = -1;
                if (c0 == Cls.Other) j = i;
                else if (s[i] == ' ' && i + 1 < n && Classify(s, i + 1, out _) == Cls.Other) j = i + 1;
                if (j >= 0)
                {
                    int k = j;
                    while (k < n && Classify(s, k, out int w) == Cls.Other) k += w;
                    while (k < n && s[k] is '\r' or '\n') k++;
                    result.Add((i, k - i)); i = k; continue;
                }
            }

            // Here s[i] is whitespace (space or newline). Its maximal run [i, end):
            int end = i, lastStart = i, runCount = 0, afterLastNewline = -1;
            while (end < n && Classify(s, end, out int w) is Cls.Space or Cls.Newline)
            {
                if (s[end] is '\r' or '\n') afterLastNewline = end + 1;
                lastStart = end;
                end += w;
                runCount++;
            }
            if (runCount == 0) { result.Add((i, w0)); i += w0; continue; } // unreachable guard

            // 5. \s*[\r\n]+ : up to and including the run's last \r or \n.
            if (afterLastNewline > 0) { result.Add((i, afterLastNewline - i)); i = afterLastNewline; continue; }

            // 6. \s+(?!\S), else 7. \s+
            int stop = end == n || runCount == 1 ? end : lastStart;
            result.Add((i, stop - i));
            i = stop;
        }
    }

    // Simple case folding for the contraction letters; U+017F LATIN SMALL LETTER LONG S folds to 's'.
    private static char Fold(char c) => c == '\u017F' ? 's' : c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c;

    private static Cls Classify(ReadOnlySpan<char> s, int index, out int width)
    {
        char c = s[index];
        if (c < 0x80)
        {
            width = 1;
            if ((uint)((c | 0x20) - 'a') <= 'z' - 'a') return Cls.Letter;
            if ((uint)(c - '0') <= 9) return Cls.Number;
            if (c is '\r' or '\n') return Cls.Newline;
            if (c == ' ' || (c >= '\t' && c <= '\r')) return Cls.Space;
            return Cls.Other;
        }
        if (Rune.DecodeFromUtf16(s[index..], out Rune r, out width) != System.Buffers.OperationStatus.Done)
        {
            width = 1;
            return Cls.Other;
        }
        if (Rune.IsLetter(r)) return Cls.Letter;
        if (Rune.IsNumber(r)) return Cls.Number;
        if (Rune.IsWhiteSpace(r)) return Cls.Space;
        return Cls.Other;
    }
}
