using System.Text.Json.Nodes;
using Sna.Runtime;
using Sna.Runtime.Checkpoints;
using Sna.Runtime.Models;

namespace Sna.Core.Tests.Models;

/// <summary>
/// config.json is read strictly in the real load path (<see cref="ModelLoader.Load"/>): a value of the wrong type is an input
/// error naming the key, never a silent default; sizes that disagree with the checkpoint's tensors are refused before any
/// allocation (one line, not an out-of-memory crash). Checkpoints are written at test time (no ../shared needed).
/// </summary>
public sealed class StrictConfigTests
{
    private static CheckpointException LoadWith(TinyModel model, Action<JsonObject> edit)
    {
        using var ckpt = TinyCheckpoints.Write(model);
        string path = Path.Combine(ckpt.Dir, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
        var e = Assert.Throws<CheckpointException>(() => ModelLoader.Load(ckpt.Dir).Dispose());
        Assert.IsAssignableFrom<SnaInputException>(e);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(path, e.Message);
        return e;
    }

    [Theory]
    [InlineData("tie_word_embeddings", "\"false\"", "a boolean")]
    [InlineData("layer_norm_epsilon", "\"1e-5\"", "a finite number")]
    [InlineData("n_positions", "99999999999", "an integer")]
    [InlineData("n_embd", "32.5", "an integer")]
    [InlineData("n_head", "\"4\"", "an integer")]
    [InlineData("activation_function", "1", "a string")]
    [InlineData("bos_token_id", "true", "an integer")]
    public void Gpt2_wrong_types_are_input_errors_naming_the_key(string key, string value, string expected)
    {
        var e = LoadWith(TinyCheckpoints.Gpt2Model(), c => c[key] = JsonNode.Parse(value));
        Assert.Contains($"key '{key}' must be {expected}", e.Message);
        Assert.Equal(key, e.TensorName);
    }

    [Theory]
    [InlineData("use_parallel_residual", "\"true\"")]
    [InlineData("rotary_pct", "\"0.25\"")]
    [InlineData("layer_norm_eps", "\"1e-5\"")]
    public void NeoX_wrong_types_are_input_errors_naming_the_key(string key, string value)
    {
        var e = LoadWith(TinyCheckpoints.NeoXModel(), c => c[key] = JsonNode.Parse(value));
        Assert.Contains($"key '{key}'", e.Message);
    }

    [Fact]
    public void A_null_value_means_not_set_and_the_default_applies()
    {
        using var ck = TinyCheckpoints.Write(TinyCheckpoints.NeoXModel());
        string p = Path.Combine(ck.Dir, "config.json");
        var j = JsonNode.Parse(File.ReadAllText(p))!.AsObject();
        j["layer_norm_eps"] = null;
        File.WriteAllText(p, j.ToJsonString());
        using var m = ModelLoader.Load(ck.Dir);
        Assert.Equal(1e-5f, m.Config.LayerNormEps);
    }

    [Theory]
    [InlineData("n_layer", 2000000000L, "n_layer = 2000000000")]
    [InlineData("n_layer", 3L, "n_layer = 3")]
    [InlineData("n_layer", 1L, "n_layer = 1")]
    [InlineData("n_embd", 64L, "n_embd = 64")]
    [InlineData("n_positions", 2000000000L, "n_positions = 2000000000")]
    [InlineData("vocab_size", 100L, "vocab_size = 100")]
    [InlineData("n_inner", 64L, "n_inner = 64")]
    public void Gpt2_sizes_are_checked_against_the_tensors_before_allocation(string key, long value, string expected)
    {
        var e = LoadWith(TinyCheckpoints.Gpt2Model(), c => c[key] = value);
        Assert.Contains(expected, e.Message);
        Assert.Contains("does not match the checkpoint", e.Message);
    }

    [Theory]
    [InlineData("num_hidden_layers", 2000000000L)]
    [InlineData("intermediate_size", 7L)]
    [InlineData("hidden_size", 64L)]
    public void NeoX_and_Llama_sizes_are_checked_against_the_tensors(string key, long value)
    {
        var neox = LoadWith(TinyCheckpoints.NeoXModel(), c => c[key] = value);
        Assert.Contains($"{key} = {value}", neox.Message);
        var llama = LoadWith(TinyCheckpoints.LlamaModel(new LlamaSpec(), TinyCheckpoints.LlamaWeights(new LlamaSpec(), 1)), c => c[key] = value);
        Assert.Contains($"{key} = {value}", llama.Message);
    }

    [Fact]
    public void A_huge_d_model_with_no_matching_tensors_is_refused_in_one_line()
    {
        var e = LoadWith(TinyCheckpoints.Gpt2Model(), c => { c["n_embd"] = 1_000_000_000; c["n_head"] = 1; });
        Assert.Contains("n_embd", e.Message);
    }

    [Fact]
    public void Unknown_architecture_is_an_input_error()
    {
        var e = LoadWith(TinyCheckpoints.Gpt2Model(), c => { c["model_type"] = "bert"; c["architectures"] = new JsonArray("BertModel"); });
        Assert.Contains("unknown architecture 'BertModel'", e.Message);
    }

    [Fact]
    public void Unchanged_configs_still_load()
    {
        using (var g = TinyCheckpoints.Write(TinyCheckpoints.Gpt2Model())) using (var m = ModelLoader.Load(g.Dir)) Assert.Equal(2, m.Config.NLayers);
        using (var n = TinyCheckpoints.Write(TinyCheckpoints.NeoXModel())) using (var m = ModelLoader.Load(n.Dir)) Assert.Equal(ArchitectureKind.GptNeoX, m.Config.Architecture);
        using var m2 = ModelLoader.Load(TestPaths.BundledModelDir);
        Assert.Equal(6, m2.Config.NLayers);
    }
}
