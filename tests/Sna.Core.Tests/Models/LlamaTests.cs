using Sna.Runtime.Checkpoints;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Numerics;

namespace Sna.Core.Tests.Models;

/// <summary>
/// The Llama family on a tiny random <c>LlamaForCausalLM</c> checkpoint (written by <see cref="TinyCheckpoints"/>) against
/// the independent float64 <see cref="LlamaReference"/>, plus invariants: RoPE relative positions, GQA = MHA with
/// duplicated key/value heads, and amplification at <c>blocks.{L}.mlp.hook_post</c>.
/// Tolerance float32 vs float64: max |error| ≤ 1e-4 · max(1, max |reference|) per compared tensor.
/// </summary>
public class LlamaTests : IClassFixture<LlamaModels>
{
    private const double RelTol = 1e-4;

    /// <summary>Specs under test: GQA (4 heads, 2 kv heads) with an lm_head; multi-query (1 kv head) with tied embeddings.</summary>
    public static readonly LlamaSpec[] Specs =
    [
        new LlamaSpec(),
        new LlamaSpec(Heads: 4, KvHeads: 1, Tied: true, RopeTheta: 500000, RmsEps: 1e-5),
    ];

    public static TheoryData<int> SpecIndices() => new(Enumerable.Range(0, Specs.Length));

    private readonly LlamaModels _models;
    public LlamaTests(LlamaModels models) => _models = models;

    private (TinyCheckpoint Ckpt, TransformerModel Model, LlamaReference Ref) Load(int spec) => _models.Get(spec);

    private static int[] Ids(int spec, int length, int seed = 7) => TinyCheckpoints.Tokens(Specs[spec].Vocab, length, seed);

    [Theory, MemberData(nameof(SpecIndices))]
    public void Config_is_parsed_as_llama(int spec)
    {
        var (_, model, _) = Load(spec);
        var s = Specs[spec];
        var c = model.Config;
        Assert.Equal(ArchitectureKind.Llama, c.Architecture);
        Assert.Equal((s.Hidden, s.Heads, s.KvHeads, s.Intermediate, s.Layers, s.Vocab), (c.DModel, c.NHeads, c.NKvHeads, c.DMlp, c.NLayers, c.VocabSize));
        Assert.Equal(s.HeadDim, c.RotaryDims);
        Assert.Equal(s.RopeTheta, c.RotaryBase);
        Assert.Equal((float)s.RmsEps, c.LayerNormEps);
        Assert.Equal("silu", c.Activation);
        Assert.Equal(s.Tied, c.TiedEmbeddings);
    }

    [Theory]
    [InlineData("\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}", "rope_scaling")]
    [InlineData("\"head_dim\": 16", "head_dim")]
    [InlineData("\"attention_bias\": true", "attention_bias")]
    public void Unsupported_llama_variants_are_refused_not_silently_misread(string extra, string key)
    {
        string json = "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": 32, \"num_attention_heads\": 4, " +
                      "\"num_hidden_layers\": 2, \"intermediate_size\": 48, \"vocab_size\": 97, " + extra + "}";
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var e = Assert.Throws<Sna.Runtime.Checkpoints.CheckpointException>(() => ModelConfig.Parse(doc.RootElement, "config.json"));
        Assert.Contains(key, e.Message);
        using var ok = System.Text.Json.JsonDocument.Parse(json.Replace(extra, "\"rope_scaling\": null, \"head_dim\": 8, \"attention_bias\": false"));
        Assert.Equal(8, ModelConfig.Parse(ok.RootElement, "config.json").DHead);
    }

    [Theory, MemberData(nameof(SpecIndices))]
    public void Logits_at_every_position_and_every_layer_hooks_match_float64_reference(int spec)
    {
        var (_, model, reference) = Load(spec);
        var ids = Ids(spec, 13);
        var names = Enumerable.Range(0, model.Config.NLayers)
            .SelectMany(l => new[] { HookNames.MlpPost(l), HookNames.BlockName(l, HookNames.Block.MlpPre) }).ToArray();
        var (result, cache) = model.RunWithCache([ids], names, mode: LogitsMode.All);
        var expected = reference.Forward(ids);
        for (int t = 0; t < ids.Length; t++)
            AssertClose(expected.Logits[t], result.At(0, t), $"logits at position {t}");
        for (int l = 0; l < model.Config.NLayers; l++)
        {
            var post = cache[HookNames.MlpPost(l)];
            var pre = cache[HookNames.BlockName(l, HookNames.Block.MlpPre)];
            Assert.Equal([1, ids.Length, Specs[spec].Intermediate], post.Shape);
            AssertClose(Flatten(expected.MlpPost[l]), post.Data, $"layer {l} mlp.hook_post (silu(gate)·up)");
            AssertClose(Flatten(expected.MlpPre[l]), pre.Data, $"layer {l} mlp.hook_pre (gate pre-activation)");
        }
        // the model is not trivial: the logits vary over positions and tokens
        Assert.True(expected.Logits[0].Max() - expected.Logits[0].Min() > 1);
    }

