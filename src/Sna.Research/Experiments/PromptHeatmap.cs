using Sna.Research.Method;
using Sna.Research.Sweeps;
using Sna.Runtime;

namespace Sna.Research.Experiments;

/// <summary>One cell of a <see cref="PromptHeatmap"/>: P(target) with the layer's top-k neurons scaled by the multiplier.</summary>
/// <param name="ImprovementPct">100 (P − P_base) / P_base; null when P_base is 0.</param>
public sealed record PromptHeatmapCell(int Layer, double Multiplier, double Probability, double? ImprovementPct);

/// <summary>What a <see cref="PromptHeatmap"/> reports as it goes (all optional; called on the computing thread).</summary>
public sealed record PromptHeatmapProgress
{
    /// <summary>P_base, the unmodified model's P(target), before any cell.</summary>
    public Action<double>? Baseline { get; init; }
    /// <summary>Each layer's discovered neurons, in layer order, before any cell.</summary>
    public Action<int, int[]>? Neurons { get; init; }
    /// <summary>Before each layer's cells (throw <see cref="OperationCanceledException"/> to stop).</summary>
    public Action<int>? LayerStarting { get; init; }
    /// <summary>Each cell as it is computed, multipliers in the given order within a layer.</summary>
    public Action<PromptHeatmapCell>? Cell { get; init; }
}

/// <summary>
/// Layer × multiplier grid of P(target) on one prompt with each layer's top-k discovered neurons amplified (the web's heat map):
/// baseline, differential discovery on <c>suite</c> (<see cref="PromptDiscovery"/>), then per layer the sweep engine's
/// <see cref="SweepEvaluator"/> (one unmodified run keeps the prefix; each layer's multipliers are batch rows resuming after
/// that layer, equal to a hooked forward per cell).
/// </summary>
public static class PromptHeatmap
{
    /// <summary>Multipliers when none are given.</summary>
    public static readonly IReadOnlyList<double> DefaultMultipliers = [0.5, 1.5, 2, 3, 5, 10];

    /// <summary>Neurons per layer when no count is given.</summary>
    public const int DefaultCount = 8;

    /// <summary>Computes every cell (layers in the given order); cancellation is checked between layers.</summary>
    /// <param name="suite">What discovery runs on: a task, or the prompt alone (<see cref="PromptDiscovery.SuiteOf"/>).</param>
    public static IReadOnlyList<PromptHeatmapCell> Run(LanguageModel lm, EncodedPrompt input, TaskSuite suite, IReadOnlyList<int> layers,
        IReadOnlyList<double> multipliers, int count, PositionsMode positions, PromptHeatmapProgress? progress = null, CancellationToken ct = default)
    {
        progress ??= new PromptHeatmapProgress();
        foreach (int l in layers) InputParsing.CheckLayer(l, lm.Config.NLayers);
        InputParsing.CheckCount(count, lm.Config.DMlp);
        ct.ThrowIfCancellationRequested();
        double baseP = Scoring.Score(lm.Model.ForwardLast(input.Ids), input.TargetId).Probability;
        progress.Baseline?.Invoke(baseP);
        var discovered = PromptDiscovery.Run(lm, suite, input.Bos, ct);
        var perLayer = layers.Distinct().ToDictionary(l => l, l => discovered.TopIndices(l, count));
        foreach (int l in layers) progress.Neurons?.Invoke(l, perLayer[l]);
        var ev = new SweepEvaluator(lm.Model);
        var prefix = ev.BuildCache(input.Ids, input.TargetId, perLayer, keepKeysValues: positions == PositionsMode.Last);
        var cells = new List<PromptHeatmapCell>(layers.Count * multipliers.Count);
        foreach (int layer in layers)
        {
            ct.ThrowIfCancellationRequested();
            progress.LayerStarting?.Invoke(layer);
            var items = multipliers.Select(m => new SweepItem(prefix, perLayer[layer], (float)m)).ToList();
            var scores = new TargetScore[items.Count];
            ev.Evaluate(layer, positions, items, scores);
            for (int i = 0; i < items.Count; i++)
            {
                double after = scores[i].Probability;
                var cell = new PromptHeatmapCell(layer, multipliers[i], after, baseP > 0 ? Scoring.ImprovementPct(baseP, after) : null);
                cells.Add(cell);
                progress.Cell?.Invoke(cell);
            }
        }
        return cells;
    }
}

/// <summary>Differential neuron discovery for the one-prompt tools (<c>POST /api/discover</c>, <c>/api/amplify</c> with a count,
/// the heat map): <see cref="NeuronDiscovery.ForTask"/> on a suite's discovery texts against its neutral texts.</summary>
public static class PromptDiscovery
{
    /// <summary>The task's suite, or the prompt alone as a one-prompt task.</summary>
    public static TaskSuite SuiteOf(TaskSuite? task, string prompt, string target = "") =>
        task ?? new TaskSuite { Name = "prompt", Prompts = [new TaskPrompt(prompt, target)] };

    /// <summary>Discovery exactly as <c>sna neurons --task</c> runs it (no disk cache); a discovery text longer than the model's
    /// context is an input error (option <c>prompt</c>); cancellation is checked before and after.</summary>
    public static DifferentialResult Run(LanguageModel lm, TaskSuite suite, Sna.Runtime.Tokenization.BosPolicy bos, CancellationToken ct = default)
    {
        foreach (var text in suite.DiscoveryTexts)
        {
            int n = lm.Tokenizer.Encode(text, bos).Length;
            if (n > lm.Config.NCtx) throw new SnaInputException("prompt", $"the prompt is {n} tokens; the model's context is {lm.Config.NCtx}");
        }
        ct.ThrowIfCancellationRequested();
        var d = new NeuronDiscovery(lm) { Bos = bos }.ForTask(suite);
        ct.ThrowIfCancellationRequested();
        return d;
    }
}
