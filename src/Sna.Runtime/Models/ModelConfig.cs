using System.Text.Json;
using Sna.Runtime.Checkpoints;

namespace Sna.Runtime.Models;

/// <summary>Transformer families the runtime implements.</summary>
public enum ArchitectureKind { Gpt2, GptNeoX, Llama }

/// <summary>
/// Architecture hyper-parameters in TransformerLens terms (d_model, n_heads, d_mlp, ...), read from a Hugging Face
/// <c>config.json</c>. Every value is validated; errors name the file and the key.
/// </summary>
public sealed record ModelConfig
{
    public required ArchitectureKind Architecture { get; init; }
    public required int DModel { get; init; }
    public required int NHeads { get; init; }
    /// <summary>Key/value heads (grouped-query attention); equals <see cref="NHeads"/> for GPT-2 and NeoX.</summary>
    public int NKvHeads { get; init; }
    public required int NLayers { get; init; }
    public required int DMlp { get; init; }
    public required int NCtx { get; init; }
    public required int VocabSize { get; init; }
    public required float LayerNormEps { get; init; }
    /// <summary>"gelu_new" (tanh), "gelu" (erf), "silu".</summary>
    public required string Activation { get; init; }
    public bool ParallelResidual { get; init; }
    public double RotaryPct { get; init; }
    public double RotaryBase { get; init; } = 10000;
    public bool TiedEmbeddings { get; init; } = true;
    public int BosTokenId { get; init; } = -1;
    /// <summary>
    /// End-of-sequence ids (config.json <c>eos_token_id</c>: one id or a list; the architecture's Hugging Face default when
    /// absent). Generation stops after one unless <see cref="GenerationOptions.StopAtEos"/> is off. Empty: none known.
    /// </summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    /// <summary>The <c>model_type</c>/<c>architectures</c> string found in config.json, for run records.</summary>
    public string SourceArchitecture { get; init; } = "";

    private static int[] EosIds(ModelConfigJson j, int defaultId) => j.TryGetIntOrList("eos_token_id", out var ids) ? ids : [defaultId];

    public int DHead => DModel / NHeads;
    public int RotaryDims => (int)(DHead * RotaryPct);

    public void Validate() => Validate(null);

    private void Validate(string? path)
    {
        void Bad(string m) => throw new CheckpointException(path is null ? $"config: {m}" : $"model config '{path}': {m}", path);
        void Pos(int v, string n) { if (v <= 0) Bad($"{n} must be positive, got {v}"); }
        Pos(DModel, "d_model"); Pos(NHeads, "n_heads"); Pos(NLayers, "n_layers"); Pos(DMlp, "d_mlp"); Pos(NCtx, "n_ctx"); Pos(VocabSize, "vocab_size");
        if (DModel % NHeads != 0) Bad($"d_model {DModel} is not divisible by n_heads {NHeads}");
        if (NKvHeads <= 0 || NHeads % NKvHeads != 0) Bad($"n_heads {NHeads} is not a multiple of the key/value heads {NKvHeads}");
        // Fused and concatenated widths (3·d_model, (H + 2·Hkv)·d_head) must fit an int: larger values are a corrupt config.
        if ((long)(NHeads + 2 * (long)NKvHeads) * DHead > int.MaxValue || 3L * DModel > int.MaxValue)
            Bad($"d_model {DModel} is too large");
        if (Activation is not ("gelu_new" or "gelu" or "silu")) Bad($"activation '{Activation}' is not supported (gelu_new, gelu, silu)");
        if (!(RotaryPct >= 0 && RotaryPct <= 1)) Bad($"rotary_pct {RotaryPct} must be in [0, 1]");
        if (RotaryDims % 2 != 0) Bad($"rotary dims {RotaryDims} must be even");
        if (!(RotaryBase > 0)) Bad($"rotary base {RotaryBase} must be positive");
        if (!(LayerNormEps > 0) || !float.IsFinite(LayerNormEps)) Bad($"layer norm epsilon {LayerNormEps} must be a positive float32");
    }

    /// <summary>
    /// Reads and validates <c>config.json</c> in <paramref name="directory"/> strictly: a key of the wrong type (a string
    /// where a number or boolean belongs, a fraction where an integer belongs) is a <see cref="CheckpointException"/> naming the
    /// file and the key, never a silent default.
    /// </summary>
    public static ModelConfig Load(string directory) => Parse(ModelConfigJson.Load(directory));

    /// <summary>Parses a config already read as JSON; <paramref name="path"/> is used in error messages.</summary>
    public static ModelConfig Parse(JsonElement root, string path) => Parse(ModelConfigJson.Parse(root.GetRawText(), path));

