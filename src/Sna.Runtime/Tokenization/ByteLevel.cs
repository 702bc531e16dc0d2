using System.Text;
using Microsoft.ML.Tokenizers;

namespace Sna.Runtime.Tokenization;

/// <summary>
/// GPT-2 byte-level pieces: the pre-tokenization split and the byte⇄char table used by byte-level BPE vocabularies.
/// </summary>
internal static class ByteLevel
{
    /// <summary>The GPT-2 pattern this splitter reproduces (for documentation and run records).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private enum CharClass : byte { Letter, Number, Space, Other }

    /// <summary>char (as stored in vocab.json) → byte; -1 if the char is not part of the byte alphabet.</summary>
    private static readonly short[] CharToByte = BuildCharToByte();

    /// <summary>byte → char of the byte alphabet (GPT-2's <c>bytes_to_unicode</c>).</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + n++);
        }
        return map;
    }

    private static short[] BuildCharToByte()
    {
        var byteToChar = BuildByteToChar();
        var map = new short[512];
        Array.Fill(map, (short)-1);
        for (int b = 0; b < 256; b++) map[byteToChar[b]] = (short)b;
        return map;
    }

    /// <summary>
    /// Appends the bytes of one token as Hugging Face's ByteLevel decoder does: if every char of the token belongs to
    /// the byte alphabet, the bytes it stands for; otherwise (e.g. an added token of plain spaces) its UTF-8 encoding.
    /// </summary>
    public static void AppendTokenBytes(string token, List<byte> bytes)
    {
        foreach (char c in token)
        {
            if (c >= CharToByte.Length || CharToByte[c] < 0)
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(token));
                return;
            }
        }
        foreach (char c in token) bytes.Add((byte)CharToByte[c]);
    }

    /// <summary>The text's UTF-8 bytes written in the byte alphabet (as vocabulary entries of byte-level BPEs are).</summary>
    public static string ToByteAlphabet(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>
    /// Splits <paramref name="text"/> exactly as the GPT-2 regex <see cref="Gpt2Pattern"/> does when matched over
    /// Unicode scalar values (as Python's <c>regex</c>, JavaScript's <c>/u</c> regexes and Rust do). A .NET
    /// <see cref="System.Text.RegularExpressions.Regex"/> matches UTF-16 code units, so a letter or digit outside the BMP
    /// (e.g. U+1D400 MATHEMATICAL BOLD CAPITAL A) would be seen as two surrogates and land in the wrong class; this
    /// hand-written scanner does not have that problem. Appends (offset, length) pairs in UTF-16 units.
    /// </summary>
    public static void Split(ReadOnlySpan<char> s, List<(int Offset, int Length)> result)
    {
        int n = s.Length;
        int i = 0;
        while (i < n)
        {
            // 1. Contractions (case-sensitive): 's 't 're 've 'm 'll 'd
            if (s[i] == '\'' && i + 1 < n)
            {
                char c1 = s[i + 1];
                int len = 0;
                if (c1 is 's' or 't' or 'm' or 'd') len = 2;
                else if (i + 2 < n && ((c1 == 'r' && s[i + 2] == 'e') || (c1 == 'v' && s[i + 2] == 'e') || (c1 == 'l' && s[i + 2] == 'l'))) len = 3;
                if (len > 0)
                {
                    result.Add((i, len));
                    i += len;
                    continue;
                }
            }

            // 2-4. ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+' (the optional prefix is U+0020 only)
            int j = s[i] == ' ' ? i + 1 : i;
            if (j < n)
            {
                CharClass cls = Classify(s, j, out int width);
                if (cls != CharClass.Space)
                {
                    int k = j + width;
                    while (k < n && Classify(s, k, out int w) == cls) k += w;
                    result.Add((i, k - i));
                    i = k;
                    continue;
                }
            }

            // 5-6. '\s+(?!\S)' then '\s+'. Here s[i] is whitespace (a lone trailing ' ' included).
            int end = i, lastStart = i, count = 0;
            while (end < n && Classify(s, end, out int w) == CharClass.Space)
            {
                lastStart = end;
                end += w;
                count++;
            }
            // Unreachable in practice (s[i] is whitespace here), kept as a guard against an infinite loop.
            if (count == 0) { end = i + 1; lastStart = end; count = 1; }
            // Followed by a non-space: the greedy run backs off by one scalar so that the next piece can take its
            // leading space, unless the run is a single scalar (then '\s+' takes it).
            int stop = end == n || count == 1 ? end : lastStart;
            result.Add((i, stop - i));
            i = stop;
        }
    }

    private static CharClass Classify(ReadOnlySpan<char> s, int index, out int width)
    {
        char c = s[index];
        if (c < 0x80)
        {
            width = 1;
            if ((uint)((c | 0x20) - 'a') <= 'z' - 'a') return CharClass.Letter;
            if ((uint)(c - '0') <= 9) return CharClass.Number;
            if (c == ' ' || (c >= '\t' && c <= '\r')) return CharClass.Space;
            return CharClass.Other;
        }
        if (Rune.DecodeFromUtf16(s[index..], out Rune r, out width) != System.Buffers.OperationStatus.Done)
        {
            width = 1; // lone surrogate: neither letter, number nor space
            return CharClass.Other;
        }
        if (Rune.IsLetter(r)) return CharClass.Letter;
        if (Rune.IsNumber(r)) return CharClass.Number;
        if (Rune.IsWhiteSpace(r)) return CharClass.Space;
        return CharClass.Other;
    }
}

/// <summary>Adapter so that Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> uses <see cref="ByteLevel.Split"/>.</summary>
internal sealed class Gpt2PreTokenizer : PreTokenizer
{
    public static readonly Gpt2PreTokenizer Instance = new();

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => PreTokenize(text.AsSpan());

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
    {
        var result = new List<(int Offset, int Length)>();
        ByteLevel.Split(text, result);
        return result;
    }
}
