using Sna.Runtime.Numerics;

namespace Sna.Runtime.Models;

/// <summary>
/// Builds a model with random weights directly in memory (no checkpoint): for benchmarks and tests of shapes the fixtures
/// don't have (GPT-2 Small/Medium/XL). Weights ~ N(0, 0.02²) like GPT-2's initialisation, LayerNorm gains ≈ 1, seeded and
/// deterministic. Matrices use GPT-2's layout (Conv1D [in, out]) in the requested storage dtype.
/// </summary>
/// <remarks>For a given seed and dtype, <see cref="RandomFill.Exact"/> (the default) always builds the same weights;
/// <see cref="RandomFill.Pooled"/> builds a model of the same shapes and distribution much faster, for benchmarks where
/// only shapes, memory and time matter.</remarks>
public static class RandomModel
{
    public static ModelConfig Gpt2Config(int layers, int dModel, int heads, int vocab = 50257, int nCtx = 1024) => new()
    {
        Architecture = ArchitectureKind.Gpt2, DModel = dModel, NHeads = heads, NKvHeads = heads, NLayers = layers,
        DMlp = 4 * dModel, NCtx = nCtx, VocabSize = vocab, LayerNormEps = 1e-5f, Activation = "gelu_new",
        SourceArchitecture = $"random GPT-2 {layers}x{dModel}",
    };

    public static ModelConfig Gpt2Small => Gpt2Config(12, 768, 12);
    public static ModelConfig Gpt2Medium => Gpt2Config(24, 1024, 16);
    public static ModelConfig Gpt2Large => Gpt2Config(36, 1280, 20);
    public static ModelConfig Gpt2XL => Gpt2Config(48, 1600, 25);

    /// <param name="c">A GPT-2 configuration (e.g. <see cref="Gpt2Medium"/>).</param>
    /// <param name="seed">Seed of every random draw.</param>
    /// <param name="dtype">Storage dtype of the matrices (each in its own native buffer).</param>
    /// <param name="gemm">GEMM provider; null: the default.</param>
    /// <param name="fill">How the matrices are filled (vectors are always drawn exactly).</param>
    public static TransformerModel Create(ModelConfig c, ulong seed = 1, WeightDType dtype = WeightDType.F32, IGemmProvider? gemm = null,
        RandomFill fill = RandomFill.Exact)
    {
        if (c.Architecture != ArchitectureKind.Gpt2) throw new NotSupportedException("random models are built with GPT-2's layout");
        var rng = new DeterministicRandom(seed);
        var w = new ModelWeights();
        try
        {
            var pool = fill == RandomFill.Pooled ? new Pool(rng, dtype, 0.02f) : null;
            WeightMatrix Mat(int k, int n, bool transposed) =>
                pool is null ? Matrix(w, rng, k, n, transposed, dtype, 0.02f) : pool.Matrix(w, k, n, transposed);
            int D = c.DModel, M = c.DMlp, V = c.VocabSize;
            w.TokenEmbedding = Mat(D, V, transposed: true);
            w.Unembed = w.TokenEmbedding;
            w.PosEmbedding = Vector(rng, c.NCtx * D, 0f, 0.01f);
            w.Layers = new LayerWeights[c.NLayers];
            for (int l = 0; l < c.NLayers; l++)
                w.Layers[l] = new LayerWeights
                {
                    Ln1W = Vector(rng, D, 1f, 0.05f), Ln1B = Vector(rng, D, 0f, 0.02f),
                    Wqkv = Mat(D, 3 * D, false), Bqkv = Vector(rng, 3 * D, 0f, 0.02f),
                    Wo = Mat(D, D, false), Bo = Vector(rng, D, 0f, 0.02f),
                    Ln2W = Vector(rng, D, 1f, 0.05f), Ln2B = Vector(rng, D, 0f, 0.02f),
                    Win = Mat(D, M, false), Bin = Vector(rng, M, 0f, 0.02f),
                    Wout = Mat(M, D, false), Bout = Vector(rng, D, 0f, 0.02f),
                };
            w.LnFinalW = Vector(rng, D, 1f, 0.05f);
            w.LnFinalB = Vector(rng, D, 0f, 0.02f);
            string source = fill == RandomFill.Exact ? $"random(seed={seed})" : $"random(seed={seed}, {fill.ToString().ToLowerInvariant()})";
            return new TransformerModel(c, w, gemm)
            {
                Provenance = new ModelProvenance { Source = source, StoredDType = dtype.ToString(), ComputeWeightsDType = dtype.ToString() },
            };
        }
        catch
        {
            w.Dispose();
            throw;
        }
    }

