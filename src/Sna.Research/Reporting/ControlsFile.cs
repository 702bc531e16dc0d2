using Sna.Runtime;
using System.Text.Json;
using Sna.Research.Analysis;

namespace Sna.Research.Reporting;

/// <summary>
/// Reads the output of <c>sna controls --json</c> (one object, an array of them, or one object per line) as
/// <see cref="ControlComparison"/>s for the report (<c>sna report --controls FILE</c>).
/// </summary>
public static class ControlsFile
{
    /// <summary>Parses <paramref name="path"/>; a malformed file raises <see cref="SnaInputException"/> naming the file.</summary>
    public static IReadOnlyList<ControlComparison> Read(string path)
    {
        string text = File.ReadAllText(path);
        try { return Parse(text); }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new SnaInputException("--controls", $"{path}: not the output of `sna controls --json` ({e.Message})", e);
        }
    }

    /// <summary>Parses the text of one or more <c>sna controls --json</c> results.</summary>
    public static IReadOnlyList<ControlComparison> Parse(string text)
    {
        var list = new List<ControlComparison>();
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('['))
        {
            using var doc = JsonDocument.Parse(trimmed);
            foreach (var e in doc.RootElement.EnumerateArray()) list.Add(One(e));
        }
        else
        {
            // One object, or JSON lines (each `sna controls --json` run prints one line).
            var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(trimmed), new JsonReaderOptions { AllowMultipleValues = true });
            while (JsonDocument.TryParseValue(ref reader, out var doc))
                using (doc) list.Add(One(doc.RootElement));
        }
        if (list.Count == 0) throw new InvalidOperationException("no controls result found");
        return list;
    }

    private static ControlComparison One(JsonElement e)
    {
        var c = e.GetProperty("configuration");
        var cfg = new SweepConfiguration(c.GetProperty("layer").GetInt32(), c.GetProperty("count").GetInt32(), c.GetProperty("multiplier").GetDouble(),
            c.GetProperty("positions").GetString()!, c.GetProperty("neuron_source").GetString()!);
        static double Num(JsonElement x) => x.ValueKind == JsonValueKind.Number ? x.GetDouble() : double.NaN;
        var random = e.TryGetProperty("random", out var r) && r.ValueKind == JsonValueKind.Object && r.TryGetProperty("sets", out var sets)
            ? sets.EnumerateArray().Select(s => Num(s.GetProperty("improvement_pct"))).ToArray() : [];
        double? bottom = e.TryGetProperty("bottom_k", out var b) && b.ValueKind == JsonValueKind.Object ? Num(b.GetProperty("improvement_pct")) : null;
        return new ControlComparison(e.GetProperty("task").GetString()!, cfg, Num(e.GetProperty("task_neurons").GetProperty("improvement_pct")), random, bottom);
    }
}
