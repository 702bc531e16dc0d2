using System.Buffers;

namespace Sna.Runtime.Models;

/// <summary>
/// The working buffers of one forward pass over a left-padded batch, rented from the shared pool and returned on dispose.
/// B = batch, T = padded length of the new tokens, D = d_model, M = d_mlp, H = heads, Hkv = key/value heads, dh = d_head,
/// S = Pmax + T keys (Pmax = the longest cached prefix, 0 without a KV cache).
/// Row r = b·T + t of every [B·T, ·] buffer is batch row b, padded position t; its absolute position in the sequence is
/// Past[b] + t − PadLeft[b]. Keys of row b occupy key slots [KeyStart[b], Pmax + T): its cached positions, then its new ones.
/// </summary>
internal sealed class ForwardState : IDisposable
{
    public readonly int B, T, D, M, H, Hkv, Dh;
    public readonly int[] PadLeft;       // [B]   padding positions before each row's first real token
    public readonly int[] Tokens;        // [B·T] token ids (0 at padding)
    public readonly int[] Past;          // [B]   positions already in row b's KV cache (0 without one)
    public readonly int[] KeyStart;      // [B]   first key slot of row b: Pmax + PadLeft[b] − Past[b]
    public readonly KvCache?[] Caches;   // [B]   row b's KV cache, or null
    public readonly int Pmax, S;         // longest cached prefix; key slots S = Pmax + T

    public readonly float[] X;           // [B·T, D]      residual stream
    public readonly float[] Ln;          // [B·T, D]      normalized input of the current sub-layer
    public readonly float[] Ln2;         // [B·T, D]      second normalized input (parallel residual)
    public readonly float[] Scale;       // [B·T]         LayerNorm scale
    public readonly float[] Qkv;         // [B·T, (H+2Hkv)·dh] fused projection output
    public readonly float[] Q;           // [B·T, H·dh]   as [B, T, H, dh]
    public readonly float[] K;           // [B·T, Hkv·dh] as [B, T, Hkv, dh]
    public readonly float[] V;           // [B·T, Hkv·dh]
    public readonly float[] Scores;      // [B, H, T, S]  attention scores, then pattern
    public readonly float[] Z;           // [B·T, H·dh]   as [B, T, H, dh]
    public readonly float[] AttnOut;     // [B·T, D]
    public readonly float[] Mlp;         // [B·T, M]      pre-activation, then post-activation
    public readonly float[] MlpTmp;      // [B·T, M]      scratch (GELU, SwiGLU up-projection)
    public readonly float[] MlpOut;      // [B·T, D]

    private readonly List<float[]> _rented = new();

    public ForwardState(ModelConfig c, IReadOnlyList<int[]> batch, IReadOnlyList<KvCache?>? past = null)
    {
        B = batch.Count; D = c.DModel; M = c.DMlp; H = c.NHeads; Hkv = c.NKvHeads; Dh = c.DHead;
        T = 0;
        foreach (var s in batch) T = Math.Max(T, s.Length);
        PadLeft = new int[B];
        Tokens = new int[B * T];
        for (int b = 0; b < B; b++)
        {
            PadLeft[b] = T - batch[b].Length;
            batch[b].CopyTo(Tokens, b * T + PadLeft[b]);
        }
        Past = new int[B];
        Caches = new KvCache?[B];
        if (past is not null)
            for (int b = 0; b < B; b++) { Caches[b] = past[b]; Past[b] = past[b]?.Length ?? 0; }
        Pmax = B == 0 ? 0 : Past.Max();
        S = Pmax + T;
        KeyStart = new int[B];
        for (int b = 0; b < B; b++) KeyStart[b] = Pmax + PadLeft[b] - Past[b];
        int rows = B * T;
        X = Rent(rows * D); Ln = Rent(rows * D); Ln2 = Rent(rows * D); Scale = Rent(rows);
        Qkv = Rent(rows * (H + 2 * Hkv) * Dh);
        Q = Rent(rows * H * Dh); K = Rent(rows * Hkv * Dh); V = Rent(rows * Hkv * Dh);
        Scores = Rent(B * H * T * S);
        Z = Rent(rows * H * Dh); AttnOut = Rent(rows * D);
        Mlp = Rent(rows * M); MlpTmp = Rent(rows * M); MlpOut = Rent(rows * D);
    }

    public int Rows => B * T;

    private float[] Rent(int n)
    {
        var a = ArrayPool<float>.Shared.Rent(Math.Max(n, 1));
        _rented.Add(a);
        return a;
    }

    public void Dispose()
    {
        foreach (var a in _rented) ArrayPool<float>.Shared.Return(a);
        _rented.Clear();
    }
}
