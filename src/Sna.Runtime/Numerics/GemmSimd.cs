using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sna.Runtime.Numerics;

/// <summary>SIMD code path of <see cref="ManagedGemm"/>.</summary>
public enum GemmSimd
{
    /// <summary>Best path the running CPU/JIT supports.</summary>
    Auto = 0,
    /// <summary><c>Vector512&lt;float&gt;</c> + AVX-512F FMA, 12x32 register tile.</summary>
    Avx512 = 1,
    /// <summary><c>Vector256&lt;float&gt;</c> + FMA3, 6x16 register tile.</summary>
    Avx2 = 2,
    /// <summary><c>System.Numerics.Vector&lt;float&gt;</c>, separate multiply and add (works without any hardware intrinsics).</summary>
    Portable = 3,
}

/// <summary>Compile-time integer for generic specialisation of the unrolled kernels (the JIT folds <c>Value</c>).</summary>
internal interface IConst { static abstract int Value { get; } }
internal struct C0 : IConst { public static int Value => 0; }
internal struct C1 : IConst { public static int Value => 1; }
internal struct C2 : IConst { public static int Value => 2; }
internal struct C3 : IConst { public static int Value => 3; }
internal struct C4 : IConst { public static int Value => 4; }
internal struct C5 : IConst { public static int Value => 5; }
internal struct C6 : IConst { public static int Value => 6; }
internal struct C7 : IConst { public static int Value => 7; }
internal struct C8 : IConst { public static int Value => 8; }
internal struct C9 : IConst { public static int Value => 9; }
internal struct C10 : IConst { public static int Value => 10; }
internal struct C11 : IConst { public static int Value => 11; }
internal struct C12 : IConst { public static int Value => 12; }

/// <summary>
/// Vector operations of one SIMD path. The kernels are generic over an implementation (a struct), so the JIT emits a
/// specialised copy per path with every call inlined. <c>MR</c> x (2·<c>Width</c>) is the register tile of the micro-kernel.
/// </summary>
internal unsafe interface ISimdOps<TV> where TV : struct
{
    /// <summary>floats per vector.</summary>
    static abstract int Width { get; }
    /// <summary>Rows of the micro-kernel register tile (columns are 2·Width).</summary>
    static abstract int MR { get; }
    /// <summary>B rows per dot-product tile (transposed small-M path; A rows per tile is always 4).</summary>
    static abstract int DotRB { get; }
    static abstract TV Zero { get; }
    static abstract TV Load(float* p);
    static abstract void Store(float* p, TV v);
    static abstract TV Broadcast(float* p);
    /// <summary>acc + a·b (fused on the FMA paths, multiply-then-add on the portable path).</summary>
    static abstract TV Fma(TV a, TV b, TV acc);
    static abstract float Sum(TV v);
}

internal unsafe struct Ops512 : ISimdOps<Vector512<float>>
{
    public static int Width => 16;
    public static int MR => 12;
    public static int DotRB => 4;
    public static Vector512<float> Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector512<float>.Zero; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector512<float> v) => Vector512.Store(v, p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float* p) => Vector512.Create(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> acc) => Avx512F.FusedMultiplyAdd(a, b, acc);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> v) => Vector256.Sum(v.GetLower() + v.GetUpper());
}

internal unsafe struct Ops256 : ISimdOps<Vector256<float>>
{
    public static int Width => 8;
    public static int MR => 6;
    public static int DotRB => 2;
    public static Vector256<float> Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector256<float>.Zero; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector256<float> v) => Vector256.Store(v, p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float* p) => Vector256.Create(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> acc) => System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(a, b, acc);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> v) => Vector128.Sum(v.GetLower() + v.GetUpper());
}

internal unsafe struct OpsPortable : ISimdOps<Vector<float>>
{
    public static int Width => Vector<float>.Count;
    public static int MR => 4;
    public static int DotRB => 2;
    public static Vector<float> Zero { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => Vector<float>.Zero; }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<float> Load(float* p) => Unsafe.ReadUnaligned<Vector<float>>(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector<float> v) => Unsafe.WriteUnaligned(p, v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<float> Broadcast(float* p) => new Vector<float>(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<float> Fma(Vector<float> a, Vector<float> b, Vector<float> acc) => acc + a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector<float> v) => Vector.Sum(v);
}
