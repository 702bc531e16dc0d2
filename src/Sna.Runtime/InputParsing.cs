using System.Globalization;

namespace Sna.Runtime;

/// <summary>
/// Checked parsing of the numbers a user types (CLI options, request fields, grid syntax): integers that do not fit are
/// errors, never wrapped or clamped; doubles must be finite; every value is range-checked. Failures are
/// <see cref="SnaInputException"/>s naming the option and the allowed range. Invariant culture throughout.
/// </summary>
public static class InputParsing
{
    /// <summary>Largest layer index accepted before a model is known (checked against the model's depth afterwards).</summary>
    public const int MaxLayerIndex = 9_999;
    /// <summary>Largest neuron count or neuron index accepted before a model is known (checked against d_mlp afterwards).</summary>
    public const int MaxNeurons = 1 << 24;
    /// <summary>Largest |multiplier|.</summary>
    public const double MaxMultiplier = 1e6;
    /// <summary>Most values in one list (layers, counts, multipliers, neurons).</summary>
    public const int MaxListLength = 100_000;

    public static long Integer(string text, string option, long min, long max)
    {
        string t = text.Trim();
        if (!long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
        {
            bool digits = t.Length > 0 && t.TrimStart('-', '+').All(char.IsAsciiDigit) && t.TrimStart('-', '+').Length > 0;
            throw new SnaInputException(option, digits
                ? $"{option} must be an integer in {Range(min, max)}, got '{Clip(text)}' (too large)"
                : $"{option} must be an integer in {Range(min, max)}, got '{Clip(text)}'");
        }
        if (v < min || v > max) throw new SnaInputException(option, $"{option} must be an integer in {Range(min, max)}, got {v}");
        return v;
    }

    public static int Int(string text, string option, int min, int max) => (int)Integer(text, option, min, max);

    public static ulong UInt64(string text, string option)
    {
        string t = text.Trim();
        if (!ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v))
            throw new SnaInputException(option, $"{option} must be an integer in 0..{ulong.MaxValue}, got '{Clip(text)}'");
        return v;
    }

    /// <summary>A finite double in [min, max].</summary>
    public static double Double(string text, string option, double min, double max)
    {
        string t = text.Trim();
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            throw new SnaInputException(option, $"{option} must be a number in {RangeD(min, max)}, got '{Clip(text)}'");
        if (!double.IsFinite(v)) throw new SnaInputException(option, $"{option} must be finite, got '{Clip(text)}'");
        if (v < min || v > max) throw new SnaInputException(option, $"{option} must be in {RangeD(min, max)}, got {v.ToString("R", CultureInfo.InvariantCulture)}");
        return v;
    }

    /// <summary>
    /// A multiplier: finite, |m| ≤ <see cref="MaxMultiplier"/>, and not a non-zero value that rounds to 0 in float32 (activations
    /// are float32). 1 leaves the model unchanged, 0 ablates the neurons, a negative value flips their sign.
    /// </summary>
    public static double Multiplier(string text, string option) => CheckMultiplier(Double(text, option, -MaxMultiplier, MaxMultiplier), option);

    public static double CheckMultiplier(double m, string option)
    {
        if (!double.IsFinite(m)) throw new SnaInputException(option, $"{option}: multiplier {m} is not finite");
        if (Math.Abs(m) > MaxMultiplier) throw new SnaInputException(option, $"{option}: multiplier {m.ToString("R", CultureInfo.InvariantCulture)} is outside {RangeD(-MaxMultiplier, MaxMultiplier)}");
        if (m != 0 && (float)m == 0)
            throw new SnaInputException(option, $"{option}: multiplier {m.ToString("R", CultureInfo.InvariantCulture)} rounds to 0 in float32 (use 0 to ablate)");
        return m;
    }

