using System.Globalization;

namespace Sna.Bench;

/// <summary>The benchmarks' one option reader: <c>--name VALUE</c> pairs and <c>--flag</c> switches (invariant culture).</summary>
public static class BenchArgs
{
    /// <summary>Whether <paramref name="name"/> is present.</summary>
    public static bool Flag(string[] args, string name) => args.Contains(name);

    /// <summary>The value after <paramref name="name"/>, or <paramref name="fallback"/> when absent or last.</summary>
    public static string? String(string[] args, string name, string? fallback = null)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    /// <summary>The integer after <paramref name="name"/>, or <paramref name="fallback"/> when absent or not an integer.</summary>
    public static int Int(string[] args, string name, int fallback) =>
        int.TryParse(String(args, name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : fallback;

    /// <summary>The comma-separated list after <paramref name="name"/> (<c>--layers 1,3,5</c>), or null when absent.</summary>
    public static T[]? List<T>(string[] args, string name, Func<string, T> parse) =>
        String(args, name)?.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(parse).ToArray();

    /// <summary>Floats in invariant culture, for <see cref="List{T}"/>.</summary>
    public static float Float(string s) => float.Parse(s, CultureInfo.InvariantCulture);
}
