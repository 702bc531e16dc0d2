using System.Text.Json;
using Sna.Research.Method;
using Sna.Runtime;
using Sna.Runtime.Checkpoints;
using Sna.Runtime.Hub;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Models;

/// <summary>
/// The <see cref="LanguageModel"/> facade adds tokenization and shapes to the one forward pass and nothing else: every entry
/// point equals a plain hooked <see cref="TransformerModel.Forward(IReadOnlyList{int[]}, ForwardOptions)"/> on a separately
/// loaded model bit for bit (GPT-2, NeoX and both Llama fixtures); RunWithCache's tensors carry TransformerLens shapes and
/// equal the float64 goldens; generation with the KV cache equals generation without it.
/// </summary>
public class LanguageModelTests
{
    public static TheoryData<string> Fixtures() => new("gpt2-tiny-f32", "gpt2-tiny-f16", "pythia-tiny-f32", "llama-tiny-f32", "Llama-3-tiny-bf16");

    private static readonly Dictionary<string, LanguageModel> Loaded = new();

    private static LanguageModel Lm(string fixture)
    {
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(fixture, out var m)) Loaded[fixture] = m = LanguageModel.Load(ModelFixtures.Dir(fixture));
            return m;
        }
    }

    private static (string Text, string Target)[] Prompts()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("prompts.json")));
        return doc.RootElement.GetProperty("prompts").EnumerateObject()
            .Select(p => (p.Value.GetProperty("text").GetString()!, p.Value.GetProperty("target").GetString()!)).ToArray();
    }

    private static HookSet Amplify(ModelConfig c) => Amplification.Single(c.NLayers - 1, [0, 3, 7], 2.5f).ToHooks(c);

    [SkippableTheory, MemberData(nameof(Fixtures))]
    public void Run_RunWithHooks_and_batches_equal_a_plain_hooked_forward_bit_for_bit(string fixture)
    {
        SharedData.Require();
        var lm = Lm(fixture);
        var plain = ModelFixtures.Model(fixture);                  // loaded separately, by ModelLoader
        var tok = ModelTokenizer.FromDirectory(ModelFixtures.Dir(fixture));
        var texts = Prompts().Select(p => p.Text).ToArray();
        var amp = Amplify(plain.Config);
        foreach (var text in texts)
        {
            var ids = tok.Encode(text, BosPolicy.Prepend);
            Assert.Equal(ids, lm.ToTokens(text));
            var want = plain.Forward([ids], null, LogitsMode.All);
            var got = lm.Run(text);
            Assert.Equal([1, ids.Length, plain.Config.VocabSize], got.Shape);
            Assert.Equal(want.Logits, got.Data);
            Assert.Equal(want.Logits, lm.Run(ids).Data);

            var wantHooked = plain.Forward([ids], amp, LogitsMode.All).Logits;
            Assert.Equal(wantHooked, lm.RunWithHooks(text, amp).Data);
            Assert.NotEqual(want.Logits, wantHooked);                // the hooks did something
            var fn = amp.Snapshot()[0];
            Assert.Equal(wantHooked, lm.RunWithHooks(ids, (fn.Name, fn.Fn)).Data);
            Assert.Equal(wantHooked, lm.WithHooks(amp).Run(text).Data);   // a view: same as per-call hooks
            Assert.Equal(want.Logits, lm.Run(text).Data);              // and the facade itself is unchanged

            var last = lm.Run(text, LogitsMode.Last);
            Assert.Equal([1, 1, plain.Config.VocabSize], last.Shape);
            Assert.Equal(plain.ForwardLast(ids), last.Data);
        }
        var batch = texts.Select(t => tok.Encode(t, BosPolicy.Prepend)).ToArray();
        var wantBatch = plain.Forward(batch, amp, LogitsMode.All);
        var gotBatch = lm.Run(batch, amp);
        Assert.Equal([batch.Length, wantBatch.SeqLen, plain.Config.VocabSize], gotBatch.Shape);
        Assert.Equal(wantBatch.PadLeft, gotBatch.PadLeft);
        Assert.Equal(wantBatch.Logits, gotBatch.Data);
    }

    [SkippableTheory, MemberData(nameof(Fixtures))]
    public void RunWithCache_tensors_have_TransformerLens_shapes_and_equal_the_golden_mlp_post(string fixture)
    {
        SharedData.Require();
        var lm = Lm(fixture);
        var c = lm.Config;
        var golden = ModelFixtures.Golden(fixture);
        var texts = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("prompts.json"))).RootElement.GetProperty("prompts");
        int checkedPrompts = 0;
        foreach (var p in golden.GetProperty("prompts").EnumerateObject())
        {
            var goldenIds = ModelFixtures.Ids(p.Value.GetProperty("ids"));
            string text = texts.GetProperty(p.Name).GetProperty("text").GetString()!;
            var ids = lm.ToTokens(text, prependBos: false);
            Assert.Equal(goldenIds, ids);                                // the goldens were taken without BOS
            var (logits, cache) = lm.RunWithCache(ids, n => n.EndsWith("mlp.hook_post", StringComparison.Ordinal), mode: LogitsMode.Last);
            Assert.Equal(c.NLayers, cache.Names.Count);
            Assert.Equal([1, 1, c.VocabSize], logits.Shape);
            int T = ids.Length;
            for (int l = 0; l < c.NLayers; l++)
            {
                var act = cache[HookNames.MlpPost(l)];
                Assert.Equal([1, T, c.DMlp], act.Shape);
                var expected = ModelFixtures.GoldenTensor(fixture, $"mlp_post.{p.Name}.{l}", out var shape);
                Assert.Equal([T, c.DMlp], shape);
                double maxAbs = expected.Max(Math.Abs), maxErr = 0;
                for (int t = 0; t < T; t++)
                {
                    var row = act.Row(0, t);
                    for (int i = 0; i < c.DMlp; i++)
                    {
                        Assert.Equal(row[i], act[0, t, i]);
                        maxErr = Math.Max(maxErr, Math.Abs(act[0, t, i] - expected[t * c.DMlp + i]));
                    }
                }
                Assert.True(maxErr <= 1e-4 * Math.Max(1, maxAbs), $"{fixture}/{p.Name} layer {l}: max error {maxErr:E3}");
            }
            checkedPrompts++;
        }
        Assert.True(checkedPrompts >= 5, "expected the golden prompts");

        // Other hook points: resid [b, pos, d_model], q [b, pos, head, d_head], pattern [b, head, q, k], ln scale [b, pos, 1].
        var (_, all) = lm.RunWithCache("Hello there, world", n => n.StartsWith("blocks.0.", StringComparison.Ordinal));
        int n0 = lm.ToTokens("Hello there, world").Length;
        Assert.Equal([1, n0, c.DModel], all["blocks.0.hook_resid_pre"].Shape);
        Assert.Equal([1, n0, c.NHeads, c.DHead], all["blocks.0.attn.hook_q"].Shape);
        Assert.Equal([1, c.NHeads, n0, n0], all["blocks.0.attn.hook_pattern"].Shape);
        Assert.Equal([1, n0, 1], all["blocks.0.ln1.hook_scale"].Shape);
        Assert.DoesNotContain(all.Names, n => !n.StartsWith("blocks.0.", StringComparison.Ordinal));
        var pattern = all["blocks.0.attn.hook_pattern"];
        for (int h = 0; h < c.NHeads; h++)
        {
            Assert.Equal(0f, pattern[0, h, 0, n0 - 1]);              // causal: position 0 never sees the last
            double sum = 0;
            for (int k = 0; k < n0; k++) sum += pattern[0, h, n0 - 1, k];
            Assert.InRange(sum, 0.999, 1.001);
        }
        var q = all["blocks.0.attn.hook_q"];
        Assert.Equal(q.Row(0, n0 - 1)[c.DHead + 1], q[0, n0 - 1, 1, 1]);
    }

    [SkippableTheory, MemberData(nameof(Fixtures))]
    public void Generate_with_the_KV_cache_equals_without_it_and_the_model_s_own_generate(string fixture)
    {
        SharedData.Require();
        var lm = Lm(fixture);
        foreach (var (text, _) in Prompts().Take(4))
        {
            var amp = Amplify(lm.Config);
            foreach (var hooks in new[] { null, amp })
            {
                var cached = lm.Generate(text, 8, new GenerationOptions { Hooks = hooks });
                var full = lm.Generate(text, 8, new GenerationOptions { Hooks = hooks, UseKvCache = false });
                Assert.Equal(full.Tokens, cached.Tokens);
                Assert.Equal(8, cached.Tokens.Length);
                Assert.Equal(StopReason.MaxTokens, cached.Reason);
                Assert.Equal(lm.ToText(cached.Tokens), cached.Text);
                Assert.Equal(lm.Model.Generate(lm.ToTokens(text), new GenerationOptions { MaxNewTokens = 8, Hooks = hooks }).Tokens, cached.Tokens);
            }
            var sampled = lm.Generate(text, 6, new GenerationOptions { Temperature = 1.0, TopK = 20, Seed = 7 });
            var sampledFull = lm.Generate(text, 6, new GenerationOptions { Temperature = 1.0, TopK = 20, Seed = 7, UseKvCache = false });
            Assert.Equal(sampledFull.Tokens, sampled.Tokens);
        }
    }

    /// <summary>
    /// A new user's report: <c>Generate(text, options: new GenerationOptions { MaxNewTokens = 3 })</c> returned 20 tokens (the
    /// method's own default replaced the options'), and greedy text ran on past <c>&lt;|endoftext|&gt;</c>. On the bundled model
    /// (config.json eos_token_id 50256) this prompt reaches the end-of-sequence token within a few greedy tokens.
    /// </summary>
    [Fact]
    public void Generate_honours_the_options_token_budget_and_stops_at_the_end_of_sequence_token()
    {
        using var lm = LanguageModel.Load(TestPaths.BundledModelDir);
        Assert.Equal([50256], lm.Config.EosTokenIds);
        const string prompt = "What is 3 + 4? Answer:";
        Assert.Equal(3, lm.Generate(prompt, options: new GenerationOptions { MaxNewTokens = 3, StopAtEos = false }).Tokens.Length);
        Assert.Equal(5, lm.Generate(prompt, 5, new GenerationOptions { MaxNewTokens = 3, StopAtEos = false }).Tokens.Length);   // the argument wins
        Assert.Equal(4, lm.Generate(prompt, new GenerationOptions { MaxNewTokens = 4, StopAtEos = false }).Tokens.Length);

        var runOn = lm.Generate(prompt, 12, new GenerationOptions { StopAtEos = false });
        int eos = Array.IndexOf(runOn.Tokens, 50256);
        Assert.True(eos >= 0 && eos < 11, $"the test needs a prompt whose greedy continuation reaches <|endoftext|> early: {lm.ToText(runOn.Tokens)}");
        var stopped = lm.Generate(prompt, 12);
        Assert.Equal(runOn.Tokens[..(eos + 1)], stopped.Tokens);   // the same tokens, ending with <|endoftext|>
        Assert.Equal(StopReason.StopToken, stopped.Reason);
        Assert.Equal(StopReason.MaxTokens, runOn.Reason);
        Assert.Equal(stopped.Tokens, lm.Generate(prompt, 12, new GenerationOptions { UseKvCache = false }).Tokens);

        // The batch overload equals single runs; Run(batch, mode) and WithoutHooks are the documented spellings.
        var ids = lm.ToTokens(prompt);
        var batch = lm.Generate([ids, ids[..^2]], new GenerationOptions { MaxNewTokens = 4 });
        Assert.Equal(lm.Generate(ids, 4).Tokens, batch[0].Tokens);
        Assert.Equal(lm.Generate(ids[..^2], 4).Tokens, batch[1].Tokens);
        Assert.Equal(lm.Run([ids], null, LogitsMode.Last).Data, lm.Run([ids], LogitsMode.Last).Data);
        var hooked = lm.WithHooks(Amplify(lm.Config));
        Assert.NotEqual(lm.Run(ids, LogitsMode.Last).Data, hooked.Run(ids, LogitsMode.Last).Data);
        Assert.Equal(lm.Run(ids, LogitsMode.Last).Data, hooked.WithoutHooks().Run(ids, LogitsMode.Last).Data);
    }

    [Fact]
    public void Config_reads_eos_token_id_as_an_integer_or_a_list()
    {
        static ModelConfig Parse(string eos) => ModelConfig.Parse(JsonDocument.Parse(
            $$"""{"model_type":"gpt2","n_embd":8,"n_head":2,"n_layer":1,"n_positions":16,"vocab_size":10{{eos}}}""").RootElement, "config.json");
        Assert.Equal([50256], Parse("").EosTokenIds);                 // GPT-2's default
        Assert.Equal([7], Parse(",\"eos_token_id\":7").EosTokenIds);
        Assert.Equal([7, 9], Parse(",\"eos_token_id\":[7,9]").EosTokenIds);
        Assert.Equal([7, 9], Parse(",\"eos_token_id\":[7.0,9]").EosTokenIds);   // integral floats, as a single value
        Assert.Throws<CheckpointException>(() => Parse(",\"eos_token_id\":[7.5]"));
        var e = Assert.Throws<CheckpointException>(() => Parse(",\"eos_token_id\":[7,\"x\"]"));
        Assert.Contains("eos_token_id", e.Message);
    }

    [SkippableFact]
    public void Load_records_provenance_and_tokens_round_trip()
    {
        SharedData.Require();
        string dir = ModelFixtures.Dir("gpt2-tiny-f32");
        var lm = Lm("gpt2-tiny-f32");
        var p = lm.Provenance;
        Assert.Equal(dir, p.Spec);
        Assert.Equal(Path.GetFullPath(dir), p.Directory);
        Assert.Equal(Checkpoint.ComputeFileSha256(Path.Combine(dir, "model.safetensors")), p.Sha256);
        Assert.Equal(lm.Model.Provenance.ContentHash, p.Sha256);
        Assert.Equal("GPT2LMHeadModel", p.Architecture);
        Assert.Equal(BosPolicy.Prepend, p.Bos);
        Assert.Equal(ModelSource.LocalDirectory, p.Source);
        Assert.Equal(ModelTokenizer.FromDirectory(dir).SourceHash, p.TokenizerSha256);
        Assert.Equal("F32", p.WeightsDType);

        var ids = lm.ToTokens("The capital of France is");
        Assert.Equal(50256, ids[0]);
        Assert.Equal(ids[1..], lm.ToTokens("The capital of France is", prependBos: false));
        Assert.Equal("The capital of France is", lm.ToText(ids.AsSpan(1)));
        Assert.Equal(["<|endoftext|>", "The", " capital", " of", " France", " is"], lm.ToStrTokens("The capital of France is"));

        using var noBos = LanguageModel.Load(dir, new LoadOptions { Bos = BosPolicy.None, WeightsDType = WeightsDTypeOption.F16 });
        Assert.Equal(ids[1..], noBos.ToTokens("The capital of France is"));
        Assert.Equal("F16", noBos.Provenance.WeightsDType);
        Assert.Equal(ModelTokenizer.FromDirectory(dir).Encode("a b"), LanguageModel.LoadTokenizer(dir).Encode("a b"));
    }

    [Fact]
    public void Load_refuses_a_missing_path_as_an_input_error()
    {
        var e = Assert.Throws<SnaInputException>(() => LanguageModel.Load("./no-such-model-dir"));
        Assert.Equal("model directory not found: ./no-such-model-dir", e.Message);
        Assert.Throws<SnaInputException>(() => LanguageModel.LoadTokenizer("/no/such/dir"));
    }

    [SkippableFact]
    public void Load_of_a_bad_tokenizer_is_an_input_error_naming_the_directory()
    {
        SharedData.Require();
        using var d = new TempDir();
        foreach (var f in new[] { "config.json", "model.safetensors", "merges.txt" })
            File.Copy(Path.Combine(ModelFixtures.Dir("gpt2-tiny-f32"), f), Path.Combine(d.Path, f));
        File.WriteAllText(Path.Combine(d.Path, "vocab.json"), "{ not json");
        var e = Assert.Throws<SnaInputException>(() => LanguageModel.Load(d.Path));
        Assert.StartsWith($"the tokenizer files in {d.Path} cannot be used:", e.Message);
    }

    [SkippableFact]
    public async Task Load_of_a_hub_id_at_a_revision_resolves_through_the_hub_cache()
    {
        SharedData.Require();
        using var work = new TempDir();
        using var cache = new TempDir();
        var (hub, cdn) = await FakeHubRepos.StartAsync(work.Path);
        await using var _ = hub;
        await using var __ = cdn;
        var settings = new HubSettings(cache.Path, hub.Url);
        using var lm = await LanguageModel.LoadAsync("EleutherAI/pythia-160m@main", new LoadOptions { Hub = settings });
        Assert.Equal("EleutherAI/pythia-160m", lm.Provenance.RepoId);
        Assert.Equal("main", lm.Provenance.Revision);
        Assert.Equal(FakeHubRepos.PythiaMain, lm.Provenance.Commit);
        Assert.Equal(ModelSource.Downloaded, lm.Provenance.Source);
        Assert.StartsWith(Path.Combine(cache.Path, "models--EleutherAI--pythia-160m", "snapshots"), lm.Provenance.Directory);
        var fixture = Lm("pythia-tiny-f16");
        Assert.Equal(fixture.Run("The capital of France is").Data, lm.Run("The capital of France is").Data);

        using var again = LanguageModel.Load("EleutherAI/pythia-160m", new LoadOptions { Hub = settings, Offline = true });
        Assert.Equal(ModelSource.Cache, again.Provenance.Source);
        Assert.Equal(lm.Provenance.Sha256, again.Provenance.Sha256);
    }

    [Fact]
    public void Activation_indexers_follow_the_shape_and_check_bounds()
    {
        var data = Enumerable.Range(0, 2 * 3 * 4).Select(i => (float)i).ToArray();
        var a = new Activation("blocks.0.mlp.hook_post", data, [2, 3, 4], [0, 1]);
        Assert.Equal(3, a.Rank);
        Assert.Equal(1 * 12 + 2 * 4 + 3, a[1, 2, 3]);
        Assert.Equal(new float[] { 20, 21, 22, 23 }, a.Row(1, 2).ToArray());
        Assert.Equal(new float[] { 13, 17, 21 }, a.Column(1, 1));
        Assert.Throws<IndexOutOfRangeException>(() => a[0, 3, 0]);
        Assert.Throws<IndexOutOfRangeException>(() => a[2, 0, 0]);
        Assert.Throws<InvalidOperationException>(() => a[0, 0]);
        var r4 = new Activation("blocks.0.attn.hook_q", data, [1, 2, 3, 4], [0]);
        Assert.Equal(1 * 12 + 2 * 4 + 3, r4[0, 1, 2, 3]);
        Assert.Equal(12, r4.Row(0, 1).Length);
        Assert.Equal(12f, r4.Row(0, 1)[0]);
    }
}
