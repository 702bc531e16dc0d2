using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sna.Runtime.Numerics;

/// <summary>Packing and widening helpers shared by the SIMD paths (all exact copies / exact widenings).</summary>
internal static unsafe class GemmPacking
{
    /// <summary>dst[0..len) = B element run starting at flat index <paramref name="index"/>, widened to float (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Widen(in WeightMatrix b, long index, float* dst, int len)
    {
        switch (b.DType)
        {
            case WeightDType.F32:
                Buffer.MemoryCopy((float*)b.Data + index, dst, (long)len * 4, (long)len * 4);
                break;
            case WeightDType.F16:
                WidenF16((ushort*)b.Data + index, dst, len);
                break;
            default:
                WidenBf16((ushort*)b.Data + index, dst, len);
                break;
        }
    }

    /// <summary>
    /// Widen a [K,N] B panel: dst[r*nr + c] = B[k0 + r, n + c] for r &lt; rows, c &lt; cols; zero for c in cols..nr (exact).
    /// With <paramref name="pf"/> != 0, element B[k0 + r, n] + pf is prefetched for every row (streaming from DRAM).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WidenPanel(in WeightMatrix b, int k0, int rows, int n, int cols, float* dst, int nr, nint pf)
    {
        nint ld = b.N;
        long index = (long)k0 * ld + n;
        if (b.DType != WeightDType.F32 && cols == nr)
        {
            ushort* s = (ushort*)b.Data + index;
            bool f16 = b.DType == WeightDType.F16;
            if (nr == 32 && Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
            {
                for (int r = 0; r < rows; r++, s += ld, dst += 32)
                {
                    if (pf != 0) Sse.Prefetch0(s + pf);
                    Vector512<uint> lo = Avx512F.ConvertToVector512UInt32(Vector256.Load(s));
                    Vector512<uint> hi = Avx512F.ConvertToVector512UInt32(Vector256.Load(s + 16));
                    Vector512.Store(f16 ? HalfBitsToSingle(lo) : (lo << 16).AsSingle(), dst);
                    Vector512.Store(f16 ? HalfBitsToSingle(hi) : (hi << 16).AsSingle(), dst + 16);
                }
                return;
            }
            if (nr == 16 && Avx2.IsSupported)
            {
                for (int r = 0; r < rows; r++, s += ld, dst += 16)
                {
                    if (pf != 0) Sse.Prefetch0(s + pf);
                    Vector256<uint> lo = Avx2.ConvertToVector256Int32(s).AsUInt32();
                    Vector256<uint> hi = Avx2.ConvertToVector256Int32(s + 8).AsUInt32();
                    Vector256.Store(f16 ? HalfBitsToSingle(lo) : (lo << 16).AsSingle(), dst);
                    Vector256.Store(f16 ? HalfBitsToSingle(hi) : (hi << 16).AsSingle(), dst + 8);
                }
                return;
            }
        }
        for (int r = 0; r < rows; r++)
        {
            Widen(b, index + r * ld, dst + (long)r * nr, cols);
            if (cols < nr) new Span<float>(dst + (long)r * nr + cols, nr - cols).Clear();
        }
    }

    /// <summary>
    /// IEEE binary16 → binary32, exact for every input (normals, subnormals, ±0, ±inf, NaN payloads), vectorised with
    /// integer ops: shift exponent+mantissa into place and rebias; subnormals via a float subtraction of 2^-14 (exact);
    /// inf/NaN get the exponent forced to 255. Scalar tail uses the runtime's (Half → float) conversion.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WidenF16(ushort* src, float* dst, int len)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
        {
            for (; i <= len - 16; i += 16)
                Vector512.Store(HalfBitsToSingle(Avx512F.ConvertToVector512UInt32(Vector256.Load(src + i))), dst + i);
        }
        else if (Avx2.IsSupported)
        {
            for (; i <= len - 8; i += 8)
                Vector256.Store(HalfBitsToSingle(Avx2.ConvertToVector256Int32(src + i).AsUInt32()), dst + i);
        }
        for (; i < len; i++) dst[i] = (float)BitConverter.UInt16BitsToHalf(src[i]);
    }

