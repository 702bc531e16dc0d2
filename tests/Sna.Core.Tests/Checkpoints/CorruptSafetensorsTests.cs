using System.Buffers.Binary;
using Sna.Runtime.Checkpoints;

namespace Sna.Core.Tests.Checkpoints;

public class CorruptSafetensorsTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private CheckpointException OpenFails(byte[] bytes, string fragment, string? tensor = null)
    {
        string path = _tmp.Write($"f{Guid.NewGuid():N}.safetensors", bytes);
        var ex = Assert.Throws<CheckpointException>(() => { using var _ = SafetensorsFile.Open(path); });
        Assert.Contains(fragment, ex.Message);
        Assert.Contains(path, ex.Message);
        Assert.Equal(path, ex.FilePath);
        if (tensor is not null)
        {
            Assert.Contains($"tensor '{tensor}'", ex.Message);
            Assert.Equal(tensor, ex.TensorName);
        }
        return ex;
    }

    private static byte[] ValidFile() => new SafetensorsWriter()
        .AddMetadata("format", "pt")
        .Add("a.weight", [2, 3], [1, 2, 3, 4, 5, 6])
        .Add("b.bias", [3], [7, 8, 9])
        .Add("c.half", [5], [1, 2, 3, 4, 5], TensorDType.F16)
        .ToArray();

    [Fact]
    public void ValidFile_Opens()
    {
        string path = _tmp.Write("ok.safetensors", ValidFile());
        using var f = SafetensorsFile.Open(path);
        Assert.Equal(["a.weight", "b.bias", "c.half"], f.Names);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(7)]
    public void FileShorterThan8Bytes(int length) =>
        OpenFails(new byte[length], $"file is {length} bytes, shorter than the 8-byte header-length prefix");

    [Fact]
    public void TruncatedInTheHeader()
    {
        var good = ValidFile();
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(good);
        OpenFails(good[..(int)(8 + n / 2)], $"header length {n} extends beyond the end of the file ({8 + n / 2} bytes; truncated?)");
    }

    [Fact]
    public void TruncatedInTheData()
    {
        var good = ValidFile();
        // Data order: F32 tensors (a.weight, b.bias) then F16 (c.half, 10 bytes); cut 3 bytes of c.half.
        OpenFails(good[..^3], "extend beyond the end of the data section", "c.half");
    }

    [Fact]
    public void EveryTruncationFailsCleanly()
    {
        var good = ValidFile();
        for (int len = 0; len < good.Length; len++)
        {
            string path = _tmp.Write("cut.safetensors", good[..len]);
            Assert.Throws<CheckpointException>(() => { using var _ = SafetensorsFile.Open(path); });
        }
    }

    [Fact]
    public void HeaderLengthLargerThanFile() =>
        OpenFails(RawSafetensors.Build("{}      ", 0, headerLengthOverride: 1000), "header length 1000 extends beyond the end of the file (16 bytes; truncated?)");

    [Theory]
    [InlineData(100_000_001UL)]
    [InlineData(ulong.MaxValue)]
    [InlineData(1UL << 63)]
    public void HeaderLengthAbsurd(ulong n) =>
        OpenFails(RawSafetensors.Build("{}      ", 0, headerLengthOverride: n), $"header length {n} exceeds the 100000000-byte (100 MB) limit");

    [Fact]
    public void NonJsonHeader() => OpenFails(RawSafetensors.Build("this is not json", 0), "header is not valid JSON");

    [Fact]
    public void EmptyHeader() => OpenFails(RawSafetensors.Build("", 0), "header is not valid JSON");

    [Fact]
    public void InvalidUtf8Header() =>
        OpenFails(RawSafetensors.Build([(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}'], 0), "header is not valid UTF-8");

    [Fact]
    public void JsonArrayHeader() => OpenFails(RawSafetensors.Build("[1, 2, 3]", 0), "header is not a JSON object (found an array)");

    [Fact]
    public void UnknownDType() =>
        OpenFails(RawSafetensors.Build("""{"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}""", 4),
            "unknown or unsupported dtype 'F8_E4M3'", "w");

    [Fact]
    public void ShapeDTypeSizeMismatch() =>
        OpenFails(RawSafetensors.Build("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}""", 20),
            "byte length 20 (data_offsets [0, 20]) does not match shape [2,3] of F32, which needs 24 bytes", "w");

    [Fact]
    public void OffsetsOutOfTheFile() =>
        OpenFails(RawSafetensors.Build("""{"w":{"dtype":"F32","shape":[250],"data_offsets":[0,1000]}}""", 16),
            "data_offsets [0, 1000] extend beyond the end of the data section (16 bytes; file truncated?)", "w");

    [Fact]
    public void OverlappingOffsets() =>
        OpenFails(RawSafetensors.Build(
                """{"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]},"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 24),
            "data_offsets [8, 24] overlap tensor 'a' at [0, 16]", "b");

    [Fact]
    public void IdenticalOffsets() =>
        OpenFails(RawSafetensors.Build(
                """{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 16),
            "overlap tensor 'a' at [0, 16]", "b");

    [Fact]
    public void ReversedOffsets() =>
        OpenFails(RawSafetensors.Build("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}}""", 16),
            "data_offsets [16, 0] are reversed (end < begin)", "w");

    [Fact]
    public void NegativeOffset() =>
        OpenFails(RawSafetensors.Build("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}""", 4),
            "data_offsets begin -4 is negative", "w");

    [Fact]
    public void OffsetBeyondInt64() =>
        OpenFails(RawSafetensors.Build("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999999]}}""", 4),
            "data_offsets end 99999999999999999999999 is not a valid byte offset", "w");

    [Fact]
    public void HugeShapeOverflow() =>
        OpenFails(RawSafetensors.Build(
                """{"w":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,4]}}""", 4),
            "shape [2147483647,2147483647,2147483647] x 4 bytes per F32 element overflows a 64-bit byte count", "w");

    [Fact]
    public void ShapeOverflowOnlyWithElementSize() =>
        // 2^31-1 * 2^31-1 * 2 fits in int64; times 8 bytes per F64 element it does not.
        OpenFails(RawSafetensors.Build("""{"w":{"dtype":"F64","shape":[2147483647,2147483647,3],"data_offsets":[0,8]}}""", 8),
            "overflows a 64-bit byte count", "w");

    [Theory]
    [InlineData("[-1]", "element 0 is -1")]
    [InlineData("[2, 1.5]", "element 1 is 1.5")]
    [InlineData("[\"4\"]", "element 0 is \"4\"")]
    [InlineData("4", "found a number")]
    [InlineData("null", "found null")]
    public void ShapeNotAListOfNonNegativeInts(string shape, string fragment)
    {
        var ex = OpenFails(RawSafetensors.Build($$$"""{"w":{"dtype":"U8","shape":{{{shape}}},"data_offsets":[0,4]}}""", 4),
            "\"shape\" must be a list of non-negative integers", "w");
        Assert.Contains(fragment, ex.Message);
    }

    [Fact]
    public void ShapeDimensionBeyondInt32() =>
        OpenFails(RawSafetensors.Build("""{"w":{"dtype":"U8","shape":[4294967296],"data_offsets":[0,4]}}""", 4),
            "shape dimension 4294967296 exceeds the supported maximum 2147483647", "w");

    [Fact]
    public void HoleBetweenTensors() =>
        OpenFails(RawSafetensors.Build(
                """{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[20,36]}}""", 36),
            "leave a hole: data-section bytes [16, 20) belong to no tensor", "b");

    [Fact]
    public void TrailingBytes() =>
        OpenFails(RawSafetensors.Build("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 20),
            "data section is 20 bytes but the tensors cover only 16; 4 trailing bytes belong to no tensor");

    [Fact]
    public void DuplicateTensorName() =>
        OpenFails(RawSafetensors.Build(
                """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8),
            "tensor name appears more than once in the header", "a");

    [Fact]
    public void MetadataMustBeStrings() =>
        OpenFails(RawSafetensors.Build("""{"__metadata__":{"format":"pt","total":12}}""", 0),
            "__metadata__ value for key 'total' must be a string (found a number)");

    [Theory]
    [InlineData("""{"w":[1,2]}""", "tensor info must be a JSON object (found an array)")]
    [InlineData("""{"w":{"shape":[1],"data_offsets":[0,4]}}""", "missing \"dtype\"")]
    [InlineData("""{"w":{"dtype":"U8","data_offsets":[0,4]}}""", "missing \"shape\"")]
    [InlineData("""{"w":{"dtype":"U8","shape":[4]}}""", "missing \"data_offsets\"")]
    [InlineData("""{"w":{"dtype":"U8","shape":[4],"data_offsets":[0]}}""", "\"data_offsets\" must be a list of two integers")]
    [InlineData("""{"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4.5]}}""", "data_offsets end 4.5 is not a valid byte offset")]
    [InlineData("""{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}""", "unknown or unsupported dtype 'f32'")]
    [InlineData("""{"w":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}""", "\"dtype\" must be a string")]
    public void MalformedTensorInfo(string header, string fragment) =>
        OpenFails(RawSafetensors.Build(header, 4), fragment, "w");

    [Fact]
    public void RandomHeaderAndDataCorruption_NeverCrashes()
    {
        // Byte-level fuzzing of a valid file: every outcome must be a clean open (then all reads succeed)
        // or a CheckpointException; never another exception type or an out-of-range read.
        var good = ValidFile();
        var rng = new Random(1234);
        string path = _tmp.File("fuzz.safetensors");
        int opened = 0, rejected = 0;
        for (int iter = 0; iter < 1500; iter++)
        {
            var bytes = (byte[])good.Clone();
            int edits = rng.Next(1, 4);
            for (int e = 0; e < edits; e++)
            {
                int pos = rng.Next(0, Math.Min(bytes.Length, 8 + 200));
                bytes[pos] = rng.Next(3) switch
                {
                    0 => (byte)rng.Next(256),
                    1 => (byte)"0123456789[]{},:\"-"[rng.Next(18)],
                    _ => (byte)(bytes[pos] ^ (1 << rng.Next(8))),
                };
            }
            if (rng.Next(4) == 0) bytes = bytes[..rng.Next(bytes.Length)];
            File.WriteAllBytes(path, bytes);
            try
            {
                using var f = SafetensorsFile.Open(path);
                foreach (var v in f.Tensors)
                {
                    _ = v.ToFloat32Array();
                    _ = v.AsBytes().ToArray();
                }
                opened++;
            }
            catch (CheckpointException)
            {
                rejected++;
            }
        }
        Assert.True(rejected > 1000 && opened > 0, $"rejected {rejected}, opened {opened}");
    }

    [Fact]
    public void Checkpoint_PropagatesCorruption()
    {
        using var dir = new TempDir();
        dir.Write("model.safetensors", RawSafetensors.Build("[1]", 0));
        var ex = Assert.Throws<CheckpointException>(() => Checkpoint.Open(dir.Path));
        Assert.Contains(Path.Combine(dir.Path, "model.safetensors"), ex.Message);
        Assert.Contains("not a JSON object", ex.Message);
    }
}
