using System.Text.Json;
using Sna.Runtime.Checkpoints;

namespace Sna.Core.Tests.Models;

/// <summary>A tensor as the tests build it: HF shape and float32 values (before any 16-bit storage rounding).</summary>
public sealed record TinyTensor(int[] Shape, float[] Data);

/// <summary>A model to write: kind (for the directory name), config.json entries, tensors by HF name.</summary>
public sealed record TinyModel(string Kind, IReadOnlyDictionary<string, object> Config, IReadOnlyDictionary<string, TinyTensor> Tensors)
{
    /// <summary>The same model with the tensors <paramref name="select"/> picks replaced by <paramref name="map"/> of them.</summary>
    public TinyModel Map(Func<string, TinyTensor, bool> select, Func<TinyTensor, TinyTensor> map) =>
        this with { Tensors = Tensors.ToDictionary(kv => kv.Key, kv => select(kv.Key, kv.Value) ? map(kv.Value) : kv.Value, StringComparer.Ordinal) };
}

/// <summary>Hyper-parameters of a tiny random Llama (HF <c>LlamaForCausalLM</c> names).</summary>
public sealed record LlamaSpec(
    int Hidden = 32, int Heads = 4, int KvHeads = 2, int Intermediate = 48, int Layers = 2, int Vocab = 97,
    double RopeTheta = 10000, double RmsEps = 1e-6, bool Tied = false, int MaxPositions = 64)
{
    public int HeadDim => Hidden / Heads;
}

/// <summary>A checkpoint directory under the temp folder (config.json + model.safetensors), deleted on dispose.</summary>
public sealed class TinyCheckpoint : IDisposable
{
    public required string Dir { get; init; }
    /// <summary>The values written, by HF name (float32, before storage rounding).</summary>
    public required IReadOnlyDictionary<string, TinyTensor> Tensors { get; init; }
    public required TensorDType StoredAs { get; init; }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>
/// Writes tiny random GPT-2, GPT-NeoX and Llama checkpoints with <see cref="SafetensorsWriter"/> into temp directories.
/// Weights are uniform with variance 1/fan_in (activations stay O(1)); norm gains are 1 ± 0.5 and biases ±0.1, so no
/// parameter is trivially 1 or 0. Same seed → same values, whatever the storage dtype.
/// </summary>
public static class TinyCheckpoints
{
    // ---- Llama

    public static Dictionary<string, TinyTensor> LlamaWeights(LlamaSpec s, int seed)
    {
        var rng = new Random(seed);
        int D = s.Hidden, M = s.Intermediate, V = s.Vocab, dh = s.HeadDim;
        var w = new Dictionary<string, TinyTensor>(StringComparer.Ordinal)
        {
            ["model.embed_tokens.weight"] = Uniform(rng, [V, D], 1.0),
            ["model.norm.weight"] = Gain(rng, D),
        };
        for (int l = 0; l < s.Layers; l++)
        {
            string p = $"model.layers.{l}.";
            w[p + "input_layernorm.weight"] = Gain(rng, D);
            w[p + "self_attn.q_proj.weight"] = Linear(rng, s.Heads * dh, D);
            w[p + "self_attn.k_proj.weight"] = Linear(rng, s.KvHeads * dh, D);
            w[p + "self_attn.v_proj.weight"] = Linear(rng, s.KvHeads * dh, D);
            w[p + "self_attn.o_proj.weight"] = Linear(rng, D, s.Heads * dh);
            w[p + "post_attention_layernorm.weight"] = Gain(rng, D);
            w[p + "mlp.gate_proj.weight"] = Linear(rng, M, D);
            w[p + "mlp.up_proj.weight"] = Linear(rng, M, D);
            w[p + "mlp.down_proj.weight"] = Linear(rng, D, M);
        }
        if (!s.Tied) w["lm_head.weight"] = Linear(rng, V, D);
        return w;
    }

    public static TinyCheckpoint Llama(LlamaSpec s, int seed = 1, TensorDType storeAs = TensorDType.F32) =>
        WriteLlama(s, LlamaWeights(s, seed), storeAs);

    public static TinyCheckpoint WriteLlama(LlamaSpec s, IReadOnlyDictionary<string, TinyTensor> weights, TensorDType storeAs = TensorDType.F32) =>
        Write(LlamaModel(s, weights), storeAs);