    /// <summary>
    /// 16 binary16 bit patterns (zero-extended) → float, exact: exponent+mantissa shifted into place and scaled by 2^112
    /// (exact for normals, and for subnormals, whose float image is a float subnormal scaled to a normal); exponent 31
    /// (inf/NaN, payload kept) gets exponent 255; then the sign.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> HalfBitsToSingle(Vector512<uint> h)
    {
        Vector512<uint> o = (h << 13) & Vector512.Create(0x0fffe000u);
        Vector512<uint> f = (o.AsSingle() * Vector512.Create(5.192296858534828e33f)).AsUInt32(); // 2^112
        f = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(o, Vector512.Create(0x0f800000u)), o | Vector512.Create(0x7f800000u), f);
        return (f | ((h << 16) & Vector512.Create(0x80000000u))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> HalfBitsToSingle(Vector256<uint> h)
    {
        Vector256<uint> o = (h & Vector256.Create(0x7fffu)) << 13;
        Vector256<uint> exp = o & Vector256.Create(0x0f800000u);
        o += Vector256.Create(0x38000000u);
        o = Vector256.ConditionalSelect(Vector256.Equals(exp, Vector256.Create(0x0f800000u)), o + Vector256.Create(0x38000000u), o);
        Vector256<uint> sub = (Vector256.AsSingle(o + Vector256.Create(0x00800000u)) - Vector256.Create(6.103515625e-05f)).AsUInt32();
        o = Vector256.ConditionalSelect(Vector256.Equals(exp, Vector256<uint>.Zero), sub, o);
        return (o | ((h & Vector256.Create(0x8000u)) << 16)).AsSingle();
    }

    /// <summary>BF16 → float is the 16 bits shifted into the high half of a float (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WidenBf16(ushort* src, float* dst, int len)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
        {
            for (; i <= len - 16; i += 16)
                Vector512.Store((Avx512F.ConvertToVector512UInt32(Vector256.Load(src + i)) << 16).AsSingle(), dst + i);
        }
        else if (Avx2.IsSupported)
        {
            for (; i <= len - 8; i += 8)
                Vector256.Store((Avx2.ConvertToVector256Int32(src + i).AsUInt32() << 16).AsSingle(), dst + i);
        }
        else if (Vector.IsHardwareAccelerated)
        {
            int step = Vector<ushort>.Count;
            for (; i <= len - step; i += step)
            {
                var v = Unsafe.ReadUnaligned<Vector<ushort>>(src + i);
                Vector.Widen(v, out Vector<uint> lo, out Vector<uint> hi);
                Unsafe.WriteUnaligned(dst + i, Vector.AsVectorSingle(lo << 16));
                Unsafe.WriteUnaligned(dst + i + step / 2, Vector.AsVectorSingle(hi << 16));
            }
        }
        for (; i < len; i++) ((uint*)dst)[i] = (uint)src[i] << 16;
    }

    /// <summary>
    /// Transpose an 8-row x 8-column float block: dst[c*ldd + r] = src[r*lds + c] for r &lt; validRows (rows beyond are zero),
    /// storing <paramref name="storeWidth"/> (8 or 4) floats per destination row. Requires AVX.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose8x8(float* src, nint lds, int validRows, float* dst, nint ldd, int storeWidth)
    {
        if (storeWidth == 4)
        {
            // Four destination floats per row: only source rows 0-3 reach them.
            Transpose4x8(src, lds, Math.Min(validRows, 4), dst, ldd);
            return;
        }
        Vector256<float> r0 = Vector256.Load(src);
        Vector256<float> r1 = validRows > 1 ? Vector256.Load(src + lds) : default;
        Vector256<float> r2 = validRows > 2 ? Vector256.Load(src + 2 * lds) : default;
        Vector256<float> r3 = validRows > 3 ? Vector256.Load(src + 3 * lds) : default;
        Vector256<float> r4 = validRows > 4 ? Vector256.Load(src + 4 * lds) : default;
        Vector256<float> r5 = validRows > 5 ? Vector256.Load(src + 5 * lds) : default;
        Vector256<float> r6 = validRows > 6 ? Vector256.Load(src + 6 * lds) : default;
        Vector256<float> r7 = validRows > 7 ? Vector256.Load(src + 7 * lds) : default;
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        Vector256.Store(Avx.Permute2x128(s0, s4, 0x20), dst);
        Vector256.Store(Avx.Permute2x128(s1, s5, 0x20), dst + ldd);
        Vector256.Store(Avx.Permute2x128(s2, s6, 0x20), dst + 2 * ldd);
        Vector256.Store(Avx.Permute2x128(s3, s7, 0x20), dst + 3 * ldd);
        Vector256.Store(Avx.Permute2x128(s0, s4, 0x31), dst + 4 * ldd);
        Vector256.Store(Avx.Permute2x128(s1, s5, 0x31), dst + 5 * ldd);
        Vector256.Store(Avx.Permute2x128(s2, s6, 0x31), dst + 6 * ldd);
        Vector256.Store(Avx.Permute2x128(s3, s7, 0x31), dst + 7 * ldd);
    }

