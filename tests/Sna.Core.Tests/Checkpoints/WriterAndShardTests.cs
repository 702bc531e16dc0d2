using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Sna.Runtime.Checkpoints;

namespace Sna.Core.Tests.Checkpoints;

public class WriterAndShardTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private static float[] Ramp(int n, float scale = 0.37f) =>
        Enumerable.Range(0, n).Select(i => (i - n / 2) * scale + (i % 3) * 0.001f).ToArray();

    [Fact]
    public unsafe void RoundTrip_F32_F16_BF16_AndMetadata()
    {
        var f32 = Ramp(12);
        var f16src = Ramp(15, 0.5f);               // multiples of 0.5 + small terms: rounded by F16
        var bf16src = Ramp(8, 1.25f);
        string path = _tmp.File("rt.safetensors");
        new SafetensorsWriter()
            .AddMetadata("format", "pt")
            .AddMetadata("note", "ünïcödé & <tags> \"quoted\"")
            .Add("layer.w32", [3, 4], f32)
            .Add("layer.w16", [3, 5], f16src, TensorDType.F16)
            .Add("layer.wbf", [2, 4], bf16src, TensorDType.BF16)
            .Save(path);

        var raw = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(raw);
        Assert.Equal(0, n % 8);                     // header padded to 8 bytes
        Assert.Equal((byte)'{', raw[8]);
        Assert.Equal((byte)'}', raw[8..(int)(8 + n)].AsSpan().TrimEnd((byte)' ')[^1]);

        using var f = SafetensorsFile.Open(path);
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal("ünïcödé & <tags> \"quoted\"", f.Metadata["note"]);
        Assert.Equal(8 + n, f.DataOffset);

        var w32 = f.Get("layer.w32");
        Assert.Equal(TensorDType.F32, w32.DType);
        Assert.Equal([3, 4], w32.Shape);
        Assert.Equal(f32, w32.ToFloat32Array());
        Assert.Equal(f32, w32.AsSpan<float>().ToArray());
        Assert.Equal(0, (long)w32.Data % 4);

        var w16 = f.Get("layer.w16");
        Assert.Equal(TensorDType.F16, w16.DType);
        Assert.Equal(f16src.Select(x => (float)(Half)x), w16.ToFloat32Array());
        Assert.Equal(f16src.Select(x => (Half)x), w16.AsSpan<Half>().ToArray());

        var wbf = f.Get("layer.wbf");
        Assert.Equal(TensorDType.BF16, wbf.DType);
        var bf = wbf.ToFloat32Array();
        for (int i = 0; i < bf.Length; i++)
        {
            Assert.Equal(BitConverter.UInt32BitsToSingle((uint)SafetensorsWriter.SingleToBf16(bf16src[i]) << 16), bf[i]);
            Assert.True(Math.Abs(bf[i] - bf16src[i]) <= Math.Abs(bf16src[i]) / 256 + 1e-30, $"{bf[i]} vs {bf16src[i]}");
        }

        // AsMatrix for BF16 in both layouts too.
        FixtureCheckpointTests.AssertMatrixMatches(wbf, bf, 2, 4);
        FixtureCheckpointTests.AssertMatrixMatches(w16, w16.ToFloat32Array(), 3, 5);
    }

    [Fact]
    public void RoundTrip_RawBytes_AllDTypes()
    {
        var w = new SafetensorsWriter();
        w.Add("f64", TensorDType.F64, [3], MemoryMarshal.AsBytes<double>([1.5, -2.25, 1e300]));
        w.Add("i64", TensorDType.I64, [2], MemoryMarshal.AsBytes<long>([-5, 1L << 40]));
        w.Add("i32", TensorDType.I32, [2], MemoryMarshal.AsBytes<int>([-7, 123456]));
        w.Add("i16", TensorDType.I16, [2], MemoryMarshal.AsBytes<short>([-300, 300]));
        w.Add("i8", TensorDType.I8, [2], MemoryMarshal.AsBytes<sbyte>([-128, 127]));
        w.Add("u8", TensorDType.U8, [3], [0, 1, 255]);
        w.Add("bool", TensorDType.BOOL, [3], [0, 1, 1]);
        w.Add("empty", TensorDType.F32, [0, 4], []);
        w.Add("scalar", TensorDType.F32, [], MemoryMarshal.AsBytes<float>([3.5f]));
        w.Add("bf16raw", TensorDType.BF16, [2], MemoryMarshal.AsBytes<ushort>([0x3F80, 0xC040]));
        string path = _tmp.File("all.safetensors");
        w.Save(path);

        using var f = SafetensorsFile.Open(path);
        Assert.Equal(10, f.Names.Count);
        Assert.Equal([1.5f, -2.25f, float.PositiveInfinity], f.Get("f64").ToFloat32Array());
        Assert.Equal([-5f, 1L << 40], f.Get("i64").ToFloat32Array());
        Assert.Equal([-7f, 123456f], f.Get("i32").ToFloat32Array());
        Assert.Equal([-300f, 300f], f.Get("i16").ToFloat32Array());
        Assert.Equal([-128f, 127f], f.Get("i8").ToFloat32Array());
        Assert.Equal([0f, 1f, 255f], f.Get("u8").ToFloat32Array());
        Assert.Equal([0f, 1f, 1f], f.Get("bool").ToFloat32Array());
        Assert.Equal([-5L, 1L << 40], f.Get("i64").AsSpan<long>().ToArray());
        Assert.Empty(f.Get("empty").ToFloat32Array());
        Assert.Equal(0, f.Get("empty").ElementCount);
        Assert.Equal([3.5f], f.Get("scalar").ToFloat32Array());
        Assert.Equal(0, f.Get("scalar").Rank);
        Assert.Equal([1f, -3f], f.Get("bf16raw").ToFloat32Array());

        // Non-float dtypes are readable but not usable as weight matrices.
        var m = Assert.Throws<CheckpointException>(() => f.Get("i32").AsMatrix(false));
        Assert.Contains("is I32; only F32, F16 and BF16 tensors can be used as weight matrices", m.Message);
        Assert.Throws<CheckpointException>(() => f.Get("empty").AsMatrix(false));
        Assert.Throws<CheckpointException>(() => f.Get("i32").AsSpan<float>());
        Assert.Throws<ArgumentException>(() => f.Get("i32").CopyToFloat32(new float[3]));
    }

    [Fact]
    public void Writer_SortsLikeReference_AlignsElements()
    {
        // An odd-length F16 tensor added first must not misalign the F32 tensor after it.
        string path = _tmp.File("align.safetensors");
        new SafetensorsWriter()
            .Add("a_half", [3], [1, 2, 3], TensorDType.F16)
            .Add("b_u8", TensorDType.U8, [1], [9])
            .Add("z_float", [2], [4, 5])
            .Save(path);
        using var f = SafetensorsFile.Open(path);
        Assert.Equal(["z_float", "a_half", "b_u8"], f.Names);
        Assert.Equal(0, f.Get("z_float").DataBegin);
        Assert.Equal(8, f.Get("a_half").DataBegin);
        Assert.Equal(14, f.Get("b_u8").DataBegin);
    }

    [Fact]
    public void Writer_RejectsBadInput()
    {
        var w = new SafetensorsWriter().Add("x", [2], [1, 2]);
        Assert.Throws<ArgumentException>(() => w.Add("x", [2], [1, 2]));
        Assert.Throws<ArgumentException>(() => w.Add("y", [3], [1, 2]));
        Assert.Throws<ArgumentException>(() => w.Add("__metadata__", [1], [1]));
        Assert.Throws<ArgumentException>(() => w.Add("z", TensorDType.F32, [2], new byte[7]));
        Assert.Throws<ArgumentException>(() => w.Add("q", [1], [1], TensorDType.I32));
    }

    [Fact]
    public void SingleToBf16_RoundsToNearestEven()
    {
        Assert.Equal(0x3F80, SafetensorsWriter.SingleToBf16(1.0f));
        Assert.Equal(0x3F80, SafetensorsWriter.SingleToBf16(BitConverter.UInt32BitsToSingle(0x3F808000))); // tie -> even
        Assert.Equal(0x3F82, SafetensorsWriter.SingleToBf16(BitConverter.UInt32BitsToSingle(0x3F818000))); // tie -> even (up)
        Assert.Equal(0x3F81, SafetensorsWriter.SingleToBf16(BitConverter.UInt32BitsToSingle(0x3F808001)));
        Assert.Equal(0x7F80, SafetensorsWriter.SingleToBf16(float.PositiveInfinity));
        Assert.True(float.IsNaN(BitConverter.UInt32BitsToSingle((uint)SafetensorsWriter.SingleToBf16(float.NaN) << 16)));
    }

    [Fact]
    public void Bf16Widening_VectorPathMatchesScalar()
    {
        var rng = new Random(7);
        var bits = new ushort[1000];
        for (int i = 0; i < bits.Length; i++) bits[i] = (ushort)rng.Next(65536);
        string path = _tmp.File("bf.safetensors");
        new SafetensorsWriter().Add("t", TensorDType.BF16, [1000], MemoryMarshal.AsBytes<ushort>(bits)).Save(path);
        using var f = SafetensorsFile.Open(path);
        var got = f.Get("t").ToFloat32Array();
        for (int i = 0; i < bits.Length; i++)
            Assert.Equal((uint)bits[i] << 16, BitConverter.SingleToUInt32Bits(got[i]));
    }

    // --- sharded checkpoints --------------------------------------------------------------------------------------

    private const string Shard1 = "model-00001-of-00002.safetensors";
    private const string Shard2 = "model-00002-of-00002.safetensors";

    private string WriteSharded(Func<string, string>? mapOverride = null, bool writeShard2 = true)
    {
        string dir = _tmp.Path;
        new SafetensorsWriter().AddMetadata("format", "pt").Add("embed.weight", [4, 3], Ramp(12)).Add("ln.bias", [3], [1, 2, 3])
            .Save(Path.Combine(dir, Shard1));
        if (writeShard2)
            new SafetensorsWriter().AddMetadata("format", "pt").Add("head.weight", [2, 3], Ramp(6, 2f), TensorDType.F16)
                .Save(Path.Combine(dir, Shard2));
        mapOverride ??= n => n == "head.weight" ? Shard2 : Shard1;
        var names = new[] { "embed.weight", "ln.bias", "head.weight" };
        var sb = new StringBuilder("{\"metadata\":{\"total_size\":72},\"weight_map\":{");
        sb.AppendJoin(",", names.Select(n => $"\"{n}\":\"{mapOverride(n)}\""));
        sb.Append("}}");
        File.WriteAllText(Path.Combine(dir, Checkpoint.IndexFileName), sb.ToString());
        return dir;
    }

    [Fact]
    public void Sharded_OpensAndResolvesNames()
    {
        string dir = WriteSharded();
        using var ckpt = Checkpoint.Open(dir);
        Assert.True(ckpt.IsSharded);
        Assert.Equal(["embed.weight", "ln.bias", "head.weight"], ckpt.Names);
        Assert.Equal([Path.Combine(dir, Shard1), Path.Combine(dir, Shard2)], ckpt.Files);
        Assert.Equal("72", ckpt.Metadata["total_size"]);
        Assert.Equal(Path.Combine(dir, Shard2), ckpt.Get("head.weight").SourceFile);
        Assert.Equal(Path.Combine(dir, Shard1), ckpt.Get("ln.bias").SourceFile);
        Assert.Equal([1f, 2f, 3f], ckpt.Get("ln.bias").ToFloat32Array());
        Assert.Equal(Ramp(6, 2f).Select(x => (float)(Half)x), ckpt.Get("head.weight").ToFloat32Array());
        Assert.Equal(TensorDType.F16, ckpt.Get("head.weight").DType);

        // Content hash: SHA-256 of the sha256sum-style manifest of index + shards in ordinal name order.
        var manifest = new StringBuilder();
        foreach (var name in new[] { Shard1, Shard2, Checkpoint.IndexFileName }.Order(StringComparer.Ordinal))
            manifest.Append(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, name))))).Append("  ").Append(name).Append('\n');
        string expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(manifest.ToString())));
        Assert.Equal(expected, ckpt.ContentHash);
    }

    [Fact]
    public void Sharded_MissingShardFails()
    {
        string dir = WriteSharded(writeShard2: false);
        var ex = Assert.Throws<CheckpointException>(() => Checkpoint.Open(dir));
        Assert.Contains($"maps tensor 'head.weight' (and 0 others) to shard '{Shard2}', which does not exist in '{dir}'", ex.Message);
        Assert.Contains(Checkpoint.IndexFileName, ex.Message);
    }

    [Fact]
    public void Sharded_NameMappedToWrongShardFails()
    {
        string dir = WriteSharded(n => n == "ln.bias" ? Shard2 : n == "head.weight" ? Shard2 : Shard1);
        var ex = Assert.Throws<CheckpointException>(() => Checkpoint.Open(dir));
        Assert.Contains($"maps tensor 'ln.bias' to shard '{Shard2}', but that shard has no such tensor (it is in shard '{Shard1}')", ex.Message);
        Assert.Equal("ln.bias", ex.TensorName);
    }

    [Fact]
    public void Sharded_NameMissingEverywhereFails()
    {
        string dir = WriteSharded();
        File.WriteAllText(Path.Combine(dir, Checkpoint.IndexFileName),
            $"{{\"weight_map\":{{\"embed.weight\":\"{Shard1}\",\"ln.bias\":\"{Shard1}\",\"head.weight\":\"{Shard2}\",\"ghost\":\"{Shard2}\"}}}}");
        var ex = Assert.Throws<CheckpointException>(() => Checkpoint.Open(dir));
        Assert.Contains("maps tensor 'ghost' to shard", ex.Message);
        Assert.Contains("(nor does any other shard)", ex.Message);
    }

    [Fact]
    public void Sharded_TensorNotInIndexFails()
    {
        string dir = WriteSharded();
        File.WriteAllText(Path.Combine(dir, Checkpoint.IndexFileName),
            $"{{\"weight_map\":{{\"embed.weight\":\"{Shard1}\",\"head.weight\":\"{Shard2}\"}}}}");
        var ex = Assert.Throws<CheckpointException>(() => Checkpoint.Open(dir));
        Assert.Contains("contains tensor 'ln.bias', which the index", ex.Message);
        Assert.Contains("does not list", ex.Message);
    }

    [Theory]
    [InlineData("../outside.safetensors")]
    [InlineData("/etc/passwd")]
    [InlineData("sub/dir.safetensors")]
    public void Sharded_ShardPathMustBePlainFileName(string shard)
    {
        string dir = WriteSharded(n => n == "head.weight" ? shard : Shard1);
        var ex = Assert.Throws<CheckpointException>(() => Checkpoint.Open(dir));
        Assert.Contains("is not a plain file name in the checkpoint directory", ex.Message);
    }

    [Theory]
    [InlineData("not json", "is not valid JSON")]
    [InlineData("[]", "is not a JSON object")]
    [InlineData("{\"metadata\":{}}", "has no \"weight_map\" object")]
    [InlineData("{\"weight_map\":{}}", "has an empty \"weight_map\"")]
    [InlineData("{\"weight_map\":{\"a\":3}}", "tensor 'a' must map to a shard file name")]
    public void Sharded_BadIndexFails(string index, string fragment)
    {
        File.WriteAllText(Path.Combine(_tmp.Path, Checkpoint.IndexFileName), index);
        var ex = Assert.Throws<CheckpointException>(() => Checkpoint.Open(_tmp.Path));
        Assert.Contains(fragment, ex.Message);
        Assert.Contains(Path.Combine(_tmp.Path, Checkpoint.IndexFileName), ex.Message);
    }

    [Fact]
    public void SingleFileWinsOverIndex()
    {
        string dir = WriteSharded();
        new SafetensorsWriter().Add("only", [1], [1]).Save(Path.Combine(dir, "model.safetensors"));
        using var ckpt = Checkpoint.Open(dir);
        Assert.False(ckpt.IsSharded);
        Assert.Equal(["only"], ckpt.Names);
    }

    // --- directory errors ----------------------------------------------------------------------------------------

    [Fact]
    public void LegacyPickleBin_FailsAsNotAZipCheckpoint()
    {
        File.WriteAllBytes(Path.Combine(_tmp.Path, "pytorch_model.bin"), [0x80, 0x02]);
        File.WriteAllText(Path.Combine(_tmp.Path, "config.json"), "{}");
        var ex = Assert.Throws<CheckpointException>(() => Checkpoint.Open(_tmp.Path));
        Assert.Contains("is not a zip archive", ex.Message);
        Assert.Contains(Path.Combine(_tmp.Path, "pytorch_model.bin"), ex.Message);
    }

    [Fact]
    public void ShardedPickleDirectory_WithoutWeightMap_Fails()
    {
        File.WriteAllText(Path.Combine(_tmp.Path, "pytorch_model.bin.index.json"), "{}");
        File.WriteAllBytes(Path.Combine(_tmp.Path, "pytorch_model-00001-of-00002.bin"), [0x80]);
        var ex = Assert.Throws<CheckpointException>(() => Checkpoint.Open(_tmp.Path));
        Assert.Contains("pytorch_model.bin.index.json' has no \"weight_map\" object", ex.Message);
    }

    [Fact]
    public void EmptyDirectory_Fails()
    {
        var ex = Assert.Throws<CheckpointException>(() => Checkpoint.Open(_tmp.Path));
        Assert.Contains("has none of model.safetensors, model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json; it is empty", ex.Message);
    }

    [Fact]
    public void OtherSafetensorsName_IsListed()
    {
        new SafetensorsWriter().Add("x", [1], [1]).Save(Path.Combine(_tmp.Path, "adapter.safetensors"));
        var ex = Assert.Throws<CheckpointException>(() => Checkpoint.Open(_tmp.Path));
        Assert.Contains("pass its path: adapter.safetensors", ex.Message);
        Assert.DoesNotContain("pickle", ex.Message);
        using var ok = Checkpoint.Open(Path.Combine(_tmp.Path, "adapter.safetensors"));
        Assert.Equal(["x"], ok.Names);
    }

    [Fact]
    public void MissingDirectory_Fails()
    {
        string dir = Path.Combine(_tmp.Path, "nope");
        var ex = Assert.Throws<CheckpointException>(() => Checkpoint.Open(dir));
        Assert.Equal($"checkpoint directory '{dir}' does not exist", ex.Message);
    }

    // --- config.json -----------------------------------------------------------------------------------------------

    [Fact]
    public void ModelConfigJson_ErrorsNameFileAndKey()
    {
        string path = Path.Combine(_tmp.Path, "config.json");
        File.WriteAllText(path, """{"n_embd": 768.0, "eps": 1e-5, "half": 0.5, "name": "gpt2", "flag": "yes", "nothing": null, "big": 1e12}""");
        var c = ModelConfigJson.Load(_tmp.Path);
        Assert.Equal(path, c.Path);
        Assert.Equal(768, c.GetInt("n_embd"));
        Assert.Equal(1e-5, c.GetDouble("eps"));
        Assert.False(c.TryGetString("nothing", out _));
        Assert.False(c.Has("nothing"));
        Assert.True(c.Has("name"));

        var missing = Assert.Throws<CheckpointException>(() => c.GetInt("n_layer"));
        Assert.Equal($"model config '{path}' has no key 'n_layer' (or it is null)", missing.Message);
        Assert.Equal("n_layer", missing.TensorName);

        var frac = Assert.Throws<CheckpointException>(() => c.GetInt("half"));
        Assert.Equal($"model config '{path}': key 'half' must be an integer, found 0.5", frac.Message);
        Assert.Throws<CheckpointException>(() => c.GetInt("big"));
        Assert.Contains("key 'flag' must be a boolean, found \"yes\"", Assert.Throws<CheckpointException>(() => c.GetBool("flag")).Message);
        Assert.Contains("key 'name' must be a finite number", Assert.Throws<CheckpointException>(() => c.TryGetDouble("name", out _)).Message);
        Assert.Contains("key 'eps' must be a string", Assert.Throws<CheckpointException>(() => c.GetString("eps")).Message);
        Assert.Equal("x", c.GetString("absent", "x"));

        File.WriteAllText(path, "[1]");
        Assert.Contains("is not a JSON object", Assert.Throws<CheckpointException>(() => ModelConfigJson.Load(path)).Message);
        File.WriteAllText(path, "{oops");
        Assert.Contains($"model config '{path}' is not valid JSON", Assert.Throws<CheckpointException>(() => ModelConfigJson.Load(path)).Message);
        Assert.Contains("does not exist", Assert.Throws<CheckpointException>(() => ModelConfigJson.Load(Path.Combine(_tmp.Path, "x.json"))).Message);
    }
}
