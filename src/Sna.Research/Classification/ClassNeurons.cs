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

    /// <summary>Indices of the k largest values of <paramref name="score"/> among those with score &gt; <paramref name="above"/>; ties by lower index.</summary>
    public static int[] TopK(ReadOnlySpan<double> score, int k, double above = double.NegativeInfinity)
    {
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), $"k must be positive, got {k}");
        var idx = new List<int>();
        for (int i = 0; i < score.Length; i++) if (score[i] > above) idx.Add(i);
        var arr = score.ToArray();
        idx.Sort((a, b) => arr[b].CompareTo(arr[a]) is var c && c != 0 ? c : a.CompareTo(b));
        return idx.Take(k).ToArray();
    }

    /// <summary>Neutral-text method: class c's list = top-k of (mean_c − mean_neutral). The lists may share neurons.</summary>
    public static ClassNeuronLists Neutral(int layer, double[] mean0, double[] mean1, double[] meanNeutral, int k)
    {
        var d0 = Diff(mean0, meanNeutral); var d1 = Diff(mean1, meanNeutral);
        var l0 = TopK(d0, k); var l1 = TopK(d1, k);
        return new ClassNeuronLists(layer, l0, l1, l0.Select(i => d0[i]).ToArray(), l1.Select(i => d1[i]).ToArray());
    }

    /// <summary>
    /// Contrastive method: class 1's list = top-k of (mean1 − mean0) among neurons where it is &gt; 0, class 0's = top-k of
    /// (mean0 − mean1) among neurons where that is &gt; 0. A neuron cannot be strictly positive both ways, so the lists are
    /// exclusive by construction (a list is shorter than k only if fewer than k neurons lean that way).
    /// </summary>
    public static ClassNeuronLists Contrastive(int layer, double[] mean0, double[] mean1, int k)
    {
        var r = DiscoveryMethods.Contrastive(layer, mean0, mean1, k);   // the library's one implementation (A = class 0, B = class 1)
        return new ClassNeuronLists(layer, r.A.Select(n => n.Index).ToArray(), r.B.Select(n => n.Index).ToArray(),
            r.A.Select(n => n.Difference).ToArray(), r.B.Select(n => n.Difference).ToArray());
    }

    private static double[] Diff(double[] a, double[] b)
    {
        if (a.Length != b.Length) throw new ArgumentException("mean vectors differ in length");
        var d = new double[a.Length];
        for (int i = 0; i < a.Length; i++) d[i] = a[i] - b[i];
        return d;
    }
}

/// <summary>Plain descriptive sentences with no sentiment, the reference for the neutral-text method: the library's
/// built-in neutral corpus (<see cref="TaskLibrary.NeutralCorpus"/>).</summary>
public static class NeutralTexts
{
    public static IReadOnlyList<string> BuiltIn => TaskLibrary.NeutralCorpus;
}
