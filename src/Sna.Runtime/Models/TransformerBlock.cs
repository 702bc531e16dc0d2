using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using Sna.Runtime.Numerics;

namespace Sna.Runtime.Models;

public sealed partial class TransformerModel
{
    /// <summary>
    /// One transformer block on the residual stream <c>st.X</c> [B·T, D], firing every hook point in TransformerLens order.
    /// GPT-2 and Llama: x += attn(ln1(x)); x += mlp(ln2(x)). NeoX with parallel residual: x += attn(ln1(x)) + mlp(ln2(x)).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void RunBlock(ForwardState st, int layer, HookPlan plan)
    {
        var w = Weights.Layers[layer];
        int rows = st.Rows, D = st.D;
        var x = st.X.AsSpan(0, rows * D);
        Span<int> shapeBTD = [st.B, st.T, D];
        Span<int> shapeBT1 = [st.B, st.T, 1];

        FireBlock(plan, layer, HookNames.Block.ResidPre, x, shapeBTD, st);

        // ---- attention sub-layer
        var ln = st.Ln.AsSpan(0, rows * D);
        var scale = st.Scale.AsSpan(0, rows);
        Normalize(x, w.Ln1W, w.Ln1B, ln, scale);
        FireBlock(plan, layer, HookNames.Block.Ln1Scale, scale, shapeBT1, st);
        FireBlock(plan, layer, HookNames.Block.Ln1Normalized, ln, shapeBTD, st);
        var attnOut = st.AttnOut.AsSpan(0, rows * D);
        Attention(st, layer, plan, ln, attnOut);
        FireBlock(plan, layer, HookNames.Block.AttnOut, attnOut, shapeBTD, st);

        if (Config.ParallelResidual)
        {
            // ln2 reads the block input, before the attention output is added.
            var mlpOut = MlpSubLayer(st, layer, plan, x, st.Ln2.AsSpan(0, rows * D), scale);
            TensorPrimitives.Add(mlpOut, attnOut, mlpOut);
            TensorPrimitives.Add(x, mlpOut, x);
        }
        else
        {
            TensorPrimitives.Add(x, attnOut, x);
            FireBlock(plan, layer, HookNames.Block.ResidMid, x, shapeBTD, st);
            var mlpOut = MlpSubLayer(st, layer, plan, x, ln, scale);
            TensorPrimitives.Add(x, mlpOut, x);
        }
        FireBlock(plan, layer, HookNames.Block.ResidPost, x, shapeBTD, st);
    }

    /// <summary>
    /// The MLP sub-layer: ln2 of <paramref name="input"/> into <paramref name="ln"/> (firing <c>ln2.hook_scale</c> and
    /// <c>ln2.hook_normalized</c>), the MLP, and <c>hook_mlp_out</c>. Returns mlp_out [B·T, D] (the state's buffer).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Span<float> MlpSubLayer(ForwardState st, int layer, HookPlan plan, ReadOnlySpan<float> input, Span<float> ln, Span<float> scale)
    {
        var w = Weights.Layers[layer];
        int rows = st.Rows, D = st.D;
        Span<int> shapeBTD = [st.B, st.T, D];
        Span<int> shapeBT1 = [st.B, st.T, 1];
        Normalize(input, w.Ln2W, w.Ln2B, ln, scale);
        FireBlock(plan, layer, HookNames.Block.Ln2Scale, scale, shapeBT1, st);
        FireBlock(plan, layer, HookNames.Block.Ln2Normalized, ln, shapeBTD, st);
        var mlpOut = st.MlpOut.AsSpan(0, rows * D);
        Mlp(st, layer, plan, ln, mlpOut);
        FireBlock(plan, layer, HookNames.Block.MlpOut, mlpOut, shapeBTD, st);
        return mlpOut;
    }

