namespace Sna.Research.Method;

/// <summary>
/// The mean <c>blocks.{L}.mlp.hook_post</c> activation of a set of texts, for every layer: per text the mean over its real
/// token positions, then the mean over texts (accumulated in double). Values are [layers, d_mlp], row-major.
/// </summary>
public sealed class MeanActivations
{
    private readonly double[] _values;

    public MeanActivations(int layers, int dMlp, int textCount, double[] values)
    {
        if (values.Length != layers * dMlp) throw new ArgumentException($"expected {layers}×{dMlp} values, got {values.Length}");
        Layers = layers; DMlp = dMlp; TextCount = textCount; _values = values;
    }

    public int Layers { get; }
    public int DMlp { get; }
    /// <summary>How many texts were averaged.</summary>
    public int TextCount { get; }

    /// <summary>The mean activation of each neuron of <paramref name="layer"/> [d_mlp].</summary>
    public ReadOnlySpan<double> Layer(int layer)
    {
        if ((uint)layer >= (uint)Layers) throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} is out of range (0..{Layers - 1})");
        return _values.AsSpan(layer * DMlp, DMlp);
    }

    /// <summary>All values, [layers, d_mlp] row-major.</summary>
    public ReadOnlySpan<double> Values => _values;
}

/// <summary>One neuron of a ranking: its index in the layer and its activation difference (task − reference).</summary>
public readonly record struct NeuronScore(int Index, double Difference);

/// <summary>
/// Differential activation (the SNA paper's neuron discovery): per layer, mean task activation − mean neutral activation,
/// ranked descending (ties by lower index). The top of the ranking are the task's neurons.
/// </summary>
public sealed class DifferentialResult
{
    private readonly double[] _diff;

    public DifferentialResult(MeanActivations task, MeanActivations reference)
    {
        if (task.Layers != reference.Layers || task.DMlp != reference.DMlp)
            throw new ArgumentException("task and reference means come from different model shapes");
        Task = task; Reference = reference;
        _diff = new double[task.Layers * task.DMlp];
        var a = task.Values; var b = reference.Values;
        for (int i = 0; i < _diff.Length; i++) _diff[i] = a[i] - b[i];
    }

    public MeanActivations Task { get; }
    /// <summary>The neutral mean (or, in direct contrast, the other class's mean).</summary>
    public MeanActivations Reference { get; }
    public int Layers => Task.Layers;
    public int DMlp => Task.DMlp;

    /// <summary>task − reference for every neuron of <paramref name="layer"/> [d_mlp].</summary>
    public ReadOnlySpan<double> Difference(int layer)
    {
        if ((uint)layer >= (uint)Layers) throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} is out of range: the model has {Layers} layers (0..{Layers - 1})");
        return _diff.AsSpan(layer * DMlp, DMlp);
    }

    /// <summary>The <paramref name="k"/> neurons of <paramref name="layer"/> with the largest difference, largest first, ties by lower index (<see cref="DiscoveryMethods.TopK"/>).</summary>
    public IReadOnlyList<NeuronScore> Top(int layer, int k) => DiscoveryMethods.TopK(Difference(layer), k);

    /// <summary>The <paramref name="k"/> neurons of <paramref name="layer"/> with the smallest difference, smallest first, ties by lower index (<see cref="DiscoveryMethods.BottomK"/>; the sweep's <c>bottom</c> source).</summary>
    public int[] BottomIndices(int layer, int k) => DiscoveryMethods.BottomK(Difference(layer), k).Select(n => n.Index).ToArray();

    /// <summary>The indices of <see cref="Top"/>.</summary>
    public int[] TopIndices(int layer, int k) => Top(layer, k).Select(n => n.Index).ToArray();
}

/// <summary>
/// The <see cref="DiscoveryMethod.Exclusive"/> method for two classes A and B (not the paper's contrastive analysis, which
/// compares A with B directly: <see cref="DiscoveryMethods.Contrastive"/>). Each class's neurons are found against the neutral
/// texts (<see cref="A"/>, <see cref="B"/>: class mean − neutral mean, top-k per layer); then a neuron in both top-k lists is
/// removed from both, so the lists hold k − shared neurons. <see cref="OverlapPct"/> reports |top-k(A) ∩ top-k(B)| / k × 100
/// before that removal.
/// </summary>
public sealed class ContrastiveResult
{
    public ContrastiveResult(DifferentialResult a, DifferentialResult b, int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), $"k must be at least 1, got {k}");
        A = a; B = b; K = k;
    }

    public DifferentialResult A { get; }
    public DifferentialResult B { get; }
    public int K { get; }
    public int Layers => A.Layers;

    /// <summary>Neurons in both classes' top-k at <paramref name="layer"/>, ascending.</summary>
    public int[] Shared(int layer) => A.TopIndices(layer, K).Intersect(B.TopIndices(layer, K)).Order().ToArray();

    /// <summary>A's top-k without the shared neurons, in A's order.</summary>
    public IReadOnlyList<NeuronScore> ExclusiveA(int layer) => Exclusive(A, layer);

    /// <summary>B's top-k without the shared neurons, in B's order.</summary>
    public IReadOnlyList<NeuronScore> ExclusiveB(int layer) => Exclusive(B, layer);

    /// <summary>|top-k(A) ∩ top-k(B)| / k × 100 at <paramref name="layer"/>.</summary>
    public double OverlapPct(int layer) => NeuronDiscovery.Overlap(A.TopIndices(layer, K), B.TopIndices(layer, K), K);

    private IReadOnlyList<NeuronScore> Exclusive(DifferentialResult r, int layer)
    {
        var e = DiscoveryMethods.Exclusive(layer, A.Task.Layer(layer), B.Task.Layer(layer), A.Reference.Layer(layer), K);
        return ReferenceEquals(r, A) ? e.A : e.B;
    }
}
