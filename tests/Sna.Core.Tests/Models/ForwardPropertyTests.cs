using Sna.Research.Method;
using Sna.Runtime.Models;

namespace Sna.Core.Tests.Models;

/// <summary>Invariants of the runtime that hold for any weights: no golden needed, each can fail.</summary>
public class ForwardPropertyTests
{
    public static TheoryData<string> AllFixtures() => new(ModelFixtures.Gpt2.Concat(ModelFixtures.NeoX));

    private static int[] Prompt(string fixture, string name) =>
        ModelFixtures.Ids(ModelFixtures.PromptTokens(ModelFixtures.IsNeoX(fixture)).GetProperty("prompts").GetProperty(name));

    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void Multiplier_one_leaves_logits_bit_identical(string fixture)
    {
        var model = ModelFixtures.Model(fixture);
        var ids = Prompt(fixture, "math");
        var plain = model.ForwardLast(ids);
        for (int l = 0; l < model.Config.NLayers; l++)
            foreach (var pos in new[] { PositionsMode.All, PositionsMode.Last })
            {
                var amp = Amplification.Single(l, [0, 3, 7, model.Config.DMlp - 1], 1.0f, pos);
                var hooked = model.ForwardLast(ids, amp.ToHooks(model.Config));
                Assert.Equal(plain, hooked); // exact float equality, element by element
            }
    }

    /// <summary>
    /// With nothing reading mlp.hook_pre, gelu_new runs in the MLP-in GEMM's epilogue; a hook there (here one that changes
    /// nothing) makes the block run the GEMM, the hook and the activation as separate passes. Both give the same bits, for
    /// one prompt (small-m GEMM paths) and for a batch of more than 32 token rows (packed path).
    /// </summary>
    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void Mlp_activation_fused_into_the_gemm_equals_the_separate_passes_bit_for_bit(string fixture)
    {
        var model = ModelFixtures.Model(fixture);
        var ids = Prompt(fixture, "math");
        var batch = Enumerable.Repeat(ids, 32 / ids.Length + 2).ToList();
        Assert.True(batch.Count * ids.Length > 32);
        foreach (var prompts in new[] { new List<int[]> { ids }, batch })
        {
            var hooks = new HookSet();
            int fired = 0;
            for (int l = 0; l < model.Config.NLayers; l++) hooks.Add(HookNames.BlockName(l, HookNames.Block.MlpPre), _ => fired++);
            var plain = model.Forward(prompts, new ForwardOptions { Mode = LogitsMode.All }).Logits;
            var separate = model.Forward(prompts, new ForwardOptions { Mode = LogitsMode.All, Hooks = hooks }).Logits;
            Assert.Equal(model.Config.NLayers, fired);
            Assert.Equal(plain, separate); // exact float equality, element by element
        }
    }

    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void A_hooked_view_leaves_the_model_exactly_as_it_was(string fixture)
    {
        // WithHooks returns a view over the same weights: the shared fixture model itself never changes, so no lock is needed.
        var model = ModelFixtures.Model(fixture);
        var ids = Prompt(fixture, "poem");
        var before = model.ForwardLast(ids);
        var amp = Amplification.Single(1, [1, 2, 5], 8f);
        var hooked = model.WithHooks(amp.ToHooks(model.Config));
        var during = hooked.ForwardLast(ids);
        Assert.Empty(model.PersistentHooks);
        Assert.Single(hooked.PersistentHooks);
        Assert.Equal(model.ForwardLast(ids, amp.ToHooks(model.Config)), during);   // persistent = per-call, bit for bit
        hooked.Dispose();                                                           // a view owns no weights
        var after = model.ForwardLast(ids);
        Assert.NotEqual(before, during);        // the hook did something
        Assert.Equal(before, after);            // and the original never had it
        Assert.Equal(before, hooked.WithoutHooks().ForwardLast(ids));
    }

    /// <summary>
    /// The GEMM and the thread count are chosen per view, never set on a shared model: a view keeps the original's hooks,
    /// the original keeps its own GEMM and threads, and no thread count changes a bit.
    /// </summary>
    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void Gemm_and_thread_views_leave_the_model_as_it_was(string fixture)
    {
        var model = ModelFixtures.Model(fixture);
        var ids = Prompt(fixture, "poem");
        var gemm = model.Gemm;
        int threads = model.Threads;
        var amp = Amplification.Single(1, [1, 2, 5], 8f);
        var hooked = model.WithHooks(amp.ToHooks(model.Config));
        var expected = hooked.ForwardLast(ids);

        var naive = hooked.WithGemm(new Sna.Runtime.Numerics.NaiveGemm());
        var single = hooked.WithThreads(1);
        Assert.IsType<Sna.Runtime.Numerics.NaiveGemm>(naive.Gemm);
        Assert.Equal(1, single.Threads);
        Assert.Same(gemm, model.Gemm);
        Assert.Same(gemm, single.Gemm);
        Assert.Equal(threads, model.Threads);
        Assert.Equal(threads, naive.Threads);
        Assert.Single(naive.PersistentHooks);
        Assert.Single(single.PersistentHooks);
        Assert.Equal(expected, single.ForwardLast(ids));                       // threads: bit for bit
        AssertClose(expected, naive.ForwardLast(ids), 1e-4f, "naive GEMM");      // another GEMM: another summation order
        Assert.Throws<ArgumentOutOfRangeException>(() => model.WithThreads(0));
    }

    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void Batch_of_identical_prompts_equals_single_runs(string fixture)
    {
        var model = ModelFixtures.Model(fixture);
        var ids = Prompt(fixture, "code");
        var single = model.ForwardLast(ids);
        var batch = model.Forward([ids, ids, ids, ids]);
        for (int b = 0; b < 4; b++) AssertClose(single, batch.Last(b).ToArray(), 1e-5f, $"row {b}");
    }

    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void Left_padded_mixed_length_batch_equals_single_runs(string fixture)
    {
        var model = ModelFixtures.Model(fixture);
        var prompts = new[] { "math", "poem", "code", "logic", "review", "unicode" }.Select(n => Prompt(fixture, n)).ToArray();
        var batch = model.Forward(prompts);
        Assert.True(batch.PadLeft.Distinct().Count() > 1, "the prompts should differ in length");
        for (int b = 0; b < prompts.Length; b++)
            AssertClose(model.ForwardLast(prompts[b]), batch.Last(b).ToArray(), 1e-5f, $"prompt {b} (pad {batch.PadLeft[b]})");
        // amplification in a batch also equals single runs (padding positions are never scaled)
        var amp = Amplification.Single(0, [4, 9], 6f).ToHooks(model.Config);
        var ampBatch = model.Forward(prompts, amp);
        for (int b = 0; b < prompts.Length; b++)
            AssertClose(model.ForwardLast(prompts[b], amp), ampBatch.Last(b).ToArray(), 1e-5f, $"amplified prompt {b}");
    }

    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void All_positions_logits_agree_with_prefix_runs(string fixture)
    {
        var model = ModelFixtures.Model(fixture);
        var ids = Prompt(fixture, "logic");
        var all = model.Forward([ids], mode: LogitsMode.All);
        for (int t = 1; t <= ids.Length; t += 4)
            AssertClose(model.ForwardLast(ids[..t]), all.At(0, t - 1).ToArray(), 1e-5f, $"prefix {t}");
    }

