using Sna.Research.Method;
using Sna.Runtime.Models;

namespace Sna.Core.Tests.Models;

/// <summary>
/// The one forward pass in all its modes equals the plain hooked forward: KV cache vs full recompute, stop/restart at every
/// layer (bit-identical), generation with the cache = without it, hooks firing on cached passes. On GPT-2, NeoX and both
/// Llama fixtures (ids from the fixtures' prompt_tokens files, so no tokenizer is needed).
/// </summary>
public class ForwardPathTests
{
    public static TheoryData<string> Fixtures() => new("gpt2-tiny-f32", "gpt2-tiny-f16", "pythia-tiny-f32", "llama-tiny-f32", "Llama-3-tiny-bf16");

    internal static int[] Prompt(string fixture, string name)
    {
        string file = fixture switch
        {
            "llama-tiny-f32" => "prompt_tokens_llama2.json",
            "Llama-3-tiny-bf16" => "prompt_tokens_llama3.json",
            _ when ModelFixtures.IsNeoX(fixture) => "prompt_tokens_neox.json",
            _ => "prompt_tokens.json",
        };
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture(file)));
        return ModelFixtures.Ids(doc.RootElement.GetProperty("prompts").GetProperty(name));
    }

    private static double[] LogSoftmax(ReadOnlySpan<float> logits)
    {
        double max = double.NegativeInfinity;
        foreach (var x in logits) max = Math.Max(max, x);
        double sum = 0;
        foreach (var x in logits) sum += Math.Exp(x - max);
        double lse = max + Math.Log(sum);
        var r = new double[logits.Length];
        for (int i = 0; i < r.Length; i++) r[i] = logits[i] - lse;
        return r;
    }

    private static void AssertLogProbsClose(ReadOnlySpan<float> want, ReadOnlySpan<float> got, double tol, string what)
    {
        var a = LogSoftmax(want); var b = LogSoftmax(got);
        double worst = 0;
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        Assert.True(worst <= tol, $"{what}: max |Δ log p| = {worst:E2} > {tol:E0}");
    }

    [SharedTheory, MemberData(nameof(Fixtures))]
    public void Kv_cache_split_at_every_position_equals_full_recompute(string fixture)
    {
        var model = ModelFixtures.Model(fixture);
        var ids = Prompt(fixture, "logic");
        var amp = Amplification.Single(model.Config.NLayers - 1, [0, 5, 9], 3f).ToHooks(model.Config);   // hooks fire on cached passes too
        foreach (var hooks in new[] { null, amp })
        {
            var full = model.Forward([ids], hooks, LogitsMode.All);
            for (int k = 1; k < ids.Length; k++)
            {
                var kv = new KvCache(model.Config, capacity: 2);            // grows as it fills
                model.Forward([ids[..k]], new ForwardOptions { Hooks = hooks, Past = [kv] });
                Assert.Equal(k, kv.Length);
                var rest = model.Forward([ids[k..]], new ForwardOptions { Hooks = hooks, Past = [kv], Mode = LogitsMode.All });
                Assert.Equal(ids.Length, kv.Length);
                for (int t = k; t < ids.Length; t++)
                    AssertLogProbsClose(full.At(0, t), rest.At(0, t - k), 1e-5, $"{fixture} split {k}, position {t}, hooks {hooks is not null}");
            }
        }
    }

    [SharedTheory, MemberData(nameof(Fixtures))]
    public void Batched_rows_with_different_cached_lengths_equal_their_single_runs(string fixture)
    {
        var model = ModelFixtures.Model(fixture);
        var prompts = new[] { "math", "poem", "code", "review" }.Select(n => Prompt(fixture, n)).ToArray();
        int[] split = [3, 1, 6, 2];
        var caches = prompts.Select((p, i) =>
        {
            var kv = new KvCache(model.Config);
            model.Forward([p[..split[i]]], new ForwardOptions { Past = [kv] });
            return kv.Freeze();
        }).ToArray();
        // New parts of different lengths (left-padded) on caches of different lengths, in one batch.
        var rest = prompts.Select((p, i) => p[split[i]..]).ToArray();
        var r = model.Forward(rest, new ForwardOptions { Past = caches });
        for (int b = 0; b < prompts.Length; b++)
            AssertLogProbsClose(model.ForwardLast(prompts[b]), r.Last(b), 1e-5, $"{fixture} row {b}");
        Assert.All(caches, c => Assert.True(c.Frozen));
        Assert.Equal(split, caches.Select(c => c.Length).ToArray());     // frozen caches are never appended to
    }

    [SharedTheory, MemberData(nameof(Fixtures))]
    public void Stop_and_restart_at_every_layer_is_bit_identical(string fixture)
    {
        var model = ModelFixtures.Model(fixture);
        var batch = new[] { Prompt(fixture, "math"), Prompt(fixture, "code") };   // different lengths: padding crosses the restart
        var hooks = Amplification.Single(1, [2, 4], 2.5f).ToHooks(model.Config);
        foreach (var mode in new[] { LogitsMode.Last, LogitsMode.All })
        {
            var full = model.Forward(batch, hooks, mode).Logits;
            int NL = model.Config.NLayers;
            for (int l = 1; l <= NL; l++)
            {
                float[] residual;
                if (l < NL)
                {
                    var head = model.Forward(batch, new ForwardOptions { Hooks = hooks, StopLayer = l });
                    Assert.Empty(head.Logits);
                    residual = head.Residual!;
                }
                else   // starting after the last block: only the final norm and the unembedding run
                {
                    string last = HookNames.BlockName(NL - 1, HookNames.Block.ResidPost);
                    residual = model.RunWithCache(batch, [last], hooks).Cache[last].Data;
                }
                var tail = model.Forward(batch, new ForwardOptions { Hooks = hooks, StartLayer = l, Residual = residual, Mode = mode });
                Assert.Equal(full, tail.Logits);                                  // exact, element by element
            }
        }
    }

    [SharedTheory, MemberData(nameof(Fixtures))]
    public void Stopped_residual_is_resid_pre_of_the_stop_layer(string fixture)
    {
        var model = ModelFixtures.Model(fixture);
        var ids = Prompt(fixture, "poem");
        for (int l = 1; l < model.Config.NLayers; l++)
        {
            var (_, cache) = model.RunWithCache([ids], [HookNames.BlockName(l, HookNames.Block.ResidPre)]);
            var head = model.Forward([ids], new ForwardOptions { StopLayer = l });
            Assert.Equal(cache[HookNames.BlockName(l, HookNames.Block.ResidPre)].Data, head.Residual);
        }
        // StopLayer = n_layers runs every block and still returns the residual (the last block's hook_resid_post), not logits
        int nl = model.Config.NLayers;
        var (_, post) = model.RunWithCache([ids], [HookNames.BlockName(nl - 1, HookNames.Block.ResidPost)]);
        var all = model.Forward([ids], new ForwardOptions { StopLayer = nl });
        Assert.Equal(post[HookNames.BlockName(nl - 1, HookNames.Block.ResidPost)].Data, all.Residual);
        Assert.Empty(all.Logits);
    }

    [SharedTheory, MemberData(nameof(Fixtures))]
    public void Logits_sink_sees_the_same_logits_in_chunks(string fixture)
    {
        var model = ModelFixtures.Model(fixture);
        var batch = new[] { Prompt(fixture, "math"), Prompt(fixture, "code"), Prompt(fixture, "poem") };
        var want = model.Forward(batch, null, LogitsMode.All);
        var got = new float[want.Logits.Length];
        int calls = 0;       // chunks of ≤ 32 rows take the GEMM's small-M kernel, whose rounding differs from the packed one
        var r = model.Forward(batch, new ForwardOptions
        {
            Mode = LogitsMode.All, LogitsChunkRows = 5,
            OnLogits = (first, n, logits) => { calls++; logits.CopyTo(got.AsSpan(first * want.Vocab)); },
        });
        Assert.Empty(r.Logits);
        Assert.Equal((want.Batch * want.Positions + 4) / 5, calls);
        for (int row = 0; row < want.Batch * want.Positions; row++)
            AssertLogProbsClose(want.Logits.AsSpan(row * want.Vocab, want.Vocab), got.AsSpan(row * want.Vocab, want.Vocab), 1e-5, $"{fixture} row {row}");
    }

    [SharedTheory, MemberData(nameof(Fixtures))]
    public void Generation_with_the_kv_cache_equals_rerunning_the_prefix(string fixture)
    {
        var model = ModelFixtures.Model(fixture);
        var prompts = new[] { Prompt(fixture, "math"), Prompt(fixture, "review"), Prompt(fixture, "code") };
        var amp = Amplification.Single(0, [1, 3, 8], 4f).ToHooks(model.Config);
        var settings = new[]
        {
            new GenerationOptions { MaxNewTokens = 12 },
            new GenerationOptions { MaxNewTokens = 12, Hooks = amp },
            new GenerationOptions { MaxNewTokens = 12, Temperature = 1.3, TopK = 20, Seed = 42 },
            new GenerationOptions { MaxNewTokens = 12, Temperature = 0.7, Seed = 7, Hooks = amp },
        };
        foreach (var o in settings)
        {
            var cached = model.Generate(prompts, o);
            var plain = model.Generate(prompts, o with { UseKvCache = false });
            for (int b = 0; b < prompts.Length; b++)
            {
                Assert.Equal(12, cached[b].Tokens.Length);
                Assert.Equal(StopReason.MaxTokens, cached[b].Reason);
                // Every step of both runs is what a plain hooked forward of the sequence so far prescribes.
                AssertEveryStepFollowsPlainForward(model, prompts[b], cached[b].Tokens, o, $"{fixture} cached row {b}");
                AssertEveryStepFollowsPlainForward(model, prompts[b], plain[b].Tokens, o, $"{fixture} re-run row {b}");
                AssertEveryStepFollowsPlainForward(model, prompts[b], model.Generate(prompts[b], o).Tokens, o, $"{fixture} single {b}");
            }
        }
        // Greedy is the argmax of a plain forward at every step.
        var g = model.Generate(prompts[0], new GenerationOptions { MaxNewTokens = 5 }).Tokens;
        var seq = prompts[0].ToList();
        foreach (int id in g) { Assert.Equal(TransformerModel.ArgMax(model.ForwardLast(seq.ToArray())), id); seq.Add(id); }
    }

    /// <summary>
    /// Checks each generated token against a plain (no cache, unbatched) hooked forward of the sequence before it, to 1e-5 in
    /// log-probability: greedy: the token's log-probability is the maximum; sampling: the step's uniform draw (the same
    /// xoshiro stream, seeded by the options' seed) falls in the token's interval of the top-k, temperature-scaled CDF.
    /// </summary>
    private static void AssertEveryStepFollowsPlainForward(TransformerModel model, int[] prompt, int[] tokens, GenerationOptions o, string what)
    {
        var rng = new Sna.Runtime.Numerics.DeterministicRandom(o.Seed);
        for (int i = 0; i < tokens.Length; i++)
        {
            var logits = model.ForwardLast([.. prompt, .. tokens[..i]], o.Hooks);
            var lp = LogSoftmax(logits);
            int tok = tokens[i];
            if (o.Temperature == 0)
            {
                Assert.True(lp[tok] >= lp.Max() - 1e-5, $"{what} step {i}: token {tok} (log p {lp[tok]}) is not the argmax ({lp.Max()})");
                continue;
            }
            // Reference sampler: softmax(lp / T) over the top-k (ties at the cut to the lower ids), CDF in id order. When the k-th and
            // (k+1)-th logits are within 1e-5, rounding may put either in the kept set: both sets are accepted.
            int V = lp.Length;
            var order = Enumerable.Range(0, V).OrderByDescending(j => logits[j]).ThenBy(j => j).ToArray();
            int k = o.TopK > 0 ? Math.Min(o.TopK, V) : V;
            var sets = new List<int[]> { order[..k] };
            if (k < V && logits[order[k - 1]] - logits[order[k]] <= 1e-5) sets.Add([.. order[..(k - 1)], order[k]]);
            double u = rng.NextDouble();
            bool ok = false;
            string detail = "";
            foreach (var set in sets)
            {
                var keep = new bool[V];
                foreach (int j in set) keep[j] = true;
                if (!keep[tok]) { detail += $" token outside the top-{k};"; continue; }
                double max = lp.Max(), sum = 0, lo = 0;
                var p = new double[V];
                for (int j = 0; j < V; j++) { p[j] = keep[j] ? Math.Exp((lp[j] - max) / o.Temperature) : 0; sum += p[j]; }
                for (int j = 0; j < tok; j++) lo += p[j];
                double hi = lo + p[tok];
                if (u * sum >= lo - 1e-5 * sum && u * sum <= hi + 1e-5 * sum) ok = true;
                detail += $" interval [{lo / sum}, {hi / sum}];";
            }
            Assert.True(ok, $"{what} step {i}: draw {u} does not select token {tok}:{detail}");
        }
    }

    [SharedFact]
    public void Generation_stops_at_a_stop_token_and_sampling_depends_on_the_seed()
    {
        var model = ModelFixtures.Model("gpt2-tiny-f32");
        var ids = Prompt("gpt2-tiny-f32", "poem");
        var free = model.Generate(ids, new GenerationOptions { MaxNewTokens = 10 }).Tokens;
        var stopped = model.Generate(ids, new GenerationOptions { MaxNewTokens = 10, StopTokens = [free[3]] });
        int firstStop = Array.IndexOf(free, free[3]);
        Assert.Equal(StopReason.StopToken, stopped.Reason);
        Assert.Equal(free[..(firstStop + 1)], stopped.Tokens);

        var a = model.Generate(ids, new GenerationOptions { MaxNewTokens = 16, Temperature = 2, Seed = 1 }).Tokens;
        var a2 = model.Generate(ids, new GenerationOptions { MaxNewTokens = 16, Temperature = 2, Seed = 1 }).Tokens;
        var b = model.Generate(ids, new GenerationOptions { MaxNewTokens = 16, Temperature = 2, Seed = 2 }).Tokens;
        Assert.Equal(a, a2);
        Assert.NotEqual(a, b);
        // top-k 1 is greedy whatever the temperature
        Assert.Equal(free, model.Generate(ids, new GenerationOptions { MaxNewTokens = 10, Temperature = 5, TopK = 1, Seed = 9 }).Tokens);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Generate(ids, new GenerationOptions { Temperature = -1 }));
    }

    [SharedFact]
    public void Hooks_on_a_cached_step_see_only_the_new_positions()
    {
        var model = ModelFixtures.Model("pythia-tiny-f32");
        var ids = Prompt("pythia-tiny-f32", "math");
        var kv = new KvCache(model.Config);
        model.Forward([ids[..^1]], new ForwardOptions { Past = [kv] });
        var shapes = new Dictionary<string, int[]>();
        var hooks = new HookSet();
        foreach (var name in new[] { HookNames.MlpPost(0), HookNames.BlockName(1, HookNames.Block.Pattern), HookNames.BlockName(0, HookNames.Block.RotK) })
            hooks.Add(name, ctx => shapes[ctx.Name] = ctx.Shape.ToArray());
        model.Forward([ids[^1..]], new ForwardOptions { Past = [kv], Hooks = hooks });
        var c = model.Config;
        Assert.Equal([1, 1, c.DMlp], shapes[HookNames.MlpPost(0)]);
        Assert.Equal([1, c.NHeads, 1, ids.Length], shapes[HookNames.BlockName(1, HookNames.Block.Pattern)]);
        Assert.Equal([1, 1, c.NKvHeads, c.DHead], shapes[HookNames.BlockName(0, HookNames.Block.RotK)]);
    }

    [SharedFact]
    public void Misuse_is_refused_with_a_clear_message()
    {
        var model = ModelFixtures.Model("gpt2-tiny-f32");
        var ids = Prompt("gpt2-tiny-f32", "math");
        var kv = new KvCache(model.Config);
        Assert.Contains("share one KV cache", Assert.Throws<ArgumentException>(() => model.Forward([ids, ids], new ForwardOptions { Past = [kv, kv] })).Message);
        Assert.Contains("frozen", Assert.Throws<ArgumentException>(() => model.Forward([ids], new ForwardOptions { Past = [kv], StopLayer = 1 })).Message);
        Assert.Contains("residual", Assert.Throws<ArgumentException>(() => model.Forward([ids], new ForwardOptions { StartLayer = 1 })).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward([ids], new ForwardOptions { StopLayer = model.Config.NLayers + 1 }));
        Assert.Throws<ArgumentException>(() => model.WithHooks(("blocks.0.mlp.hook_nothing", _ => { })));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.WithHooks((HookNames.MlpPost(99), _ => { })));
        Assert.Equal(0, kv.Length);
    }
}
