namespace Sna.Runtime.Numerics;

/// <summary>
/// Rotary position embeddings, "rotate_half" convention (GPT-NeoX, Llama in Hugging Face layout): on the first
/// <c>rotaryDims</c> dims of each head, with i &lt; r/2 and θ_i = pos · base^(−2i/r):
/// out[i] = x[i]·cos θ_i − x[i+r/2]·sin θ_i,  out[i+r/2] = x[i+r/2]·cos θ_i + x[i]·sin θ_i. Angles are computed in double.
/// </summary>
public static class Rotary
{
    /// <param name="x">[B, T, heads, dh], rotated in place</param>
    /// <param name="padLeft">[B]: position of token t in row b is t − padLeft[b] (+ past[b])</param>
    /// <param name="past">[B] or empty: positions before this block of tokens (a KV cache's length)</param>
    public static void Apply(Span<float> x, ReadOnlySpan<int> padLeft, int B, int T, int heads, int dh, int rotaryDims, double theta, ReadOnlySpan<int> past = default)
    {
        int half = rotaryDims / 2;
        Span<float> cos = stackalloc float[half];
        Span<float> sin = stackalloc float[half];
        for (int b = 0; b < B; b++)
            for (int t = padLeft[b]; t < T; t++)
            {
                int pos = t - padLeft[b] + (past.IsEmpty ? 0 : past[b]);
                for (int i = 0; i < half; i++)
                {
                    double invFreq = 1.0 / Math.Pow(theta, 2.0 * i / rotaryDims);
                    double angle = pos * invFreq;
                    cos[i] = (float)Math.Cos(angle);
                    sin[i] = (float)Math.Sin(angle);
                }
                for (int h = 0; h < heads; h++)
                {
                    var v = x.Slice(((b * T + t) * heads + h) * dh, rotaryDims);
                    for (int i = 0; i < half; i++)
                    {
                        float x1 = v[i], x2 = v[i + half];
                        v[i] = x1 * cos[i] - x2 * sin[i];
                        v[i + half] = x2 * cos[i] + x1 * sin[i];
                    }
                }
            }
    }
}
