using System.Text.Json;

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
    /// <summary>The <c>model_type</c>/<c>architectures</c> string found in config.json, for run records.</summary>
    public string SourceArchitecture { get; init; } = "";

    public int DHead => DModel / NHeads;
    public int RotaryDims => (int)(DHead * RotaryPct);

    public void Validate()
    {
        void Pos(int v, string n) { if (v <= 0) throw new InvalidDataException($"config: {n} must be positive, got {v}"); }
        Pos(DModel, "d_model"); Pos(NHeads, "n_heads"); Pos(NLayers, "n_layers"); Pos(DMlp, "d_mlp"); Pos(NCtx, "n_ctx"); Pos(VocabSize, "vocab_size");
        if (DModel % NHeads != 0) throw new InvalidDataException($"config: d_model {DModel} is not divisible by n_heads {NHeads}");
        if (NKvHeads <= 0 || NHeads % NKvHeads != 0) throw new InvalidDataException($"config: n_heads {NHeads} is not a multiple of the key/value heads {NKvHeads}");
        if (Activation is not ("gelu_new" or "gelu" or "silu")) throw new InvalidDataException($"config: activation '{Activation}' is not supported (gelu_new, gelu, silu)");
        if (RotaryPct < 0 || RotaryPct > 1) throw new InvalidDataException($"config: rotary_pct {RotaryPct} must be in [0, 1]");
        if (RotaryDims % 2 != 0) throw new InvalidDataException($"config: rotary dims {RotaryDims} must be even");
    }

    /// <summary>Reads and validates <c>config.json</c> in <paramref name="directory"/>.</summary>
    public static ModelConfig Load(string directory)
    {
        string path = Path.Combine(directory, "config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"no config.json in {directory}", path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e); }
        using (doc) return Parse(doc.RootElement, path);
    }

    public static ModelConfig Parse(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: expected a JSON object");
        string modelType = Str(root, "model_type") ?? "";
        string arch = root.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array && a.GetArrayLength() > 0
            ? a[0].GetString() ?? "" : "";
        string source = arch.Length > 0 ? arch : modelType;
        ModelConfig cfg;
        if (modelType == "gpt2" || arch == "GPT2LMHeadModel")
        {
            int d = Int(root, path, "n_embd");
            int h = Int(root, path, "n_head");
            cfg = new ModelConfig
            {
                Architecture = ArchitectureKind.Gpt2,
                DModel = d, NHeads = h, NKvHeads = h,
                NLayers = Int(root, path, "n_layer"),
                DMlp = OptInt(root, "n_inner") ?? 4 * d,
                NCtx = OptInt(root, "n_positions") ?? OptInt(root, "n_ctx") ?? 1024,
                VocabSize = Int(root, path, "vocab_size"),
                LayerNormEps = (float)(OptDouble(root, "layer_norm_epsilon") ?? 1e-5),
                Activation = NormalizeAct(Str(root, "activation_function") ?? "gelu_new", path),
                TiedEmbeddings = OptBool(root, "tie_word_embeddings") ?? true,
                BosTokenId = OptInt(root, "bos_token_id") ?? 50256,
                SourceArchitecture = source,
            };
        }
        else if (modelType == "gpt_neox" || arch == "GPTNeoXForCausalLM")
        {
            int d = Int(root, path, "hidden_size");
            int h = Int(root, path, "num_attention_heads");
            cfg = new ModelConfig
            {
                Architecture = ArchitectureKind.GptNeoX,
                DModel = d, NHeads = h, NKvHeads = h,
                NLayers = Int(root, path, "num_hidden_layers"),
                DMlp = OptInt(root, "intermediate_size") ?? 4 * d,
                NCtx = OptInt(root, "max_position_embeddings") ?? 2048,
                VocabSize = Int(root, path, "vocab_size"),
                LayerNormEps = (float)(OptDouble(root, "layer_norm_eps") ?? 1e-5),
                Activation = NormalizeAct(Str(root, "hidden_act") ?? "gelu", path),
                ParallelResidual = OptBool(root, "use_parallel_residual") ?? true,
                RotaryPct = OptDouble(root, "rotary_pct") ?? 0.25,
                RotaryBase = OptDouble(root, "rotary_emb_base") ?? 10000,
                TiedEmbeddings = OptBool(root, "tie_word_embeddings") ?? false,
                BosTokenId = OptInt(root, "bos_token_id") ?? 0,
                SourceArchitecture = source,
            };
        }
        else if (modelType == "llama" || arch == "LlamaForCausalLM")
        {
            int d = Int(root, path, "hidden_size");
            int h = Int(root, path, "num_attention_heads");
            RejectLlamaVariants(root, path, d, h);
            cfg = new ModelConfig
            {
                Architecture = ArchitectureKind.Llama,
                DModel = d, NHeads = h, NKvHeads = OptInt(root, "num_key_value_heads") ?? h,
                NLayers = Int(root, path, "num_hidden_layers"),
                DMlp = Int(root, path, "intermediate_size"),
                NCtx = OptInt(root, "max_position_embeddings") ?? 2048,
                VocabSize = Int(root, path, "vocab_size"),
                LayerNormEps = (float)(OptDouble(root, "rms_norm_eps") ?? 1e-6),
                Activation = NormalizeAct(Str(root, "hidden_act") ?? "silu", path),
                RotaryPct = 1.0,
                RotaryBase = OptDouble(root, "rope_theta") ?? 10000,
                TiedEmbeddings = OptBool(root, "tie_word_embeddings") ?? false,
                BosTokenId = OptInt(root, "bos_token_id") ?? 1,
                SourceArchitecture = source,
            };
        }
        else
        {
            throw new NotSupportedException($"{path}: unknown architecture '{source}' (supported: GPT2LMHeadModel, GPTNeoXForCausalLM, LlamaForCausalLM)");
        }
        cfg.Validate();
        return cfg;
    }

    /// <summary>
    /// Llama-family options the runtime does not implement; refused rather than silently computing a different model.
    /// </summary>
    private static void RejectLlamaVariants(JsonElement root, string path, int d, int h)
    {
        if (root.TryGetProperty("rope_scaling", out var rs) && rs.ValueKind != JsonValueKind.Null)
            throw new NotSupportedException($"{path}: rope_scaling is not supported (plain RoPE only; Llama 3.1+ 'llama3' scaling, linear and dynamic scaling are not implemented)");
        if (OptInt(root, "head_dim") is int hd && h > 0 && hd != d / h)
            throw new NotSupportedException($"{path}: head_dim {hd} differs from hidden_size / num_attention_heads = {d / Math.Max(h, 1)}; not supported");
        if (OptBool(root, "attention_bias") == true || OptBool(root, "mlp_bias") == true)
            throw new NotSupportedException($"{path}: attention_bias / mlp_bias are not supported for Llama");
    }

    private static string NormalizeAct(string act, string path) => act switch
    {
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => "gelu_new",
        "gelu" => "gelu",
        "silu" or "swish" => "silu",
        _ => throw new NotSupportedException($"{path}: activation function '{act}' is not supported"),
    };

    private static string? Str(JsonElement r, string k) => r.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    private static int? OptInt(JsonElement r, string k) => r.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : null;
    private static double? OptDouble(JsonElement r, string k) => r.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
    private static bool? OptBool(JsonElement r, string k) => r.TryGetProperty(k, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;
    private static int Int(JsonElement r, string path, string k) =>
        OptInt(r, k) ?? throw new InvalidDataException($"{path}: missing or non-integer key '{k}'");
}
