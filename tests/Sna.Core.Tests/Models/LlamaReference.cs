namespace Sna.Core.Tests.Models;

/// <summary>
/// An independent float64 Llama forward pass in straight loops, written from Hugging Face's eager <c>LlamaModel</c>:
/// RMSNorm <c>x·rsqrt(mean(x²)+eps)·w</c>; separate q/k/v projections; rotate_half RoPE on the full head dimension with
/// inv_freq = 1/θ^(2i/dh); <c>repeat_kv</c> (query head h reads key/value head h / (H/Hkv)); causal softmax(q·k/√dh);
/// o_proj; residual; SwiGLU <c>down(silu(gate(x))·up(x))</c>; final norm; lm_head (or the embedding when tied).
/// Shares no code with the runtime.
/// </summary>
public sealed class LlamaReference(LlamaSpec spec, IReadOnlyDictionary<string, TinyTensor> weights)
{
    /// <summary>An optional edit of the post-activation (the SNA site): scale <c>Neurons</c> of layer <c>Layer</c>.</summary>
    public sealed record Scaling(int Layer, int[] Neurons, double Multiplier, bool LastOnly);

    public sealed class Result
    {
        public required double[][] Logits { get; init; }          // [T][V]
        public required double[][][] MlpPre { get; init; }        // [layer][T][M] gate pre-activation
        public required double[][][] MlpPost { get; init; }       // [layer][T][M] silu(gate)·up (after any scaling)
    }

    private float[] W(string name) => weights[name].Data;

    public Result Forward(int[] ids, Scaling? scaling = null)
    {
        int T = ids.Length, D = spec.Hidden, H = spec.Heads, Hkv = spec.KvHeads, dh = spec.HeadDim, M = spec.Intermediate, V = spec.Vocab;
        int nRep = H / Hkv;
        var emb = W("model.embed_tokens.weight");
        var x = new double[T][];
        for (int t = 0; t < T; t++)
        {
            x[t] = new double[D];
            for (int d = 0; d < D; d++) x[t][d] = emb[ids[t] * D + d];
        }
        var pres = new double[spec.Layers][][];
        var posts = new double[spec.Layers][][];
        for (int l = 0; l < spec.Layers; l++)
        {
            string p = $"model.layers.{l}.";
            // ---- self-attention
            var h = x.Select(r => RmsNorm(r, W(p + "input_layernorm.weight"))).ToArray();
            var q = h.Select(r => MatVec(W(p + "self_attn.q_proj.weight"), H * dh, D, r)).ToArray();
            var k = h.Select(r => MatVec(W(p + "self_attn.k_proj.weight"), Hkv * dh, D, r)).ToArray();
            var v = h.Select(r => MatVec(W(p + "self_attn.v_proj.weight"), Hkv * dh, D, r)).ToArray();
            for (int t = 0; t < T; t++)
            {
                for (int hh = 0; hh < H; hh++) Rope(q[t], hh * dh, dh, t, spec.RopeTheta);
                for (int hh = 0; hh < Hkv; hh++) Rope(k[t], hh * dh, dh, t, spec.RopeTheta);
            }
            var z = new double[T][];
            for (int t = 0; t < T; t++) z[t] = new double[H * dh];
            for (int hh = 0; hh < H; hh++)
            {
                int kvh = hh / nRep;   // repeat_kv: kv head j serves query heads j·nRep .. j·nRep + nRep − 1
                for (int tq = 0; tq < T; tq++)
                {
                    var s = new double[tq + 1];
                    for (int tk = 0; tk <= tq; tk++)
                    {
                        double dot = 0;
                        for (int i = 0; i < dh; i++) dot += q[tq][hh * dh + i] * k[tk][kvh * dh + i];
                        s[tk] = dot / Math.Sqrt(dh);
                    }
                    double max = s.Max(), sum = 0;
                    for (int tk = 0; tk <= tq; tk++) { s[tk] = Math.Exp(s[tk] - max); sum += s[tk]; }
                    for (int tk = 0; tk <= tq; tk++)
                        for (int i = 0; i < dh; i++) z[tq][hh * dh + i] += s[tk] / sum * v[tk][kvh * dh + i];
                }
            }
            for (int t = 0; t < T; t++)
            {
                var o = MatVec(W(p + "self_attn.o_proj.weight"), D, H * dh, z[t]);
                for (int d = 0; d < D; d++) x[t][d] += o[d];
            }
            // ---- SwiGLU MLP
            pres[l] = new double[T][];
            posts[l] = new double[T][];
            for (int t = 0; t < T; t++)
            {
                var h2 = RmsNorm(x[t], W(p + "post_attention_layernorm.weight"));
                var gate = MatVec(W(p + "mlp.gate_proj.weight"), M, D, h2);
                var up = MatVec(W(p + "mlp.up_proj.weight"), M, D, h2);
                var post = new double[M];
                for (int i = 0; i < M; i++) post[i] = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
                if (scaling is not null && scaling.Layer == l && (!scaling.LastOnly || t == T - 1))
                    foreach (int n in scaling.Neurons) post[n] *= scaling.Multiplier;
                pres[l][t] = gate;
                posts[l][t] = post;
                var down = MatVec(W(p + "mlp.down_proj.weight"), D, M, post);
                for (int d = 0; d < D; d++) x[t][d] += down[d];
            }
        }
        var head = spec.Tied ? emb : W("lm_head.weight");
        var logits = x.Select(r => MatVec(head, V, D, RmsNorm(r, W("model.norm.weight")))).ToArray();
        return new Result { Logits = logits, MlpPre = pres, MlpPost = posts };
    }

    private double[] RmsNorm(double[] x, float[] w)
    {
        double ms = 0;
        foreach (double v in x) ms += v * v;
        double r = 1 / Math.Sqrt(ms / x.Length + spec.RmsEps);
        var y = new double[x.Length];
        for (int i = 0; i < x.Length; i++) y[i] = x[i] * r * w[i];
        return y;
    }

    /// <summary>y[o] = Σ_i W[o, i]·x[i] for a torch nn.Linear weight stored [out, in].</summary>
    private static double[] MatVec(float[] w, int outF, int inF, double[] x)
    {
        var y = new double[outF];
        for (int o = 0; o < outF; o++)
        {
            double acc = 0;
            for (int i = 0; i < inF; i++) acc += w[o * inF + i] * x[i];
            y[o] = acc;
        }
        return y;
    }

    /// <summary>HF apply_rotary_pos_emb: x·cos + rotate_half(x)·sin, cos/sin = cat(freqs, freqs), freqs = pos·inv_freq.</summary>
    public static void Rope(double[] x, int offset, int dh, int pos, double theta)
    {
        int half = dh / 2;
        var rotated = new double[dh];
        for (int j = 0; j < dh; j++)
        {
            int i = j % half;
            double invFreq = 1.0 / Math.Pow(theta, 2.0 * i / dh);
            double angle = pos * invFreq;
            double rotHalf = j < half ? -x[offset + j + half] : x[offset + j - half];
            rotated[j] = x[offset + j] * Math.Cos(angle) + rotHalf * Math.Sin(angle);
        }
        Array.Copy(rotated, 0, x, offset, dh);
    }
}