    [SharedFact]
    public void Out_of_range_layer_or_neuron_is_a_clear_error()
    {
        var model = ModelFixtures.Model("gpt2-tiny-f32");
        var e1 = Assert.Throws<Sna.Runtime.SnaInputException>(() => Amplification.Single(3, [0], 2f).Validate(model.Config));
        Assert.Contains("layer 3 is out of range", e1.Message);
        var e2 = Assert.Throws<Sna.Runtime.SnaInputException>(() => Amplification.Single(0, [128], 2f).Validate(model.Config));
        Assert.Contains("neuron 128 is out of range", e2.Message);
        var hooks = new HookSet();
        hooks.Add("blocks.7.mlp.hook_post", _ => { });
        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward([[1, 2]], hooks));
        Assert.Equal("hooks", e3.ParamName);   // not 'persistent' (a per-call hook here)
        Assert.StartsWith("hook 'blocks.7.mlp.hook_post': layer 7 is out of range (the model has", e3.Message);
        Assert.Throws<ArgumentException>(() => new HookSet().Add("blocks.0.mlp.hook_nope", _ => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward([[50257]]));
    }

    [SharedFact]
    public void Every_hook_point_fires_once_in_TransformerLens_order_with_its_shape()
    {
        var model = ModelFixtures.Model("gpt2-tiny-f32");
        var names = model.HookPointNames().ToList();
        Assert.Contains("blocks.2.attn.hook_pattern", names);
        Assert.DoesNotContain("blocks.0.attn.hook_rot_q", names);
        var fired = new List<(string, int[])>();
        var hooks = new HookSet();
        foreach (var n in names) hooks.Add(n, ctx => fired.Add((ctx.Name, ctx.Shape.ToArray())));
        model.Forward([[1, 2, 3], [4, 5]], hooks);
        Assert.Equal(names, fired.Select(f => f.Item1));
        var shapes = fired.ToDictionary(f => f.Item1, f => f.Item2);
        Assert.Equal([2, 3, 32], shapes["hook_embed"]);
        Assert.Equal([2, 3, 1], shapes["blocks.0.ln1.hook_scale"]);
        Assert.Equal([2, 3, 4, 8], shapes["blocks.1.attn.hook_q"]);
        Assert.Equal([2, 4, 3, 3], shapes["blocks.1.attn.hook_pattern"]);
        Assert.Equal([2, 3, 128], shapes["blocks.2.mlp.hook_post"]);
        var neox = ModelFixtures.Model("pythia-tiny-f32").HookPointNames().ToList();
        Assert.Contains("blocks.0.attn.hook_rot_k", neox);
        Assert.DoesNotContain("hook_pos_embed", neox);
        Assert.DoesNotContain("blocks.0.hook_resid_mid", neox);
    }

    [SharedFact]
    public void Attention_pattern_rows_sum_to_one_and_respect_causality_and_padding()
    {
        var model = ModelFixtures.Model("gpt2-tiny-f32");
        var (_, cache) = model.RunWithCache([[10, 11, 12, 13], [20, 21]], ["blocks.0.attn.hook_pattern"]);
        var a = cache["blocks.0.attn.hook_pattern"];
        int B = 2, H = 4, T = 4;
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int q = 0; q < T; q++)
                {
                    var row = a.Data.AsSpan(((b * H + h) * T + q) * T, T);
                    int pad = a.PadLeft[b];
                    if (q < pad) { Assert.All(row.ToArray(), v => Assert.Equal(0f, v)); continue; }
                    Assert.Equal(1.0, row.ToArray().Sum(), 5);
                    for (int k = 0; k < T; k++) if (k > q || k < pad) Assert.Equal(0f, row[k]);
                }
    }

    private static void AssertClose(float[] expected, float[] actual, float tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        float max = 0;
        for (int i = 0; i < expected.Length; i++) max = Math.Max(max, Math.Abs(expected[i] - actual[i]));
        Assert.True(max <= tol, $"{what}: max |diff| {max:E3} > {tol:E1}");
    }
}
