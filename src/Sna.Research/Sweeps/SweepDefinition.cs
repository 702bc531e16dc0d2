using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sna.Research.Method;
using Sna.Runtime;
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
    /// <summary>
    /// Positions of the discovery means (<c>all</c> | <c>all-but-bos</c> | <c>last</c>, <see cref="Method.DiscoveryPositions"/>);
    /// null = <c>all</c>. Null is not written, so definitions with the default keep the hash they had before this field existed.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DiscoveryPositions { get; init; }
    /// <summary>Weighting of the discovery means (<c>per-text</c> | <c>per-token</c>); null = <c>per-text</c> (not written).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DiscoveryWeighting { get; init; }

    /// <summary>The discovery means this definition asks for (the defaults when its fields are null).</summary>
    [JsonIgnore]
    public Method.DiscoveryMeanOptions DiscoveryMeans => new(
        DiscoveryPositions is null ? Method.DiscoveryPositions.All : Method.DiscoveryMeanOptions.ParsePositions(DiscoveryPositions, "--discovery-positions"),
        DiscoveryWeighting is null ? Method.DiscoveryWeighting.PerText : Method.DiscoveryMeanOptions.ParseWeighting(DiscoveryWeighting, "--discovery-weighting"));

    /// <summary>
    /// What each task resolved to (same order as <see cref="Tasks"/>): name, SHA-256 of its content and where it came from as
    /// given. The content hash is part of <see cref="Hash"/> (a changed task file is a different sweep); the path is not (the
    /// same file reached by another path, e.g. on another node of a cluster, is the same sweep). Null in definitions written
    /// before it existed.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<SweepTaskSource>? TaskSources { get; init; }

    /// <summary>
    /// Neuron source <c>file</c> (<c>sweep --neurons-file</c>): the neuron set file's SHA-256 and path as given. The hash is part
    /// of <see cref="Hash"/> (a resume with a changed file is refused); the path is not. Null for every other source.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SweepNeuronSet? NeuronSet { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, SweepJsonContext.Default.SweepDefinition);

    public static SweepDefinition FromJson(string json) =>
        JsonSerializer.Deserialize(json, SweepJsonContext.Default.SweepDefinition) ?? throw new InvalidDataException("sweep definition: empty JSON");

    /// <summary>SHA-256 (hex) of the canonical JSON: equal definitions, equal hash.</summary>
    public string Hash() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
        (this with
        {
            TaskSources = TaskSources?.Select(t => t with { Path = null }).ToArray(),
            NeuronSet = NeuronSet is null ? null : NeuronSet with { Path = null },
        }).ToJson())));

    /// <summary>
    /// Why <paramref name="stored"/> and this definition differ, in words (a changed task file is named with both hashes and
    /// paths); "the definitions differ" when no field explains it (e.g. a definition stored by another version).
    /// </summary>
    public string DifferenceFrom(SweepDefinition stored)
    {
        var diffs = new List<string>();
        if (stored.TaskSources is { } a && TaskSources is { } b)
            foreach (var now in b)
                if (a.FirstOrDefault(x => x.Name == now.Name) is { } was && was.Sha256 != now.Sha256)
                    diffs.Add($"task '{now.Name}' changed: {was.Path ?? "?"} had sha256 {was.Sha256[..12]}…, {now.Path ?? "?"} now has {now.Sha256[..12]}…");
        if (stored.NeuronSet is { } sa && NeuronSet is { } sb && sa.Sha256 != sb.Sha256)
            diffs.Add($"the neuron set file changed: {sa.Path ?? "?"} had sha256 {sa.Sha256[..12]}…, {sb.Path ?? "?"} now has {sb.Sha256[..12]}…");
        if (!stored.Tasks.SequenceEqual(Tasks, StringComparer.Ordinal)) diffs.Add($"tasks {string.Join(",", stored.Tasks)} vs {string.Join(",", Tasks)}");
        if (stored.Name != Name) diffs.Add($"name '{stored.Name}' vs '{Name}'");
        if (stored.Model != Model) diffs.Add($"model {stored.Model.ContentHash[..Math.Min(12, stored.Model.ContentHash.Length)]}… vs {Model.ContentHash[..Math.Min(12, Model.ContentHash.Length)]}…");
        if (!SameInts(stored.Layers, Layers)) diffs.Add("layers");
        if (!stored.Counts.SequenceEqual(Counts)) diffs.Add("counts");
        if (!stored.Multipliers.SequenceEqual(Multipliers)) diffs.Add("multipliers");
        if (!stored.Positions.SequenceEqual(Positions)) diffs.Add("positions");
        if (stored.NeuronSource != NeuronSource) diffs.Add($"neuron source {stored.NeuronSource} vs {NeuronSource}");
        if (stored.Bos != Bos) diffs.Add("BOS policy");
        if (stored.DiscoveryMeans != DiscoveryMeans) diffs.Add($"discovery means {stored.DiscoveryMeans} vs {DiscoveryMeans}");
        if (stored.TaskSources is null != TaskSources is null) diffs.Add("task sources (the database was written by an older version)");
        return diffs.Count == 0 ? "the definitions differ" : string.Join("; ", diffs);

        static bool SameInts(IReadOnlyList<int>? x, IReadOnlyList<int>? y) => x is null ? y is null : y is not null && x.SequenceEqual(y);
    }

    /// <summary>The layers this sweep intervenes at, given the model's depth.</summary>
    public int[] ResolveLayers(int nLayers) => Layers is null ? Enumerable.Range(0, nLayers).ToArray() : Layers.ToArray();

    /// <summary>Most configurations one sweep may hold (tasks × positions × layers × counts × multipliers).</summary>
    public const long MaxConfigurations = 1_000_000;

    /// <summary>Checks the definition against a model; every problem is an input error naming the option.</summary>
    public void Validate(int nLayers, int dMlp)
    {
        if (Tasks.Count == 0) throw new SnaInputException("--tasks", "a sweep needs at least one task");
        var dup = Tasks.GroupBy(t => t, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new SnaInputException("--tasks", $"task '{dup.Key}' is given twice (task names must be distinct)");
        if (TaskSources is { } ts && !ts.Select(t => t.Name).SequenceEqual(Tasks, StringComparer.Ordinal))
            throw new SnaInputException("--tasks", "the task sources do not list the definition's tasks in order");
        var layers = ResolveLayers(nLayers);
        if (layers.Length == 0) throw new SnaInputException("--layers", "a sweep needs at least one layer");
        if (layers.Distinct().Count() != layers.Length) throw new SnaInputException("--layers", "layers must be distinct");
        InputParsing.CheckLayers(layers, nLayers, "--layers");
        if (Counts.Count == 0 || Counts.Distinct().Count() != Counts.Count) throw new SnaInputException("--counts", "neuron counts must be a non-empty list of distinct values");
        foreach (int c in Counts) InputParsing.CheckCount(c, dMlp, "--counts");
        if (Multipliers.Count == 0 || Multipliers.Distinct().Count() != Multipliers.Count) throw new SnaInputException("--multipliers", "multipliers must be a non-empty list of distinct values");
        foreach (double m in Multipliers) InputParsing.CheckMultiplier(m, "--multipliers");
        if (Positions.Count == 0 || Positions.Distinct().Count() != Positions.Count) throw new SnaInputException("--positions", "positions must be a non-empty list of distinct modes");
        var spec = NeuronSourceSpec.Parse(NeuronSource);
        if (spec.IsFile != NeuronSet is not null)
            throw new SnaInputException("--neurons-file", spec.IsFile ? "the neuron source 'file' needs --neurons-file set.json" : $"--neurons-file sets the neuron source to 'file'; drop --neuron-source {NeuronSource}");
        _ = DiscoveryMeans;
        long total = (long)Tasks.Count * Positions.Count * layers.Length * Counts.Count * Multipliers.Count;
        if (total > MaxConfigurations)
            throw new SnaInputException("--multipliers", $"the grid has {total:N0} configurations ({Tasks.Count} tasks × {Positions.Count} positions × {layers.Length} layers × {Counts.Count} counts × {Multipliers.Count} multipliers); at most {MaxConfigurations:N0}");
    }

    /// <summary>
    /// Parses multipliers: <c>start:stop:count</c> (count values evenly spaced, both ends included: start + i·(stop−start)/(count−1))
    /// or an explicit comma-separated list. Checked (<see cref="InputParsing.Multipliers"/>): finite, not rounding to 0 in float32.
    /// </summary>
    public static double[] ParseMultipliers(string s, string option = "--multipliers") => InputParsing.Multipliers(s, option);


    /// <summary>Neuron counts: distinct integers, each at least 1 (checked against d_mlp by <see cref="Validate"/>).</summary>
    public static int[] ParseCounts(string s, string option = "--counts") => InputParsing.IntList(s, option, 1, InputParsing.MaxNeurons, distinct: true);

    /// <summary><c>all</c>, <c>last</c> or <c>all,last</c> (both).</summary>
    public static PositionsMode[] ParsePositions(string s) => PositionsModes.ParseList(s);

    public static string PositionsName(PositionsMode p) => PositionsModes.Name(p);
}

