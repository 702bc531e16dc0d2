using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Sna.Runtime.Checkpoints;
using Sna.Runtime.Numerics;

namespace Sna.Runtime.Models;

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
        try
        {
            CheckSizes(config, ckpt);
        }
        catch
        {
            ckpt.Dispose();
            throw;
        }
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
            var provenance = new ModelProvenance
            {
                Source = Path.GetFullPath(directory),
                ContentHash = ckpt.ContentHash,
                StoredDType = stored.ToString(),
                ComputeWeightsDType = dtype == WeightsDTypeOption.AsStored ? stored.ToString() : dtype.ToString(),
            };
            if (!ctx.KeptView)
            {
                // Every matrix was converted into an owned buffer and every vector copied: unmap the checkpoint so its
                // pages (touched during conversion) stop counting in this process's resident set.
                weights.Owners.Remove(ckpt);
                ckpt.Dispose();
            }
            return new TransformerModel(config, weights, gemm) { Provenance = provenance };
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>Where an architecture keeps the tensors that fix its sizes, and the config.json keys that state them.</summary>
    private sealed record Layout(string Embedding, string? Positions, string LayerPrefix, string Mlp, bool MlpTransposed,
                                 string VocabKey, string DModelKey, string LayersKey, string MlpKey, string CtxKey);

    private static Layout LayoutOf(ModelConfig c, Checkpoint ckpt) => c.Architecture switch
    {
        ArchitectureKind.Gpt2 when ckpt.Contains("transformer.wte.weight") =>
            new("transformer.wte.weight", "transformer.wpe.weight", "transformer.h.", "mlp.c_fc.weight", false, "vocab_size", "n_embd", "n_layer", "n_inner", "n_positions"),
        ArchitectureKind.Gpt2 =>
            new("wte.weight", "wpe.weight", "h.", "mlp.c_fc.weight", false, "vocab_size", "n_embd", "n_layer", "n_inner", "n_positions"),
        ArchitectureKind.GptNeoX =>
            new("gpt_neox.embed_in.weight", null, "gpt_neox.layers.", "mlp.dense_h_to_4h.weight", true, "vocab_size", "hidden_size", "num_hidden_layers", "intermediate_size", "max_position_embeddings"),
        _ =>
            new("model.embed_tokens.weight", null, "model.layers.", "mlp.up_proj.weight", true, "vocab_size", "hidden_size", "num_hidden_layers", "intermediate_size", "max_position_embeddings"),
    };

    /// <summary>
    /// The one size check: config.json's sizes (vocabulary, d_model, layers, d_mlp, positions) against the checkpoint's
    /// tensor shapes, before anything is allocated, so a corrupt or mismatched config (<c>n_layer: 2000000000</c>) is a
    /// one-line <see cref="CheckpointException"/> naming the key, not an out-of-memory crash. Every tensor's full shape is
    /// then checked again as it is read (<see cref="TensorView.ExpectShape"/>).
    /// </summary>
    private static void CheckSizes(ModelConfig c, Checkpoint ckpt)
    {
        var l = LayoutOf(c, ckpt);
        string cfg = Path.Combine(ckpt.Directory, ModelConfigJson.FileName);
        CheckpointException Mismatch(string key, long stated, string what, long found) =>
            new($"model config '{cfg}': {key} = {stated} does not match the checkpoint ({what} is {found})", cfg, key);

        int[] emb = Shape(ckpt, l.Embedding, 2);
        if (emb[1] != c.DModel) throw Mismatch(l.DModelKey, c.DModel, $"{l.Embedding} width", emb[1]);
        if (emb[0] != c.VocabSize) throw Mismatch(l.VocabKey, c.VocabSize, $"{l.Embedding} rows", emb[0]);
        if (l.Positions is not null)
        {
            int[] pos = Shape(ckpt, l.Positions, 2);
            if (pos[0] != c.NCtx) throw Mismatch(l.CtxKey, c.NCtx, $"{l.Positions} rows", pos[0]);
        }
        // Layers present: the distinct indices L of "{prefix}{L}." names; they must be exactly 0 .. n_layers-1.
        var indices = new SortedSet<int>();
        foreach (string name in ckpt.Names)
        {
            if (!name.StartsWith(l.LayerPrefix, StringComparison.Ordinal)) continue;
            int dot = name.IndexOf('.', l.LayerPrefix.Length);
            if (dot > l.LayerPrefix.Length && int.TryParse(name.AsSpan(l.LayerPrefix.Length, dot - l.LayerPrefix.Length),
                    System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int idx))
                indices.Add(idx);
        }
        if (indices.Count != c.NLayers || (indices.Count > 0 && indices.Max != c.NLayers - 1))
            throw Mismatch(l.LayersKey, c.NLayers, $"the number of layers {l.LayerPrefix}N.*", indices.Count);
        string mlpName = l.LayerPrefix + "0." + l.Mlp;
        int[] mlp = Shape(ckpt, mlpName, 2);
        int mlpWidth = l.MlpTransposed ? mlp[0] : mlp[1];
        if (mlpWidth != c.DMlp) throw Mismatch(l.MlpKey, c.DMlp, $"{mlpName} width", mlpWidth);
    }

    private static int[] Shape(Checkpoint ckpt, string name, int rank)
    {
        if (!ckpt.TryGet(name, out var v))
            throw new CheckpointException($"tensor '{name}' is missing from the checkpoint in {ckpt.Directory}", ckpt.Directory, name);
        if (v.Rank != rank)
            throw new CheckpointException($"tensor '{name}' in {ckpt.Directory} has {v.Rank} dimensions, expected {rank}", ckpt.Directory, name);
        return v.Shape;
    }

    private sealed class Ctx(Checkpoint ckpt, ModelWeights weights, WeightsDTypeOption dtype)
    {
        public readonly Checkpoint Ckpt = ckpt;
        public readonly ModelWeights Weights = weights;
        public readonly WeightsDTypeOption DType = dtype;
        public string Prefix = "";
        /// <summary>True once a matrix is used in place (zero-copy): the checkpoint must stay mapped.</summary>
        public bool KeptView;

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

        /// <summary>The dtype a matrix stored as <paramref name="stored"/> is held in under the weights-dtype option.</summary>
        public WeightDType TargetFor(WeightDType stored) => DType switch
        {
            WeightsDTypeOption.F32 => WeightDType.F32,
            WeightsDTypeOption.F16 => WeightDType.F16,
            WeightsDTypeOption.BF16 => WeightDType.BF16,
            _ => stored,
        };

        /// <summary>Applies the weights-dtype option: keep the view, or convert once into an owned native buffer.</summary>
        public WeightMatrix Convert(WeightMatrix m)
        {
            WeightDType target = TargetFor(m.DType);
            if (target == m.DType) { KeptView = true; return m; }
            return Own(m, target, m.Transposed);
        }

        /// <summary>Copies <paramref name="m"/> into a new buffer of <paramref name="target"/> dtype and layout.</summary>
        public unsafe WeightMatrix Own(WeightMatrix m, WeightDType target, bool transposed)
        {
            long count = m.ElementCount;
            int es = target == WeightDType.F32 ? 4 : 2;
            var buf = new NativeBuffer(count * es);
            Weights.Owners.Add(buf);
            if (transposed == m.Transposed)
            {
                // Same layout: an element-wise conversion of one contiguous block (vectorised).
                WeightConversion.Convert(m.Data, m.DType, buf.Pointer, target, count);
            }
            else
            {
                // Layout change (no loader asks for one): gather each output row through the indexer, then convert it.
                int rows = transposed ? m.N : m.K, cols = transposed ? m.K : m.N;
                var row = new float[cols];
                for (int r = 0; r < rows; r++)
                {
                    for (int c = 0; c < cols; c++) row[c] = transposed ? m[c, r] : m[r, c];
                    fixed (float* p = row)
                        WeightConversion.Convert(p, WeightDType.F32, (byte*)buf.Pointer + (long)r * cols * es, target, cols);
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
            var q = x.Tensor(p + "self_attn.q_proj.weight", H * dh, D).AsMatrix(true);
            var k = x.Tensor(p + "self_attn.k_proj.weight", Hkv * dh, D).AsMatrix(true);
            var v = x.Tensor(p + "self_attn.v_proj.weight", Hkv * dh, D).AsMatrix(true);
            // The fused matrix is built directly in the dtype the option asks for (as stored: the projections' common
            // dtype, float32 if they differ), so no second copy of q/k/v is kept.
            WeightDType fusedType = q.DType == k.DType && k.DType == v.DType ? x.TargetFor(q.DType)
                                  : x.TargetFor(WeightDType.F32);
            int qkvRows = (H + 2 * Hkv) * dh;
            int es = fusedType == WeightDType.F32 ? 4 : 2;
            var buf = new NativeBuffer((long)qkvRows * D * es);
            x.Weights.Owners.Add(buf);
            byte* dst = (byte*)buf.Pointer;
            WeightConversion.Convert(q.Data, q.DType, dst, fusedType, q.ElementCount);
            WeightConversion.Convert(k.Data, k.DType, dst + q.ElementCount * es, fusedType, k.ElementCount);
            WeightConversion.Convert(v.Data, v.DType, dst + (q.ElementCount + k.ElementCount) * es, fusedType, v.ElementCount);
            var fused = new WeightMatrix(buf.Pointer, fusedType, D, qkvRows, transposed: true);
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

/// <summary>
/// Element-wise conversion between the weight storage types (F32, F16, BF16), vectorised. Results equal the scalar
/// conversions exactly: F32→F16 is <c>(Half)x</c> (round to nearest even), F32→BF16 is
/// <see cref="SafetensorsWriter.SingleToBf16"/> (round to nearest even, NaN stays a quiet NaN); widening is exact.
/// </summary>
internal static unsafe class WeightConversion
{
    private const int Chunk = 1 << 14;

    public static void Convert(void* src, WeightDType from, void* dst, WeightDType to, long count)
    {
        long srcSize = from == WeightDType.F32 ? 4 : 2, dstSize = to == WeightDType.F32 ? 4 : 2;
        if (from == to)
        {
            Buffer.MemoryCopy(src, dst, count * dstSize, count * dstSize);
            return;
        }
        float[]? scratch = from != WeightDType.F32 && to != WeightDType.F32 ? new float[Chunk] : null;
        for (long off = 0; off < count; off += Chunk)
        {
            int n = (int)Math.Min(Chunk, count - off);
            byte* s = (byte*)src + off * srcSize, d = (byte*)dst + off * dstSize;
            Span<float> wide = from == WeightDType.F32 ? new Span<float>(s, n)
                             : to == WeightDType.F32 ? new Span<float>(d, n) : scratch.AsSpan(0, n);
            if (from == WeightDType.F16) TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(s, n), wide);
            else if (from == WeightDType.BF16) TensorView.Bf16ToSingle(new ReadOnlySpan<ushort>(s, n), wide);
            if (to == WeightDType.F16) TensorPrimitives.ConvertToHalf(wide, new Span<Half>(d, n));
            else if (to == WeightDType.BF16) SingleToBf16(wide, new Span<ushort>(d, n));
        }
    }

    /// <summary>float32 → bfloat16 bits, round to nearest even, NaN → quiet NaN (as <see cref="SafetensorsWriter.SingleToBf16"/>).</summary>
    public static void SingleToBf16(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        var bits = MemoryMarshal.Cast<float, uint>(src);
        int i = 0;
        int w = Vector<uint>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var absMask = new Vector<uint>(0x7FFF_FFFF);
            var inf = new Vector<uint>(0x7F80_0000);
            var bias = new Vector<uint>(0x7FFF);
            var quiet = new Vector<uint>(0x0040);
            for (; i + 2 * w <= src.Length; i += 2 * w)
            {
                var lo = Round(new Vector<uint>(bits.Slice(i, w)), absMask, inf, bias, quiet);
                var hi = Round(new Vector<uint>(bits.Slice(i + w, w)), absMask, inf, bias, quiet);
                Vector.Narrow(lo, hi).CopyTo(dst.Slice(i));
            }
        }
        for (; i < src.Length; i++) dst[i] = SafetensorsWriter.SingleToBf16(src[i]);
    }

    private static Vector<uint> Round(Vector<uint> b, Vector<uint> absMask, Vector<uint> inf, Vector<uint> bias, Vector<uint> quiet)
    {
        var top = Vector.ShiftRightLogical(b, 16);
        var rounded = Vector.ShiftRightLogical(b + bias + (top & Vector<uint>.One), 16);
        return Vector.ConditionalSelect(Vector.GreaterThan(b & absMask, inf), top | quiet, rounded);
    }
}
