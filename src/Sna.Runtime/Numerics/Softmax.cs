using System.Numerics.Tensors;

namespace Sna.Runtime.Numerics;

/// <summary>
/// Numerically stable softmax and log-softmax. <c>TensorPrimitives.SoftMax</c> does not subtract the maximum
/// (it overflows to NaN on large logits), so these do: softmax(x) = exp(x - max) / Σ exp(x - max).
/// </summary>
public static class Softmax
{
    /// <summary>In place: row[i] = exp(row[i] - max) / Σ. Entries equal to -∞ become 0.</summary>
    public static void InPlace(Span<float> row)
    {
        float max = TensorPrimitives.Max(row);
        TensorPrimitives.Subtract(row, max, row);
        TensorPrimitives.Exp(row, row);
        float sum = TensorPrimitives.Sum(row);
        TensorPrimitives.Divide(row, sum, row);
    }

    /// <summary>log Σ exp(x), computed in double around the maximum (the normaliser of log-probabilities).</summary>
    public static double LogSumExp(ReadOnlySpan<float> x)
    {
        float max = TensorPrimitives.Max(x);
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += Math.Exp((double)x[i] - max);
        return max + Math.Log(sum);
    }
}
