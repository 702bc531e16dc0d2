using System.Text;
using System.Text.Json.Nodes;

namespace Sna.Tests;

/// <summary>
/// Model repos with the file sets the real hub serves for gpt2, openai-community/gpt2-medium, openai-community/gpt2-xl and
/// EleutherAI/pythia-160m (plus its <c>.bin</c>-only <c>step1000</c> branch and a <c>step143000</c> branch whose weights
/// are main's), filled with the tiny fixtures' weights, real config.json keys and the real tokenizer files: GPT-2's
/// tokenizer.json with merges as "a b" strings (gpt2) and as ["a", "b"] pairs (gpt2-medium, gpt2-xl, as tokenizers
/// 0.20+ writes them). The legacy ids gpt2, gpt2-medium and gpt2-xl answer 307 to openai-community/…, as on the hub.
/// Weights, tflite/onnx/flax/tf/rust files SNA must not download are small random LFS blobs.
/// </summary>
public static class FakeHubRepos
{
    public const string Gpt2Commit = "607a30d783dfa663caf39e06633721c8d4cfcd7e";
    public const string MediumCommit = "6dcaa7a952f72f9298047fd5137cd6e4f05f41da";
    public const string XlCommit = "15ea56dee5df4983c59b2538573817e1667135e2";
    public const string PythiaMain = "50f5173d932e8e61f858120bcb800b97af589f46";
    public const string PythiaStep1000 = "4f5b1b5ac4b6fa5a4a2fd79ba6da4e8fb0e0e1a1";
    public const string PythiaStep143000 = "9c8d3ee1e8ed1f2d0e9d2d3b66c3f6e3c8e8b143";

    private static FakeFile Text(string s) => new(Encoding.UTF8.GetBytes(s), Lfs: false);
    private static FakeFile Shared(params string[] parts) => new(File.ReadAllBytes(TestPaths.Data(parts)), Lfs: false);
    private static FakeFile Lfs(byte[] b) => new(b, Lfs: true);

    private static FakeFile Junk(int seed)
    {
        var b = new byte[1024 + seed];
        new Random(seed).NextBytes(b);
        return Lfs(b);
    }

    private static FakeFile PairsTokenizer()
    {
        var doc = JsonNode.Parse(File.ReadAllText(TestPaths.Data("tokenizers", "gpt2", "tokenizer.json")))!;
        var merges = doc["model"]!["merges"]!.AsArray();
        var pairs = new JsonArray();
        foreach (var m in merges)
        {
            string s = m!.GetValue<string>();
            int sp = s.IndexOf(' ');
            pairs.Add(new JsonArray(s[..sp], s[(sp + 1)..]));
        }
        doc["model"]!["merges"] = pairs;
        return Text(doc.ToJsonString());
    }

