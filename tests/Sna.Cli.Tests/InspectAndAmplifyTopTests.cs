using System.Buffers.Binary;
using System.Text.Json;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Cli.Tests;

/// <summary>`sna inspect`, `sna models`' default, and `amplify --top/--generate` (issue #16).</summary>
[Collection("cli")]
public class InspectAndAmplifyTopTests
{
    /// <summary>Element count of every tensor in a safetensors file (the header is JSON after an 8-byte length).</summary>
    private static long SafetensorsElements(string path)
    {
        using var f = File.OpenRead(path);
        var len = new byte[8];
        f.ReadExactly(len);
        var header = new byte[BinaryPrimitives.ReadInt64LittleEndian(len)];
        f.ReadExactly(header);
        long n = 0;
        foreach (var t in JsonDocument.Parse(header).RootElement.EnumerateObject())
            if (t.Name != "__metadata__")
                n += t.Value.GetProperty("shape").EnumerateArray().Aggregate(1L, (a, d) => a * d.GetInt64());
        return n;
    }

    [Fact]
    public void Inspect_json_describes_the_bundled_model_and_every_hook_point()
    {
        var r = CliHarness.Json("inspect", "--json");
        Assert.True(r.GetProperty("bundled_default").GetBoolean());
        string dir = r.GetProperty("model").GetString()!;
        var cfg = ModelConfig.Load(dir);
        Assert.Equal(cfg.NLayers, r.GetProperty("n_layers").GetInt32());
        Assert.Equal(cfg.DMlp, r.GetProperty("d_mlp").GetInt32());
        Assert.Equal(cfg.NCtx, r.GetProperty("n_ctx").GetInt32());
        Assert.Equal(cfg.DModel, r.GetProperty("d_model").GetInt32());
        // The parameter count equals the checkpoint's tensors (GPT-2 files hold every parameter once, the tied head not at all).
        Assert.Equal(SafetensorsElements(Path.Combine(dir, "model.safetensors")), r.GetProperty("parameters").GetInt64());
        Assert.Equal(Sna.Runtime.Checkpoints.Checkpoint.ComputeFileSha256(Path.Combine(dir, "model.safetensors")), r.GetProperty("model_sha256").GetString());
        Assert.Equal("gpt2-bpe", r.GetProperty("tokenizer").GetProperty("kind").GetString());
        Assert.Equal(50256, r.GetProperty("bos").GetProperty("id").GetInt32());

        var hooks = r.GetProperty("hook_points").EnumerateArray().ToDictionary(h => h.GetProperty("name").GetString()!, h => h.GetProperty("shape").GetRawText());
        using var m = ModelLoader.Load(dir);
        Assert.Equal(m.HookPointNames(), r.GetProperty("hook_points").EnumerateArray().Select(h => h.GetProperty("name").GetString()));
        Assert.Equal($"[\"batch\",\"pos\",{cfg.DMlp}]", hooks[$"blocks.{cfg.NLayers - 1}.mlp.hook_post"]);
        Assert.Equal($"[\"batch\",\"pos\",{cfg.DModel}]", hooks["blocks.0.hook_resid_pre"]);
        Assert.Equal($"[\"batch\",\"pos\",{cfg.NHeads},{cfg.DModel / cfg.NHeads}]", hooks["blocks.0.attn.hook_q"]);
        Assert.Equal($"[\"batch\",{cfg.NHeads},\"query_pos\",\"key_pos\"]", hooks["blocks.0.attn.hook_pattern"]);
        Assert.Equal($"[\"batch\",\"pos\",{cfg.DModel}]", hooks["hook_embed"]);
    }

    [Fact]
    public void Inspect_table_names_the_intervention_site_and_models_lists_the_bundled_default()
    {
        var (code, output, err) = CliHarness.Run("inspect");
        Assert.True(code == 0, err);
        Assert.Contains("blocks.0.mlp.hook_post", output);
        Assert.Contains("bundled default", output);
        // `models --json` writes to the standard output stream directly: run the built CLI as a process.
        var (mcode, mout, merr) = DocsExamplesTests.Run(Path.GetTempPath(), ["models", "--json"]);
        Assert.True(mcode == 0, merr);
        var d = JsonDocument.Parse(mout).RootElement.GetProperty("default_model");
        Assert.True(d.GetProperty("default").GetBoolean());
        Assert.Equal("sna-demo-gpt2", d.GetProperty("name").GetString());
        Assert.True(Directory.Exists(d.GetProperty("path").GetString()));
        var (code2, table, _) = CliHarness.Run("models");
        Assert.Equal(0, code2);
        Assert.Contains("sna-demo-gpt2", table);
    }

