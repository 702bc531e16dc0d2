using Sna.Research.Method;

namespace Sna.Research.Analysis;

/// <summary>One configuration of one task, averaged over the task's prompts.</summary>
/// <param name="Configuration">The configuration.</param>
/// <param name="Prompts">Prompts measured with it.</param>
/// <param name="MeanImprovementPct">Mean over prompts of the per-prompt % improvement (the paper's configuration improvement).</param>
/// <param name="MeanPBase">Mean P_base over those prompts.</param>
/// <param name="MeanPPost">Mean P_post over those prompts.</param>
public sealed record ConfigurationResult(SweepConfiguration Configuration, int Prompts, double MeanImprovementPct, double MeanPBase, double MeanPPost)
{
    /// <summary>100 (mean P_post − mean P_base) / mean P_base over the prompts (<c>improvement_of_means_pct</c>).</summary>
    public double ImprovementOfMeansPct => Scoring.ImprovementPct(MeanPBase, MeanPPost);
    /// <summary>Median over prompts of the per-prompt % improvement (<c>median_improvement_pct</c>; NaN if one is not finite).</summary>
    public double MedianImprovementPct { get; init; } = double.NaN;
}

/// <summary>Per-task summary with the paper's definitions (see <see cref="TaskSummaries.Compute"/>).</summary>
/// <param name="Task">Task name.</param>
/// <param name="Domain">Task type.</param>
/// <param name="Level">Difficulty level ("" when unknown).</param>
/// <param name="Prompts">Distinct prompts.</param>
/// <param name="Configurations">Distinct configurations.</param>
/// <param name="Baseline">Mean P_base over the task's prompts (each prompt's P_base first averaged over its rows).</param>
/// <param name="MeanImprovementPct">Mean over configurations of the configuration improvement.</param>
/// <param name="MaxImprovementPct">Largest configuration improvement.</param>
/// <param name="SuccessRate">Share of configurations with improvement &gt; 0.</param>
/// <param name="GoldenZoneCount">Configurations with improvement &gt; the golden threshold (default 10%).</param>
/// <param name="Zone">1, 2 or 3 by <see cref="Baseline"/> under the report's <see cref="ZoneThresholds"/>.</param>
/// <param name="Best">The configuration with the largest improvement (ties: the first in configuration order).</param>
/// <param name="BestLayer">Layer with the highest mean improvement averaged over all its configurations (counts, multipliers, ...).</param>
/// <param name="LayerMeanImprovementPct">Mean configuration improvement per layer (ascending layers).</param>
/// <param name="Localization">Best layer's share of the total positive gain across layers: max_L g⁺_L / Σ_L g⁺_L with g⁺ = max(0, layer mean); 0 when no layer gains.</param>
/// <param name="ConfigurationResults">All configurations, in configuration order.</param>
public sealed record TaskSummary(
    string Task, string Domain, string Level, int Prompts, int Configurations, double Baseline,
    double MeanImprovementPct, double MaxImprovementPct, double SuccessRate, int GoldenZoneCount, int Zone,
    ConfigurationResult Best, int BestLayer, IReadOnlyDictionary<int, double> LayerMeanImprovementPct, double Localization,
    IReadOnlyList<ConfigurationResult> ConfigurationResults)
{
    /// <summary>Mean over configurations of <see cref="ConfigurationResult.ImprovementOfMeansPct"/>.</summary>
    public double MeanImprovementOfMeansPct => ConfigurationResults.Average(c => c.ImprovementOfMeansPct);
    /// <summary>Mean over configurations of <see cref="ConfigurationResult.MedianImprovementPct"/>.</summary>
    public double MeanMedianImprovementPct => ConfigurationResults.Average(c => c.MedianImprovementPct);
}

/// <summary>Computes <see cref="TaskSummary"/> rows from sweep rows.</summary>
public static class TaskSummaries
{
    /// <summary>Paper's golden-zone threshold on a configuration's improvement, in percent.</summary>
    public const double DefaultGoldenThresholdPct = 10.0;

    /// <summary>
    /// Per-task summaries, in order of first appearance of the task. A configuration = (layer, count, multiplier,
    /// positions, neuron source); its improvement = mean over the task's prompts of the per-prompt % improvement
    /// (rows with a non-finite improvement must be removed beforehand). Tasks with no rows are absent.
    /// </summary>
    public static IReadOnlyList<TaskSummary> Compute(SweepResultSet set, ZoneThresholds? zones = null,
        double goldenThresholdPct = DefaultGoldenThresholdPct)
    {
        ArgumentNullException.ThrowIfNull(set);
        zones ??= ZoneThresholds.Paper;
        zones.Validate();
        var result = new List<TaskSummary>();
        foreach (var group in set.Rows.GroupBy(r => r.Task, StringComparer.Ordinal))
        {
            var rows = group.ToArray();
            var first = rows[0];
            var byPrompt = rows.GroupBy(r => r.PromptIndex).ToArray();
            double baseline = byPrompt.Select(g => g.Average(r => r.PBase)).Average();

            var configs = rows.GroupBy(r => r.Configuration)
                .Select(g =>
                {
                    var perPrompt = g.GroupBy(r => r.PromptIndex).Select(p => p.Average(r => r.ImprovementPct)).ToArray();
                    return new ConfigurationResult(g.Key, perPrompt.Length, perPrompt.Average(), g.Average(r => r.PBase), g.Average(r => r.PPost))
                    {
                        MedianImprovementPct = perPrompt.All(double.IsFinite) ? Descriptive.Median(perPrompt) : double.NaN,
                    };
                })
                .OrderBy(c => c.Configuration)
                .ToArray();

            var improvements = configs.Select(c => c.MeanImprovementPct).ToArray();
            ConfigurationResult best = configs[0];
            foreach (var c in configs) if (c.MeanImprovementPct > best.MeanImprovementPct) best = c;

            var layerMeans = new SortedDictionary<int, double>();
            foreach (var g in configs.GroupBy(c => c.Configuration.Layer))
                layerMeans[g.Key] = g.Average(c => c.MeanImprovementPct);
            int bestLayer = layerMeans.First().Key;
            foreach (var (layer, mean) in layerMeans) if (mean > layerMeans[bestLayer]) bestLayer = layer;

            result.Add(new TaskSummary(first.Task, first.Domain, first.Level, byPrompt.Length, configs.Length, baseline,
                improvements.Average(), improvements.Max(), improvements.Count(v => v > 0) / (double)improvements.Length,
                improvements.Count(v => v > goldenThresholdPct), zones.Zone(baseline), best, bestLayer, layerMeans,
                Localization(layerMeans.Values), configs));
        }
        return result;
    }

    /// <summary>
    /// Circuit localization of a task: the largest positive per-layer gain as a share of the sum of positive per-layer
    /// gains (1 = all the gain sits in one layer; 1/L = spread evenly over L layers; 0 = no layer gains).
    /// </summary>
    public static double Localization(IEnumerable<double> layerMeanImprovements)
    {
        double sum = 0, max = 0;
        foreach (double v in layerMeanImprovements)
        {
            double p = Math.Max(0, v);
            sum += p;
            max = Math.Max(max, p);
        }
        return sum > 0 ? max / sum : 0;
    }
}
