using Sna.Runtime;

namespace Sna.Research.Method;

/// <summary>Which token positions of a text enter its mean <c>hook_post</c> activation.</summary>
public enum DiscoveryPositions
{
    /// <summary>Every real (non-padding) position, BOS included (the paper's and the default).</summary>
    All,
    /// <summary>Every real position except a leading BOS token (the BOS activation is the same for every text, so with
    /// per-text weighting it shifts short texts' means more than long ones').</summary>
    AllButBos,
    /// <summary>The last position only (where the prediction is read).</summary>
    Last,
}

/// <summary>How positions are weighted when a set of texts is averaged.</summary>
public enum DiscoveryWeighting
{
    /// <summary>Each text's mean over its positions, then the mean over texts: every text weighs the same (the default).</summary>
    PerText,
    /// <summary>The mean over all positions of all texts: every token weighs the same, so long texts weigh more.</summary>
    PerToken,
}

/// <summary>
/// How <see cref="NeuronDiscovery"/> averages activations: positions and weighting. Part of the discovery cache key and
/// recorded in every run record and sweep definition. Default: all positions, per-text weighting (the paper's).
/// </summary>
public sealed record DiscoveryMeanOptions(DiscoveryPositions Positions = DiscoveryPositions.All, DiscoveryWeighting Weighting = DiscoveryWeighting.PerText)
{
    public static readonly DiscoveryMeanOptions Default = new();

    public static readonly IReadOnlyList<string> PositionNames = ["all", "all-but-bos", "last"];
    public static readonly IReadOnlyList<string> WeightingNames = ["per-text", "per-token"];

    public string PositionsName => PositionNames[(int)Positions];
    public string WeightingName => WeightingNames[(int)Weighting];

    /// <summary>"positions=all,weighting=per-text" (cache keys, logs).</summary>
    public override string ToString() => $"positions={PositionsName},weighting={WeightingName}";

    /// <summary>Parses <c>all|all-but-bos|last</c>; bad input is an <see cref="SnaInputException"/>.</summary>
    public static DiscoveryPositions ParsePositions(string s, string option = "--positions")
    {
        int i = PositionNames.ToList().IndexOf(s.Trim().ToLowerInvariant());
        return i >= 0 ? (DiscoveryPositions)i : throw new SnaInputException($"{option} must be one of {string.Join(", ", PositionNames)}; got '{s}'");
    }

    /// <summary>Parses <c>per-text|per-token</c>; bad input is an <see cref="SnaInputException"/>.</summary>
    public static DiscoveryWeighting ParseWeighting(string s, string option = "--weighting")
    {
        int i = WeightingNames.ToList().IndexOf(s.Trim().ToLowerInvariant());
        return i >= 0 ? (DiscoveryWeighting)i : throw new SnaInputException($"{option} must be one of {string.Join(", ", WeightingNames)}; got '{s}'");
    }
}

/// <summary>How much a layer's top-k list changes between two ways of averaging (per-text vs per-token weighting).</summary>
/// <param name="Layer">Layer.</param>
/// <param name="K">List length.</param>
/// <param name="Shared">|A ∩ B|.</param>
/// <param name="OverlapPct">|A ∩ B| / k × 100.</param>
/// <param name="Jaccard">|A ∩ B| / |A ∪ B|.</param>
public sealed record TopKChange(int Layer, int K, int Shared, double OverlapPct, double Jaccard)
{
    public static TopKChange Of(int layer, IReadOnlyList<int> a, IReadOnlyList<int> b, int k)
    {
        int shared = a.Intersect(b).Count(), union = a.Union(b).Count();
        return new TopKChange(layer, k, shared, 100.0 * shared / k, union == 0 ? 1 : (double)shared / union);
    }
}

/// <summary>One task's differential top-k under per-text and per-token weighting (same positions), layer by layer.</summary>
public sealed record WeightingComparison(string Task, DiscoveryPositions Positions, int K, IReadOnlyList<TopKChange> Layers)
{
    public double MeanJaccard => Layers.Count == 0 ? double.NaN : Layers.Average(l => l.Jaccard);

    /// <summary>
    /// Runs discovery twice (per-text, per-token; <paramref name="positions"/> for both) for <paramref name="suite"/> against its
    /// neutral texts and compares the top-<paramref name="k"/> of every layer.
    /// </summary>
    public static WeightingComparison For(NeuronDiscovery discovery, TaskSuite suite, int k, DiscoveryPositions positions = DiscoveryPositions.All)
    {
        var perText = discovery.With(new DiscoveryMeanOptions(positions, DiscoveryWeighting.PerText)).ForTask(suite);
        var perToken = discovery.With(new DiscoveryMeanOptions(positions, DiscoveryWeighting.PerToken)).ForTask(suite);
        int kk = Math.Min(k, perText.DMlp);
        return new WeightingComparison(suite.Name, positions, kk,
            Enumerable.Range(0, perText.Layers).Select(l => TopKChange.Of(l, perText.TopIndices(l, kk), perToken.TopIndices(l, kk), kk)).ToArray());
    }
}
