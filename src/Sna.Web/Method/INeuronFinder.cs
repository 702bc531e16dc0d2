using Sna.Core.Models;
using Sna.Core.Tokenization;

namespace Sna.Web.Method;

/// <summary>What to search: texts that exercise the task, the layers to rank, how many neurons per layer.</summary>
public sealed record NeuronQuery(IReadOnlyList<string> TaskTexts, IReadOnlyList<int> Layers, int TopK, BosPolicy Bos);

/// <summary>One neuron's score: the task mean minus the neutral mean of its <c>mlp.hook_post</c> activation.</summary>
public readonly record struct NeuronScore(int Neuron, double Difference, double TaskMean, double NeutralMean);

/// <summary>The top neurons of one layer, largest difference first.</summary>
public sealed record LayerRanking(int Layer, IReadOnlyList<NeuronScore> Top);

/// <summary>
/// Neuron discovery as the web tool needs it. The library's <c>Sna.Core.Method.NeuronDiscovery</c> replaces
/// <see cref="MeanDifferenceNeuronFinder"/> behind this interface at integration.
/// </summary>
public interface INeuronFinder
{
    /// <summary>Ranks the neurons of each asked layer; checks <paramref name="ct"/> between forward passes.</summary>
    IReadOnlyList<LayerRanking> Find(TransformerModel model, ModelTokenizer tokenizer, NeuronQuery query, CancellationToken ct);

    /// <summary>How many neutral texts the finder contrasts against (shown to the user).</summary>
    int NeutralCount { get; }
}

/// <summary>
/// Differential activation: for each text the mean of <c>blocks.{L}.mlp.hook_post</c> over its real positions, then the mean
/// over texts; the same for a short neutral list; neurons ranked by task mean − neutral mean.
/// </summary>
public sealed class MeanDifferenceNeuronFinder : INeuronFinder
{
    public static readonly IReadOnlyList<string> Neutral =
    [
        "The weather today is mild with a light breeze.",
        "She walked to the market to buy some bread.",
        "The meeting was moved to Thursday afternoon.",
        "A small cat slept on the warm windowsill.",
        "The library opens at nine in the morning.",
        "He painted the fence a pale shade of green.",
        "The train arrived a few minutes late.",
        "They planted tomatoes in the garden last spring.",
    ];

    public int NeutralCount => Neutral.Count;

    public IReadOnlyList<LayerRanking> Find(TransformerModel model, ModelTokenizer tokenizer, NeuronQuery q, CancellationToken ct)
    {
        var names = q.Layers.Select(HookNames.MlpPost).ToArray();
        var task = MeanActivations(model, tokenizer, q.TaskTexts, q, names, ct);
        var neutral = MeanActivations(model, tokenizer, Neutral, q, names, ct);
        var result = new List<LayerRanking>(q.Layers.Count);
        for (int i = 0; i < q.Layers.Count; i++)
        {
            var t = task[i]; var n = neutral[i];
            var scores = Enumerable.Range(0, t.Length).Select(j => new NeuronScore(j, t[j] - n[j], t[j], n[j]))
                .OrderByDescending(s => s.Difference).ThenBy(s => s.Neuron).Take(q.TopK).ToArray();
            result.Add(new LayerRanking(q.Layers[i], scores));
        }
        return result;
    }

    /// <summary>Per layer: mean over texts of (mean over the text's real positions) of hook_post, in double.</summary>
    private static double[][] MeanActivations(TransformerModel model, ModelTokenizer tok, IReadOnlyList<string> texts, NeuronQuery q, string[] names, CancellationToken ct)
    {
        int dMlp = model.Config.DMlp;
        var sums = names.Select(_ => new double[dMlp]).ToArray();
        int counted = 0;
        foreach (var text in texts)
        {
            ct.ThrowIfCancellationRequested();
            var ids = tok.Encode(text, q.Bos);
            if (ids.Length == 0) continue;
            if (ids.Length > model.Config.NCtx) ids = ids[^model.Config.NCtx..];
            var (_, cache) = model.RunWithCache([ids], names);
            for (int i = 0; i < names.Length; i++)
            {
                var a = cache[names[i]];
                int T = a.Shape[1], first = a.PadLeft[0];
                var mean = new double[dMlp];
                for (int t = first; t < T; t++)
                {
                    var row = a.Row(0, t);
                    for (int j = 0; j < dMlp; j++) mean[j] += row[j];
                }
                for (int j = 0; j < dMlp; j++) sums[i][j] += mean[j] / (T - first);
            }
            counted++;
        }
        if (counted == 0) throw new ArgumentException("no text to discover neurons on: every text tokenized to nothing");
        foreach (var s in sums) for (int j = 0; j < s.Length; j++) s[j] /= counted;
        return sums;
    }
}
