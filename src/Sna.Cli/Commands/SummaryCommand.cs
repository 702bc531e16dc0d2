using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Sna.Cli.Output;
using Sna.Research.Formatting;
using Sna.Research.Provenance;
using System.Text.Json.Nodes;
using Sna.Research.Method;
using Sna.Research.Storage;
using Sna.Research.Sweeps;

namespace Sna.Cli.Commands;

/// <summary><c>sna summary --db results.db [--zones 0.07:0.10] [--json]</c>: the paper's metrics per task.</summary>
public static class SummaryCommand
{
    public static Command Build()
    {
        var db = Options.Db("Results database of sna sweep.");
        var zones = Options.Zones();
        var json = Options.Json("tasks, zones, per-task prompts and neurons, model and run records");
        var format = TableOutput.FormatOption();
        var cmd = new Command("summary", "Per-task metrics: mean % improvement, success rate, golden-zone count, best configuration, layer specialisation, zones.") { db, zones, json, format };
        cmd.SetAction(r =>
        {
            using var store = ResultStore.OpenReadOnly(r.GetValue(db)!);
            var s = SweepMetrics.Compute(store, r.GetValue(zones)!);
            var fmt = TableOutput.Resolve(r.GetValue(format), r.GetValue(json));
            if (fmt == OutputFormat.Json)
            {
                Console.WriteLine(Json(store, s).ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
                return 0;
            }
            var tasks = new TextTable("tasks", "task", "positions", "prompts", "mean P_base", "zone", "configs", "incomplete", "mean %", "success", "golden (>10%)", "best", "best %");
            foreach (var x in s.Tasks)
                tasks.Add(x.Task, x.Positions, x.Prompts.ToString(CultureInfo.InvariantCulture), Num.Prob(x.MeanPBase), x.Zone.ToString(CultureInfo.InvariantCulture),
                    x.Configs.ToString(CultureInfo.InvariantCulture), x.IncompleteConfigs.ToString(CultureInfo.InvariantCulture),
                    Num.Pct(x.MeanImprovementPct), Num.Share(x.SuccessRate), x.GoldenZoneCount.ToString(CultureInfo.InvariantCulture),
                    x.Best is null ? Num.Missing : $"L{x.Best.Layer} k{x.Best.Count} x{Num.Sig(x.Best.Multiplier, 4)}",
                    x.Best is null ? Num.Missing : Num.Pct(x.Best.MeanImprovementPct));
            var layers = new TextTable("layers", "task", "positions", "layer", "mean %", "positive", "configs", "golden") { Title = "Mean improvement per layer (layer specialisation)" };
            foreach (var x in s.Tasks)
                foreach (var y in x.Layers)
                    layers.Add(x.Task, x.Positions, y.Layer.ToString(CultureInfo.InvariantCulture), Num.Pct(y.MeanImprovementPct),
                        y.PositiveConfigs.ToString(CultureInfo.InvariantCulture), y.Configs.ToString(CultureInfo.InvariantCulture), y.GoldenConfigs.ToString(CultureInfo.InvariantCulture));
            var zt = new TextTable("zones", "zone", "tasks", "mean %", "mean best %", "mean success") { Title = "By baseline zone" };
            foreach (var y in s.Zones)
                zt.Add(y.Zone.ToString(CultureInfo.InvariantCulture), y.Tasks.ToString(CultureInfo.InvariantCulture), Num.Pct(y.MeanImprovementPct), Num.Pct(y.MeanBestImprovementPct), Num.Share(y.MeanSuccessRate));
            TableOutput.Write(fmt, tasks, layers, zt);
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// The <c>summary --json</c> document: <c>tasks</c> (metrics, best configuration with its neurons, the task's prompts with text,
    /// target and rank_base, and the neurons of every (layer, count) it swept), <c>zones</c>, <c>model</c> and <c>run</c>.
    /// </summary>
    public static JsonObject Json(ResultStore store, SweepSummary s)
    {
        var opts = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
            TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
        };
        var neurons = store.ReadNeurons();
        var prompts = store.ReadPrompts().GroupBy(p => p.Task).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var tasks = new JsonArray();
        foreach (var t in s.Tasks)
        {
            var o = JsonSerializer.SerializeToNode(t, opts)!.AsObject();
            if (t.Best is not null && o["best"] is JsonObject best)
                best["neurons"] = neurons.TryGetValue((t.Task, t.Best.Layer, t.Best.Count), out var bn) ? new JsonArray(bn.Select(i => (JsonNode)i).ToArray()) : null;
            o["neurons"] = new JsonArray(neurons.Where(kv => kv.Key.Task == t.Task).OrderBy(kv => kv.Key.Layer).ThenBy(kv => kv.Key.Count)
                .Select(kv => (JsonNode)new JsonObject
                {
                    ["layer"] = kv.Key.Layer, ["count"] = kv.Key.Count, ["neurons"] = new JsonArray(kv.Value.Select(i => (JsonNode)i).ToArray()),
                }).ToArray());
            o["prompt_rows"] = new JsonArray((prompts.GetValueOrDefault(t.Task) ?? []).Select(p => (JsonNode)new JsonObject
            {
                ["prompt_index"] = p.PromptIndex, ["text"] = p.Text, ["target"] = p.Target, ["target_id"] = p.TargetId,
                ["p_base"] = p.PBase, ["logprob_base"] = p.LogProbBase, ["rank_base"] = p.RankBase,
            }).ToArray());
            tasks.Add(o);
        }
        var root = new JsonObject { ["tasks"] = tasks, ["zones"] = JsonSerializer.SerializeToNode(s.Zones, opts) };
        if (SweepRecord.Read(store) is { } rec)
        {
            rec.Run["sna_version"] = Common.Version; // the reading tool's version, as --version prints it
            root["model"] = rec.Model; root["run"] = rec.Run;
        }
        return root;
    }
}
