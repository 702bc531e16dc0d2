using Sna.Research.Method;
using Sna.Research.Sweeps;
using Sna.Runtime;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Method;

/// <summary>Discovery positions (all, all-but-bos, last) and weighting (per text, per token): values, cache keys, sweep definitions.</summary>
public class DiscoveryMeansTests
{
    private static string Fixture => Sna.Core.Tests.Models.ModelFixtures.AnyGpt2;   // f32, or the vendored f16 on a bare clone
    private static readonly string[] Texts = ["The cat sat on the mat and looked at the door", "Two plus two", "A much longer sentence about rivers, mountains and the sea at night"];

    /// <summary>Means computed by hand from one batch-1 forward per text (hook_post recorded), in double.</summary>
    private static double[] HandMean(TransformerModel model, IReadOnlyList<int[]> ids, int layer, DiscoveryMeanOptions o, int bosId)
    {
        int M = model.Config.DMlp;
        var acc = new double[M];
        long tokens = 0;
        foreach (var seq in ids)
        {
            var (_, cache) = model.RunWithCache([seq], [HookNames.MlpPost(layer)]);
            var act = cache[HookNames.MlpPost(layer)];
            int T = seq.Length;
            int first = o.Positions switch
            {
                DiscoveryPositions.Last => T - 1,
                DiscoveryPositions.AllButBos when seq[0] == bosId => 1,
                _ => 0,
            };
            var sum = new double[M];
            for (int t = first; t < T; t++) { var row = act.Row(0, t); for (int n = 0; n < M; n++) sum[n] += row[n]; }
            for (int n = 0; n < M; n++) acc[n] += o.Weighting == DiscoveryWeighting.PerToken ? sum[n] : sum[n] / (T - first);
            tokens += T - first;
        }
        double div = o.Weighting == DiscoveryWeighting.PerToken ? tokens : ids.Count;
        return acc.Select(v => v / div).ToArray();
    }

    public static TheoryData<DiscoveryPositions, DiscoveryWeighting, bool> Cases()
    {
        var d = new TheoryData<DiscoveryPositions, DiscoveryWeighting, bool>();
        foreach (var p in Enum.GetValues<DiscoveryPositions>())
            foreach (var w in Enum.GetValues<DiscoveryWeighting>())
                foreach (bool bos in new[] { true, false }) d.Add(p, w, bos);
        return d;
    }

