using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Sna.Runtime.Numerics;

// Register-blocked kernels, unrolled by hand for up to 12 rows (generic guards `TR.Value > i` are folded by the JIT,
// so each (SIMD path, row count) instantiation contains only its live accumulators).
internal static unsafe class GemmKernels<TO, TV> where TO : struct, ISimdOps<TV> where TV : struct
{
    /// <summary>
    /// C[r, 0..2W) (+)= sum_k A[k*MR + r] * B[k*ldb + 0..2W) for r &lt; TR.Value, W = TO.Width.
    /// A is a packed micro-panel (stride TO.MR per k), B is either a packed micro-panel (ldb = 2W) or B itself (ldb = N).
    /// Each accumulator is one FMA chain in ascending k, started from C (load) or from zero.
    /// <para>TP.Value != 0: also prefetch B[k*ldb + pf .. + 2W) into L1 at every k (B read in place from L3 or DRAM).</para>
    /// <para>TS.Value != 0: also store each row of B it loads into <paramref name="pack"/> (a packed kc x 2W panel, row k at
    /// k·2W), so the first row panel of A packs B while it uses it and B is read once.</para>
    /// The arithmetic is the same whatever TP and TS.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Micro<TR, TP, TS>(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool load, nint pf, float* pack)
        where TR : struct, IConst where TP : struct, IConst where TS : struct, IConst
    {
        nint w = TO.Width;
        nint mr = TO.MR;
        TV c00 = TO.Zero, c01 = TO.Zero;
        TV c10 = TO.Zero, c11 = TO.Zero;
        TV c20 = TO.Zero, c21 = TO.Zero;
        TV c30 = TO.Zero, c31 = TO.Zero;
        TV c40 = TO.Zero, c41 = TO.Zero;
        TV c50 = TO.Zero, c51 = TO.Zero;
        TV c60 = TO.Zero, c61 = TO.Zero;
        TV c70 = TO.Zero, c71 = TO.Zero;
        TV c80 = TO.Zero, c81 = TO.Zero;
        TV c90 = TO.Zero, c91 = TO.Zero;
        TV c100 = TO.Zero, c101 = TO.Zero;
        TV c110 = TO.Zero, c111 = TO.Zero;
        if (load)
        {
            if (TR.Value > 0) { c00 = TO.Load(c + 0 * ldc); c01 = TO.Load(c + 0 * ldc + w); }
            if (TR.Value > 1) { c10 = TO.Load(c + 1 * ldc); c11 = TO.Load(c + 1 * ldc + w); }
            if (TR.Value > 2) { c20 = TO.Load(c + 2 * ldc); c21 = TO.Load(c + 2 * ldc + w); }
            if (TR.Value > 3) { c30 = TO.Load(c + 3 * ldc); c31 = TO.Load(c + 3 * ldc + w); }
            if (TR.Value > 4) { c40 = TO.Load(c + 4 * ldc); c41 = TO.Load(c + 4 * ldc + w); }
            if (TR.Value > 5) { c50 = TO.Load(c + 5 * ldc); c51 = TO.Load(c + 5 * ldc + w); }
            if (TR.Value > 6) { c60 = TO.Load(c + 6 * ldc); c61 = TO.Load(c + 6 * ldc + w); }
            if (TR.Value > 7) { c70 = TO.Load(c + 7 * ldc); c71 = TO.Load(c + 7 * ldc + w); }
            if (TR.Value > 8) { c80 = TO.Load(c + 8 * ldc); c81 = TO.Load(c + 8 * ldc + w); }
            if (TR.Value > 9) { c90 = TO.Load(c + 9 * ldc); c91 = TO.Load(c + 9 * ldc + w); }
            if (TR.Value > 10) { c100 = TO.Load(c + 10 * ldc); c101 = TO.Load(c + 10 * ldc + w); }
            if (TR.Value > 11) { c110 = TO.Load(c + 11 * ldc); c111 = TO.Load(c + 11 * ldc + w); }
        }
        for (int k = 0; k < kc; k++)
        {
            if (TP.Value != 0 && Sse.IsSupported)
            {
                Sse.Prefetch0(b + pf);
                if (TO.Width * 2 > 16) Sse.Prefetch0(b + pf + 16);
            }
            TV b0 = TO.Load(b), b1 = TO.Load(b + w);
            if (TS.Value != 0) { TO.Store(pack, b0); TO.Store(pack + w, b1); pack += 2 * w; }
            if (TR.Value > 0) { TV x = TO.Broadcast(a + 0); c00 = TO.Fma(x, b0, c00); c01 = TO.Fma(x, b1, c01); }
            if (TR.Value > 1) { TV x = TO.Broadcast(a + 1); c10 = TO.Fma(x, b0, c10); c11 = TO.Fma(x, b1, c11); }
            if (TR.Value > 2) { TV x = TO.Broadcast(a + 2); c20 = TO.Fma(x, b0, c20); c21 = TO.Fma(x, b1, c21); }
            if (TR.Value > 3) { TV x = TO.Broadcast(a + 3); c30 = TO.Fma(x, b0, c30); c31 = TO.Fma(x, b1, c31); }
            if (TR.Value > 4) { TV x = TO.Broadcast(a + 4); c40 = TO.Fma(x, b0, c40); c41 = TO.Fma(x, b1, c41); }
            if (TR.Value > 5) { TV x = TO.Broadcast(a + 5); c50 = TO.Fma(x, b0, c50); c51 = TO.Fma(x, b1, c51); }
            if (TR.Value > 6) { TV x = TO.Broadcast(a + 6); c60 = TO.Fma(x, b0, c60); c61 = TO.Fma(x, b1, c61); }
            if (TR.Value > 7) { TV x = TO.Broadcast(a + 7); c70 = TO.Fma(x, b0, c70); c71 = TO.Fma(x, b1, c71); }
            if (TR.Value > 8) { TV x = TO.Broadcast(a + 8); c80 = TO.Fma(x, b0, c80); c81 = TO.Fma(x, b1, c81); }
            if (TR.Value > 9) { TV x = TO.Broadcast(a + 9); c90 = TO.Fma(x, b0, c90); c91 = TO.Fma(x, b1, c91); }
            if (TR.Value > 10) { TV x = TO.Broadcast(a + 10); c100 = TO.Fma(x, b0, c100); c101 = TO.Fma(x, b1, c101); }
            if (TR.Value > 11) { TV x = TO.Broadcast(a + 11); c110 = TO.Fma(x, b0, c110); c111 = TO.Fma(x, b1, c111); }
            a += mr; b += ldb;
        }
        if (TR.Value > 0) { TO.Store(c + 0 * ldc, c00); TO.Store(c + 0 * ldc + w, c01); }
        if (TR.Value > 1) { TO.Store(c + 1 * ldc, c10); TO.Store(c + 1 * ldc + w, c11); }
        if (TR.Value > 2) { TO.Store(c + 2 * ldc, c20); TO.Store(c + 2 * ldc + w, c21); }
        if (TR.Value > 3) { TO.Store(c + 3 * ldc, c30); TO.Store(c + 3 * ldc + w, c31); }
        if (TR.Value > 4) { TO.Store(c + 4 * ldc, c40); TO.Store(c + 4 * ldc + w, c41); }
        if (TR.Value > 5) { TO.Store(c + 5 * ldc, c50); TO.Store(c + 5 * ldc + w, c51); }
        if (TR.Value > 6) { TO.Store(c + 6 * ldc, c60); TO.Store(c + 6 * ldc + w, c61); }
        if (TR.Value > 7) { TO.Store(c + 7 * ldc, c70); TO.Store(c + 7 * ldc + w, c71); }
        if (TR.Value > 8) { TO.Store(c + 8 * ldc, c80); TO.Store(c + 8 * ldc + w, c81); }
        if (TR.Value > 9) { TO.Store(c + 9 * ldc, c90); TO.Store(c + 9 * ldc + w, c91); }
        if (TR.Value > 10) { TO.Store(c + 10 * ldc, c100); TO.Store(c + 10 * ldc + w, c101); }
        if (TR.Value > 11) { TO.Store(c + 11 * ldc, c110); TO.Store(c + 11 * ldc + w, c111); }
    }

