using Sna.Core.Models;

namespace Sna.Core.Classification;

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
// INTEGRATION: the class-mean activation and the top-k selection will switch to Sna.Core.Method.NeuronDiscovery
// (differential mean post-activation task vs neutral; contrastive) once that lands; this is the minimal local version.
public static class ClassNeurons
{
    /// <summary>Mean activation per layer: result[i][n] for layers[i], neuron n (d_mlp wide).</summary>
    public static double[][] MeanActivations(TransformerModel model, IReadOnlyList<int[]> texts, IReadOnlyList<int> layers, int batchSize = 16)
    {
        if (texts.Count == 0) throw new ArgumentException("no texts to average over");
        int M = model.Config.DMlp;
        var sums = layers.Select(_ => new double[M]).ToArray();
        var names = layers.Select(HookNames.MlpPost).ToArray();
        for (int start = 0; start < texts.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, texts.Count - start);
            var batch = new int[n][];
            for (int i = 0; i < n; i++) batch[i] = texts[start + i];
            var (_, cache) = model.RunWithCache(batch, names);
            for (int li = 0; li < layers.Count; li++)
            {
                var act = cache[names[li]];
                int T = act.Shape[1];
                var textMean = new double[M];
                for (int b = 0; b < n; b++)
                {
                    Array.Clear(textMean);
                    int first = act.PadLeft[b];
                    for (int t = first; t < T; t++)
                    {
                        var row = act.Row(b, t);
                        for (int j = 0; j < M; j++) textMean[j] += row[j];
                    }
                    double inv = 1.0 / (T - first);
                    var s = sums[li];
                    for (int j = 0; j < M; j++) s[j] += textMean[j] * inv;
                }
            }
        }
        foreach (var s in sums) for (int j = 0; j < s.Length; j++) s[j] /= texts.Count;
        return sums;
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
        var d1 = Diff(mean1, mean0); var d0 = Diff(mean0, mean1);
        var l1 = TopK(d1, k, above: 0); var l0 = TopK(d0, k, above: 0);
        return new ClassNeuronLists(layer, l0, l1, l0.Select(i => d0[i]).ToArray(), l1.Select(i => d1[i]).ToArray());
    }

    private static double[] Diff(double[] a, double[] b)
    {
        if (a.Length != b.Length) throw new ArgumentException("mean vectors differ in length");
        var d = new double[a.Length];
        for (int i = 0; i < a.Length; i++) d[i] = a[i] - b[i];
        return d;
    }
}

/// <summary>Plain descriptive sentences with no sentiment, the reference for the neutral-text method.</summary>
// INTEGRATION: swap point for the shared 100-sentence neutral corpus (another branch); keep this list as the fallback.
public static class NeutralTexts
{
    public static readonly IReadOnlyList<string> BuiltIn =
    [
        "The train leaves the station at seven in the morning.",
        "The library is on the corner of the main street.",
        "Water boils at one hundred degrees Celsius at sea level.",
        "The meeting was moved to the second floor.",
        "The box contains twelve pencils and a ruler.",
        "The bridge crosses the river near the old mill.",
        "A week has seven days.",
        "The report has four sections and an appendix.",
        "The bus stops outside the post office.",
        "The table is made of oak and has four legs.",
        "The museum opens at nine and closes at five.",
        "The recipe calls for two cups of flour.",
        "The road runs north along the coast.",
        "The form asks for a name and an address.",
        "The store sells paper, envelopes and stamps.",
        "The window faces the garden behind the house.",
        "The committee meets on the first Monday of each month.",
        "The film is in English with subtitles.",
        "The package was delivered on Tuesday afternoon.",
        "The office has three desks and a printer.",
        "The map shows the roads between the two towns.",
        "The river flows into the lake to the south.",
        "The course lasts ten weeks.",
        "The building has five floors and an elevator.",
    ];
}