    private static float[] Vector(DeterministicRandom rng, int n, float mean, float sd)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = mean + sd * (float)rng.NextGaussian();
        return v;
    }

    private static unsafe WeightMatrix Matrix(ModelWeights owner, DeterministicRandom rng, int k, int n, bool transposed, WeightDType dtype, float sd)
    {
        long count = (long)k * n;
        var buf = new NativeBuffer(count * (dtype == WeightDType.F32 ? 4 : 2));
        owner.Owners.Add(buf);
        // Uniform with the same variance as N(0, sd²): much faster than Gaussian for the 50M-element embeddings.
        float a = sd * MathF.Sqrt(3f);
        for (long i = 0; i < count; i++)
        {
            float x = (float)(rng.NextDouble() * 2 - 1) * a;
            switch (dtype)
            {
                case WeightDType.F32: ((float*)buf.Pointer)[i] = x; break;
                case WeightDType.F16: ((Half*)buf.Pointer)[i] = (Half)x; break;
                default: ((ushort*)buf.Pointer)[i] = (ushort)(BitConverter.SingleToInt32Bits(x) >> 16); break;
            }
        }
        return new WeightMatrix(buf.Pointer, dtype, k, n, transposed);
    }

    /// <summary>
    /// <see cref="RandomFill.Pooled"/>: 4 Mi values drawn like <see cref="Matrix"/>'s, stored once in the target dtype;
    /// each matrix is filled with copies of the pool taken at seeded random offsets (memcpy speed).
    /// </summary>
    private sealed unsafe class Pool
    {
        private const int Values = 1 << 22;
        private readonly byte[] _bytes;
        private readonly DeterministicRandom _rng;
        private readonly WeightDType _dtype;

        public Pool(DeterministicRandom rng, WeightDType dtype, float sd)
        {
            _rng = rng;
            _dtype = dtype;
            var values = new float[Values];
            float a = sd * MathF.Sqrt(3f);
            for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1) * a;
            _bytes = new byte[(long)Values * ElementSize(dtype)];
            fixed (float* src = values)
            fixed (byte* dst = _bytes)
                WeightConversion.Convert(src, WeightDType.F32, dst, dtype, values.Length);
        }

        public WeightMatrix Matrix(ModelWeights owner, int k, int n, bool transposed)
        {
            var buf = new NativeBuffer((long)k * n * ElementSize(_dtype));
            owner.Owners.Add(buf);
            int es = ElementSize(_dtype);
            for (long done = 0; done < buf.ByteLength;)
            {
                int start = (int)(_rng.NextDouble() * (Values / 2)) * es;   // element-aligned, at least half the pool left
                int count = (int)Math.Min(_bytes.Length - start, buf.ByteLength - done);
                _bytes.AsSpan(start, count).CopyTo(new Span<byte>((byte*)buf.Pointer + done, count));
                done += count;
            }
            return new WeightMatrix(buf.Pointer, _dtype, k, n, transposed);
        }
    }

    private static int ElementSize(WeightDType dtype) => dtype == WeightDType.F32 ? 4 : 2;
}

/// <summary>How <see cref="RandomModel.Create"/> fills the weight matrices.</summary>
public enum RandomFill
{
    /// <summary>Every element drawn from the seeded generator: the same weights for the same seed and dtype.</summary>
    Exact,

    /// <summary>Copies of one pool of 4 Mi seeded random values at random offsets: the same distribution, ~memcpy speed and
    /// private memory per matrix (GPT-2 XL builds in seconds); the values repeat, so use it only where they do not matter.</summary>
    Pooled,
}
