using System.Numerics.Tensors;

namespace Sna.Runtime.Numerics;

/// <summary>
/// Numerically stable log-sum-exp (<c>TensorPrimitives.SoftMax</c> does not subtract the maximum and overflows to NaN on
/// large logits). Attention's softmax is <see cref="AttentionKernels.Softmax"/>.
/// </summary>
public static class Softmax
{
    /// <summary>log Σ exp(x), computed in double around the maximum (the normaliser of log-probabilities).</summary>
    public static double LogSumExp(ReadOnlySpan<float> x)
    {
        float max = TensorPrimitives.Max(x);
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += Math.Exp((double)x[i] - max);
        return max + Math.Log(sum);
    }
}