    /// <summary>Comma-separated integers, each in [min, max]; at least one; at most <see cref="MaxListLength"/>.</summary>
    public static int[] IntList(string text, string option, int min, int max, bool distinct = false)
    {
        var parts = Split(text);
        if (parts.Length == 0) throw new SnaInputException(option, $"{option} needs at least one integer in {Range(min, max)}, got '{Clip(text)}'");
        if (parts.Length > MaxListLength) throw new SnaInputException(option, $"{option} has {parts.Length} values; at most {MaxListLength}");
        var v = parts.Select(p => Int(p, option, min, max)).ToArray();
        if (distinct) Distinct(v, option);
        return v;
    }

    /// <summary>
    /// Layers: <c>all</c> (null) or a comma-separated list of indices and ranges <c>a-b</c> (both ends included), e.g.
    /// <c>1-3,5</c>; each index in 0..<see cref="MaxLayerIndex"/>, no repeats.
    /// </summary>
    public static int[]? Layers(string text, string option = "--layers")
    {
        string s = text.Trim();
        if (s.Equals("all", StringComparison.OrdinalIgnoreCase)) return null;
        var parts = Split(s);
        if (parts.Length == 0) throw new SnaInputException(option, $"{option} must be all or a list of layers and ranges such as 1-3,5, got '{Clip(text)}'");
        var list = new List<int>();
        foreach (var p in parts)
        {
            int dash = p.IndexOf('-', 1);
            if (dash > 0)
            {
                int a = Int(p[..dash], option, 0, MaxLayerIndex), b = Int(p[(dash + 1)..], option, 0, MaxLayerIndex);
                if (b < a) throw new SnaInputException(option, $"{option}: range '{p}' is empty (end before start)");
                for (int i = a; i <= b; i++) list.Add(i);
            }
            else list.Add(Int(p, option, 0, MaxLayerIndex));
            if (list.Count > MaxLayerIndex + 1) throw new SnaInputException(option, $"{option} lists more than {MaxLayerIndex + 1} layers");
        }
        var arr = list.ToArray();
        Distinct(arr, option);
        return arr;
    }

    /// <summary>Checks layers against a model's depth.</summary>
    public static int[] CheckLayers(IEnumerable<int>? layers, int nLayers, string option = "--layers")
    {
        var arr = layers?.ToArray() ?? Enumerable.Range(0, nLayers).ToArray();
        foreach (int l in arr) CheckLayer(l, nLayers, option);
        return arr;
    }

    public static int CheckLayer(int layer, int nLayers, string option = "--layer")
    {
        if (layer < 0 || layer >= nLayers)
            throw new SnaInputException(option, $"{option}: layer {layer} is out of range: the model has {nLayers} layers (0..{nLayers - 1})");
        return layer;
    }

    /// <summary>Checks a neuron count against d_mlp (refused, never clamped).</summary>
    public static int CheckCount(int count, int dMlp, string option = "--count")
    {
        if (count < 1 || count > dMlp)
            throw new SnaInputException(option, $"{option} {count} is out of range: the layer has {dMlp} neurons (1..{dMlp})");
        return count;
    }

    public static int[] CheckNeurons(IReadOnlyList<int> neurons, int dMlp, string option = "--neurons")
    {
        if (neurons.Count == 0) throw new SnaInputException(option, $"{option} needs at least one neuron index");
        foreach (int n in neurons)
            if (n < 0 || n >= dMlp) throw new SnaInputException(option, $"{option}: neuron {n} is out of range: the layer has {dMlp} neurons (0..{dMlp - 1})");
        var arr = neurons.ToArray();
        Distinct(arr, option);
        return arr;
    }