    /// <summary>A fixture's config.json with the keys the hub's real config.json also has (added when missing), in the fixture's dimensions.</summary>
    private static FakeFile ConfigWith(string fixture, Dictionary<string, JsonNode?> hubKeys)
    {
        var c = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixture(fixture), "config.json")))!.AsObject();
        foreach (var (k, v) in hubKeys)
            if (!c.ContainsKey(k)) c[k] = v;
        return Text(c.ToJsonString());
    }

    private static FakeFile Gpt2Config(string fixture) => ConfigWith(fixture, new()
    {
        ["attn_pdrop"] = 0.1, ["embd_pdrop"] = 0.1, ["resid_pdrop"] = 0.1, ["initializer_range"] = 0.02,
        ["summary_activation"] = null, ["summary_first_dropout"] = 0.1, ["summary_proj_to_labels"] = true,
        ["summary_type"] = "cls_index", ["summary_use_proj"] = true,
        ["task_specific_params"] = new JsonObject { ["text-generation"] = new JsonObject { ["do_sample"] = true, ["max_length"] = 50 } },
        ["n_inner"] = null, ["reorder_and_upcast_attn"] = false, ["scale_attn_by_inverse_layer_idx"] = false, ["use_cache"] = true,
    });

    private static FakeFile PythiaConfig() => ConfigWith("pythia-tiny-f16", new()
    {
        ["classifier_dropout"] = 0.1, ["initializer_range"] = 0.02, ["use_cache"] = true, ["transformers_version"] = "4.24.0",
        ["attention_dropout"] = 0.0, ["hidden_dropout"] = 0.0, ["rope_scaling"] = null,
    });

    private static byte[] Bin(string fixture, string workDir, string archive)
    {
        string path = Path.Combine(workDir, $"{fixture}-{archive}.bin");
        TorchBinWriter.Write(path, TorchBinWriter.ReadSafetensors(Path.Combine(TestPaths.Fixture(fixture), "model.safetensors")), archive);
        return File.ReadAllBytes(path);
    }

    private static Dictionary<string, FakeFile> Gpt2Like(string fixture, FakeFile tokenizer, string workDir, bool tflite, int seed)
    {
        var f = new Dictionary<string, FakeFile>
        {
            [".gitattributes"] = Text("*.bin filter=lfs diff=lfs merge=lfs -text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n"),
            ["README.md"] = Text("---\nlicense: mit\n---\n# GPT-2\n"),
            ["config.json"] = Gpt2Config(fixture),
            ["generation_config.json"] = Text("{\"_from_model_config\": true, \"bos_token_id\": 50256, \"eos_token_id\": 50256, \"transformers_version\": \"4.26.0.dev0\"}"),
            ["merges.txt"] = Shared("tokenizers", "gpt2", "merges.txt"),
            ["vocab.json"] = Shared("tokenizers", "gpt2", "vocab.json"),
            ["tokenizer.json"] = tokenizer,
            ["model.safetensors"] = Lfs(File.ReadAllBytes(Path.Combine(TestPaths.Fixture(fixture), "model.safetensors"))),
            ["pytorch_model.bin"] = Lfs(Bin(fixture, workDir, "archive")),
            ["flax_model.msgpack"] = Junk(seed + 1),
            ["rust_model.ot"] = Junk(seed + 2),
            ["tf_model.h5"] = Junk(seed + 3),
            ["onnx/decoder_model.onnx"] = Junk(seed + 4),
            ["onnx/config.json"] = Text("{}"),
        };
        if (tflite)
        {
            f["64.tflite"] = Junk(seed + 5);
            f["64-fp16.tflite"] = Junk(seed + 6);
            f["64-8bits.tflite"] = Junk(seed + 7);
            f["tokenizer_config.json"] = Text("{\"model_max_length\": 1024}");
        }
        return f;
    }

    /// <summary>Adds every repo to <paramref name="store"/>; <paramref name="workDir"/> receives the .bin files written on the way.</summary>
    public static void AddAll(FakeHubStore store, string workDir)
    {
        var pairs = PairsTokenizer();
        // gpt2 and gpt2-xl hold gpt2-tiny-f32 (h.* names, attn.bias buffers), which is not vendored: on a bare clone they are
        // left out and the tests that use them skip (TestPaths.Need).
        if (TestPaths.Has("fixtures", "gpt2-tiny-f32"))
        {
            store.AddRepo("openai-community/gpt2", Gpt2Commit, Gpt2Like("gpt2-tiny-f32", Shared("tokenizers", "gpt2", "tokenizer.json"), workDir, true, 10), "main");
            store.AddRepo("openai-community/gpt2-xl", XlCommit, Gpt2Like("gpt2-tiny-f32", pairs, workDir, false, 30), "main");
        }
        store.AddRepo("openai-community/gpt2-medium", MediumCommit, Gpt2Like("gpt2-tiny-f16", pairs, workDir, false, 20), "main");
        store.Renamed["gpt2"] = "openai-community/gpt2";
        store.Renamed["gpt2-medium"] = "openai-community/gpt2-medium";
        store.Renamed["gpt2-xl"] = "openai-community/gpt2-xl";

        var main = new Dictionary<string, FakeFile>
        {
            [".gitattributes"] = Text("*.bin filter=lfs diff=lfs merge=lfs -text\n"),
            ["README.md"] = Text("# Pythia-160M\n"),
            ["config.json"] = PythiaConfig(),
            ["model.safetensors"] = Lfs(File.ReadAllBytes(Path.Combine(TestPaths.Fixture("pythia-tiny-f16"), "model.safetensors"))),
            ["pytorch_model.bin"] = Lfs(Bin("pythia-tiny-f16", workDir, "archive")),
            ["special_tokens_map.json"] = Text("{\"bos_token\": \"<|endoftext|>\", \"eos_token\": \"<|endoftext|>\", \"unk_token\": \"<|endoftext|>\"}"),
            ["tokenizer.json"] = Shared("tokenizers", "gpt-neox-20b", "tokenizer.json"),
            ["tokenizer_config.json"] = Shared("tokenizers", "gpt-neox-20b", "tokenizer_config.json"),
        };
        store.AddRepo("EleutherAI/pythia-160m", PythiaMain, main, "main");
        var step1000 = new Dictionary<string, FakeFile>(main);
        step1000.Remove("model.safetensors");
        step1000["pytorch_model.bin"] = Lfs(Bin("pythia-tiny-f16", workDir, "step1000"));
        store.AddRepo("EleutherAI/pythia-160m", PythiaStep1000, step1000, "step1000");
        var step143000 = new Dictionary<string, FakeFile>(main);
        step143000.Remove("model.safetensors");
        store.AddRepo("EleutherAI/pythia-160m", PythiaStep143000, step143000, "step143000");
    }

    /// <summary>A hub and a CDN on a second port sharing one store with every repo (LFS files redirect 302 to the CDN).</summary>
    public static async Task<(FakeHub Hub, FakeHub Cdn)> StartAsync(string workDir)
    {
        var store = new FakeHubStore();
        AddAll(store, workDir);
        var hub = await FakeHub.StartAsync(store);
        var cdn = await FakeHub.StartAsync(store);
        hub.CdnBaseUrl = cdn.Url;
        return (hub, cdn);
    }
}