    /// <summary>MLP: pre = ln·W_in + b; post = act(pre) (Llama: silu(ln·W_gate) ⊙ (ln·W_up)); out = post·W_out + b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void Mlp(ForwardState st, int layer, HookPlan plan, ReadOnlySpan<float> ln, Span<float> mlpOut)
    {
        var w = Weights.Layers[layer];
        int rows = st.Rows, M = st.M;
        var pre = st.Mlp.AsSpan(0, rows * M);       // [B·T, M]
        var tmp = st.MlpTmp.AsSpan(0, rows * M);    // [B·T, M]
        Span<int> shapeBTM = [st.B, st.T, M];
        if (Config.Architecture == ArchitectureKind.Llama)
        {
            // TransformerLens (gated MLP): hook_pre = gate pre-activation; hook_post = act(gate) * up.
            Linear(ln, rows, w.Wgate, [], pre);
            FireBlock(plan, layer, HookNames.Block.MlpPre, pre, shapeBTM, st);
            Activations.Silu(pre);
            Linear(ln, rows, w.Win, [], tmp);
            TensorPrimitives.Multiply(pre, tmp, pre);
        }
        else
        {
            bool gelu = Config.Activation == "gelu_new";
            if (gelu && plan.Get(layer, HookNames.Block.MlpPre) is null)
                Linear(ln, rows, w.Win, w.Bin, pre, GemmActivation.GeluTanh);   // nothing reads hook_pre: gelu in the GEMM's epilogue
            else
            {
                Linear(ln, rows, w.Win, w.Bin, pre);
                FireBlock(plan, layer, HookNames.Block.MlpPre, pre, shapeBTM, st);
                if (gelu) GeluTanhParallel(st, rows * M);
                else Activations.GeluErf(pre);
            }
        }
        FireBlock(plan, layer, HookNames.Block.MlpPost, pre, shapeBTM, st);
        Linear(pre, rows, w.Wout, w.Bout, mlpOut);
    }

    /// <summary>Elements per parallel chunk of <see cref="GeluTanhParallel"/>.</summary>
    private const int GeluBlock = 8192;

