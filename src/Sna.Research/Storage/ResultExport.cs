using System.Globalization;
using System.Text;
using Parquet.Serialization;

namespace Sna.Research.Storage;

/// <summary>
/// Exports results to CSV (invariant culture, doubles round-trip "R") and Parquet (Parquet.Net). Besides the result columns each
/// row carries its prompt (<c>prompt</c>, <c>target</c>, <c>rank_base</c>), the configuration's <c>neurons</c> (space-separated
/// indices) and the sweep's provenance (<c>sweep</c>, <c>model</c>, <c>model_hash</c>), so a file is self-describing in pandas and
/// <c>sna report --csv</c> knows the model.
/// </summary>
public static class ResultExport
{
    public static readonly string[] CsvColumns =
        ["config_id", "task", "prompt_index", "layer", "count", "multiplier", "positions", "neuron_source",
         "p_base", "p_post", "logprob_base", "logprob_post", "rank_post", "improvement_pct",
         "rank_base", "prompt", "target", "neurons", "sweep", "model", "model_hash"];

    /// <summary>What the result rows do not hold: prompts, neurons and the sweep's provenance.</summary>
    private sealed class Context(ResultStore store)
    {
        public readonly Dictionary<(string, int), PromptRow> Prompts = store.ReadPrompts().ToDictionary(p => (p.Task, p.PromptIndex));
        public readonly Dictionary<(string Task, int Layer, int Count), int[]> Neurons = store.ReadNeurons();
        public readonly string Sweep = store.ReadDefinition()?.Definition.Name ?? "";
        public readonly string Model = store.ReadDefinition()?.Definition.Model.Path ?? "";
        public readonly string ModelHash = store.ReadDefinition()?.Definition.Model.ContentHash ?? "";
        public PromptRow? Prompt(ResultRow r) => Prompts.GetValueOrDefault((r.Task, r.PromptIndex));
        public string NeuronList(ResultRow r) => Neurons.TryGetValue((r.Task, r.Layer, r.Count), out var n) ? string.Join(' ', n) : "";
    }

    public static long ToCsv(ResultStore store, string path)
    {
        using var w = new StreamWriter(path, false, new UTF8Encoding(false));
        return ToCsv(store, w);
    }

    public static long ToCsv(ResultStore store, TextWriter w)
    {
        w.NewLine = "\n";
        w.WriteLine(string.Join(',', CsvColumns));
        long n = 0;
        var inv = CultureInfo.InvariantCulture;
        var ctx = new Context(store);
        var sb = new StringBuilder();
        foreach (var r in store.ReadResults())
        {
            sb.Clear();
            sb.Append(r.ConfigId.ToString(inv)).Append(',').Append(Field(r.Task)).Append(',').Append(r.PromptIndex.ToString(inv)).Append(',')
              .Append(r.Layer.ToString(inv)).Append(',').Append(r.Count.ToString(inv)).Append(',').Append(R(r.Multiplier)).Append(',')
              .Append(r.Positions).Append(',').Append(Field(r.NeuronSource)).Append(',')
              .Append(R(r.PBase)).Append(',').Append(R(r.PPost)).Append(',').Append(R(r.LogProbBase)).Append(',').Append(R(r.LogProbPost)).Append(',')
              .Append(r.RankPost.ToString(inv)).Append(',').Append(R(r.ImprovementPct)).Append(',');
            var p = ctx.Prompt(r);
            sb.Append(p is null ? "" : p.RankBase.ToString(inv)).Append(',').Append(Field(p?.Text ?? "")).Append(',').Append(Field(p?.Target ?? "")).Append(',')
              .Append(ctx.NeuronList(r)).Append(',').Append(Field(ctx.Sweep)).Append(',').Append(Field(ctx.Model)).Append(',').Append(ctx.ModelHash);
            w.WriteLine(sb);
            n++;
        }
        return n;
    }

    private static string R(double x) => x.ToString("R", CultureInfo.InvariantCulture);

    private static string Field(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    /// <summary>A Parquet row (column names as in the CSV).</summary>
    public sealed class ParquetResult
    {
        [System.Text.Json.Serialization.JsonPropertyName("config_id")] public int ConfigId { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("task")] public string Task { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("prompt_index")] public int PromptIndex { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("layer")] public int Layer { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("count")] public int Count { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("multiplier")] public double Multiplier { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("positions")] public string Positions { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("neuron_source")] public string NeuronSource { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("p_base")] public double PBase { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("p_post")] public double PPost { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("logprob_base")] public double LogProbBase { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("logprob_post")] public double LogProbPost { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("rank_post")] public int RankPost { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("improvement_pct")] public double ImprovementPct { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("rank_base")] public int? RankBase { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("prompt")] public string Prompt { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("target")] public string Target { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("neurons")] public string Neurons { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("sweep")] public string Sweep { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("model")] public string Model { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("model_hash")] public string ModelHash { get; set; } = "";
    }

    public static async Task<long> ToParquetAsync(ResultStore store, string path, CancellationToken ct = default)
    {
        var ctx = new Context(store);
        var rows = store.ReadResults().Select(r => new ParquetResult
        {
            RankBase = ctx.Prompt(r)?.RankBase, Prompt = ctx.Prompt(r)?.Text ?? "", Target = ctx.Prompt(r)?.Target ?? "",
            Neurons = ctx.NeuronList(r), Sweep = ctx.Sweep, Model = ctx.Model, ModelHash = ctx.ModelHash,
            ConfigId = r.ConfigId, Task = r.Task, PromptIndex = r.PromptIndex, Layer = r.Layer, Count = r.Count, Multiplier = r.Multiplier,
            Positions = r.Positions, NeuronSource = r.NeuronSource, PBase = r.PBase, PPost = r.PPost, LogProbBase = r.LogProbBase,
            LogProbPost = r.LogProbPost, RankPost = r.RankPost, ImprovementPct = r.ImprovementPct,
        }).ToList();
        var def = store.ReadDefinition();
        var meta = new Dictionary<string, string>();
        if (def is not null) { meta["sna.sweep.definition"] = def.Value.Definition.ToJson(); meta["sna.sweep.hash"] = def.Value.Hash; }
        await using var fs = File.Create(path);
        await ParquetSerializer.SerializeAsync(rows, fs, null, meta, ct);
        return rows.Count;
    }
}
