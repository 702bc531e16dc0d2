using Sna.Research.Method;
using Sna.Research.Storage;

namespace Sna.Research.Sweeps;

/// <summary>
/// One configuration over its task's prompts. <see cref="MeanImprovementPct"/> (the headline figure) is the mean over prompts of
/// (P_post − P_base) / P_base × 100; <see cref="RatioOfMeansPct"/> is (mean P_post − mean P_base) / mean P_base × 100, the
/// variant computed on the task's mean probability. They differ when P_base varies across prompts (the mean of ratios weights
/// low-confidence prompts more). Prompts whose improvement is undefined (stored NULL: P_base and P_post both 0) are left out
/// of <see cref="MeanImprovementPct"/> and counted in <see cref="UndefinedPrompts"/>.
/// </summary>
public sealed record ConfigMetrics(int ConfigId, string Task, string Positions, int Layer, int Count, double Multiplier, int Prompts,
                                   double MeanImprovementPct, double RatioOfMeansPct, double MeanPBase, double MeanPPost, int UndefinedPrompts = 0);

/// <summary>A layer's mean improvement averaged over every count and multiplier there (layer specialisation).</summary>
public sealed record LayerMetrics(int Layer, int Configs, double MeanImprovementPct, int PositiveConfigs, int GoldenConfigs);

/// <summary>
/// Per task (and positions mode): success rate = share of configurations with a positive mean gain; golden-zone count =
/// configurations with mean improvement &gt; 10 %; the best configuration; per-layer means; the task's zone from its mean P_base.
/// Only complete configurations (<see cref="ResultStore.CompletedConfigs"/>: a row for every prompt of the task) count;
/// <see cref="IncompleteConfigs"/> says how many were left out. <see cref="UndefinedImprovementRows"/>: rows of the counted
/// configurations whose improvement is undefined (NULL), left out of the means.
/// </summary>
public sealed record TaskMetrics(string Task, string Positions, string NeuronSource, int Prompts, double MeanPBase, int Zone, int Configs,
                                 int IncompleteConfigs, double SuccessRate, int GoldenZoneCount, double MeanImprovementPct,
                                 ConfigMetrics? Best, IReadOnlyList<LayerMetrics> Layers, int UndefinedImprovementRows = 0);

/// <summary>Tasks grouped by baseline zone: means of their per-task mean improvement, best improvement and success rate.</summary>
public sealed record ZoneMetrics(int Zone, int Tasks, double MeanImprovementPct, double MeanBestImprovementPct, double MeanSuccessRate);

public sealed record SweepSummary(IReadOnlyList<TaskMetrics> Tasks, IReadOnlyList<ZoneMetrics> Zones, IReadOnlyList<ConfigMetrics> Configs);

/// <summary>The paper's metrics over a results store.</summary>
public static class SweepMetrics
{
    /// <summary>Golden zone: configurations whose mean improvement exceeds this many percent.</summary>
    public const double GoldenThresholdPct = 10.0;

    /// <summary>Over a store: complete configurations are the store's (<see cref="ResultStore.CompletedConfigs"/>), the same
    /// definition <c>sna report</c> uses.</summary>
    public static SweepSummary Compute(ResultStore store, ZoneThresholds? zones = null) =>
        Compute(store.ReadResults(), store.ReadPrompts(), zones, store.CompletedConfigs().ToHashSet());

    /// <param name="complete">The complete configurations; null: those with a row for every prompt in <paramref name="prompts"/>.</param>
    public static SweepSummary Compute(IEnumerable<ResultRow> results, IEnumerable<PromptRow> prompts, ZoneThresholds? zones = null,
                                       IReadOnlySet<int>? complete = null)
    {
        zones ??= ZoneThresholds.Paper;
        var promptsByTask = prompts.GroupBy(p => p.Task).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var configs = new List<ConfigMetrics>();
        var incomplete = new Dictionary<(string, string), int>();
        var sources = new Dictionary<(string, string), string>();
        foreach (var g in results.GroupBy(r => r.ConfigId))
        {
            var rows = g.ToList();
            var f = rows[0];
            sources[(f.Task, f.Positions)] = f.NeuronSource;
            int n = promptsByTask.TryGetValue(f.Task, out var ps) ? ps.Count : 0;
            if (!(complete?.Contains(f.ConfigId) ?? rows.Count == n)) { incomplete[(f.Task, f.Positions)] = incomplete.GetValueOrDefault((f.Task, f.Positions)) + 1; continue; }
            double mb = rows.Average(r => r.PBase), mp = rows.Average(r => r.PPost);
            var defined = rows.Where(r => !double.IsNaN(r.ImprovementPct)).ToList();
            configs.Add(new ConfigMetrics(f.ConfigId, f.Task, f.Positions, f.Layer, f.Count, f.Multiplier, rows.Count,
                defined.Count > 0 ? defined.Average(r => r.ImprovementPct) : double.NaN, (mp - mb) / mb * 100.0, mb, mp, rows.Count - defined.Count));
        }
        var tasks = new List<TaskMetrics>();
        var keys = configs.Select(c => (c.Task, c.Positions)).Concat(incomplete.Keys).Distinct().OrderBy(k => k.Item1, StringComparer.Ordinal).ThenBy(k => k.Item2, StringComparer.Ordinal);
        foreach (var (task, pos) in keys)
        {
            var all = configs.Where(c => c.Task == task && c.Positions == pos).ToList();
            // A configuration none of whose prompts has a defined improvement cannot be ranked or averaged: left out, counted.
            var cs = all.Where(c => !double.IsNaN(c.MeanImprovementPct)).ToList();
            var ps = promptsByTask.GetValueOrDefault(task) ?? [];
            double meanPBase = ps.Count > 0 ? ps.Average(p => p.PBase) : double.NaN;
            var layers = cs.GroupBy(c => c.Layer).OrderBy(g => g.Key).Select(g => new LayerMetrics(g.Key, g.Count(), g.Average(c => c.MeanImprovementPct),
                g.Count(c => c.MeanImprovementPct > 0), g.Count(c => c.MeanImprovementPct > GoldenThresholdPct))).ToList();
            tasks.Add(new TaskMetrics(task, pos, sources.GetValueOrDefault((task, pos), ""), ps.Count, meanPBase, double.IsNaN(meanPBase) ? 0 : zones.Zone(meanPBase), cs.Count,
                incomplete.GetValueOrDefault((task, pos)),
                cs.Count > 0 ? (double)cs.Count(c => c.MeanImprovementPct > 0) / cs.Count : 0,
                cs.Count(c => c.MeanImprovementPct > GoldenThresholdPct),
                cs.Count > 0 ? cs.Average(c => c.MeanImprovementPct) : double.NaN,
                cs.OrderByDescending(c => c.MeanImprovementPct).ThenBy(c => c.ConfigId).FirstOrDefault(),
                layers, all.Sum(c => c.UndefinedPrompts)));
        }
        var zoneList = tasks.Where(t => t.Configs > 0).GroupBy(t => t.Zone).OrderBy(g => g.Key)
            .Select(g => new ZoneMetrics(g.Key, g.Count(), g.Average(t => t.MeanImprovementPct), g.Average(t => t.Best!.MeanImprovementPct), g.Average(t => t.SuccessRate)))
            .ToList();
        return new SweepSummary(tasks, zoneList, configs);
    }
}
