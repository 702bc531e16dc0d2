using System.Text;

namespace Sna.Runtime.Tokenization;

/// <summary>
/// Managed Unicode NFC (canonical decomposition, canonical ordering, canonical composition; UAX #15) over tables
/// generated from Unicode <see cref="NfcData.UnicodeVersion"/>.
/// </summary>
/// <remarks>
/// Needed because the project builds with <c>InvariantGlobalization</c>: there,
/// <see cref="string.Normalize(NormalizationForm)"/> silently returns its input unchanged and
/// <see cref="string.IsNormalized(NormalizationForm)"/> returns true for any string (verified on .NET 10), so a
/// decomposed "e\u0301" would not be composed as Hugging Face's NFC normalizer does.
/// Lone surrogates are passed through unchanged.
/// </remarks>
internal static class Nfc
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Dictionary<long, int> Compositions = BuildCompositions();

    private static Dictionary<long, int> BuildCompositions()
    {
        var table = NfcData.Compositions;
        var map = new Dictionary<long, int>(table.Length / 3);
        for (int i = 0; i < table.Length; i += 3) map[Key(table[i], table[i + 1])] = table[i + 2];
        return map;
    }

    private static long Key(int a, int b) => ((long)a << 21) | (uint)b;

    public static string Normalize(string s)
    {
        // Nothing below U+0300 decomposes or composes with a preceding character.
        int firstCandidate = -1;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] >= 0x300) { firstCandidate = i; break; }
        }
        if (firstCandidate < 0) return s;

        // Restart from the last character that is certainly a starter (< U+0300) before the first candidate.
        int start = Math.Max(0, firstCandidate - 1);
        var cps = new List<int>(s.Length);
        for (int i = start; i < s.Length;)
        {
            int cp = s[i];
            int width = 1;
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                cp = char.ConvertToUtf32(s[i], s[i + 1]);
                width = 2;
            }
            Decompose(cp, cps);
            i += width;
        }
        CanonicalOrder(cps);
        Compose(cps);

        var sb = new StringBuilder(s.Length);
        sb.Append(s, 0, start);
        foreach (int cp in cps)
        {
            if (cp <= 0xFFFF) sb.Append((char)cp);
            else sb.Append(char.ConvertFromUtf32(cp));
        }
        string result = sb.ToString();
        return result == s ? s : result;
    }

    internal static int CombiningClass(int cp)
    {
        if (cp < 0x300) return 0;
        var r = NfcData.CccRanges;
        int lo = 0, hi = r.Length / 3 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (cp < r[mid * 3]) hi = mid - 1;
            else if (cp > r[mid * 3 + 1]) lo = mid + 1;
            else return r[mid * 3 + 2];
        }
        return 0;
    }

    private static void Decompose(int cp, List<int> output)
    {
        if (cp < 0xC0) { output.Add(cp); return; }
        int s = cp - SBase;
        if ((uint)s < SCount)
        {
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) output.Add(TBase + s % TCount);
            return;
        }
        int index = NfcData.DecompKeys.BinarySearch(cp);
        if (index < 0) { output.Add(cp); return; }
        var offsets = NfcData.DecompOffsets;
        foreach (int d in NfcData.DecompData[offsets[index]..offsets[index + 1]]) output.Add(d);
    }

    private static void CanonicalOrder(List<int> cps)
    {
        // Stable insertion sort of each run of non-starters by combining class.
        for (int i = 1; i < cps.Count; i++)
        {
            int ccc = CombiningClass(cps[i]);
            if (ccc == 0) continue;
            int j = i;
            int cp = cps[i];
            while (j > 0)
            {
                int prev = CombiningClass(cps[j - 1]);
                if (prev <= ccc) break;
                cps[j] = cps[j - 1];
                j--;
            }
            cps[j] = cp;
        }
    }

    private static void Compose(List<int> cps)
    {
        int write = 0;
        int starter = -1;   // index (in the output) of the last starter
        int lastCcc = -1;   // class of the last char output after that starter; -1 when none
        for (int read = 0; read < cps.Count; read++)
        {
            int cp = cps[read];
            int ccc = CombiningClass(cp);
            if (starter >= 0 && (lastCcc == -1 || (lastCcc != 0 && lastCcc < ccc)) && TryCompose(cps[starter], cp, out int composite))
            {
                cps[starter] = composite;
                continue;
            }
            if (ccc == 0)
            {
                starter = write;
                lastCcc = -1;
            }
            else
            {
                lastCcc = ccc;
            }
            cps[write++] = cp;
        }
        cps.RemoveRange(write, cps.Count - write);
    }

    private static bool TryCompose(int a, int b, out int composite)
    {
        int l = a - LBase, v = b - VBase;
        if ((uint)l < LCount && (uint)v < VCount)
        {
            composite = SBase + (l * VCount + v) * TCount;
            return true;
        }
        int s = a - SBase, t = b - TBase;
        if ((uint)s < SCount && s % TCount == 0 && t > 0 && t < TCount)
        {
            composite = a + t;
            return true;
        }
        return Compositions.TryGetValue(Key(a, b), out composite);
    }
}