    public static ModelConfig Parse(ModelConfigJson j)
    {
        string path = j.Path;
        string modelType = j.GetString("model_type", "");
        string arch = "";
        if (j.TryGetElement("architectures", out var a))
        {
            if (a.ValueKind != JsonValueKind.Array || (a.GetArrayLength() > 0 && a[0].ValueKind != JsonValueKind.String))
                throw new CheckpointException($"model config '{path}': key 'architectures' must be a list of strings", path, "architectures");
            if (a.GetArrayLength() > 0) arch = a[0].GetString()!;
        }
        string source = arch.Length > 0 ? arch : modelType;
        ModelConfig cfg;
        if (modelType == "gpt2" || arch == "GPT2LMHeadModel")
        {
            int d = j.GetInt("n_embd");
            int h = j.GetInt("n_head");
            cfg = new ModelConfig
            {
                Architecture = ArchitectureKind.Gpt2,
                DModel = d, NHeads = h, NKvHeads = h,
                NLayers = j.GetInt("n_layer"),
                DMlp = j.TryGetInt("n_inner", out int inner) ? inner : FourTimes(j, d, "n_embd"),
                NCtx = j.TryGetInt("n_positions", out int np) ? np : j.GetInt("n_ctx", 1024),
                VocabSize = j.GetInt("vocab_size"),
                LayerNormEps = Eps(j, "layer_norm_epsilon", 1e-5),
                Activation = NormalizeAct(j.GetString("activation_function", "gelu_new"), path, "activation_function"),
                TiedEmbeddings = j.GetBool("tie_word_embeddings", true),
                BosTokenId = j.GetInt("bos_token_id", 50256),
                EosTokenIds = EosIds(j, 50256),
                SourceArchitecture = source,
            };
        }
        else if (modelType == "gpt_neox" || arch == "GPTNeoXForCausalLM")
        {
            int d = j.GetInt("hidden_size");
            int h = j.GetInt("num_attention_heads");
            cfg = new ModelConfig
            {
                Architecture = ArchitectureKind.GptNeoX,
                DModel = d, NHeads = h, NKvHeads = h,
                NLayers = j.GetInt("num_hidden_layers"),
                DMlp = j.TryGetInt("intermediate_size", out int inner) ? inner : FourTimes(j, d, "hidden_size"),
                NCtx = j.GetInt("max_position_embeddings", 2048),
                VocabSize = j.GetInt("vocab_size"),
                LayerNormEps = Eps(j, "layer_norm_eps", 1e-5),
                Activation = NormalizeAct(j.GetString("hidden_act", "gelu"), path, "hidden_act"),
                ParallelResidual = j.GetBool("use_parallel_residual", true),
                RotaryPct = j.GetDouble("rotary_pct", 0.25),
                RotaryBase = j.GetDouble("rotary_emb_base", 10000),
                TiedEmbeddings = j.GetBool("tie_word_embeddings", false),
                BosTokenId = j.GetInt("bos_token_id", 0),
                EosTokenIds = EosIds(j, 2),   // GPTNeoXConfig's default; Pythia's config.json gives 0
                SourceArchitecture = source,
            };
        }
        else if (modelType == "llama" || arch == "LlamaForCausalLM")
        {
            int d = j.GetInt("hidden_size");
            int h = j.GetInt("num_attention_heads");
            RejectLlamaVariants(j, d, h);
            cfg = new ModelConfig
            {
                Architecture = ArchitectureKind.Llama,
                DModel = d, NHeads = h, NKvHeads = j.GetInt("num_key_value_heads", h),
                NLayers = j.GetInt("num_hidden_layers"),
                DMlp = j.GetInt("intermediate_size"),
                NCtx = j.GetInt("max_position_embeddings", 2048),
                VocabSize = j.GetInt("vocab_size"),
                LayerNormEps = Eps(j, "rms_norm_eps", 1e-6),
                Activation = NormalizeAct(j.GetString("hidden_act", "silu"), path, "hidden_act"),
                RotaryPct = 1.0,
                RotaryBase = j.GetDouble("rope_theta", 10000),
                TiedEmbeddings = j.GetBool("tie_word_embeddings", false),
                BosTokenId = j.GetInt("bos_token_id", 1),
                EosTokenIds = EosIds(j, 2),
                SourceArchitecture = source,
            };
        }
        else
        {
            throw new CheckpointException($"model config '{path}': unknown architecture '{source}' (supported: GPT2LMHeadModel, GPTNeoXForCausalLM, LlamaForCausalLM)", path, "architectures");
        }
        cfg.Validate(path);
        return cfg;
    }

    /// <summary>
    /// Llama-family options the runtime does not implement; refused rather than silently computing a different model.
    /// </summary>
    private static void RejectLlamaVariants(ModelConfigJson j, int d, int h)
    {
        string path = j.Path;
        if (j.Has("rope_scaling"))
            throw new CheckpointException($"model config '{path}': rope_scaling is not supported (plain RoPE only; Llama 3.1+ 'llama3' scaling, linear and dynamic scaling are not implemented)", path, "rope_scaling");
        if (j.TryGetInt("head_dim", out int hd) && h > 0 && hd != d / h)
            throw new CheckpointException($"model config '{path}': head_dim {hd} differs from hidden_size / num_attention_heads = {d / h}; not supported", path, "head_dim");
        if (j.GetBool("attention_bias", false) || j.GetBool("mlp_bias", false))
            throw new CheckpointException($"model config '{path}': attention_bias / mlp_bias are not supported for Llama", path, "attention_bias");
    }

    /// <summary>The default MLP width 4·d_model, refused when it does not fit an int.</summary>
    private static int FourTimes(ModelConfigJson j, int d, string key) =>
        4L * d is long m && m <= int.MaxValue ? (int)m
            : throw new CheckpointException($"model config '{j.Path}': key '{key}' = {d} is too large (4 x {d} does not fit a 32-bit size)", j.Path, key);

    /// <summary>A layer-norm epsilon: a finite positive number that stays positive in float32.</summary>
    private static float Eps(ModelConfigJson j, string key, double fallback)
    {
        double v = j.GetDouble(key, fallback);
        if (!(v > 0) || !float.IsFinite((float)v) || (float)v == 0)
            throw new CheckpointException($"model config '{j.Path}': key '{key}' must be a positive number representable in float32, found {v}", j.Path, key);
        return (float)v;
    }

    private static string NormalizeAct(string act, string path, string key) => act switch
    {
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => "gelu_new",
        "gelu" => "gelu",
        "silu" or "swish" => "silu",
        _ => throw new CheckpointException($"model config '{path}': key '{key}': activation function '{act}' is not supported (gelu_new, gelu, silu)", path, key),
    };
}