    /// <summary>Dispatch a micro-tile with 1..MR valid rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MicroRows(int rows, int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool load)
        => MicroRows<C0, C0>(rows, kc, a, b, ldb, c, ldc, load, 0, null);

    /// <summary>Dispatch a prefetching micro-tile (<see cref="Micro{TR, TP, TS}"/>) with 1..MR valid rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MicroRowsPf(int rows, int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool load, nint pf)
        => MicroRows<C1, C0>(rows, kc, a, b, ldb, c, ldc, load, pf, null);

    /// <summary>Dispatch a packing micro-tile (<see cref="Micro{TR, TP, TS}"/>, prefetching <paramref name="pf"/> ahead) with 1..MR valid rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MicroRowsPack(int rows, int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool load, nint pf, float* pack)
        => MicroRows<C1, C1>(rows, kc, a, b, ldb, c, ldc, load, pf, pack);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MicroRows<TP, TS>(int rows, int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool load, nint pf, float* pack)
        where TP : struct, IConst where TS : struct, IConst
    {
        switch (rows)
        {
            case 12: Micro<C12, TP, TS>(kc, a, b, ldb, c, ldc, load, pf, pack); break;
            case 11: Micro<C11, TP, TS>(kc, a, b, ldb, c, ldc, load, pf, pack); break;
            case 10: Micro<C10, TP, TS>(kc, a, b, ldb, c, ldc, load, pf, pack); break;
            case 9: Micro<C9, TP, TS>(kc, a, b, ldb, c, ldc, load, pf, pack); break;
            case 8: Micro<C8, TP, TS>(kc, a, b, ldb, c, ldc, load, pf, pack); break;
            case 7: Micro<C7, TP, TS>(kc, a, b, ldb, c, ldc, load, pf, pack); break;
            case 6: Micro<C6, TP, TS>(kc, a, b, ldb, c, ldc, load, pf, pack); break;
            case 5: Micro<C5, TP, TS>(kc, a, b, ldb, c, ldc, load, pf, pack); break;
            case 4: Micro<C4, TP, TS>(kc, a, b, ldb, c, ldc, load, pf, pack); break;
            case 3: Micro<C3, TP, TS>(kc, a, b, ldb, c, ldc, load, pf, pack); break;
            case 2: Micro<C2, TP, TS>(kc, a, b, ldb, c, ldc, load, pf, pack); break;
            case 1: Micro<C1, TP, TS>(kc, a, b, ldb, c, ldc, load, pf, pack); break;
            default: throw new ArgumentOutOfRangeException(nameof(rows));
        }
    }

