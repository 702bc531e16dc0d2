using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using Sna.Research.Method;
using Sna.Research.Storage;
using Sna.Research.Sweeps;

namespace Sna.Cli.Commands;

/// <summary><c>sna summary --db results.db [--zones 0.07:0.10] [--json]</c>: the paper's metrics per task.</summary>
public static class SummaryCommand
{
    public static Command Build()
    {
        var db = new Option<string>("--db") { Description = "Results database.", Required = true };
        var zones = new Option<string>("--zones") { Description = "Zone thresholds low:high on P_base.", DefaultValueFactory = _ => "0.07:0.10" };
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var cmd = new Command("summary", "Per-task metrics: mean % improvement, success rate, golden-zone count, best configuration, layer specialisation, zones.") { db, zones, json };
        cmd.SetAction(r =>
        {
            using var store = ResultStore.OpenReadOnly(r.GetValue(db)!);
            var s = SweepMetrics.Compute(store, ZoneThresholds.Parse(r.GetValue(zones)!));
            if (r.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { tasks = s.Tasks, zones = s.Zones }, new JsonSerializerOptions
                {
                    WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
                    TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
                }));
                return 0;
            }
            var t = new Table().AddColumns("task", "positions", "prompts", "mean P_base", "zone", "configs", "mean %", "success", "golden (>10%)", "best");
            foreach (var x in s.Tasks)
                t.AddRow(Markup.Escape(x.Task), x.Positions, x.Prompts.ToString(), x.MeanPBase.ToString("G4"), x.Zone.ToString(), x.Configs + (x.IncompleteConfigs > 0 ? $" (+{x.IncompleteConfigs} incomplete)" : ""),
                    x.MeanImprovementPct.ToString("F2"), x.SuccessRate.ToString("P0"), x.GoldenZoneCount.ToString(),
                    x.Best is null ? "-" : $"L{x.Best.Layer} k{x.Best.Count} ×{x.Best.Multiplier:G4}: {x.Best.MeanImprovementPct:F2}%");
            AnsiConsole.Write(t);
            foreach (var x in s.Tasks)
            {
                var l = new Table().Title($"{Markup.Escape(x.Task)} ({x.Positions}): mean improvement per layer").AddColumns("layer", "mean %", "positive", "golden");
                foreach (var y in x.Layers) l.AddRow(y.Layer.ToString(), y.MeanImprovementPct.ToString("F2"), $"{y.PositiveConfigs}/{y.Configs}", y.GoldenConfigs.ToString());
                AnsiConsole.Write(l);
            }
            var z = new Table().Title("By baseline zone").AddColumns("zone", "tasks", "mean %", "mean best %", "mean success");
            foreach (var y in s.Zones) z.AddRow(y.Zone.ToString(), y.Tasks.ToString(), y.MeanImprovementPct.ToString("F2"), y.MeanBestImprovementPct.ToString("F2"), y.MeanSuccessRate.ToString("P0"));
            AnsiConsole.Write(z);
            return 0;
        });
        return cmd;
    }
}
