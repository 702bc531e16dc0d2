using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sna.Research.Method;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Sweeps;

/// <summary>The model a sweep ran on: where it was loaded from and the checkpoint's content hash.</summary>
public sealed record SweepModel(string Path, string ContentHash);

/// <summary>
/// A full-factorial sweep (the paper's grid): tasks × positions × layers × neuron counts × multipliers. JSON-serialisable
/// and stored with the results; <see cref="Hash"/> identifies it (resume and merge refuse a different one).
/// <para>Defaults follow the paper: counts 3,5,8,10,15,20,25; twelve multipliers evenly spaced 1.1..2.4; all layers;
/// positions = all; differential neurons; BOS prepended.</para>
/// </summary>
public sealed record SweepDefinition
{
    public static readonly int[] DefaultCounts = [3, 5, 8, 10, 15, 20, 25];
    public const string DefaultMultipliers = "1.1:2.4:12";

    public string Name { get; init; } = "sweep";
    public required SweepModel Model { get; init; }
    public required IReadOnlyList<string> Tasks { get; init; }
    /// <summary>Layers to intervene at; null = every layer of the model (resolved with <see cref="ResolveLayers"/>).</summary>
    public IReadOnlyList<int>? Layers { get; init; }
    public IReadOnlyList<int> Counts { get; init; } = DefaultCounts;
    public IReadOnlyList<double> Multipliers { get; init; } = ParseMultipliers(DefaultMultipliers);
    public IReadOnlyList<PositionsMode> Positions { get; init; } = [PositionsMode.All];
    /// <summary><c>differential</c> | <c>contrastive</c> | <c>random:SEED</c>.</summary>
    public string NeuronSource { get; init; } = "differential";
    public BosPolicy Bos { get; init; } = BosPolicy.Prepend;

    public string ToJson() => JsonSerializer.Serialize(this, SweepJsonContext.Default.SweepDefinition);

    public static SweepDefinition FromJson(string json) =>
        JsonSerializer.Deserialize(json, SweepJsonContext.Default.SweepDefinition) ?? throw new InvalidDataException("sweep definition: empty JSON");

    /// <summary>SHA-256 (hex) of the canonical JSON: equal definitions, equal hash.</summary>
    public string Hash() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToJson())));

    /// <summary>The layers this sweep intervenes at, given the model's depth.</summary>
    public int[] ResolveLayers(int nLayers) => Layers is null ? Enumerable.Range(0, nLayers).ToArray() : Layers.ToArray();

    public void Validate(int nLayers, int dMlp)
    {
        if (Tasks.Count == 0) throw new ArgumentException("a sweep needs at least one task");
        if (Tasks.Distinct(StringComparer.Ordinal).Count() != Tasks.Count) throw new ArgumentException("task names must be distinct");
        var layers = ResolveLayers(nLayers);
        if (layers.Length == 0) throw new ArgumentException("a sweep needs at least one layer");
        if (layers.Distinct().Count() != layers.Length) throw new ArgumentException("layers must be distinct");
        foreach (int l in layers) if (l < 0 || l >= nLayers) throw new ArgumentOutOfRangeException(nameof(Layers), $"layer {l} is out of range: the model has {nLayers} layers (0..{nLayers - 1})");
        if (Counts.Count == 0 || Counts.Distinct().Count() != Counts.Count) throw new ArgumentException("neuron counts must be a non-empty list of distinct values");
        foreach (int c in Counts) if (c < 1 || c > dMlp) throw new ArgumentOutOfRangeException(nameof(Counts), $"neuron count {c} must be in 1..{dMlp}");
        if (Multipliers.Count == 0 || Multipliers.Distinct().Count() != Multipliers.Count) throw new ArgumentException("multipliers must be a non-empty list of distinct values");
        foreach (double m in Multipliers) if (!double.IsFinite(m)) throw new ArgumentOutOfRangeException(nameof(Multipliers), $"multiplier {m} is not finite");
        if (Positions.Count == 0 || Positions.Distinct().Count() != Positions.Count) throw new ArgumentException("positions must be a non-empty list of distinct modes");
        NeuronSourceSpec.Parse(NeuronSource);
    }

    /// <summary>
    /// Parses multipliers: <c>start:stop:count</c> (count values evenly spaced, both ends included: start + i·(stop−start)/(count−1))
    /// or an explicit comma-separated list. Invariant culture.
    /// </summary>
    public static double[] ParseMultipliers(string s)
    {
        s = s.Trim();
        var parts = s.Split(':');
        if (parts.Length == 3)
        {
            double a = D(parts[0]), b = D(parts[1]);
            int n = int.Parse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture);
            if (n < 1) throw new FormatException($"multiplier range '{s}': count must be ≥ 1");
            if (n == 1) return [a];
            return Enumerable.Range(0, n).Select(i => i == n - 1 ? b : a + i * (b - a) / (n - 1)).ToArray();
        }
        if (parts.Length != 1) throw new FormatException($"multipliers must be start:stop:count or a comma-separated list, got '{s}'");
        return s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(D).ToArray();

        static double D(string x) => double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? v : throw new FormatException($"'{x}' is not a number");
    }

    /// <summary>Parses layers: <c>all</c> (null), a list <c>0,3,5</c> or ranges <c>0-11</c>.</summary>
    public static int[]? ParseLayers(string s)
    {
        s = s.Trim();
        if (s.Equals("all", StringComparison.OrdinalIgnoreCase)) return null;
        var list = new List<int>();
        foreach (var p in s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = p.IndexOf('-', 1);
            if (dash > 0) { int a = I(p[..dash]), b = I(p[(dash + 1)..]); for (int i = a; i <= b; i++) list.Add(i); }
            else list.Add(I(p));
        }
        return list.ToArray();
        static int I(string x) => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw new FormatException($"'{x}' is not a layer index");
    }

    public static int[] ParseCounts(string s) =>
        s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
         .Select(x => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw new FormatException($"'{x}' is not a neuron count")).ToArray();

    /// <summary><c>all</c>, <c>last</c> or <c>all,last</c> (both).</summary>
    public static PositionsMode[] ParsePositions(string s) =>
        s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => p.ToLowerInvariant() switch
        {
            "all" => PositionsMode.All,
            "last" => PositionsMode.Last,
            _ => throw new FormatException($"positions must be all, last or all,last, got '{p}'"),
        }).ToArray();

    public static string PositionsName(PositionsMode p) => p == PositionsMode.Last ? "last" : "all";
}

/// <summary>A parsed neuron source: differential, contrastive, or random with a seed.</summary>
public readonly record struct NeuronSourceSpec(string Kind, int Seed)
{
    public bool IsRandom => Kind == "random";

    public static NeuronSourceSpec Parse(string s)
    {
        s = s.Trim().ToLowerInvariant();
        if (s is "differential" or "contrastive" or "bottom") return new(s, 0);
        if (s.StartsWith("random:", StringComparison.Ordinal) && int.TryParse(s.AsSpan(7), NumberStyles.Integer, CultureInfo.InvariantCulture, out int seed))
            return new("random", seed);
        throw new FormatException($"neuron source must be differential, contrastive, bottom or random:SEED, got '{s}'");
    }
}

/// <summary>Source-generated JSON for the definition (snake_case, enums as strings; works trimmed and AOT-compiled).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    Converters = [typeof(SnakeEnum<PositionsMode>), typeof(SnakeEnum<BosPolicy>)])]
[JsonSerializable(typeof(SweepDefinition))]
internal sealed partial class SweepJsonContext : JsonSerializerContext;

internal sealed class SnakeEnum<T>() : JsonStringEnumConverter<T>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) where T : struct, Enum;