    [Fact]
    public void Amplify_top_and_generate_add_fields_that_equal_the_library()
    {
        const string prompt = "What is 3 + 4? Answer:";
        var (tcode, table, _) = CliHarness.Run("amplify", "--prompt", prompt, "--target", " 7", "--layer", "3", "--neurons", "511,384", "--multiplier", "3", "--top", "3", "--generate", "4");
        Assert.Equal(0, tcode);
        Assert.Contains("Top 3 next tokens", table);
        Assert.Contains("greedy continuation", table);
        var r = CliHarness.Json("amplify", "--prompt", prompt, "--target", " 7", "--layer", "3", "--neurons", "511,384", "--multiplier", "3", "--top", "5", "--generate", "6", "--json");
        // The existing fields are unchanged by the new options.
        var plainJson = CliHarness.Json("amplify", "--prompt", prompt, "--target", " 7", "--layer", "3", "--neurons", "511,384", "--multiplier", "3", "--json");
        Assert.Equal(plainJson.GetProperty("amplified").GetProperty("probability").GetDouble(), r.GetProperty("amplified").GetProperty("probability").GetDouble());
        Assert.False(plainJson.TryGetProperty("continuation", out _));
        Assert.False(plainJson.GetProperty("baseline").TryGetProperty("top", out _));

        string dir = CliHarness.Json("inspect", "--json").GetProperty("model").GetString()!;
        using var m = ModelLoader.Load(dir);
        var tok = ModelTokenizer.FromDirectory(dir);
        var ids = tok.Encode(prompt, BosPolicy.Prepend);
        var amp = Sna.Research.Method.Amplification.Single(3, [511, 384], 3f);
        var hooks = amp.ToHooks(m.Config);
        var wantBefore = Sna.Research.Method.Scoring.Top(m.ForwardLast(ids), 5);
        var wantAfter = Sna.Research.Method.Scoring.Top(m.ForwardLast(ids, hooks), 5);
        Assert.Equal(wantBefore.Select(t => t.Id), r.GetProperty("baseline").GetProperty("top").EnumerateArray().Select(t => t.GetProperty("id").GetInt32()));
        Assert.Equal(wantAfter.Select(t => t.Probability), r.GetProperty("amplified").GetProperty("top").EnumerateArray().Select(t => t.GetProperty("probability").GetDouble()));
        // Greedy continuation = argmax of a plain (uncached) hooked forward, token by token, ending after the end-of-sequence
        // token (<|endoftext|>, which this prompt reaches within the 6 tokens).
        var seq = ids.ToList();
        var want = new List<int>();
        for (int i = 0; i < 6; i++)
        {
            var logits = m.ForwardLast(seq.ToArray(), hooks);
            int best = 0;
            for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[best]) best = v;
            want.Add(best); seq.Add(best);
            if (m.Config.EosTokenIds.Contains(best)) break;
        }
        Assert.Contains(50256, want);   // the stop is exercised
        var c = r.GetProperty("continuation");
        Assert.Equal(want, c.GetProperty("amplified_ids").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal(tok.Decode(want.ToArray()), c.GetProperty("amplified").GetString());
        Assert.Equal(6, c.GetProperty("max_new_tokens").GetInt32());

        var (code, _, err) = CliHarness.Run("amplify", "--task", "math-easy", "--layer", "3", "--count", "2", "--multiplier", "2", "--top", "3");
        Assert.Equal(2, code);
        Assert.Contains("--top", err);
    }

