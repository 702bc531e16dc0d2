using Sna.Runtime.Checkpoints;
using Sna.Runtime.Models;
using Sna.Runtime.Numerics;

namespace Sna.Core.Tests.Models;

/// <summary>
/// 16-bit weights (<see cref="WeightsDTypeOption"/>, CLI <c>--weights-dtype</c>): conversion at load is exact (equal to the
/// scalar round-to-nearest-even casts), widening 16-bit storage to float32 changes nothing, and rounding float32 weights
/// to 16 bits moves the logits by a bounded amount.
/// </summary>
public class WeightsDTypeTests
{
    public enum Arch { Gpt2, NeoX, Llama }

    private static TinyModel TinyModel(Arch arch, int seed = 21) => arch switch
    {
        Arch.Gpt2 => TinyCheckpoints.Gpt2Model(seed),
        Arch.NeoX => TinyCheckpoints.NeoXModel(seed),
        _ => TinyCheckpoints.LlamaModel(new LlamaSpec(), TinyCheckpoints.LlamaWeights(new LlamaSpec(), seed)),
    };

    private static TinyCheckpoint Tiny(Arch arch, TensorDType storeAs, int seed = 21) => TinyCheckpoints.Write(TinyModel(arch, seed), storeAs);

    private static int[][] Batch(int vocab) =>
        [TinyCheckpoints.Tokens(vocab, 14, 1), TinyCheckpoints.Tokens(vocab, 9, 2), TinyCheckpoints.Tokens(vocab, 3, 3)];

    // ---- conversion kernels

    public static TheoryData<WeightDType, WeightDType> Pairs()
    {
        var d = new TheoryData<WeightDType, WeightDType>();
        foreach (var a in Enum.GetValues<WeightDType>())
            foreach (var b in Enum.GetValues<WeightDType>())
                d.Add(a, b);
        return d;
    }