    /// <summary>
    /// Transpose a 4-row x 8-column float block: dst[c*ldd + r] = src[r*lds + c] for r &lt; validRows (rows beyond are
    /// zero), 4 floats per destination row (the last four rows of a 12-row A micro-panel, or a 4-row one). Requires AVX.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose4x8(float* src, nint lds, int validRows, float* dst, nint ldd)
    {
        Vector256<float> r0 = Vector256.Load(src);
        Vector256<float> r1 = validRows > 1 ? Vector256.Load(src + lds) : default;
        Vector256<float> r2 = validRows > 2 ? Vector256.Load(src + 2 * lds) : default;
        Vector256<float> r3 = validRows > 3 ? Vector256.Load(src + 3 * lds) : default;
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector128.Store(s0.GetLower(), dst);
        Vector128.Store(s1.GetLower(), dst + ldd);
        Vector128.Store(s2.GetLower(), dst + 2 * ldd);
        Vector128.Store(s3.GetLower(), dst + 3 * ldd);
        Vector128.Store(s0.GetUpper(), dst + 4 * ldd);
        Vector128.Store(s1.GetUpper(), dst + 5 * ldd);
        Vector128.Store(s2.GetUpper(), dst + 6 * ldd);
        Vector128.Store(s3.GetUpper(), dst + 7 * ldd);
    }

    /// <summary>
    /// Pack one A micro-panel: dst[k*mr + r] = A[(row0 + r)*lda + k0 + k] for r &lt; rows, zero for rows..mr.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackAPanel(float* a, nint lda, int rows, int k0, int kc, float* dst, int mr)
    {
        float* src = a + k0;
        int k = 0;
        if (Avx.IsSupported && mr == 12 && rows == 12)
        {
            // Full 12-row panel (the AVX-512 tile): an 8x8 and a 4x8 transpose per 8 columns, no per-block row logic
            // (1.4-1.8x the general loop below when A is in cache; the same bits, it only moves floats).
            for (; k <= kc - 8; k += 8)
            {
                Transpose8x8(src + k, lda, 8, dst + k * mr, mr, 8);
                Transpose4x8(src + 8 * lda + k, lda, 4, dst + k * mr + 8, mr);
            }
        }
        else if (Avx.IsSupported && (mr == 12 || mr == 8 || mr == 4))
        {
            for (; k <= kc - 8; k += 8)
            {
                for (int r0 = 0; r0 < mr; r0 += 8)
                {
                    int width = Math.Min(8, mr - r0);
                    int valid = Math.Clamp(rows - r0, 0, 8);
                    if (valid == 0)
                    {
                        for (int kk = 0; kk < 8; kk++) new Span<float>(dst + (k + kk) * mr + r0, width).Clear();
                    }
                    else Transpose8x8(src + r0 * lda + k, lda, valid, dst + k * mr + r0, mr, width);
                }
            }
        }
        for (; k < kc; k++)
        {
            float* d = dst + k * mr;
            int r = 0;
            for (; r < rows; r++) d[r] = src[r * lda + k];
            for (; r < mr; r++) d[r] = 0f;
        }
    }

