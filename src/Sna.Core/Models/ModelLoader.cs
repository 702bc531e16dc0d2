using Sna.Core.Checkpoints;
using Sna.Core.Numerics;

namespace Sna.Core.Models;

/// <summary>How weight matrices are held in memory for compute. Compute is always float32.</summary>
public enum WeightsDTypeOption
{
    /// <summary>Keep the checkpoint's storage (F32, F16 or BF16), zero-copy from the memory map; 16-bit is widened inside the GEMM.</summary>
    AsStored,
    F32,
    F16,
    BF16,
}

/// <summary>
/// Loads a Hugging Face checkpoint directory (config.json + safetensors) into a <see cref="TransformerModel"/>.
/// Matrices whose storage already suits the GEMM are used in place through the memory map (one copy of the weights, the
/// page cache's); others are converted once into aligned native buffers.
/// </summary>
public static class ModelLoader
{
    public static TransformerModel Load(string directory, WeightsDTypeOption dtype = WeightsDTypeOption.AsStored, IGemmProvider? gemm = null)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"model directory not found: {directory}");
        var config = ModelConfig.Load(directory);
        var ckpt = Checkpoint.Open(directory);
        var weights = new ModelWeights();
        weights.Owners.Add(ckpt);
        try
        {
            var ctx = new Ctx(ckpt, weights, dtype);
            switch (config.Architecture)
            {
                case ArchitectureKind.Gpt2: LoadGpt2(config, ctx); break;
                case ArchitectureKind.GptNeoX: LoadNeoX(config, ctx); break;
                case ArchitectureKind.Llama: LoadLlama(config, ctx); break;
            }
            var stored = ckpt.Names.Select(n => ckpt.Get(n).DType).Where(d => d is TensorDType.F32 or TensorDType.F16 or TensorDType.BF16)
                                   .GroupBy(d => d).OrderByDescending(g => g.Count()).First().Key;
            return new TransformerModel(config, weights, gemm)
            {
                Provenance = new ModelProvenance
                {
                    Source = Path.GetFullPath(directory),
                    ContentHash = ckpt.ContentHash,
                    StoredDType = stored.ToString(),
                    ComputeWeightsDType = dtype == WeightsDTypeOption.AsStored ? stored.ToString() : dtype.ToString(),
                },
            };
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    private sealed class Ctx(Checkpoint ckpt, ModelWeights weights, WeightsDTypeOption dtype)
    {
        public readonly Checkpoint Ckpt = ckpt;
        public readonly ModelWeights Weights = weights;
        public readonly WeightsDTypeOption DType = dtype;
        public string Prefix = "";

        public TensorView Tensor(string name, params int[] shape)
        {
            string full = Prefix + name;
            if (!Ckpt.TryGet(full, out var v))
                throw new CheckpointException($"tensor '{full}' is missing from the checkpoint in {Ckpt.Directory}", Ckpt.Directory, full);
            return v.ExpectShape(shape);
        }

        public float[] Vector(string name, int n) => Tensor(name, n).ToFloat32Array();

        /// <summary>A matrix stored [rows, cols]; <paramref name="transposed"/> = stored as [N, K].</summary>
        public WeightMatrix Matrix(string name, int rows, int cols, bool transposed)
        {
            var v = Tensor(name, rows, cols);
            return Convert(v.AsMatrix(transposed));
        }

        /// <summary>Applies the weights-dtype option: keep the view, or convert once into an owned native buffer.</summary>
        public unsafe WeightMatrix Convert(WeightMatrix m)
        {
            WeightDType target = DType switch
            {
                WeightsDTypeOption.F32 => WeightDType.F32,
                WeightsDTypeOption.F16 => WeightDType.F16,
                WeightsDTypeOption.BF16 => WeightDType.BF16,
                _ => m.DType,
            };
            if (target == m.DType) return m;
            return Own(m, target, m.Transposed);
        }

        /// <summary>Copies <paramref name="m"/> element by element into a new buffer of <paramref name="target"/> dtype and layout.</summary>
        public unsafe WeightMatrix Own(WeightMatrix m, WeightDType target, bool transposed)
        {
            long count = m.ElementCount;
            var buf = new NativeBuffer(count * (target == WeightDType.F32 ? 4 : 2));
            Weights.Owners.Add(buf);
            int rows = transposed ? m.N : m.K, cols = transposed ? m.K : m.N;
            var row = new float[cols];
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < cols; c++) row[c] = transposed ? m[c, r] : m[r, c];
                long off = (long)r * cols;
                switch (target)
                {
                    case WeightDType.F32: row.CopyTo(new Span<float>((float*)buf.Pointer + off, cols)); break;
                    case WeightDType.F16: for (int c = 0; c < cols; c++) ((Half*)buf.Pointer)[off + c] = (Half)row[c]; break;
                    default: for (int c = 0; c < cols; c++) ((ushort*)buf.Pointer)[off + c] = SafetensorsWriter.SingleToBf16(row[c]); break;
                }
            }
            return new WeightMatrix(buf.Pointer, target, m.K, m.N, transposed);
        }
    }

    // ---- GPT-2: Conv1D weights stored [in, out] (K x N, not transposed); wte [vocab, d] tied to the unembedding.
    private static void LoadGpt2(ModelConfig c, Ctx x)
    {
        int D = c.DModel, M = c.DMlp, V = c.VocabSize;
        x.Prefix = x.Ckpt.Contains("transformer.wte.weight") ? "transformer." : "";
        var w = x.Weights;
        w.TokenEmbedding = x.Matrix("wte.weight", V, D, transposed: true);
        w.PosEmbedding = x.Tensor("wpe.weight", c.NCtx, D).ToFloat32Array();
        w.Layers = new LayerWeights[c.NLayers];
        for (int l = 0; l < c.NLayers; l++)
        {
            string p = $"h.{l}.";
            w.Layers[l] = new LayerWeights
            {
                Ln1W = x.Vector(p + "ln_1.weight", D), Ln1B = x.Vector(p + "ln_1.bias", D),
                Wqkv = x.Matrix(p + "attn.c_attn.weight", D, 3 * D, false), Bqkv = x.Vector(p + "attn.c_attn.bias", 3 * D),
                Wo = x.Matrix(p + "attn.c_proj.weight", D, D, false), Bo = x.Vector(p + "attn.c_proj.bias", D),
                Ln2W = x.Vector(p + "ln_2.weight", D), Ln2B = x.Vector(p + "ln_2.bias", D),
                Win = x.Matrix(p + "mlp.c_fc.weight", D, M, false), Bin = x.Vector(p + "mlp.c_fc.bias", M),
                Wout = x.Matrix(p + "mlp.c_proj.weight", M, D, false), Bout = x.Vector(p + "mlp.c_proj.bias", D),
            };
        }
        w.LnFinalW = x.Vector("ln_f.weight", D);
        w.LnFinalB = x.Vector("ln_f.bias", D);
        x.Prefix = "";
        if (!c.TiedEmbeddings && x.Ckpt.Contains("lm_head.weight")) w.Unembed = x.Matrix("lm_head.weight", V, D, transposed: true);
        else w.Unembed = w.TokenEmbedding;
    }

    // ---- GPT-NeoX: nn.Linear weights stored [out, in] (transposed); query_key_value rows laid out per head [q|k|v].
    private static void LoadNeoX(ModelConfig c, Ctx x)
    {
        int D = c.DModel, M = c.DMlp, V = c.VocabSize;
        x.Prefix = "gpt_neox.";
        var w = x.Weights;
        w.TokenEmbedding = x.Matrix("embed_in.weight", V, D, transposed: true);
        w.Layers = new LayerWeights[c.NLayers];
        for (int l = 0; l < c.NLayers; l++)
        {
            string p = $"layers.{l}.";
            w.Layers[l] = new LayerWeights
            {
                Ln1W = x.Vector(p + "input_layernorm.weight", D), Ln1B = x.Vector(p + "input_layernorm.bias", D),
                Wqkv = x.Matrix(p + "attention.query_key_value.weight", 3 * D, D, true), Bqkv = x.Vector(p + "attention.query_key_value.bias", 3 * D),
                Wo = x.Matrix(p + "attention.dense.weight", D, D, true), Bo = x.Vector(p + "attention.dense.bias", D),
                Ln2W = x.Vector(p + "post_attention_layernorm.weight", D), Ln2B = x.Vector(p + "post_attention_layernorm.bias", D),
                Win = x.Matrix(p + "mlp.dense_h_to_4h.weight", M, D, true), Bin = x.Vector(p + "mlp.dense_h_to_4h.bias", M),
                Wout = x.Matrix(p + "mlp.dense_4h_to_h.weight", D, M, true), Bout = x.Vector(p + "mlp.dense_4h_to_h.bias", D),
            };
        }
        w.LnFinalW = x.Vector("final_layer_norm.weight", D);
        w.LnFinalB = x.Vector("final_layer_norm.bias", D);
        x.Prefix = "";
        w.Unembed = c.TiedEmbeddings ? w.TokenEmbedding : x.Matrix("embed_out.weight", V, D, transposed: true);
    }

    // ---- Llama: separate q/k/v projections fused here into one [ (H+2Hkv)·dh, D ] matrix; RMSNorm; SwiGLU MLP.
    private static unsafe void LoadLlama(ModelConfig c, Ctx x)
    {
        int D = c.DModel, M = c.DMlp, V = c.VocabSize, dh = c.DHead, H = c.NHeads, Hkv = c.NKvHeads;
        x.Prefix = "model.";
        var w = x.Weights;
        w.TokenEmbedding = x.Matrix("embed_tokens.weight", V, D, transposed: true);
        w.Layers = new LayerWeights[c.NLayers];
        for (int l = 0; l < c.NLayers; l++)
        {
            string p = $"layers.{l}.";
            var q = x.Tensor(p + "self_attn.q_proj.weight", H * dh, D);
            var k = x.Tensor(p + "self_attn.k_proj.weight", Hkv * dh, D);
            var v = x.Tensor(p + "self_attn.v_proj.weight", Hkv * dh, D);
            int qkvRows = (H + 2 * Hkv) * dh;
            var buf = new NativeBuffer((long)qkvRows * D * 4);
            x.Weights.Owners.Add(buf);
            var dst = new Span<float>(buf.Pointer, qkvRows * D);
            q.CopyToFloat32(dst.Slice(0, H * dh * D));
            k.CopyToFloat32(dst.Slice(H * dh * D, Hkv * dh * D));
            v.CopyToFloat32(dst.Slice((H + Hkv) * dh * D, Hkv * dh * D));
            var fused = x.Convert(new WeightMatrix(buf.Pointer, WeightDType.F32, D, qkvRows, transposed: true));
            w.Layers[l] = new LayerWeights
            {
                Ln1W = x.Vector(p + "input_layernorm.weight", D),
                Wqkv = fused,
                Wo = x.Matrix(p + "self_attn.o_proj.weight", D, H * dh, true),
                Ln2W = x.Vector(p + "post_attention_layernorm.weight", D),
                Wgate = x.Matrix(p + "mlp.gate_proj.weight", M, D, true),
                Win = x.Matrix(p + "mlp.up_proj.weight", M, D, true),
                Wout = x.Matrix(p + "mlp.down_proj.weight", D, M, true),
            };
        }
        w.LnFinalW = x.Vector("norm.weight", D);
        x.Prefix = "";
        w.Unembed = c.TiedEmbeddings || !x.Ckpt.Contains("lm_head.weight") ? w.TokenEmbedding : x.Matrix("lm_head.weight", V, D, transposed: true);
    }
}