    /// <summary>
    /// issue #13: `amplify --task T --generate N` reports exact match before/after with an exact McNemar test. Checked against an
    /// independent computation: each prompt's greedy answer from a plain (uncached) hooked forward, token by token, compared
    /// with the target's tokens, and the two-sided binomial p on the discordant prompts written out here.
    /// </summary>
    [Fact]
    public void Amplify_task_generate_reports_exact_match_equal_to_an_independent_greedy_and_mcnemar()
    {
        var args = new[] { "amplify", "--task", "logic-easy", "--layer", "0", "--count", "3", "--multiplier", "3", "--generate", "4" };
        var (tcode, text, terr) = CliHarness.Run(args);
        Assert.True(tcode == 0, terr);
        Assert.Contains("exact match (greedy, up to 4 tokens", text);
        var r = CliHarness.Json([.. args, "--json"]);
        var em = r.GetProperty("exact_match");
        var prompts = r.GetProperty("prompts").EnumerateArray().ToArray();
        var rows = em.GetProperty("prompts").EnumerateArray().ToArray();
        Assert.Equal(prompts.Length, em.GetProperty("n").GetInt32());
        Assert.Equal(prompts.Length, rows.Length);

        string dir = CliHarness.Json("inspect", "--json").GetProperty("model").GetString()!;
        using var m = ModelLoader.Load(dir);
        var tok = ModelTokenizer.FromDirectory(dir);
        var neurons = r.GetProperty("neurons").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var hooks = Sna.Research.Method.Amplification.Single(0, neurons, 3f).ToHooks(m.Config);
        int[] Greedy(int[] ids, int steps, Sna.Runtime.Models.HookSet? h)
        {
            var seq = ids.ToList();
            for (int i = 0; i < steps; i++)
            {
                var logits = m.ForwardLast(seq.ToArray(), h);
                int best = 0;
                for (int v = 1; v < logits.Length; v++) if (logits[v] > logits[best]) best = v;
                seq.Add(best);
            }
            return seq.Skip(ids.Length).ToArray();
        }
        int fixedN = 0, broken = 0, before = 0, after = 0;
        for (int i = 0; i < prompts.Length; i++)
        {
            string ptext = prompts[i].GetProperty("text").GetString()!, target = prompts[i].GetProperty("target").GetString()!;
            var ids = tok.Encode(ptext, BosPolicy.Prepend);
            var full = tok.Encode(ptext + target, BosPolicy.Prepend);
            var want = full.Skip(ids.Length).ToArray();                           // the target's tokens as they follow the prompt
            int steps = Math.Min(want.Length, 4);
            bool b = Greedy(ids, steps, null).SequenceEqual(want.Take(steps)) && want.Length <= 4;
            bool a = Greedy(ids, steps, hooks).SequenceEqual(want.Take(steps)) && want.Length <= 4;
            Assert.Equal(b, rows[i].GetProperty("correct_before").GetBoolean());
            Assert.Equal(a, rows[i].GetProperty("correct_after").GetBoolean());
            before += b ? 1 : 0; after += a ? 1 : 0; fixedN += !b && a ? 1 : 0; broken += b && !a ? 1 : 0;
        }
        Assert.Equal(before, em.GetProperty("correct_before").GetInt32());
        Assert.Equal(after, em.GetProperty("correct_after").GetInt32());
        Assert.Equal(fixedN, em.GetProperty("fixed").GetInt32());
        Assert.Equal(broken, em.GetProperty("broken").GetInt32());
        // Exact McNemar: two-sided binomial(n = discordant, 0.5) p of the smaller count, capped at 1.
        int nd = fixedN + broken, kmin = Math.Min(fixedN, broken);
        double tail = 0;
        for (int k = 0; k <= kmin; k++) tail += Math.Exp(LogChoose(nd, k) - nd * Math.Log(2));
        Assert.Equal(Math.Min(1.0, 2 * tail), em.GetProperty("mcnemar_p").GetDouble(), 12);
    }

    /// <summary>
    /// issue #16: `sna baseline` gives the same below-Zone-1 verdict as `sna advise` and the web (ZoneAdvice): on the bundled
    /// model " Paris" after "The capital of France is" has P ≈ 2.5e-7 at rank 33,761 (zone 1 by P, but the model does not know
    /// it), while " 7" after "What is 3 + 4? Answer:" is a Zone 1 target the model knows (rank 4).
    /// </summary>
    [Fact]
    public void Baseline_says_below_zone_1_when_the_model_does_not_know_the_target()
    {
        var unknown = CliHarness.Json("baseline", "--prompt", "The capital of France is", "--target", " Paris", "--json");
        Assert.Equal(1, unknown.GetProperty("zone").GetInt32());
        Assert.True(unknown.GetProperty("rank").GetInt32() > Sna.Research.Method.Advisor.KnowledgeRank);
        Assert.True(unknown.GetProperty("below_zone_1").GetBoolean());
        var known = CliHarness.Json("baseline", "--prompt", "What is 3 + 4? Answer:", "--target", " 7", "--json");
        Assert.Equal(1, known.GetProperty("zone").GetInt32());
        Assert.False(known.GetProperty("below_zone_1").GetBoolean());
        var (code, text, _) = CliHarness.Run("baseline", "--prompt", "The capital of France is", "--target", " Paris");
        Assert.Equal(0, code);
        int rank = unknown.GetProperty("rank").GetInt32();
        // the web's zone label, word for word (ZoneAdvice.PromptLabel; tests/Sna.Web.Tests/ApiTests checks the web's)
        Assert.Contains($"Below Zone 1 (rank {rank.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} > 1,000)", text);
        Assert.Contains(Sna.Research.Method.ZoneAdvice.BelowZone1Advice(), text);
        Assert.DoesNotContain("where SNA helps most", text);
    }

    private static double LogChoose(int n, int k)
    {
        double s = 0;
        for (int i = 1; i <= k; i++) s += Math.Log(n - k + i) - Math.Log(i);
        return s;
    }
}
