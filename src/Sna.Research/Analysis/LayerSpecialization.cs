namespace Sna.Research.Analysis;

/// <summary>Optimal layer of a group of tasks (a domain or a difficulty level).</summary>
/// <param name="Group">Domain or level name.</param>
/// <param name="Tasks">Tasks in the group.</param>
/// <param name="OptimalLayer">Layer with the highest mean improvement, averaging the tasks' per-layer means (layers measured for every task of the group first; else all layers).</param>
/// <param name="MeanOptimalLayer">Mean of the tasks' own optimal layers.</param>
/// <param name="TaskOptimalLayers">Each task's optimal layer, in task order.</param>
public sealed record GroupOptimalLayer(string Group, IReadOnlyList<string> Tasks, int OptimalLayer, double MeanOptimalLayer,
    IReadOnlyList<int> TaskOptimalLayers);

/// <summary>Result of <see cref="LayerSpecialization.Compute"/>.</summary>
/// <param name="Layers">Layers (ascending) — rows of <see cref="Matrix"/>.</param>
/// <param name="Tasks">Tasks — columns of <see cref="Matrix"/>.</param>
/// <param name="Matrix">[layer index, task index] mean improvement (%) over the task's configurations at that layer; NaN when not measured.</param>
/// <param name="OptimalLayerByTask">Each task's optimal (best) layer, in <see cref="Tasks"/> order.</param>
/// <param name="ByDomain">Optimal layer per domain.</param>
/// <param name="ByLevel">Optimal layer per difficulty level (tasks with a level only), easiest first.</param>
/// <param name="LevelVsOptimalLayer">Spearman of level ordinal vs optimal layer over tasks with a recognised level; null when not estimable.</param>
/// <param name="LevelNote">Why <see cref="LevelVsOptimalLayer"/> is null, or a caveat; null otherwise.</param>
public sealed record LayerSpecializationResult(IReadOnlyList<int> Layers, IReadOnlyList<string> Tasks, double[,] Matrix,
    IReadOnlyList<int> OptimalLayerByTask, IReadOnlyList<GroupOptimalLayer> ByDomain, IReadOnlyList<GroupOptimalLayer> ByLevel,
    SpearmanResult? LevelVsOptimalLayer, string? LevelNote);

/// <summary>Layer specialization: which layers carry each task's gain, and whether domain or difficulty moves it.</summary>
public static class LayerSpecialization
{
    /// <summary>Computes the layer × task matrix, optimal layers per task/domain/level and the level–layer Spearman.</summary>
    public static LayerSpecializationResult Compute(IReadOnlyList<TaskSummary> tasks, int maxExactN = Correlation.DefaultMaxExactN)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        var layers = tasks.SelectMany(t => t.LayerMeanImprovementPct.Keys).Distinct().Order().ToArray();
        var m = new double[layers.Length, tasks.Count];
        for (int i = 0; i < layers.Length; i++)
            for (int j = 0; j < tasks.Count; j++)
                m[i, j] = tasks[j].LayerMeanImprovementPct.TryGetValue(layers[i], out double v) ? v : double.NaN;

        var byDomain = tasks.GroupBy(t => t.Domain, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => Group(g.Key, g.ToArray())).ToArray();
        var byLevel = tasks.Where(t => DifficultyLevels.Ordinal(t.Level) is not null)
            .GroupBy(t => t.Level, StringComparer.OrdinalIgnoreCase)
            .OrderBy(g => DifficultyLevels.Ordinal(g.Key)).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => Group(g.Key, g.ToArray())).ToArray();

        var leveled = tasks.Where(t => DifficultyLevels.Ordinal(t.Level) is not null).ToArray();
        SpearmanResult? rho = null;
        string? note = null;
        if (leveled.Length < 3) note = $"not estimable: {leveled.Length} task(s) with a recognised difficulty level (need ≥ 3).";
        else
        {
            double[] lv = leveled.Select(t => (double)DifficultyLevels.Ordinal(t.Level)!.Value).ToArray();
            double[] ol = leveled.Select(t => (double)t.BestLayer).ToArray();
            if (Guard.IsConstant(lv)) note = "not estimable: all tasks have the same difficulty level.";
            else if (Guard.IsConstant(ol)) note = "not estimable: every task has the same optimal layer (no shift to detect).";
            else
            {
                rho = Correlation.Spearman(lv, ol, true, Math.Min(maxExactN, Correlation.MaxExactNLimit));
                note = $"n = {leveled.Length} tasks; levels and layers are heavily tied, so rho is coarse" +
                       (rho.PValueExact is null ? "." : "; the exact permutation p accounts for the ties.");
            }
        }
        return new LayerSpecializationResult(layers, tasks.Select(t => t.Task).ToArray(), m, tasks.Select(t => t.BestLayer).ToArray(),
            byDomain, byLevel, rho, note);
    }

    private static GroupOptimalLayer Group(string name, TaskSummary[] members)
    {
        var common = members.Select(t => t.LayerMeanImprovementPct.Keys).Aggregate((a, b) => a.Intersect(b).ToArray()).Order().ToArray();
        var layers = common.Length > 0 ? common : members.SelectMany(t => t.LayerMeanImprovementPct.Keys).Distinct().Order().ToArray();
        int best = layers[0];
        double bestMean = double.NegativeInfinity;
        foreach (int l in layers)
        {
            var vals = members.Where(t => t.LayerMeanImprovementPct.ContainsKey(l)).Select(t => t.LayerMeanImprovementPct[l]).ToArray();
            double mean = vals.Average();
            if (mean > bestMean) { bestMean = mean; best = l; }
        }
        return new GroupOptimalLayer(name, members.Select(t => t.Task).ToArray(), best, members.Average(t => (double)t.BestLayer),
            members.Select(t => t.BestLayer).ToArray());
    }
}