    [Fact]
    public void Left_padded_batch_rows_match_the_reference_of_each_sequence()
    {
        var (_, model, reference) = Load(0);
        var seqs = new[] { Ids(0, 9, 1), Ids(0, 4, 2), Ids(0, 1, 3) };
        var batch = model.Forward(seqs, mode: LogitsMode.All);
        for (int b = 0; b < seqs.Length; b++)
        {
            var expected = reference.Forward(seqs[b]);
            for (int t = 0; t < seqs[b].Length; t++)
                AssertClose(expected.Logits[t], batch.At(b, batch.PadLeft[b] + t), $"row {b} position {t}");
        }
    }

    [Fact]
    public void Hook_points_and_shapes_follow_TransformerLens_for_llama()
    {
        var (_, model, _) = Load(0);
        var s = Specs[0];
        var names = model.HookPointNames().ToList();
        Assert.DoesNotContain(HookNames.PosEmbed, names);
        Assert.Contains("blocks.0.hook_resid_mid", names);       // sequential residual
        Assert.Contains("blocks.1.attn.hook_rot_q", names);
        Assert.Contains("blocks.1.attn.hook_rot_k", names);
        var shapes = new Dictionary<string, int[]>();
        var hooks = new HookSet();
        foreach (var n in names) hooks.Add(n, ctx => shapes[ctx.Name] = ctx.Shape.ToArray());
        model.Forward([[1, 2, 3], [4, 5]], hooks);
        Assert.Equal(names.Count, shapes.Count);
        Assert.Equal([2, 3, s.Heads, s.HeadDim], shapes["blocks.0.attn.hook_q"]);
        Assert.Equal([2, 3, s.KvHeads, s.HeadDim], shapes["blocks.0.attn.hook_k"]);   // un-repeated, as TransformerLens' GQA
        Assert.Equal([2, 3, s.KvHeads, s.HeadDim], shapes["blocks.0.attn.hook_rot_k"]);
        Assert.Equal([2, s.Heads, 3, 3], shapes["blocks.0.attn.hook_pattern"]);
        Assert.Equal([2, 3, s.Intermediate], shapes["blocks.1.mlp.hook_pre"]);
        Assert.Equal([2, 3, s.Intermediate], shapes["blocks.1.mlp.hook_post"]);
        Assert.Equal([2, 3, 1], shapes["blocks.0.ln2.hook_scale"]);
    }

    // ---- RoPE

