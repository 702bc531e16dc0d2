using Sna.Runtime.Numerics;

namespace Sna.Core.Tests.Numerics;

public class WideningTests
{
    /// <summary>All 65536 binary16 patterns: vectorised widening is bit-exact vs the runtime's Half → float (NaNs stay NaN).</summary>
    [Fact]
    public unsafe void F16_widening_is_exact_for_every_bit_pattern()
    {
        var src = new ushort[65536 + 5]; // + odd tail for the scalar remainder
        for (int i = 0; i < src.Length; i++) src[i] = (ushort)i;
        var dst = new float[src.Length];
        fixed (ushort* s = src) fixed (float* d = dst) GemmPacking.WidenF16(s, d, src.Length);
        for (int i = 0; i < src.Length; i++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf(src[i]);
            if (float.IsNaN(expected)) Assert.True(float.IsNaN(dst[i]), $"0x{src[i]:X4} should be NaN");
            else Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(dst[i]),
                $"0x{src[i]:X4}: got {dst[i]} expected {expected}");
        }
    }

    [Fact]
    public unsafe void Bf16_widening_is_exact_for_every_bit_pattern()
    {
        var src = new ushort[65536 + 3];
        for (int i = 0; i < src.Length; i++) src[i] = (ushort)i;
        var dst = new float[src.Length];
        fixed (ushort* s = src) fixed (float* d = dst) GemmPacking.WidenBf16(s, d, src.Length);
        for (int i = 0; i < src.Length; i++) Assert.Equal((uint)src[i] << 16, BitConverter.SingleToUInt32Bits(dst[i]));
    }
}
