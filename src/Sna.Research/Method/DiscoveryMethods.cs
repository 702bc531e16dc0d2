namespace Sna.Research.Method;

/// <summary>
/// Neuron discovery methods, named for what they compute (issue #13). One implementation serves <c>sna neurons --method</c>,
/// the sweep's neuron sources (differential, task-vs-rest, bottom), the controls' bottom-k and
/// <see cref="Classification.ClassNeurons"/> (neutral and contrastive lists): every ranking is <see cref="DiscoveryMethods.TopK"/>.
/// </summary>
public enum DiscoveryMethod
{
    /// <summary>Task mean − neutral mean, top k (the SNA paper's neuron discovery).</summary>
    Differential,
    /// <summary>The paper's contrastive analysis: class A against class B directly; top k of A − B and top k of B − A (each among positive differences).</summary>
    Contrastive,
    /// <summary>Each class against neutral, then the neurons in both top-k lists removed from both (lists hold k − shared).</summary>
    Exclusive,
    /// <summary>A task against the other tasks' texts (one vs rest), positive differences only.</summary>
    TaskVsRest,
}

/// <summary>Two classes' neuron lists at one layer.</summary>
/// <param name="Layer">Layer.</param>
/// <param name="A">Class A's neurons with the score each was chosen by, in list order.</param>
/// <param name="B">Class B's neurons likewise.</param>
/// <param name="Shared">Neurons in both classes' top-k against neutral (<see cref="DiscoveryMethod.Exclusive"/> only; else empty).</param>
/// <param name="OverlapPct">|top-k(A vs neutral) ∩ top-k(B vs neutral)| / k × 100 for exclusive; |A ∩ B| / k × 100 otherwise (0 for contrastive by construction).</param>
public sealed record TwoClassNeurons(int Layer, IReadOnlyList<NeuronScore> A, IReadOnlyList<NeuronScore> B, int[] Shared, double OverlapPct);

/// <summary>The discovery methods on class-mean activations of one layer.</summary>
public static class DiscoveryMethods
{
    /// <summary>CLI spellings, in enum order.</summary>
    public static readonly IReadOnlyList<string> Names = ["differential", "contrastive", "exclusive", "task-vs-rest"];

    public static string Name(DiscoveryMethod m) => Names[(int)m];

    /// <summary>Parses a method name; an unknown name is an <see cref="ArgumentException"/> listing the valid ones.</summary>
    public static DiscoveryMethod Parse(string s)
    {
        int i = Names.ToList().IndexOf(s.Trim().ToLowerInvariant());
        return i >= 0 ? (DiscoveryMethod)i : throw new ArgumentException($"discovery method must be one of {string.Join(", ", Names)}; got '{s}'");
    }

    /// <summary>
    /// Indices (with scores) of the k largest values of <paramref name="score"/> among those &gt; <paramref name="above"/>,
    /// largest first; ties by lower index (fewer than k when fewer qualify). The library's one neuron ranking: every method
    /// here, <see cref="DifferentialResult.Top"/>, <see cref="BottomK"/> and <see cref="Classification.ClassNeurons"/> use it.
    /// </summary>
    public static NeuronScore[] TopK(ReadOnlySpan<double> score, int k, double above = double.NegativeInfinity)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), $"k must be at least 1, got {k}");
        var arr = score.ToArray();
        var idx = Enumerable.Range(0, arr.Length).Where(i => arr[i] > above).ToList();
        idx.Sort((a, b) => arr[b].CompareTo(arr[a]) is var c && c != 0 ? c : a.CompareTo(b));
        return idx.Take(k).Select(i => new NeuronScore(i, arr[i])).ToArray();
    }

    /// <summary>The k smallest values of <paramref name="score"/>, smallest first, ties by lower index: <see cref="TopK"/> of −score (negation is exact), with the scores as given.</summary>
    public static NeuronScore[] BottomK(ReadOnlySpan<double> score, int k)
    {
        var neg = new double[score.Length];
        for (int i = 0; i < neg.Length; i++) neg[i] = -score[i];
        return TopK(neg, k).Select(n => new NeuronScore(n.Index, -n.Difference)).ToArray();
    }

    /// <summary>The paper's differential method at one layer: top-k of (task − neutral), all differences ranked.</summary>
    public static NeuronScore[] Differential(ReadOnlySpan<double> meanTask, ReadOnlySpan<double> meanNeutral, int k) => TopK(Diff(meanTask, meanNeutral), k);

    /// <summary>The paper's contrastive method: A's list = top-k of (A − B) among positive differences, B's = top-k of (B − A) likewise. Disjoint by construction.</summary>
    public static TwoClassNeurons Contrastive(int layer, ReadOnlySpan<double> meanA, ReadOnlySpan<double> meanB, int k)
    {
        var dA = Diff(meanA, meanB); var dB = Diff(meanB, meanA);
        return new TwoClassNeurons(layer, TopK(dA, k, above: 0), TopK(dB, k, above: 0), [], 0);
    }

    /// <summary>Each class against neutral (top k), then the shared neurons removed from both lists.</summary>
    public static TwoClassNeurons Exclusive(int layer, ReadOnlySpan<double> meanA, ReadOnlySpan<double> meanB, ReadOnlySpan<double> meanNeutral, int k)
    {
        var tA = Differential(meanA, meanNeutral, k); var tB = Differential(meanB, meanNeutral, k);
        var shared = tA.Select(n => n.Index).Intersect(tB.Select(n => n.Index)).Order().ToArray();
        var s = shared.ToHashSet();
        return new TwoClassNeurons(layer, tA.Where(n => !s.Contains(n.Index)).ToArray(), tB.Where(n => !s.Contains(n.Index)).ToArray(),
            shared, shared.Length * 100.0 / k);
    }

    /// <summary>Top-k of (task − rest) among positive differences.</summary>
    public static NeuronScore[] TaskVsRest(ReadOnlySpan<double> meanTask, ReadOnlySpan<double> meanRest, int k) => TopK(Diff(meanTask, meanRest), k, above: 0);

    private static double[] Diff(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length != b.Length) throw new ArgumentException("mean vectors differ in length");
        var d = new double[a.Length];
        for (int i = 0; i < a.Length; i++) d[i] = a[i] - b[i];
        return d;
    }
}