    [SharedTheory, MemberData(nameof(Cases))]
    public void Means_equal_a_hand_computation_from_single_forwards(DiscoveryPositions positions, DiscoveryWeighting weighting, bool bos)
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var o = new DiscoveryMeanOptions(positions, weighting);
        var disc = new NeuronDiscovery(model, tok) { Bos = bos ? BosPolicy.Prepend : BosPolicy.None, Means = o, BatchSize = 2 };
        var ids = disc.Encode(Texts);
        var mean = disc.Mean(ids);
        for (int layer = 0; layer < model.Config.NLayers; layer++)
        {
            var want = HandMean(model, ids, layer, o, tok.BosId);
            var got = mean.Layer(layer);
            for (int n = 0; n < want.Length; n++)
                Assert.True(Math.Abs(want[n] - got[n]) <= 1e-5 * (1 + Math.Abs(want[n])), $"{o} layer {layer} neuron {n}: {got[n]} vs {want[n]}");
        }
        if (!bos && positions == DiscoveryPositions.AllButBos)
        {
            // without a BOS there is nothing to drop: exactly the all-positions means
            var all = new NeuronDiscovery(model, tok) { Bos = BosPolicy.None, Means = o with { Positions = DiscoveryPositions.All }, BatchSize = 2 }.Mean(ids);
            Assert.Equal(all.Values.ToArray(), mean.Values.ToArray());
        }
    }

    [SharedFact]
    public void Weighting_and_positions_change_the_means_and_the_cache_key()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var disc = new NeuronDiscovery(model, tok);
        var ids = disc.Encode(Texts);
        var a = disc.Mean(ids).Values.ToArray();
        var b = disc.With(new DiscoveryMeanOptions(DiscoveryPositions.All, DiscoveryWeighting.PerToken)).Mean(ids).Values.ToArray();
        var c = disc.With(new DiscoveryMeanOptions(DiscoveryPositions.AllButBos)).Mean(ids).Values.ToArray();
        Assert.NotEqual(a, b);
        Assert.NotEqual(a, c);

        var cache = new DiscoveryCache(MethodFixtures.TempDir());
        try
        {
            string? k0 = cache.Key(model, ids);
            Assert.NotNull(k0);
            Assert.Equal(k0, cache.Key(model, ids, DiscoveryMeanOptions.Default));      // the default keeps its old key
            var keys = DiscoveryMeansTests.Cases().Select(x => (DiscoveryMeanOptions)new((DiscoveryPositions)x[0], (DiscoveryWeighting)x[1]))
                .Distinct().Select(o => cache.Key(model, ids, o)).ToArray();
            Assert.Equal(6, keys.Distinct().Count());

            // a cached per-token mean is never served for a per-text request
            var cached = new NeuronDiscovery(model, tok, cache) { Means = new(DiscoveryPositions.All, DiscoveryWeighting.PerToken) };
            Assert.Equal(b, cached.Mean(ids).Values.ToArray());
            var perText = new NeuronDiscovery(model, tok, cache);
            Assert.Equal(a, perText.Mean(ids).Values.ToArray());
            Assert.Equal(b, cached.Mean(ids).Values.ToArray());
            Assert.Equal(1, cache.Hits);      // only the repeated per-token request was served from disk
            Assert.Equal(2, cache.Misses);
        }
        finally { Directory.Delete(cache.Directory, true); }
    }

    [SharedFact]
    public void Only_bos_text_is_an_input_error_with_all_but_bos()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var disc = new NeuronDiscovery(model, tok) { Means = new(DiscoveryPositions.AllButBos) };
        Assert.Throws<SnaInputException>(() => disc.Mean([[tok.BosId]]));
    }

    [Fact]
    public void Sweep_definition_records_non_default_means_and_keeps_the_default_hash()
    {
        var def = new SweepDefinition { Model = new SweepModel("m", "abc"), Tasks = ["math-easy"] };
        Assert.DoesNotContain("discovery", def.ToJson(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(DiscoveryMeanOptions.Default, def.DiscoveryMeans);
        var tok = def with { DiscoveryWeighting = "per-token", DiscoveryPositions = "all-but-bos" };
        Assert.Contains("per-token", tok.ToJson());
        Assert.Contains("all-but-bos", tok.ToJson());
        Assert.NotEqual(def.Hash(), tok.Hash());
        Assert.Equal(new DiscoveryMeanOptions(DiscoveryPositions.AllButBos, DiscoveryWeighting.PerToken), SweepDefinition.FromJson(tok.ToJson()).DiscoveryMeans);
        Assert.Contains("discovery means", tok.DifferenceFrom(def));
        Assert.Throws<SnaInputException>(() => (def with { DiscoveryWeighting = "per-word" }).Validate(3, 128));
    }

    [SharedFact]
    public void Weighting_comparison_counts_shared_neurons_and_jaccard()
    {
        var c = TopKChange.Of(2, [1, 2, 3, 4], [3, 4, 5, 6], 4);
        Assert.Equal(2, c.Shared);
        Assert.Equal(50, c.OverlapPct);
        Assert.Equal(2.0 / 6, c.Jaccard, 12);
        var (model, tok) = MethodFixtures.Get(Fixture);
        var w = WeightingComparison.For(new NeuronDiscovery(model, tok), TaskLibrary.BuiltIn("math-easy"), 10);
        Assert.Equal(model.Config.NLayers, w.Layers.Count);
        Assert.All(w.Layers, l => Assert.InRange(l.Jaccard, 0, 1));
    }
}