    [Theory]
    [InlineData(16, 16, 10000.0)]       // Llama: rotary on the full head
    [InlineData(16, 8, 10000.0)]        // NeoX-style partial rotary
    [InlineData(64, 64, 500000.0)]      // Llama-3 theta
    public void Rope_dot_products_depend_only_on_the_position_difference(int dh, int rotaryDims, double theta)
    {
        var rng = new Random(dh + rotaryDims);
        var qv = Enumerable.Range(0, dh).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var kv = Enumerable.Range(0, dh).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        const int T = 600;
        // the same vector at every position, one head: x[0, t, 0, :]
        var q = Enumerable.Range(0, T).SelectMany(_ => qv).ToArray();
        var k = Enumerable.Range(0, T).SelectMany(_ => kv).ToArray();
        Rotary.Apply(q, [0], 1, T, 1, dh, rotaryDims, theta);
        Rotary.Apply(k, [0], 1, T, 1, dh, rotaryDims, theta);
        double scale = Math.Sqrt(Dot(qv, qv) * Dot(kv, kv));
        foreach (var (p, pk) in new[] { (0, 0), (5, 2), (17, 0), (3, 9), (40, 39) })
        {
            double baseline = Dot(q.AsSpan(p * dh, dh), k.AsSpan(pk * dh, dh));
            foreach (int shift in new[] { 1, 7, 100, 500 })
            {
                double shifted = Dot(q.AsSpan((p + shift) * dh, dh), k.AsSpan((pk + shift) * dh, dh));
                Assert.True(Math.Abs(shifted - baseline) <= 1e-5 * scale,
                    $"q@{p}·k@{pk} = {baseline} but q@{p + shift}·k@{pk + shift} = {shifted}");
            }
        }
        // rotation preserves norms, leaves the non-rotary dims alone, and matches the float64 HF formula
        for (int t = 0; t < T; t += 37)
        {
            var row = q.AsSpan(t * dh, dh);
            Assert.Equal(Math.Sqrt(Dot(qv, qv)), Math.Sqrt(Dot(row, row)), 4);
            for (int i = rotaryDims; i < dh; i++) Assert.Equal(qv[i], row[i]);
            var expected = qv.Select(v => (double)v).ToArray();
            LlamaReference.Rope(expected, 0, rotaryDims, t, theta);
            for (int i = 0; i < rotaryDims; i++) Assert.True(Math.Abs(expected[i] - row[i]) <= 2e-6, $"t={t} dim {i}: {row[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void Rope_positions_count_from_the_first_real_token_under_left_padding()
    {
        int dh = 8, T = 10, pad = 4;
        var rng = new Random(3);
        var x = Enumerable.Range(0, 2 * T * dh).Select(_ => (float)rng.NextDouble()).ToArray();
        // row 1 is row 0 shifted right by `pad` positions
        Array.Copy(x, 0, x, T * dh + pad * dh, (T - pad) * dh);
        Rotary.Apply(x, [0, pad], 2, T, 1, dh, dh, 10000);
        for (int t = 0; t < T - pad; t++)
            Assert.Equal(x.AsSpan(t * dh, dh).ToArray(), x.AsSpan((T + pad + t) * dh, dh).ToArray());
    }

    // ---- GQA

    [Fact]
    public void Grouped_query_attention_equals_multi_head_attention_with_duplicated_kv_heads()
    {
        var gqa = new LlamaSpec(Heads: 4, KvHeads: 2);
        var mha = gqa with { KvHeads = 4 };
        var w = TinyCheckpoints.LlamaWeights(gqa, seed: 5);
        // MHA head h gets the k/v rows of the GQA kv head it reads: h / (H / Hkv) (repeat_kv / repeat_interleave order)
        var wm = new Dictionary<string, TinyTensor>(w, StringComparer.Ordinal);
        int dh = gqa.HeadDim, D = gqa.Hidden, nRep = gqa.Heads / gqa.KvHeads;
        for (int l = 0; l < gqa.Layers; l++)
            foreach (var proj in new[] { "k_proj", "v_proj" })
            {
                string name = $"model.layers.{l}.self_attn.{proj}.weight";
                var src = w[name].Data;
                var dst = new float[mha.KvHeads * dh * D];
                for (int h = 0; h < mha.KvHeads; h++) Array.Copy(src, h / nRep * dh * D, dst, h * dh * D, dh * D);
                wm[name] = new TinyTensor([mha.KvHeads * dh, D], dst);
            }
        using var ckG = TinyCheckpoints.WriteLlama(gqa, w);
        using var ckM = TinyCheckpoints.WriteLlama(mha, wm);
        using var modelG = ModelLoader.Load(ckG.Dir);
        using var modelM = ModelLoader.Load(ckM.Dir);
        Assert.Equal(2, modelG.Config.NKvHeads);
        Assert.Equal(4, modelM.Config.NKvHeads);
        var batch = new[] { TinyCheckpoints.Tokens(gqa.Vocab, 11, 1), TinyCheckpoints.Tokens(gqa.Vocab, 6, 2) };
        var lg = modelG.Forward(batch, mode: LogitsMode.All);
        var lm = modelM.Forward(batch, mode: LogitsMode.All);
        // Bit-identical: every k/v column is the same dot product in both models and every head reads the same k/v values.
        // (Relies on the GEMM computing each output column with a reduction order that does not depend on N.)
        Assert.Equal(lm.Logits, lg.Logits);
        // and a wrong head → kv-head mapping would be caught: h % Hkv instead of h / (H/Hkv) gives different logits
        var wrong = new Dictionary<string, TinyTensor>(wm, StringComparer.Ordinal);
        for (int l = 0; l < gqa.Layers; l++)
            foreach (var proj in new[] { "k_proj", "v_proj" })
            {
                string name = $"model.layers.{l}.self_attn.{proj}.weight";
                var src = w[name].Data;
                var dst = new float[mha.KvHeads * dh * D];
                for (int h = 0; h < mha.KvHeads; h++) Array.Copy(src, h % gqa.KvHeads * dh * D, dst, h * dh * D, dh * D);
                wrong[name] = new TinyTensor([mha.KvHeads * dh, D], dst);
            }
        using var ckW = TinyCheckpoints.WriteLlama(mha, wrong);
        using var modelW = ModelLoader.Load(ckW.Dir);
        var lw = modelW.Forward(batch, mode: LogitsMode.All);
        Assert.True(lw.Logits.Zip(lg.Logits, (a, b) => Math.Abs(a - b)).Max() > 1e-3);
    }

    // ---- Amplification at blocks.{L}.mlp.hook_post

    [Fact]
    public void Multiplier_one_at_mlp_hook_post_is_bit_identical()
    {
        var (_, model, _) = Load(0);
        var ids = Ids(0, 12);
        var plain = model.Forward([ids], mode: LogitsMode.All).Logits;
        for (int l = 0; l < model.Config.NLayers; l++)
            foreach (var pos in new[] { PositionsMode.All, PositionsMode.Last })
            {
                var amp = Amplification.Single(l, [0, 5, 11, model.Config.DMlp - 1], 1.0f, pos);
                Assert.Equal(plain, model.Forward([ids], amp.ToHooks(model.Config), LogitsMode.All).Logits);
            }
    }

    [Theory]
    [InlineData(0, 3.0f, false)]
    [InlineData(1, 8.0f, false)]
    [InlineData(1, 0.0f, false)]
    [InlineData(0, -2.5f, true)]
    [InlineData(1, 6.0f, true)]
    public void Amplified_run_matches_reference_with_scaled_post_activation(int layer, float multiplier, bool lastOnly)
    {
        var (_, model, reference) = Load(0);
        var ids = Ids(0, 10, 11);
        int[] neurons = [2, 3, 17, 40, 47];
        var amp = Amplification.Single(layer, neurons, multiplier, lastOnly ? PositionsMode.Last : PositionsMode.All);
        var (result, cache) = model.RunWithCache([ids], [HookNames.MlpPost(layer)], amp.ToHooks(model.Config), LogitsMode.All);
        var expected = reference.Forward(ids, new LlamaReference.Scaling(layer, neurons, multiplier, lastOnly));
        var plain = reference.Forward(ids);
        for (int t = 0; t < ids.Length; t++) AssertClose(expected.Logits[t], result.At(0, t), $"amplified logits at {t}");
        // the cache (registered after the amplification) sees the scaled activation
        AssertClose(Flatten(expected.MlpPost[layer]), cache[HookNames.MlpPost(layer)].Data, "scaled hook_post");
        // and the edit matters at the last position
        double change = expected.Logits[^1].Zip(plain.Logits[^1], (a, b) => Math.Abs(a - b)).Max();
        Assert.True(change > 1e-3, $"amplification changed the last logits by only {change}");
    }

    // ---- helpers

    private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }

    private static double[] Flatten(double[][] rows) => rows.SelectMany(r => r).ToArray();

    internal static void AssertClose(IReadOnlyList<double> expected, ReadOnlySpan<float> actual, string what, double relTol = RelTol)
    {
        Assert.Equal(expected.Count, actual.Length);
        double maxAbs = 0, maxErr = 0;
        int worst = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            maxAbs = Math.Max(maxAbs, Math.Abs(expected[i]));
            double e = Math.Abs(expected[i] - actual[i]);
            if (e > maxErr) { maxErr = e; worst = i; }
        }
        Assert.True(maxErr <= relTol * Math.Max(1, maxAbs),
            $"{what}: max |error| {maxErr:E3} at [{worst}] ({actual[worst]} vs {expected[worst]}), max |ref| {maxAbs:F3}");
    }
}

/// <summary>The tiny Llama checkpoints of <see cref="LlamaTests.Specs"/>, written and loaded once per test class; deleted after.</summary>
public sealed class LlamaModels : IDisposable
{
    private readonly Dictionary<int, (TinyCheckpoint Ckpt, TransformerModel Model, LlamaReference Ref)> _cache = new();

    public (TinyCheckpoint Ckpt, TransformerModel Model, LlamaReference Ref) Get(int spec)
    {
        lock (_cache)
        {
            if (!_cache.TryGetValue(spec, out var e))
            {
                var ck = TinyCheckpoints.Llama(LlamaTests.Specs[spec], seed: 100 + spec);
                _cache[spec] = e = (ck, ModelLoader.Load(ck.Dir), new LlamaReference(LlamaTests.Specs[spec], ck.Tensors));
            }
            return e;
        }
    }

    public void Dispose()
    {
        foreach (var (ck, model, _) in _cache.Values) { model.Dispose(); ck.Dispose(); }
        _cache.Clear();
    }
}