    public static TinyModel LlamaModel(LlamaSpec s, IReadOnlyDictionary<string, TinyTensor> weights)
    {
        var config = new Dictionary<string, object>
        {
            ["architectures"] = new[] { "LlamaForCausalLM" },
            ["model_type"] = "llama",
            ["hidden_size"] = s.Hidden,
            ["num_attention_heads"] = s.Heads,
            ["num_key_value_heads"] = s.KvHeads,
            ["intermediate_size"] = s.Intermediate,
            ["num_hidden_layers"] = s.Layers,
            ["vocab_size"] = s.Vocab,
            ["max_position_embeddings"] = s.MaxPositions,
            ["rope_theta"] = s.RopeTheta,
            ["rms_norm_eps"] = s.RmsEps,
            ["hidden_act"] = "silu",
            ["tie_word_embeddings"] = s.Tied,
            ["bos_token_id"] = 1,
            ["eos_token_id"] = 2,
        };
        return new TinyModel("llama", config, weights);
    }

    // ---- GPT-2 (Conv1D weights stored [in, out])

    public static TinyCheckpoint Gpt2(int seed = 1, TensorDType storeAs = TensorDType.F32) => Write(Gpt2Model(seed), storeAs);

    public static TinyModel Gpt2Model(int seed = 1, int d = 32, int heads = 4, int layers = 2, int vocab = 101, int nCtx = 64)
    {
        var rng = new Random(seed);
        int M = 4 * d;
        var w = new Dictionary<string, TinyTensor>(StringComparer.Ordinal)
        {
            ["transformer.wte.weight"] = Uniform(rng, [vocab, d], 1.0),
            ["transformer.wpe.weight"] = Uniform(rng, [nCtx, d], 0.3),
            ["transformer.ln_f.weight"] = Gain(rng, d),
            ["transformer.ln_f.bias"] = Bias(rng, d),
        };
        for (int l = 0; l < layers; l++)
        {
            string p = $"transformer.h.{l}.";
            w[p + "ln_1.weight"] = Gain(rng, d); w[p + "ln_1.bias"] = Bias(rng, d);
            w[p + "attn.c_attn.weight"] = Conv1D(rng, d, 3 * d); w[p + "attn.c_attn.bias"] = Bias(rng, 3 * d);
            w[p + "attn.c_proj.weight"] = Conv1D(rng, d, d); w[p + "attn.c_proj.bias"] = Bias(rng, d);
            w[p + "ln_2.weight"] = Gain(rng, d); w[p + "ln_2.bias"] = Bias(rng, d);
            w[p + "mlp.c_fc.weight"] = Conv1D(rng, d, M); w[p + "mlp.c_fc.bias"] = Bias(rng, M);
            w[p + "mlp.c_proj.weight"] = Conv1D(rng, M, d); w[p + "mlp.c_proj.bias"] = Bias(rng, d);
        }
        var config = new Dictionary<string, object>
        {
            ["architectures"] = new[] { "GPT2LMHeadModel" },
            ["model_type"] = "gpt2",
            ["activation_function"] = "gelu_new",
            ["n_embd"] = d, ["n_head"] = heads, ["n_layer"] = layers,
            ["n_positions"] = nCtx, ["n_ctx"] = nCtx, ["vocab_size"] = vocab,
            ["layer_norm_epsilon"] = 1e-5, ["tie_word_embeddings"] = true, ["bos_token_id"] = 0,
        };
        return new TinyModel("gpt2", config, w);
    }

    // ---- GPT-NeoX (nn.Linear weights stored [out, in]; parallel residual; partial rotary)

    public static TinyCheckpoint NeoX(int seed = 1, TensorDType storeAs = TensorDType.F32) => Write(NeoXModel(seed), storeAs);