/// <summary>Where a sweep's task came from: its name, SHA-256 of its content, and the path or name as the user gave it.</summary>
public sealed record SweepTaskSource(string Name, string Sha256, string? Path);

/// <summary>A sweep's neuron set file (<c>--neurons-file</c>): SHA-256 of its bytes and the path as given.</summary>
public sealed record SweepNeuronSet(string Sha256, string? Path);

/// <summary>A parsed neuron source: differential, task-vs-rest, bottom, random with a seed, or file (a neuron set file).</summary>
public readonly record struct NeuronSourceSpec(string Kind, int Seed)
{
    public bool IsRandom => Kind == "random";
    /// <summary>The neurons come from a neuron set file (<see cref="SweepDefinition.NeuronSet"/>).</summary>
    public bool IsFile => Kind == "file";

    public static NeuronSourceSpec Parse(string s)
    {
        s = s.Trim().ToLowerInvariant();
        if (s is "differential" or "task-vs-rest" or "bottom" or "file") return new(s, 0);
        if (s == "contrastive")
            throw new SnaInputException("--neuron-source", "the neuron source 'contrastive' was renamed 'task-vs-rest': it compares each task with the other tasks of the sweep, " +
                                      "not the paper's class-A-vs-class-B contrast (that one is `sna neurons --method contrastive`)");
        if (s.StartsWith("random:", StringComparison.Ordinal) && int.TryParse(s.AsSpan(7), NumberStyles.Integer, CultureInfo.InvariantCulture, out int seed))
            return new("random", seed);
        throw new SnaInputException("--neuron-source", $"--neuron-source must be differential, task-vs-rest, bottom or random:SEED (SEED an integer), got '{s}'");
    }
}

/// <summary>Source-generated JSON for the definition (snake_case, enums as strings; works trimmed and AOT-compiled).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    Converters = [typeof(SnakeEnum<PositionsMode>), typeof(SnakeEnum<BosPolicy>)])]
[JsonSerializable(typeof(SweepDefinition))]
[JsonSerializable(typeof(SweepTaskSource))]
[JsonSerializable(typeof(SweepNeuronSet))]
internal sealed partial class SweepJsonContext : JsonSerializerContext;

internal sealed class SnakeEnum<T>() : JsonStringEnumConverter<T>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) where T : struct, Enum;