    /// <summary>
    /// <see cref="Activations.GeluTanh(Span{float})"/> over st.Mlp[0..n), in blocks split over <see cref="Threads"/>. Elementwise,
    /// so the result is bitwise that of one call over the whole buffer, whatever the thread count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void GeluTanhParallel(ForwardState st, int n)
    {
        int blocks = (n + GeluBlock - 1) / GeluBlock;
        var pre = st.Mlp;
        if (Threads <= 1 || blocks < 8) { Activations.GeluTanh(pre.AsSpan(0, n)); return; }
        int chunks = Math.Min(blocks, Threads * 4);
        int per = (blocks + chunks - 1) / chunks;
        chunks = (blocks + per - 1) / per;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Threads }, c =>
        {
            int i0 = c * per * GeluBlock, i1 = Math.Min(n, (c + 1) * per * GeluBlock);
            Activations.GeluTanh(pre.AsSpan(i0, i1 - i0));
        });
    }

    /// <summary>Causal multi-head (grouped-query) attention with left-padding masks. Writes attn_out [B·T, D].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void Attention(ForwardState st, int layer, HookPlan plan, ReadOnlySpan<float> ln, Span<float> attnOut)
    {
        var w = Weights.Layers[layer];
        int B = st.B, T = st.T, H = st.H, Hkv = st.Hkv, dh = st.Dh, rows = st.Rows;
        int qkvWidth = (H + 2 * Hkv) * dh;
        var qkv = st.Qkv.AsSpan(0, rows * qkvWidth);  // [B·T, (H+2Hkv)·dh]
        Linear(ln, rows, w.Wqkv, w.Bqkv, qkv);

        var q = st.Q.AsSpan(0, rows * H * dh);        // [B, T, H, dh]
        var k = st.K.AsSpan(0, rows * Hkv * dh);      // [B, T, Hkv, dh]
        var v = st.V.AsSpan(0, rows * Hkv * dh);      // [B, T, Hkv, dh]
        SplitQkv(qkv, rows, q, k, v, H, Hkv, dh);
        Span<int> shapeQ = [B, T, H, dh];
        Span<int> shapeK = [B, T, Hkv, dh];
        FireBlock(plan, layer, HookNames.Block.Q, q, shapeQ, st);
        FireBlock(plan, layer, HookNames.Block.K, k, shapeK, st);
        FireBlock(plan, layer, HookNames.Block.V, v, shapeK, st);
        if (Config.RotaryDims > 0)
        {
            Rotary.Apply(q, st.PadLeft, B, T, H, dh, Config.RotaryDims, Config.RotaryBase, st.Past);
            Rotary.Apply(k, st.PadLeft, B, T, Hkv, dh, Config.RotaryDims, Config.RotaryBase, st.Past);
            FireBlock(plan, layer, HookNames.Block.RotQ, q, shapeQ, st);
            FireBlock(plan, layer, HookNames.Block.RotK, k, shapeK, st);
        }
        AppendToCaches(st, layer, k, v);

        int S = st.S;
        var scores = st.Scores.AsSpan(0, B * H * T * S);   // [B, H, T, S]
        var z = st.Z.AsSpan(0, rows * H * dh);              // [B, T, H, dh]
        Span<int> shapeS = [B, H, T, S];
        var scoresHook = plan.Get(layer, HookNames.Block.AttnScores);
        var patternHook = plan.Get(layer, HookNames.Block.Pattern);
        float invSqrt = 1f / MathF.Sqrt(dh);

        if (scoresHook is null && patternHook is null)
        {
            // Fused path: scores, softmax and the weighted sum per (b, h), in parallel when it pays.
            ParallelHeads(B * H, (long)T * S * dh, bh => { Scores(st, layer, bh, invSqrt); Softmax(st, bh); Mix(st, layer, bh); });
        }
        else
        {
            ParallelHeads(B * H, (long)T * S * dh, bh => Scores(st, layer, bh, invSqrt));
            FireBlock(plan, layer, HookNames.Block.AttnScores, scores, shapeS, st);
            ParallelHeads(B * H, (long)T * S, bh => Softmax(st, bh));
            FireBlock(plan, layer, HookNames.Block.Pattern, scores, shapeS, st);
            ParallelHeads(B * H, (long)T * S * dh, bh => Mix(st, layer, bh));
        }
        FireBlock(plan, layer, HookNames.Block.Z, z, shapeQ, st);
        Linear(z, rows, w.Wo, w.Bo, attnOut);
    }

    /// <summary>Writes the new real positions' keys (after rotary) and values of each row into its KV cache, unless frozen.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AppendToCaches(ForwardState st, int layer, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        int width = st.Hkv * st.Dh;
        for (int b = 0; b < st.B; b++)
        {
            var c = st.Caches[b];
            if (c is null || c.Frozen) continue;
            int n = st.T - st.PadLeft[b];
            var src = (b * st.T + st.PadLeft[b]) * width;
            k.Slice(src, n * width).CopyTo(c.K(layer).AsSpan(st.Past[b] * width, n * width));
            v.Slice(src, n * width).CopyTo(c.V(layer).AsSpan(st.Past[b] * width, n * width));
        }
    }

    private void ParallelHeads(int count, long workPerItem, Action<int> body)
    {
        if (Threads <= 1 || count == 1 || (long)count * workPerItem < 1 << 16)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Threads }, body);
    }

    /// <summary>
    /// scores[b,h,tq,j] = q·k_j/√dh for the key slots KeyStart[b] ≤ j ≤ Pmax + tq (row b's cached positions, then its new
    /// ones up to tq), −∞ elsewhere (padding query rows are all −∞).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Scores(ForwardState st, int layer, int bh, float invSqrt)
    {
        int b = bh / st.H, h = bh % st.H, T = st.T, S = st.S, dh = st.Dh, H = st.H, Hkv = st.Hkv;
        int kvh = h / (H / Hkv);
        int pad = st.PadLeft[b], P = st.Past[b], k0 = st.KeyStart[b], pm = st.Pmax;
        var s = st.Scores.AsSpan(bh * T * S, T * S);
        s.Fill(float.NegativeInfinity);
        fixed (float* ps = s, pq = st.Q, pk = st.K, pPast = P > 0 ? st.Caches[b]!.K(layer) : null)
        {
            for (int tq = pad; tq < T; tq++)
            {
                float* row = ps + tq * S;                                  // [S]
                float* qv = pq + ((b * T + tq) * H + h) * dh;              // [dh]
                for (int p = 0; p < P; p++)
                    row[k0 + p] = AttentionKernels.Dot(qv, pPast + (p * Hkv + kvh) * dh, dh) * invSqrt;
                for (int tk = pad; tk <= tq; tk++)
                    row[pm + tk] = AttentionKernels.Dot(qv, pk + ((b * T + tk) * Hkv + kvh) * dh, dh) * invSqrt;
            }
        }
    }

    /// <summary>Row-wise stable softmax over the unmasked keys; padding query rows become all zeros.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Softmax(ForwardState st, int bh)
    {
        int b = bh / st.H, T = st.T, S = st.S, pad = st.PadLeft[b], k0 = st.KeyStart[b], pm = st.Pmax;
        var s = st.Scores.AsSpan(bh * T * S, T * S);
        s.Slice(0, pad * S).Clear();
        fixed (float* ps = s)
        {
            for (int tq = pad; tq < T; tq++)
            {
                float* row = ps + tq * S;                                  // [S]
                AttentionKernels.Softmax(row + k0, pm + tq - k0 + 1);
                new Span<float>(row, k0).Clear();
                new Span<float>(row + pm + tq + 1, S - pm - tq - 1).Clear();
            }
        }
    }

    /// <summary>z[b,tq,h,:] = Σ_j pattern[b,h,tq,j] · v_j over row b's cached and new values, in key order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Mix(ForwardState st, int layer, int bh)
    {
        int b = bh / st.H, h = bh % st.H, T = st.T, S = st.S, dh = st.Dh, H = st.H, Hkv = st.Hkv;
        int kvh = h / (H / Hkv);
        int pad = st.PadLeft[b], P = st.Past[b], k0 = st.KeyStart[b], pm = st.Pmax;
        fixed (float* ps = st.Scores, pz = st.Z, pv = st.V, pPast = P > 0 ? st.Caches[b]!.V(layer) : null)
        {
            for (int tq = 0; tq < T; tq++)
            {
                float* zq = pz + ((b * T + tq) * H + h) * dh;              // [dh]
                new Span<float>(zq, dh).Clear();
                if (tq < pad) continue;
                float* row = ps + (long)bh * T * S + tq * S;               // [S]
                for (int p = 0; p < P; p++)
                    AttentionKernels.AddScaled(zq, pPast + (p * Hkv + kvh) * dh, row[k0 + p], dh);
                for (int tk = pad; tk <= tq; tk++)
                    AttentionKernels.AddScaled(zq, pv + ((b * T + tk) * Hkv + kvh) * dh, row[pm + tk], dh);
            }
        }
    }

    /// <summary>
    /// Splits the fused projection into q [B·T, H·dh], k and v [B·T, Hkv·dh].
    /// GPT-2 / Llama (fused at load): columns [q (H·dh) | k (Hkv·dh) | v (Hkv·dh)].
    /// NeoX: per head [q(dh) k(dh) v(dh)], i.e. columns h·3dh + {0, dh, 2dh}.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void SplitQkv(ReadOnlySpan<float> qkv, int rows, Span<float> q, Span<float> k, Span<float> v, int H, int Hkv, int dh)
    {
        int width = (H + 2 * Hkv) * dh;
        for (int r = 0; r < rows; r++)
        {
            var src = qkv.Slice(r * width, width);
            if (Config.Architecture == ArchitectureKind.GptNeoX)
            {
                for (int h = 0; h < H; h++)
                {
                    src.Slice(h * 3 * dh, dh).CopyTo(q.Slice((r * H + h) * dh, dh));
                    src.Slice(h * 3 * dh + dh, dh).CopyTo(k.Slice((r * Hkv + h) * dh, dh));
                    src.Slice(h * 3 * dh + 2 * dh, dh).CopyTo(v.Slice((r * Hkv + h) * dh, dh));
                }
            }
            else
            {
                src.Slice(0, H * dh).CopyTo(q.Slice(r * H * dh, H * dh));
                src.Slice(H * dh, Hkv * dh).CopyTo(k.Slice(r * Hkv * dh, Hkv * dh));
                src.Slice((H + Hkv) * dh, Hkv * dh).CopyTo(v.Slice(r * Hkv * dh, Hkv * dh));
            }
        }
    }
}