    /// <summary>
    /// Pack a B block (rows k0..k0+kc, columns n0..n0+w) into NR-wide panels: panel j at dst + j*kc*nr, element
    /// (k, col) at k*nr + col, columns past w zero-filled. 16-bit weights are widened here: [K,N] straight into the
    /// panels (<see cref="WidenPanel"/>), transposed [N,K] one row segment at a time through <paramref name="tmp"/>
    /// (needs max(w, nr*kc) floats).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(in WeightMatrix b, int k0, int kc, int n0, int w, int nr, float* dst, float* tmp)
    {
        int panels = (w + nr - 1) / nr;
        if (!b.Transposed)
        {
            // Panel by panel down the rows: F32 full panels are copied with whole-vector loads/stores, 16-bit panels are
            // widened by WidenPanel's vector paths, ragged last panels are widened/copied and zero-padded.
            nint ld = b.N;
            for (int j = 0; j < panels; j++)
            {
                float* d = dst + (long)j * kc * nr; // [kc][nr]
                int cols = Math.Min(nr, w - j * nr);
                int n = n0 + j * nr;
                if (cols == nr && b.DType == WeightDType.F32) CopyPanelF32((float*)b.Data + (long)k0 * ld + n, ld, kc, d, nr);
                else WidenPanel(b, k0, kc, n, cols, d, nr, 0);
            }
            return;
        }

        // Transposed: B stored [N, K]; column n of the logical B is the contiguous row n.
        for (int j = 0; j < panels; j++)
        {
            float* d = dst + (long)j * kc * nr;
            int cols = Math.Min(nr, w - j * nr);
            int nFirst = n0 + j * nr;
            float* src;
            nint lds;
            if (b.DType == WeightDType.F32) { src = (float*)b.Data + (long)nFirst * b.K + k0; lds = b.K; }
            else
            {
                for (int r = 0; r < cols; r++) Widen(b, (long)(nFirst + r) * b.K + k0, tmp + (long)r * kc, kc);
                src = tmp; lds = kc;
            }
            TransposeInto(src, lds, cols, kc, d, nr);
        }
    }

    /// <summary>d[r*nr + c] = src[r*lds + c] for r &lt; rows, c &lt; nr (one full F32 panel, whole vectors when nr allows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyPanelF32(float* src, nint lds, int rows, float* d, int nr)
    {
        if (nr == 32 && Vector512.IsHardwareAccelerated)
        {
            for (int r = 0; r < rows; r++, src += lds, d += 32)
            {
                Vector512.Store(Vector512.Load(src), d);
                Vector512.Store(Vector512.Load(src + 16), d + 16);
            }
        }
        else if (nr % 8 == 0 && Vector256.IsHardwareAccelerated)
        {
            for (int r = 0; r < rows; r++, src += lds, d += nr)
                for (int c = 0; c < nr; c += 8) Vector256.Store(Vector256.Load(src + c), d + c);
        }
        else
        {
            for (int r = 0; r < rows; r++, src += lds, d += nr) Buffer.MemoryCopy(src, d, nr * 4, nr * 4);
        }
    }

    /// <summary>d[k*nr + r] = src[r*lds + k] for r &lt; cols, k &lt; kc; zero for r in cols..nr.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeInto(float* src, nint lds, int cols, int kc, float* d, int nr)
    {
        int k = 0;
        if (Avx.IsSupported && nr % 8 == 0)
        {
            // Eight source rows at a time along all of kc (eight sequential streams, which the hardware prefetchers follow,
            // instead of nr rows interleaved: 15-20% faster on a [50257, 1024] unembedding from DRAM).
            int kv = kc - kc % 8;
            for (int r0 = 0; r0 < nr; r0 += 8)
            {
                int valid = Math.Clamp(cols - r0, 0, 8);
                for (k = 0; k < kv; k += 8)
                {
                    if (valid == 0)
                    {
                        for (int kk = 0; kk < 8; kk++) Vector256.Store(Vector256<float>.Zero, d + (k + kk) * nr + r0);
                    }
                    else Transpose8x8(src + r0 * lds + k, lds, valid, d + k * nr + r0, nr, 8);
                }
            }
            k = kv;
        }
        for (; k < kc; k++)
        {
            float* dk = d + k * nr;
            int r = 0;
            for (; r < cols; r++) dk[r] = src[r * lds + k];
            for (; r < nr; r++) dk[r] = 0f;
        }
    }
}

/// <summary>A growable 64-byte-aligned native float buffer; one per thread per role (never shared across threads).</summary>
internal sealed unsafe class NativeScratch
{
    private float* _p;
    private long _capacity;

    public float* Get(long floats)
    {
        if (floats > _capacity)
        {
            if (_p != null) NativeMemory.AlignedFree(_p);
            long cap = Math.Max(floats, 4096);
            _p = (float*)NativeMemory.AlignedAlloc((nuint)(cap * 4 + 64), 64);
            _capacity = cap;
        }
        return _p;
    }

    ~NativeScratch()
    {
        if (_p != null) NativeMemory.AlignedFree(_p);
    }
}
