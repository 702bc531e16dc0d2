using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Research.Sweeps;
using Sna.Core.Tests.Models;

namespace Sna.Core.Tests.Sweeps;

/// <summary>The engine's shortcuts (prefix cache, rank-k MLP delta, last-token step with cached K/V) equal a plain hooked forward.</summary>
public class EngineEquivalenceTests
{
    public static TheoryData<string, PositionsMode> Cases()
    {
        var d = new TheoryData<string, PositionsMode>();
        foreach (var f in new[] { "gpt2-tiny-f32", "gpt2-tiny-f16", "pythia-tiny-f32", "llama-tiny-f32", "Llama-3-tiny-bf16", "demo" })
            foreach (var p in new[] { PositionsMode.All, PositionsMode.Last }) d.Add(f, p);
        return d;
    }

    internal static TransformerModel Load(string fixture) =>
        fixture == "demo" ? SweepTestData.Demo() : ModelFixtures.Model(fixture);

    [SharedTheory, MemberData(nameof(Cases))]
    public void Engine_scores_equal_full_hooked_forward(string fixture, PositionsMode positions)
    {
        var model = Load(fixture);
        var c = model.Config;
        var ev = new SweepEvaluator(model) { UnembedChunkRows = 5 };   // several GEMM chunks per call
        var rnd = NeuronSources.Random(7, c.DMlp);
        int[] counts = [1, 3, 8];
        float[] mults = [0f, 1.1f, 2.4f, 8f];
        var prompts = SweepTestData.Prompts(c.VocabSize, fixture.StartsWith("pythia") ? 0 : fixture.StartsWith("gpt2") || fixture == "demo" ? 50256 : c.BosTokenId, 3, seed: 11);
        var perLayer = Enumerable.Range(0, c.NLayers).ToDictionary(l => l, l => counts.SelectMany(k => rnd(l, k)).Distinct().ToArray());
        var caches = prompts.Select(p => ev.BuildCache(p.Ids, p.TargetId, perLayer, keepKeysValues: true)).ToArray();
        // The base runs batched (prompts of different lengths, left-padded) keep bit for bit what each prompt's own run keeps.
        var batched = ev.BuildCaches(prompts.Select(p => (p.Ids, p.TargetId)).ToList(), perLayer, keepKeysValues: true);
        Assert.NotEqual(prompts[0].Ids.Length, prompts[1].Ids.Length);
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(caches[i].Base, batched[i].Base);
            Assert.Equal(caches[i].Prefix!.Length, batched[i].Prefix!.Length);
            for (int l = 0; l < c.NLayers; l++)
            {
                Assert.Equal(caches[i].ResidPost[l], batched[i].ResidPost[l]);
                Assert.Equal(caches[i].Post[l].Keys.Order(), batched[i].Post[l].Keys.Order());
                foreach (var (n, col) in caches[i].Post[l]) Assert.Equal(col, batched[i].Post[l][n]);
                Assert.Equal(caches[i].Prefix!.Keys(l).ToArray(), batched[i].Prefix!.Keys(l).ToArray());
                Assert.Equal(caches[i].Prefix!.Values(l).ToArray(), batched[i].Prefix!.Values(l).ToArray());
            }
        }

        double worst = 0;
        int changed = 0;
        var everyLayer = new List<(int Layer, SweepItem Item, TargetScore Score)>();
        {
            for (int i = 0; i < prompts.Length; i++)
            {
                var baseRef = Scoring.Score(model.ForwardLast(prompts[i].Ids), prompts[i].TargetId);
                Assert.True(Math.Abs(baseRef.LogProb - caches[i].Base.LogProb) <= 1e-5, $"base logprob {caches[i].Base.LogProb} vs {baseRef.LogProb}");
                Assert.Equal(baseRef.Rank, caches[i].Base.Rank);
            }
            for (int layer = 0; layer < c.NLayers; layer++)
            {
                var items = new List<SweepItem>();
                foreach (var cache in caches)
                    foreach (int k in counts)
                        foreach (float m in mults) items.Add(new SweepItem(cache, rnd(layer, k), m));
                var got = new TargetScore[items.Count];
                if (positions == PositionsMode.Last) ev.Evaluate(layer, positions, items, got);
                else
                    for (int i = 0; i < caches.Length; i++)
                    {
                        var mine = items.Where(it => it.Prompt == caches[i]).ToList();
                        int off = items.IndexOf(mine[0]);
                        ev.Evaluate(layer, positions, mine, got.AsSpan(off, mine.Count));
                    }
                // One call for every prompt's rows (positions = all: left-padded to the longest prompt) is bit-identical to
                // the calls above: padding and batch-mates never change a row.
                var together = new TargetScore[items.Count];
                ev.Evaluate(layer, positions, items, together);
                Assert.Equal(got, together);
                for (int j = 0; j < items.Count; j++) everyLayer.Add((layer, items[j], got[j]));
                for (int j = 0; j < items.Count; j++)
                {
                    var it = items[j];
                    var amp = Amplification.Single(layer, it.Neurons, it.Multiplier, positions);
                    var want = Scoring.Score(model.ForwardLast(it.Prompt.Ids, amp.ToHooks(c)), it.Prompt.TargetId);
                    double err = Math.Abs(want.LogProb - got[j].LogProb);
                    worst = Math.Max(worst, err);
                    if (Math.Abs(want.LogProb - it.Prompt.Base.LogProb) > 1e-4) changed++;
                    Assert.True(err <= 1e-5, $"{fixture} {positions} L{layer} k{it.Neurons.Length} m{it.Multiplier}: logprob {got[j].LogProb} vs {want.LogProb}");
                    Assert.True(Math.Abs(want.Rank - got[j].Rank) <= 1, $"rank {got[j].Rank} vs {want.Rank}");
                }
            }
        }
        Assert.True(worst < 1e-5);
        Assert.True(changed > 0, "no configuration moved the score: the comparison would be vacuous");
        if (positions == PositionsMode.Last)
        {
            // One pass that every layer's rows join at their own block (given deepest layer first, to check the mapping
            // back) equals the per-layer calls bit for bit.
            var joined = everyLayer.AsEnumerable().Reverse().ToList();
            var pass = new TargetScore[joined.Count];
            ev.EvaluateLast(joined.Select(e => (e.Layer, e.Item)).ToList(), pass);
            Assert.Equal(joined.Select(e => e.Score).ToArray(), pass);
        }
    }

    [SharedFact]
    public void Multiplier_one_reproduces_the_baseline()
    {
        var model = ModelFixtures.Model("gpt2-tiny-f32");
        var ev = new SweepEvaluator(model);
        var p = SweepTestData.Prompts(model.Config.VocabSize, 50256, 1, seed: 3)[0];
        var cache = ev.BuildCache(p.Ids, p.TargetId, new Dictionary<int, int[]> { [1] = [0, 1, 2] }, true);
        foreach (var pos in new[] { PositionsMode.All, PositionsMode.Last })
        {
            var r = new TargetScore[1];
            ev.Evaluate(1, pos, [new SweepItem(cache, [0, 1, 2], 1f)], r);
            Assert.True(Math.Abs(r[0].LogProb - cache.Base.LogProb) < 1e-6);
        }
    }
}
