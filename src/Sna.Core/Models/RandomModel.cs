using Sna.Core.Analysis;
using Sna.Core.Numerics;

namespace Sna.Core.Models;

/// <summary>
/// Builds a model with random weights directly in memory (no checkpoint): for benchmarks and tests of shapes the fixtures
/// don't have (GPT-2 Small/Medium/XL). Weights ~ N(0, 0.02²) like GPT-2's initialisation, LayerNorm gains ≈ 1, seeded and
/// deterministic. Matrices use GPT-2's layout (Conv1D [in, out]) in the requested storage dtype.
/// </summary>
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

    public static TransformerModel Create(ModelConfig c, ulong seed = 1, WeightDType dtype = WeightDType.F32, IGemmProvider? gemm = null)
    {
        if (c.Architecture != ArchitectureKind.Gpt2) throw new NotSupportedException("random models are built with GPT-2's layout");
        var rng = new DeterministicRandom(seed);
        var w = new ModelWeights();
        int D = c.DModel, M = c.DMlp, V = c.VocabSize;
        w.TokenEmbedding = Matrix(w, rng, D, V, transposed: true, dtype, 0.02f);
        w.Unembed = w.TokenEmbedding;
        w.PosEmbedding = Vector(rng, c.NCtx * D, 0f, 0.01f);
        w.Layers = new LayerWeights[c.NLayers];
        for (int l = 0; l < c.NLayers; l++)
            w.Layers[l] = new LayerWeights
            {
                Ln1W = Vector(rng, D, 1f, 0.05f), Ln1B = Vector(rng, D, 0f, 0.02f),
                Wqkv = Matrix(w, rng, D, 3 * D, false, dtype, 0.02f), Bqkv = Vector(rng, 3 * D, 0f, 0.02f),
                Wo = Matrix(w, rng, D, D, false, dtype, 0.02f), Bo = Vector(rng, D, 0f, 0.02f),
                Ln2W = Vector(rng, D, 1f, 0.05f), Ln2B = Vector(rng, D, 0f, 0.02f),
                Win = Matrix(w, rng, D, M, false, dtype, 0.02f), Bin = Vector(rng, M, 0f, 0.02f),
                Wout = Matrix(w, rng, M, D, false, dtype, 0.02f), Bout = Vector(rng, D, 0f, 0.02f),
            };
        w.LnFinalW = Vector(rng, D, 1f, 0.05f);
        w.LnFinalB = Vector(rng, D, 0f, 0.02f);
        return new TransformerModel(c, w, gemm)
        {
            Provenance = new ModelProvenance { Source = $"random(seed={seed})", StoredDType = dtype.ToString(), ComputeWeightsDType = dtype.ToString() },
        };
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
}
