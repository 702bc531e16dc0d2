using System.Text.Json;

namespace Sna.Runtime.Hub;

/// <summary>The files SNA needs from a model repo, and checks on a model directory.</summary>
public static class ModelFiles
{
    public const string Config = "config.json";
    public const string Safetensors = "model.safetensors";
    public const string SafetensorsIndex = "model.safetensors.index.json";
    public const string PytorchBin = "pytorch_model.bin";
    public const string PytorchBinIndex = "pytorch_model.bin.index.json";

    /// <summary>Tokenizer files fetched when present in the repo (a 404 on any of them is fine).</summary>
    public static IReadOnlyList<string> TokenizerFiles { get; } =
        ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json"];

    internal const string MissingWeightsDescription = "model.safetensors (or model.safetensors.index.json and its shards, or pytorch_model.bin, or pytorch_model.bin.index.json and its shards)";
    internal const string MissingTokenizerDescription = "tokenizer.json (or vocab.json + merges.txt)";

    /// <summary>Shard file names listed in a <c>model.safetensors.index.json</c> (or <c>pytorch_model.bin.index.json</c>) weight_map, in first-seen order.</summary>
    public static IReadOnlyList<string> ParseShardIndex(string json)
    {
        using var doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            throw new FormatException("safetensors index has no \"weight_map\" object");
        var shards = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in map.EnumerateObject())
        {
            string shard = p.Value.GetString() ?? throw new FormatException($"weight_map entry {p.Name} is not a string");
            if (!IsSafeRelativePath(shard)) throw new FormatException($"unsafe shard path in safetensors index: {shard}");
            if (seen.Add(shard)) shards.Add(shard);
        }
        return shards;
    }

    /// <summary>A repo-relative path with '/' separators, no rooted or '..' segments.</summary>
    public static bool IsSafeRelativePath(string path)
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\\') || path.StartsWith('/') || Path.IsPathRooted(path)) return false;
        foreach (var seg in path.Split('/'))
            if (seg.Length == 0 || seg == "." || seg == "..") return false;
        return true;
    }

    /// <summary>
    /// What a model directory lacks to be loadable: config.json, weights (model.safetensors, or its index + all
    /// shards; else pytorch_model.bin, or its index + all shards) and a tokenizer (tokenizer.json, or vocab.json +
    /// merges.txt). Empty when complete.
    /// </summary>
    public static IReadOnlyList<string> FindMissing(string modelDir)
    {
        var missing = new List<string>();
        if (!HubCache.FileUsable(Path.Combine(modelDir, Config))) missing.Add(Config);
        if (!HubCache.FileUsable(Path.Combine(modelDir, Safetensors)) && !HubCache.FileUsable(Path.Combine(modelDir, PytorchBin)))
        {
            string index = Path.Combine(modelDir, SafetensorsIndex);
            if (!HubCache.FileUsable(index)) index = Path.Combine(modelDir, PytorchBinIndex);
            if (!HubCache.FileUsable(index)) missing.Add(MissingWeightsDescription);
            else
            {
                IReadOnlyList<string> shards;
                try { shards = ParseShardIndex(File.ReadAllText(index)); }
                catch (Exception e) when (e is JsonException or FormatException or IOException)
                {
                    missing.Add($"{Path.GetFileName(index)} (unreadable: {e.Message})");
                    shards = [];
                }
                foreach (var s in shards)
                    if (!HubCache.FileUsable(Path.Combine(modelDir, s))) missing.Add(s);
            }
        }
        bool tok = HubCache.FileUsable(Path.Combine(modelDir, "tokenizer.json")) ||
                   (HubCache.FileUsable(Path.Combine(modelDir, "vocab.json")) && HubCache.FileUsable(Path.Combine(modelDir, "merges.txt")));
        if (!tok) missing.Add(MissingTokenizerDescription);
        return missing;
    }
}
