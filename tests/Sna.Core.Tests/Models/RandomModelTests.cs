using Sna.Runtime.Models;
using Sna.Runtime.Numerics;

namespace Sna.Core.Tests.Models;

public sealed class RandomModelTests
{
    private static readonly ModelConfig Tiny = RandomModel.Gpt2Config(layers: 2, dModel: 32, heads: 4, vocab: 64, nCtx: 16);

    /// <summary>Values of the exact fill for seed 42, recorded before <see cref="RandomFill.Pooled"/> was added: the default
    /// build must keep giving the same weights.</summary>
    [Theory]
    [InlineData(WeightDType.F32, 0.030869622f, 0.0010110661f, 0.030186996f)]
    [InlineData(WeightDType.F16, 0.03086853f, 0.0010108948f, 0.030181885f)]
    [InlineData(WeightDType.BF16, 0.030761719f, 0.0010070801f, 0.030151367f)]
    public void ExactFill_IsUnchanged(WeightDType dtype, float emb, float win, float wout)
    {
        using var m = RandomModel.Create(Tiny, seed: 42, dtype: dtype);
        var w = m.Weights;
        Assert.Equal(emb, w.TokenEmbedding[5, 3]);
        Assert.Equal(win, w.Layers[1].Win[3, 7]);
        Assert.Equal(wout, w.Layers[1].Wout[100, 31]);
        Assert.Equal(0.0023664734f, w.PosEmbedding[37]);
        Assert.Equal(1.0542889f, w.Layers[1].Ln1W[4]);
        Assert.Equal(-0.014016911f, w.Layers[1].Bqkv[10]);
        Assert.Equal(-0.013207133f, w.LnFinalB[31]);
        Assert.Equal("random(seed=42)", m.Provenance.Source);
    }

    [Theory]
    [InlineData(WeightDType.F32)]
    [InlineData(WeightDType.F16)]
    [InlineData(WeightDType.BF16)]
    public void PooledFill_SameShapesAndScale_Deterministic_OwnBuffers(WeightDType dtype)
    {
        using var a = RandomModel.Create(Tiny, seed: 3, dtype: dtype, fill: RandomFill.Pooled);
        using var b = RandomModel.Create(Tiny, seed: 3, dtype: dtype, fill: RandomFill.Pooled);
        using var exact = RandomModel.Create(Tiny, seed: 3, dtype: dtype);
        var la = a.Weights.Layers[1];
        Assert.Equal(exact.Weights.Layers[1].Win.K, la.Win.K);
        Assert.Equal(exact.Weights.Layers[1].Win.N, la.Win.N);
        Assert.Equal(dtype, la.Win.DType);
        Assert.Equal(exact.Weights.Owners.Count, a.Weights.Owners.Count);   // one native buffer per matrix, none shared

        var values = new List<float>();
        for (int r = 0; r < la.Win.K; r++)
            for (int c = 0; c < la.Win.N; c++)
            {
                values.Add(la.Win[r, c]);
                Assert.Equal(la.Win[r, c], b.Weights.Layers[1].Win[r, c]);
            }
        double sd = Math.Sqrt(values.Average(v => (double)v * v));
        Assert.InRange(sd, 0.018, 0.022);
        Assert.All(values, v => Assert.InRange(v, -0.035f, 0.035f));   // uniform ±0.02·√3

        var logits = a.ForwardLast([1, 5, 9, 63]);
        Assert.All(logits, x => Assert.True(float.IsFinite(x)));
        Assert.Equal(b.ForwardLast([1, 5, 9, 63]), logits);
    }
}
