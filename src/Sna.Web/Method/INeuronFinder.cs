using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Web.Method;

/// <summary>What to search: texts that exercise the task, the layers to rank, how many neurons per layer.</summary>
public sealed record NeuronQuery(IReadOnlyList<string> TaskTexts, IReadOnlyList<int> Layers, int TopK, BosPolicy Bos);

/// <summary>One neuron's score: the task mean minus the neutral mean of its <c>mlp.hook_post</c> activation.</summary>
public readonly record struct WebNeuronScore(int Neuron, double Difference, double TaskMean, double NeutralMean);

/// <summary>The top neurons of one layer, largest difference first.</summary>
public sealed record LayerRanking(int Layer, IReadOnlyList<WebNeuronScore> Top);

/// <summary>
/// Neuron discovery as the web tool needs it. The library's <see cref="NeuronDiscovery"/> serves it through <see cref="LibraryNeuronFinder"/>.
/// </summary>
public interface INeuronFinder
{
    /// <summary>Ranks the neurons of each asked layer; checks <paramref name="ct"/> between forward passes.</summary>
    IReadOnlyList<LayerRanking> Find(TransformerModel model, ModelTokenizer tokenizer, NeuronQuery query, CancellationToken ct);

    /// <summary>How many neutral texts the finder contrasts against (shown to the user).</summary>
    int NeutralCount { get; }
}

/// <summary>
/// Neuron discovery through the library's <see cref="NeuronDiscovery"/> (differential activation against the built-in
/// neutral corpus), with cancellation checked before and after the forward passes.
/// </summary>
public sealed class LibraryNeuronFinder : INeuronFinder
{
    public int NeutralCount => TaskLibrary.NeutralCorpus.Count;

    public IReadOnlyList<LayerRanking> Find(TransformerModel model, ModelTokenizer tokenizer, NeuronQuery q, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var discovery = new NeuronDiscovery(model, tokenizer) { Bos = q.Bos };
        var task = discovery.Mean(q.TaskTexts);
        ct.ThrowIfCancellationRequested();
        var diff = new DifferentialResult(task, discovery.Mean(TaskLibrary.NeutralCorpus));
        ct.ThrowIfCancellationRequested();
        return q.Layers.Select(l =>
        {
            var t = diff.Task.Layer(l).ToArray(); var n = diff.Reference.Layer(l).ToArray();
            return new LayerRanking(l, diff.Top(l, q.TopK).Select(s => new WebNeuronScore(s.Index, s.Difference, t[s.Index], n[s.Index])).ToArray());
        }).ToArray();
    }
}