    /// <summary>
    /// Multipliers: <c>start:stop:count</c> (count values evenly spaced, both ends included) or a comma-separated list; each a
    /// valid <see cref="Multiplier"/>; count in 1..1000; no repeats.
    /// </summary>
    public static double[] Multipliers(string text, string option = "--multipliers")
    {
        string s = text.Trim();
        var parts = s.Split(':');
        double[] v;
        if (parts.Length == 3)
        {
            double a = Multiplier(parts[0], option), b = Multiplier(parts[1], option);
            int n = Int(parts[2], $"{option} (the count in start:stop:count)", 1, 1000);
            v = n == 1 ? [a] : Enumerable.Range(0, n).Select(i => i == n - 1 ? b : a + i * (b - a) / (n - 1)).ToArray();
            foreach (double m in v) CheckMultiplier(m, option);
        }
        else if (parts.Length == 1)
        {
            var items = Split(s);
            if (items.Length == 0) throw new SnaInputException(option, $"{option} must be start:stop:count or a comma-separated list of numbers, got '{Clip(text)}'");
            if (items.Length > 1000) throw new SnaInputException(option, $"{option} has {items.Length} values; at most 1000");
            v = items.Select(x => Multiplier(x, option)).ToArray();
        }
        else throw new SnaInputException(option, $"{option} must be start:stop:count or a comma-separated list of numbers, got '{Clip(text)}'");
        if (v.Distinct().Count() != v.Length) throw new SnaInputException(option, $"{option} repeats a value ('{Clip(text)}')");
        return v;
    }

    /// <summary>
    /// The one parser of probability bands and zone thresholds: <c>low:high</c> (or <c>low,high</c>), finite, with
    /// 0 ≤ low ≤ high ≤ 1, or with <paramref name="strict"/> 0 &lt; low &lt; high &lt; 1 (zone thresholds, which split (0, 1) in three).
    /// <paramref name="what"/> names the value in the message ("--band", "zone thresholds", …); <paramref name="example"/> shows the form.
    /// </summary>
    public static (double Low, double High) Band(string text, string what, bool strict = false, string example = "0.07:0.10")
    {
        var parts = (text ?? "").Split(':', ',');
        if (parts.Length != 2 || !double.TryParse(parts[0].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double lo)
            || !double.TryParse(parts[1].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double hi) || !double.IsFinite(lo) || !double.IsFinite(hi))
            throw new SnaInputException(what, $"{what} must look like {example}, got '{Clip(text ?? "")}'");
        CheckBand(lo, hi, what, strict);
        return (lo, hi);
    }

    /// <summary>A band as <see cref="Band"/> reads it: <c>0.07:0.10</c> (two decimals at least, round-trip digits beyond).</summary>
    public static string BandText(double low, double high) =>
        $"{low.ToString("0.00##############", CultureInfo.InvariantCulture)}:{high.ToString("0.00##############", CultureInfo.InvariantCulture)}";

    /// <summary>The range rule of <see cref="Band"/> for values given as numbers.</summary>
    public static void CheckBand(double lo, double hi, string what, bool strict)
    {
        bool ok = strict ? lo > 0 && lo < hi && hi < 1 : lo >= 0 && lo <= hi && hi <= 1;
        if (!ok) throw new SnaInputException(what, $"{what} must satisfy {(strict ? "0 < low < high < 1" : "0 ≤ low ≤ high ≤ 1")}, got "
            + $"{lo.ToString("R", CultureInfo.InvariantCulture)}, {hi.ToString("R", CultureInfo.InvariantCulture)}");
    }

    private static void Distinct(int[] v, string option)
    {
        var seen = new HashSet<int>();
        foreach (int x in v) if (!seen.Add(x)) throw new SnaInputException(option, $"{option} repeats {x}");
    }

    private static string[] Split(string s) => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static string Range(long min, long max) => $"{min.ToString(CultureInfo.InvariantCulture)}..{max.ToString(CultureInfo.InvariantCulture)}";

    private static string RangeD(double min, double max) => $"[{min.ToString("G", CultureInfo.InvariantCulture)}, {max.ToString("G", CultureInfo.InvariantCulture)}]";

    /// <summary>A user's text, shortened for an error message.</summary>
    public static string Clip(string s) => s.Length <= 40 ? s : s[..37] + "...";
}