    [Theory, MemberData(nameof(Pairs))]
    public unsafe void Vectorised_conversion_equals_the_scalar_casts_bit_for_bit(WeightDType from, WeightDType to)
    {
        // Random bit patterns cover normals, subnormals, ±0, ±∞, NaNs, F16 overflow and exact ties; the odd length
        // exercises the scalar tail and more than one chunk.
        const int n = 70_001;
        var rng = new Random((int)from * 3 + (int)to);
        int srcSize = from == WeightDType.F32 ? 4 : 2, dstSize = to == WeightDType.F32 ? 4 : 2;
        var src = new byte[n * srcSize];
        rng.NextBytes(src);
        if (from == WeightDType.F32)
        {
            // plus values near the 16-bit rounding boundaries: float32 with few random low bits
            var f = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(src.AsSpan());
            for (int i = 0; i < n / 2; i++) f[i] = (f[i] & 0xFFFF_0000u) | (uint)(i % 4 == 0 ? 0x8000 : i % 4 == 1 ? 0x1000 : f[i] & 0xFFFF);
            float[] special = [0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 65504f, 65519.99f, 65520f, 1e-8f, 5.96e-8f, 2.98e-8f, float.MaxValue, float.Epsilon];
            for (int i = 0; i < special.Length; i++) f[n - 1 - i] = BitConverter.SingleToUInt32Bits(special[i]);
        }
        var dst = new byte[n * dstSize];
        fixed (byte* s = src, d = dst) WeightConversion.Convert(s, from, d, to, n);

        for (int i = 0; i < n; i++)
        {
            float wide = from switch
            {
                WeightDType.F32 => BitConverter.ToSingle(src, i * 4),
                WeightDType.F16 => (float)BitConverter.UInt16BitsToHalf(BitConverter.ToUInt16(src, i * 2)),
                _ => BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(src, i * 2) << 16),
            };
            uint srcBits = from == WeightDType.F32 ? BitConverter.ToUInt32(src, i * 4) : BitConverter.ToUInt16(src, i * 2);
            uint expected = from == to ? srcBits : to switch   // same dtype is a plain copy (NaN payloads kept)
            {
                WeightDType.F32 => BitConverter.SingleToUInt32Bits(wide),
                WeightDType.F16 => BitConverter.HalfToUInt16Bits((Half)wide),
                _ => SafetensorsWriter.SingleToBf16(wide),
            };
            uint actual = to == WeightDType.F32 ? BitConverter.ToUInt32(dst, i * 4) : BitConverter.ToUInt16(dst, i * 2);
            if (actual != expected)
                Assert.Fail($"{from}→{to} element {i} (value {wide}, bits {(from == WeightDType.F32 ? BitConverter.ToUInt32(src, i * 4) : BitConverter.ToUInt16(src, i * 2)):X}): got {actual:X}, expected {expected:X}");
        }
    }

    [Theory]
    [InlineData(Arch.Gpt2, WeightsDTypeOption.F16)]
    [InlineData(Arch.Gpt2, WeightsDTypeOption.BF16)]
    [InlineData(Arch.NeoX, WeightsDTypeOption.F16)]
    [InlineData(Arch.NeoX, WeightsDTypeOption.BF16)]
    [InlineData(Arch.Llama, WeightsDTypeOption.F16)]
    [InlineData(Arch.Llama, WeightsDTypeOption.BF16)]
    public void Loaded_matrices_are_the_rounded_float32_weights_in_the_same_layout(Arch arch, WeightsDTypeOption option)
    {
        using var ck = Tiny(arch, TensorDType.F32);
        using var f32 = ModelLoader.Load(ck.Dir);
        using var low = ModelLoader.Load(ck.Dir, option);
        var want = option == WeightsDTypeOption.F16 ? WeightDType.F16 : WeightDType.BF16;
        Func<float, float> round = option == WeightsDTypeOption.F16
            ? v => (float)(Half)v
            : v => BitConverter.Int32BitsToSingle(SafetensorsWriter.SingleToBf16(v) << 16);
        var pairs = new List<(string, WeightMatrix, WeightMatrix)> { ("embedding", f32.Weights.TokenEmbedding, low.Weights.TokenEmbedding), ("unembed", f32.Weights.Unembed, low.Weights.Unembed) };
        for (int l = 0; l < f32.Config.NLayers; l++)
        {
            LayerWeights a = f32.Weights.Layers[l], b = low.Weights.Layers[l];
            pairs.Add(($"{l}.qkv", a.Wqkv, b.Wqkv)); pairs.Add(($"{l}.o", a.Wo, b.Wo));
            pairs.Add(($"{l}.in", a.Win, b.Win)); pairs.Add(($"{l}.out", a.Wout, b.Wout));
            if (arch == Arch.Llama) pairs.Add(($"{l}.gate", a.Wgate, b.Wgate));
        }
        foreach (var (name, a, b) in pairs)
        {
            Assert.Equal(WeightDType.F32, a.DType);
            Assert.Equal(want, b.DType);
            Assert.Equal((a.K, a.N, a.Transposed), (b.K, b.N, b.Transposed));
            for (int k = 0; k < a.K; k++)
                for (int n = 0; n < a.N; n++)
                    if (round(a[k, n]) != b[k, n]) Assert.Fail($"{arch} {name}[{k},{n}]: {b[k, n]} is not {option} of {a[k, n]}");
        }
        Assert.Equal(option.ToString(), low.Provenance.ComputeWeightsDType);
        Assert.Equal("F32", low.Provenance.StoredDType);
    }

    // ---- bit-exactness of 16-bit storage

    public static TheoryData<string> SixteenBitFixtures() => new("gpt2-tiny-f16", "pythia-tiny-f16");

    [SharedTheory, MemberData(nameof(SixteenBitFixtures))]
    public void F16_fixture_as_stored_and_widened_to_f32_give_bit_identical_logits(string fixture)
    {
        using var stored = ModelLoader.Load(ModelFixtures.Dir(fixture));
        using var wide = ModelLoader.Load(ModelFixtures.Dir(fixture), WeightsDTypeOption.F32);
        Assert.Equal(WeightDType.F16, stored.Weights.Layers[0].Wqkv.DType);
        Assert.Equal(WeightDType.F32, wide.Weights.Layers[0].Wqkv.DType);
        var prompts = ModelFixtures.PromptTokens(ModelFixtures.IsNeoX(fixture)).GetProperty("prompts");
        var batch = new[] { "math", "poem", "code" }.Select(n => ModelFixtures.Ids(prompts.GetProperty(n))).ToArray();
        Assert.Equal(stored.Forward(batch, mode: LogitsMode.All).Logits, wide.Forward(batch, mode: LogitsMode.All).Logits);
    }

    [Theory]
    [InlineData(Arch.Gpt2, TensorDType.F16)]
    [InlineData(Arch.Gpt2, TensorDType.BF16)]
    [InlineData(Arch.NeoX, TensorDType.F16)]
    [InlineData(Arch.NeoX, TensorDType.BF16)]
    [InlineData(Arch.Llama, TensorDType.F16)]
    [InlineData(Arch.Llama, TensorDType.BF16)]
    public void Sixteen_bit_storage_widened_converted_or_as_stored_gives_bit_identical_logits(Arch arch, TensorDType dtype)
    {
        var option = dtype == TensorDType.F16 ? WeightsDTypeOption.F16 : WeightsDTypeOption.BF16;
        var wdt = dtype == TensorDType.F16 ? WeightDType.F16 : WeightDType.BF16;
        var model = TinyModel(arch);
        using var ck16 = TinyCheckpoints.Write(model, dtype);
        // The option converts weight matrices only; norm gains, biases and GPT-2's wpe are read as float32 whatever it says.
        // So the float32 checkpoint holds those already rounded, and its matrices unrounded (the loader rounds them).
        var vectorsRounded = model.Map((name, t) => t.Shape.Length == 1 || name.EndsWith("wpe.weight", StringComparison.Ordinal),
                                       t => TinyCheckpoints.Rounded(t, dtype));
        using var ck32 = TinyCheckpoints.Write(vectorsRounded, TensorDType.F32);
        using var asStored = ModelLoader.Load(ck16.Dir);
        using var widened = ModelLoader.Load(ck16.Dir, WeightsDTypeOption.F32);
        using var converted = ModelLoader.Load(ck32.Dir, option);
        foreach (var l in asStored.Weights.Layers)
            Assert.All(new[] { l.Wqkv, l.Wo, l.Win, l.Wout }, m => Assert.Equal(wdt, m.DType));  // incl. Llama's fused q/k/v
        var batch = Batch(asStored.Config.VocabSize);
        var a = asStored.Forward(batch, mode: LogitsMode.All).Logits;
        Assert.Equal(a, widened.Forward(batch, mode: LogitsMode.All).Logits);     // widening is exact
        Assert.Equal(a, converted.Forward(batch, mode: LogitsMode.All).Logits);   // load-time rounding = the writer's rounding
    }

    // ---- accuracy of 16-bit weights

    /// <summary>
    /// Rounding every weight to 16 bits is a relative perturbation of at most u per weight (F16: u = 2⁻¹¹ ≈ 4.9e-4;
    /// BF16: u = 2⁻⁸ ≈ 3.9e-3). Through a few layers of well-conditioned random weights the logits move by a few u
    /// relative to their scale; the bound asserted is max |Δlogit| ≤ 8·u·max(1, max |logit|) (F16: 3.9e-3, BF16: 3.1e-2
    /// at unit scale). Measured on these models: about 1-2·u.
    /// </summary>
    [SharedTheory]
    [InlineData("gpt2-tiny-f32", WeightsDTypeOption.F16)]
    [InlineData("gpt2-tiny-f32", WeightsDTypeOption.BF16)]
    [InlineData("pythia-tiny-f32", WeightsDTypeOption.F16)]
    [InlineData("pythia-tiny-f32", WeightsDTypeOption.BF16)]
    [InlineData("llama", WeightsDTypeOption.F16)]
    [InlineData("llama", WeightsDTypeOption.BF16)]
    [InlineData("neox", WeightsDTypeOption.F16)]
    public void Sixteen_bit_weights_keep_logits_close_to_float32(string source, WeightsDTypeOption option)
    {
        TinyCheckpoint? ck = source switch { "llama" => Tiny(Arch.Llama, TensorDType.F32), "neox" => Tiny(Arch.NeoX, TensorDType.F32), _ => null };
        try
        {
            string dir = ck?.Dir ?? ModelFixtures.Dir(source);
            using var f32 = ModelLoader.Load(dir);
            using var low = ModelLoader.Load(dir, option);
            int[][] batch = ck is null
                ? new[] { "math", "poem", "logic" }.Select(n => ModelFixtures.Ids(ModelFixtures.PromptTokens(ModelFixtures.IsNeoX(source)).GetProperty("prompts").GetProperty(n))).ToArray()
                : Batch(f32.Config.VocabSize);
            var a = f32.Forward(batch, mode: LogitsMode.All);
            var b = low.Forward(batch, mode: LogitsMode.All);
            double u = option == WeightsDTypeOption.F16 ? Math.Pow(2, -11) : Math.Pow(2, -8);
            double scale = Math.Max(1, a.Logits.Max(Math.Abs));
            double maxDiff = a.Logits.Zip(b.Logits, (x, y) => Math.Abs(x - y)).Max();
            Assert.True(maxDiff <= 8 * u * scale, $"{source} {option}: max |Δlogit| {maxDiff:E3} = {maxDiff / (u * scale):F2}·u·scale (scale {scale:F2})");
            Assert.True(maxDiff > 0, "16-bit weights should not be bit-identical to float32 weights");
        }
        finally { ck?.Dispose(); }
    }

    // ---- memory: one copy of the weights

    [Theory]
    [InlineData(TensorDType.F32, WeightsDTypeOption.AsStored)]
    [InlineData(TensorDType.F16, WeightsDTypeOption.AsStored)]
    [InlineData(TensorDType.BF16, WeightsDTypeOption.AsStored)]
    [InlineData(TensorDType.F32, WeightsDTypeOption.F16)]
    [InlineData(TensorDType.F32, WeightsDTypeOption.BF16)]
    [InlineData(TensorDType.F16, WeightsDTypeOption.F32)]
    public void Llama_owns_no_more_than_one_converted_copy_of_each_matrix(TensorDType stored, WeightsDTypeOption option)
    {
        var s = new LlamaSpec();
        using var ck = TinyCheckpoints.Llama(s, 3, stored);
        using var model = ModelLoader.Load(ck.Dir, option);
        long owned = model.Weights.Owners.OfType<NativeBuffer>().Sum(b => b.ByteLength);
        long qkv = (long)(s.Heads + 2 * s.KvHeads) * s.HeadDim * s.Hidden;
        long matrices = s.Layers * (qkv + (long)s.Hidden * s.Heads * s.HeadDim + 3L * s.Hidden * s.Intermediate) + 2L * s.Vocab * s.Hidden;
        long expected = option == WeightsDTypeOption.AsStored
            ? s.Layers * qkv * (stored == TensorDType.F32 ? 4 : 2)     // as stored: only the fused q/k/v is a copy
            : matrices * (option == WeightsDTypeOption.F32 ? 4 : 2);                                   // converted: every matrix once, nothing else
        Assert.Equal(expected, owned);
        // the checkpoint stays mapped only while some matrix is used in place
        bool keepsView = option == WeightsDTypeOption.AsStored || option.ToString() == stored.ToString();
        Assert.Equal(keepsView, model.Weights.Owners.OfType<Checkpoint>().Any());
        Assert.All(model.Forward([[1, 2, 3]]).Logits, v => Assert.True(float.IsFinite(v)));
    }
}