    /// <summary>
    /// Transposed-B dot tile: C[i*ldc + j] (+)= dot(A row i, B row j) for i &lt; TA, j &lt; TB, over K.
    /// Vector part accumulated lane-wise in ascending k, reduced with TO.Sum, then the K % W tail added in ascending k.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot<TA, TB>(int K, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool accumulate)
        where TA : struct, IConst where TB : struct, IConst
    {
        int w = TO.Width;
        int kv = K - K % w;
        TV s00 = TO.Zero; TV s01 = TO.Zero; TV s02 = TO.Zero; TV s03 = TO.Zero;
        TV s10 = TO.Zero; TV s11 = TO.Zero; TV s12 = TO.Zero; TV s13 = TO.Zero;
        TV s20 = TO.Zero; TV s21 = TO.Zero; TV s22 = TO.Zero; TV s23 = TO.Zero;
        TV s30 = TO.Zero; TV s31 = TO.Zero; TV s32 = TO.Zero; TV s33 = TO.Zero;
        for (int k = 0; k < kv; k += w)
        {
            TV a0 = TA.Value > 0 ? TO.Load(a + 0 * lda + k) : TO.Zero;
            TV a1 = TA.Value > 1 ? TO.Load(a + 1 * lda + k) : TO.Zero;
            TV a2 = TA.Value > 2 ? TO.Load(a + 2 * lda + k) : TO.Zero;
            TV a3 = TA.Value > 3 ? TO.Load(a + 3 * lda + k) : TO.Zero;
            if (TB.Value > 0)
            {
                TV b0 = TO.Load(b + 0 * ldb + k);
                if (TA.Value > 0) s00 = TO.Fma(a0, b0, s00);
                if (TA.Value > 1) s10 = TO.Fma(a1, b0, s10);
                if (TA.Value > 2) s20 = TO.Fma(a2, b0, s20);
                if (TA.Value > 3) s30 = TO.Fma(a3, b0, s30);
            }
            if (TB.Value > 1)
            {
                TV b1 = TO.Load(b + 1 * ldb + k);
                if (TA.Value > 0) s01 = TO.Fma(a0, b1, s01);
                if (TA.Value > 1) s11 = TO.Fma(a1, b1, s11);
                if (TA.Value > 2) s21 = TO.Fma(a2, b1, s21);
                if (TA.Value > 3) s31 = TO.Fma(a3, b1, s31);
            }
            if (TB.Value > 2)
            {
                TV b2 = TO.Load(b + 2 * ldb + k);
                if (TA.Value > 0) s02 = TO.Fma(a0, b2, s02);
                if (TA.Value > 1) s12 = TO.Fma(a1, b2, s12);
                if (TA.Value > 2) s22 = TO.Fma(a2, b2, s22);
                if (TA.Value > 3) s32 = TO.Fma(a3, b2, s32);
            }
            if (TB.Value > 3)
            {
                TV b3 = TO.Load(b + 3 * ldb + k);
                if (TA.Value > 0) s03 = TO.Fma(a0, b3, s03);
                if (TA.Value > 1) s13 = TO.Fma(a1, b3, s13);
                if (TA.Value > 2) s23 = TO.Fma(a2, b3, s23);
                if (TA.Value > 3) s33 = TO.Fma(a3, b3, s33);
            }
        }
        if (TA.Value > 0 && TB.Value > 0) Finish(s00, K, kv, a + 0 * lda, b + 0 * ldb, c + 0 * ldc + 0, accumulate);
        if (TA.Value > 0 && TB.Value > 1) Finish(s01, K, kv, a + 0 * lda, b + 1 * ldb, c + 0 * ldc + 1, accumulate);
        if (TA.Value > 0 && TB.Value > 2) Finish(s02, K, kv, a + 0 * lda, b + 2 * ldb, c + 0 * ldc + 2, accumulate);
        if (TA.Value > 0 && TB.Value > 3) Finish(s03, K, kv, a + 0 * lda, b + 3 * ldb, c + 0 * ldc + 3, accumulate);
        if (TA.Value > 1 && TB.Value > 0) Finish(s10, K, kv, a + 1 * lda, b + 0 * ldb, c + 1 * ldc + 0, accumulate);
        if (TA.Value > 1 && TB.Value > 1) Finish(s11, K, kv, a + 1 * lda, b + 1 * ldb, c + 1 * ldc + 1, accumulate);
        if (TA.Value > 1 && TB.Value > 2) Finish(s12, K, kv, a + 1 * lda, b + 2 * ldb, c + 1 * ldc + 2, accumulate);
        if (TA.Value > 1 && TB.Value > 3) Finish(s13, K, kv, a + 1 * lda, b + 3 * ldb, c + 1 * ldc + 3, accumulate);
        if (TA.Value > 2 && TB.Value > 0) Finish(s20, K, kv, a + 2 * lda, b + 0 * ldb, c + 2 * ldc + 0, accumulate);
        if (TA.Value > 2 && TB.Value > 1) Finish(s21, K, kv, a + 2 * lda, b + 1 * ldb, c + 2 * ldc + 1, accumulate);
        if (TA.Value > 2 && TB.Value > 2) Finish(s22, K, kv, a + 2 * lda, b + 2 * ldb, c + 2 * ldc + 2, accumulate);
        if (TA.Value > 2 && TB.Value > 3) Finish(s23, K, kv, a + 2 * lda, b + 3 * ldb, c + 2 * ldc + 3, accumulate);
        if (TA.Value > 3 && TB.Value > 0) Finish(s30, K, kv, a + 3 * lda, b + 0 * ldb, c + 3 * ldc + 0, accumulate);
        if (TA.Value > 3 && TB.Value > 1) Finish(s31, K, kv, a + 3 * lda, b + 1 * ldb, c + 3 * ldc + 1, accumulate);
        if (TA.Value > 3 && TB.Value > 2) Finish(s32, K, kv, a + 3 * lda, b + 2 * ldb, c + 3 * ldc + 2, accumulate);
        if (TA.Value > 3 && TB.Value > 3) Finish(s33, K, kv, a + 3 * lda, b + 3 * ldb, c + 3 * ldc + 3, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(TV acc, int K, int kv, float* a, float* b, float* c, bool accumulate)
    {
        float s = TO.Sum(acc);
        for (int k = kv; k < K; k++) s += a[k] * b[k];
        *c = accumulate ? *c + s : s;
    }

    /// <summary>Dot tile with ra (1..4) A rows and rb (1..4, at most DotRB) B rows.</summary>
    public static void DotTile(int ra, int rb, int K, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool accumulate)
    {
        switch (ra * 8 + rb)
        {
            case 9: Dot<C1, C1>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            case 10: Dot<C1, C2>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            case 11: Dot<C1, C3>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            case 12: Dot<C1, C4>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            case 17: Dot<C2, C1>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            case 18: Dot<C2, C2>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            case 19: Dot<C2, C3>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            case 20: Dot<C2, C4>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            case 25: Dot<C3, C1>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            case 26: Dot<C3, C2>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            case 27: Dot<C3, C3>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            case 28: Dot<C3, C4>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            case 33: Dot<C4, C1>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            case 34: Dot<C4, C2>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            case 35: Dot<C4, C3>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            case 36: Dot<C4, C4>(K, a, lda, b, ldb, c, ldc, accumulate); break;
            default: throw new ArgumentOutOfRangeException(nameof(ra));
        }
    }
}

