using Sna.Research.Method;
using Sna.Runtime.Models;

namespace Sna.Research.Classification;

/// <summary>How the two classes' neurons are chosen.</summary>
public enum NeuronMethod
{
    /// <summary>Each class's texts against neutral texts; top-k per class. The two lists may overlap (paper: 53%).</summary>
    Neutral,
    /// <summary>One class's texts against the other's; exclusive lists, zero overlap by construction (paper: 10 + 10 at layer 21).</summary>
    Contrastive,
}

/// <summary>The neurons of one layer chosen for each class, with the score each was chosen by (in list order).</summary>
public sealed record ClassNeuronLists(int Layer, int[] Class0, int[] Class1, double[] Scores0, double[] Scores1)
{
    public int[] Of(int cls) => cls == 0 ? Class0 : Class1;

    /// <summary>Neurons in both lists.</summary>
    public int Shared => Class0.Intersect(Class1).Count();

    /// <summary>|L0 ∩ L1| / min(|L0|, |L1|) (with k per list this is the paper's overlap percentage / 100); 0 for an empty list.</summary>
    public double Overlap => Math.Min(Class0.Length, Class1.Length) == 0 ? 0 : (double)Shared / Math.Min(Class0.Length, Class1.Length);

    /// <summary>The union of both lists (ascending), for amplifying both classes.</summary>
    public int[] Both => Class0.Union(Class1).Order().ToArray();
}

/// <summary>
/// Class-mean MLP activations and the neuron lists built from them.
/// The mean of <c>blocks.{L}.mlp.hook_post</c> over each text's real positions (padding excluded), then over texts, in double.
/// </summary>
public static class ClassNeurons
{
    /// <summary>
    /// Mean activation per layer: result[i][n] for layers[i], neuron n (d_mlp wide) — the library's
    /// <see cref="NeuronDiscovery.Mean(IReadOnlyList{int[]})"/> (real positions only, then over texts, in double).
    /// </summary>
    public static double[][] MeanActivations(TransformerModel model, IReadOnlyList<int[]> texts, IReadOnlyList<int> layers, int batchSize = 16)
    {
        if (texts.Count == 0) throw new ArgumentException("no texts to average over");
        var mean = new NeuronDiscovery(model) { BatchSize = batchSize }.Mean(texts);
        return layers.Select(l => mean.Layer(l).ToArray()).ToArray();
    }

    /// <summary>
    /// Neutral-text method: class c's list = top-k of (mean_c − mean_neutral) (<see cref="DiscoveryMethods.Differential"/>).
    /// The lists may share neurons.
    /// </summary>
    public static ClassNeuronLists Neutral(int layer, double[] mean0, double[] mean1, double[] meanNeutral, int k) =>
        Lists(layer, DiscoveryMethods.Differential(mean0, meanNeutral, k), DiscoveryMethods.Differential(mean1, meanNeutral, k));

    /// <summary>
    /// Contrastive method: class 1's list = top-k of (mean1 − mean0) among neurons where it is &gt; 0, class 0's = top-k of
    /// (mean0 − mean1) among neurons where that is &gt; 0. A neuron cannot be strictly positive both ways, so the lists are
    /// exclusive by construction (a list is shorter than k only if fewer than k neurons lean that way).
    /// </summary>
    public static ClassNeuronLists Contrastive(int layer, double[] mean0, double[] mean1, int k)
    {
        var r = DiscoveryMethods.Contrastive(layer, mean0, mean1, k);   // the library's one implementation (A = class 0, B = class 1)
        return Lists(layer, r.A, r.B);
    }

    private static ClassNeuronLists Lists(int layer, IReadOnlyList<NeuronScore> l0, IReadOnlyList<NeuronScore> l1) =>
        new(layer, l0.Select(n => n.Index).ToArray(), l1.Select(n => n.Index).ToArray(), l0.Select(n => n.Difference).ToArray(), l1.Select(n => n.Difference).ToArray());
}

/// <summary>Plain descriptive sentences with no sentiment, the reference for the neutral-text method: the library's
/// built-in neutral corpus (<see cref="TaskLibrary.NeutralCorpus"/>).</summary>
public static class NeutralTexts
{
    public static IReadOnlyList<string> BuiltIn => TaskLibrary.NeutralCorpus;
}
