using System.Globalization;
using System.Text;
using Parquet.Serialization;

namespace Sna.Research.Storage;

/// <summary>Exports results to CSV (invariant culture, doubles round-trip "R") and Parquet (Parquet.Net).</summary>
public static class ResultExport
{
    public static readonly string[] CsvColumns =
        ["config_id", "task", "prompt_index", "layer", "count", "multiplier", "positions", "neuron_source",
         "p_base", "p_post", "logprob_base", "logprob_post", "rank_post", "improvement_pct"];

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
        var sb = new StringBuilder();
        foreach (var r in store.ReadResults())
        {
            sb.Clear();
            sb.Append(r.ConfigId.ToString(inv)).Append(',').Append(Field(r.Task)).Append(',').Append(r.PromptIndex.ToString(inv)).Append(',')
              .Append(r.Layer.ToString(inv)).Append(',').Append(r.Count.ToString(inv)).Append(',').Append(R(r.Multiplier)).Append(',')
              .Append(r.Positions).Append(',').Append(Field(r.NeuronSource)).Append(',')
              .Append(R(r.PBase)).Append(',').Append(R(r.PPost)).Append(',').Append(R(r.LogProbBase)).Append(',').Append(R(r.LogProbPost)).Append(',')
              .Append(r.RankPost.ToString(inv)).Append(',').Append(R(r.ImprovementPct));
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
    }

    public static async Task<long> ToParquetAsync(ResultStore store, string path, CancellationToken ct = default)
    {
        var rows = store.ReadResults().Select(r => new ParquetResult
        {
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