    public static TinyModel NeoXModel(int seed = 1, int d = 32, int heads = 4, int layers = 2, int vocab = 103, int nCtx = 64, double rotaryPct = 0.5)
    {
        var rng = new Random(seed);
        int M = 4 * d;
        var w = new Dictionary<string, TinyTensor>(StringComparer.Ordinal)
        {
            ["gpt_neox.embed_in.weight"] = Uniform(rng, [vocab, d], 1.0),
            ["gpt_neox.final_layer_norm.weight"] = Gain(rng, d),
            ["gpt_neox.final_layer_norm.bias"] = Bias(rng, d),
            ["embed_out.weight"] = Linear(rng, vocab, d),
        };
        for (int l = 0; l < layers; l++)
        {
            string p = $"gpt_neox.layers.{l}.";
            w[p + "input_layernorm.weight"] = Gain(rng, d); w[p + "input_layernorm.bias"] = Bias(rng, d);
            w[p + "attention.query_key_value.weight"] = Linear(rng, 3 * d, d); w[p + "attention.query_key_value.bias"] = Bias(rng, 3 * d);
            w[p + "attention.dense.weight"] = Linear(rng, d, d); w[p + "attention.dense.bias"] = Bias(rng, d);
            w[p + "post_attention_layernorm.weight"] = Gain(rng, d); w[p + "post_attention_layernorm.bias"] = Bias(rng, d);
            w[p + "mlp.dense_h_to_4h.weight"] = Linear(rng, M, d); w[p + "mlp.dense_h_to_4h.bias"] = Bias(rng, M);
            w[p + "mlp.dense_4h_to_h.weight"] = Linear(rng, d, M); w[p + "mlp.dense_4h_to_h.bias"] = Bias(rng, d);
        }
        var config = new Dictionary<string, object>
        {
            ["architectures"] = new[] { "GPTNeoXForCausalLM" },
            ["model_type"] = "gpt_neox",
            ["hidden_size"] = d, ["num_attention_heads"] = heads, ["intermediate_size"] = M,
            ["num_hidden_layers"] = layers, ["vocab_size"] = vocab,
            ["rotary_pct"] = rotaryPct, ["rotary_emb_base"] = 10000, ["max_position_embeddings"] = nCtx,
            ["layer_norm_eps"] = 1e-5, ["use_parallel_residual"] = true, ["hidden_act"] = "gelu",
            ["tie_word_embeddings"] = false, ["bos_token_id"] = 0,
        };
        return new TinyModel("neox", config, w);
    }

    // ---- shared

    /// <summary>The values a tensor holds once stored as <paramref name="dtype"/> (round to nearest even), as float32.</summary>
    public static TinyTensor Rounded(TinyTensor t, TensorDType dtype) => new(t.Shape, t.Data.Select(v => dtype switch
    {
        TensorDType.F16 => (float)(Half)v,
        TensorDType.BF16 => BitConverter.Int32BitsToSingle(SafetensorsWriter.SingleToBf16(v) << 16),
        _ => v,
    }).ToArray());

    /// <summary>Random token ids in [0, vocab).</summary>
    public static int[] Tokens(int vocab, int length, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => rng.Next(vocab)).ToArray();
    }

    /// <summary>Writes config.json and model.safetensors (every tensor stored as <paramref name="storeAs"/>) into a new temp directory.</summary>
    public static TinyCheckpoint Write(TinyModel model, TensorDType storeAs = TensorDType.F32)
    {
        var (kind, config, w) = (model.Kind, new Dictionary<string, object>(model.Config), model.Tensors);
        string dir = Path.Combine(Path.GetTempPath(), $"sna-tiny-{kind}-{storeAs}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        config["torch_dtype"] = storeAs switch { TensorDType.F16 => "float16", TensorDType.BF16 => "bfloat16", _ => "float32" };
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));
        var writer = new SafetensorsWriter().AddMetadata("format", "pt");
        foreach (var (name, t) in w) writer.Add(name, t.Shape, t.Data, storeAs);
        writer.Save(Path.Combine(dir, "model.safetensors"));
        return new TinyCheckpoint { Dir = dir, Tensors = w, StoredAs = storeAs };
    }

    private static TinyTensor Uniform(Random rng, int[] shape, double std)
    {
        double a = std * Math.Sqrt(3);
        var data = new float[shape.Aggregate(1, (x, y) => x * y)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)((2 * rng.NextDouble() - 1) * a);
        return new TinyTensor(shape, data);
    }

    /// <summary>nn.Linear weight [out, in] with variance 1/in.</summary>
    private static TinyTensor Linear(Random rng, int outF, int inF) => Uniform(rng, [outF, inF], 1 / Math.Sqrt(inF));

    /// <summary>Conv1D weight [in, out] with variance 1/in.</summary>
    private static TinyTensor Conv1D(Random rng, int inF, int outF) => Uniform(rng, [inF, outF], 1 / Math.Sqrt(inF));

    private static TinyTensor Gain(Random rng, int n) =>
        new([n], Enumerable.Range(0, n).Select(_ => (float)(1 + (rng.NextDouble() - 0.5))).ToArray());

    private static TinyTensor Bias(Random rng, int n) =>
        new([n], Enumerable.Range(0, n).Select(_ => (float)(0.2 * (rng.NextDouble() - 0.5))).ToArray());
}
