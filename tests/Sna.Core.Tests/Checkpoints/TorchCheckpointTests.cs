using System.Diagnostics;
using Sna.Runtime.Checkpoints;
using Sna.Runtime.Models;
using Sna.Tests;

namespace Sna.Core.Tests.Checkpoints;

/// <summary>
/// PyTorch zip checkpoints (<c>pytorch_model.bin</c>), written at test time from the safetensors fixtures by
/// <see cref="TorchBinWriter"/> and, when python3 is present, by Python's own pickle + zipfile: every tensor must be
/// byte-identical and the forward pass bit-identical to the safetensors load; hostile pickles, truncations and byte
/// flips must be refused with a <see cref="CheckpointException"/>.
/// </summary>
public sealed class TorchCheckpointTests
{
    public static TheoryData<string> AllFixtures => new() { "gpt2-tiny-f32", "gpt2-tiny-f16", "pythia-tiny-f32", "pythia-tiny-f16", "llama-tiny-f32", "Llama-3-tiny-bf16" };

    private static string Safetensors(string fixture) => Path.Combine(TestPaths.Fixture(fixture), "model.safetensors");

    private static void AssertSameTensors(Checkpoint expected, Checkpoint actual)
    {
        Assert.Equal(expected.Names.Order(StringComparer.Ordinal), actual.Names.Order(StringComparer.Ordinal));
        foreach (var n in expected.Names)
        {
            var a = expected.Get(n);
            var b = actual.Get(n);
            Assert.Equal(a.DType, b.DType);
            Assert.Equal(a.Shape, b.Shape);
            Assert.True(a.AsBytes().SequenceEqual(b.AsBytes()), $"tensor {n} differs");
        }
    }

    /// <summary>A model directory holding config.json, the tokenizer files and the given weight layout, no safetensors.</summary>
    private static string BinModelDir(TempDir tmp, string fixture, int shards)
    {
        string dir = Path.Combine(tmp.Path, fixture + (shards > 1 ? "-sharded" : "-bin"));
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(TestPaths.Fixture(fixture)))
            if (!Path.GetFileName(f).Contains("safetensors", StringComparison.Ordinal)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        if (shards > 1) TorchBinWriter.ShardedFromSafetensors(Safetensors(fixture), dir, shards);
        else TorchBinWriter.FromSafetensors(Safetensors(fixture), dir);
        return dir;
    }

    [SkippableTheory]
    [MemberData(nameof(AllFixtures))]
    public void SingleBin_EveryTensorByteIdentical(string fixture)
    {
        SharedData.Require();
        using var tmp = new TempDir();
        string dir = BinModelDir(tmp, fixture, 1);
        using var st = Checkpoint.Open(TestPaths.Fixture(fixture));
        using var bin = Checkpoint.Open(dir);
        Assert.True(bin.IsPyTorch);
        Assert.False(bin.IsSharded);
        AssertSameTensors(st, bin);
    }

    [SkippableTheory]
    [InlineData("gpt2-tiny-f32")]
    [InlineData("pythia-tiny-f16")]
    [InlineData("Llama-3-tiny-bf16")]
    public void ShardedBin_EveryTensorByteIdentical(string fixture)
    {
        SharedData.Require();
        using var tmp = new TempDir();
        string dir = BinModelDir(tmp, fixture, 3);
        using var st = Checkpoint.Open(TestPaths.Fixture(fixture));
        using var bin = Checkpoint.Open(dir);
        Assert.True(bin.IsPyTorch);
        Assert.True(bin.IsSharded);
        Assert.Equal(3, bin.Files.Count);
        AssertSameTensors(st, bin);
    }

    [SkippableTheory]
    [InlineData("gpt2-tiny-f32", 1)]
    [InlineData("gpt2-tiny-f16", 2)]
    [InlineData("pythia-tiny-f32", 1)]
    [InlineData("pythia-tiny-f16", 2)]
    [InlineData("llama-tiny-f32", 2)]
    [InlineData("Llama-3-tiny-bf16", 1)]
    public void ForwardPass_FromBin_IsBitIdenticalToSafetensors(string fixture, int shards)
    {
        SharedData.Require();
        using var tmp = new TempDir();
        string dir = BinModelDir(tmp, fixture, shards);
        int[] ids = [464, 3290, 318, 257, 1332, 286, 262, 1486, 13];
        using var a = ModelLoader.Load(TestPaths.Fixture(fixture));
        using var b = ModelLoader.Load(dir);
        ids = ids.Select(i => i % a.Config.VocabSize).ToArray();
        var la = a.Forward([ids], null, LogitsMode.All).Logits;
        var lb = b.Forward([ids], null, LogitsMode.All).Logits;
        Assert.Equal(la.Length, lb.Length);
        for (int i = 0; i < la.Length; i++)
            if (BitConverter.SingleToInt32Bits(la[i]) != BitConverter.SingleToInt32Bits(lb[i]))
                Assert.Fail($"logit {i}: {la[i]} (safetensors) vs {lb[i]} (.bin)");
    }

    [SkippableFact]
    public void BothFormatsPresent_SafetensorsIsPreferred()
    {
        SharedData.Require();
        using var tmp = new TempDir();
        string dir = BinModelDir(tmp, "gpt2-tiny-f32", 1);
        File.Copy(Safetensors("gpt2-tiny-f32"), Path.Combine(dir, "model.safetensors"));
        using var c = Checkpoint.Open(dir);
        Assert.False(c.IsPyTorch);
        Assert.EndsWith("model.safetensors", c.Files.Single(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void SharedStorage_TiedViews_PointAtTheSameBytes()
    {
        SharedData.Require();
        using var tmp = new TempDir();
        var tensors = TorchBinWriter.ReadSafetensors(Safetensors("gpt2-tiny-f32"));
        string path = tmp.File("tied.bin");
        TorchBinWriter.Write(path, tensors, aliases: new Dictionary<string, string> { ["lm_head.weight"] = "wte.weight" });
        using var f = TorchCheckpointFile.Open(path);
        unsafe { Assert.True(f.Get("lm_head.weight").Data == f.Get("wte.weight").Data); }
    }

    /// <summary>Python's pickle + zipfile, with stand-ins for torch's classes, write the real torch.save layout.</summary>
    private const string PythonWriter = """
        import sys, io, json, struct, pickle, zipfile, collections, types
        src, dst = sys.argv[1], sys.argv[2]
        torch = types.ModuleType('torch'); utils = types.ModuleType('torch._utils')
        def _rebuild_tensor_v2(*args): raise RuntimeError('never called')
        _rebuild_tensor_v2.__module__ = 'torch._utils'
        utils._rebuild_tensor_v2 = _rebuild_tensor_v2; torch._utils = utils
        kinds = {'F32': ('FloatStorage', 4), 'F16': ('HalfStorage', 2), 'BF16': ('BFloat16Storage', 2)}
        for name, _ in kinds.values():
            cls = type(name, (), {}); cls.__module__ = 'torch'; setattr(torch, name, cls)
        sys.modules['torch'] = torch; sys.modules['torch._utils'] = utils
        raw = open(src, 'rb').read(); n = struct.unpack('<Q', raw[:8])[0]
        header = json.loads(raw[8:8 + n]); data = raw[8 + n:]
        class Storage:
            def __init__(self, key, kind, numel, payload): self.key, self.kind, self.numel, self.payload = key, kind, numel, payload
        class Tensor:
            def __init__(self, storage, shape): self.storage, self.shape = storage, shape
            def __reduce_ex__(self, protocol):
                stride, acc = [], 1
                for d in reversed(self.shape): stride.insert(0, acc); acc *= d
                return (_rebuild_tensor_v2, (self.storage, 0, tuple(self.shape), tuple(stride), False, collections.OrderedDict()))
        class Pickler(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, Storage): return ('storage', getattr(torch, kinds[obj.kind][0]), obj.key, 'cpu', obj.numel)
                return None
        state, storages = collections.OrderedDict(), []
        items = sorted(((k, v) for k, v in header.items() if k != '__metadata__'), key=lambda kv: kv[1]['data_offsets'][0])
        for i, (name, info) in enumerate(items):
            b, e = info['data_offsets']; payload = data[b:e]
            st = Storage(str(i), info['dtype'], len(payload) // kinds[info['dtype']][1], payload)
            storages.append(st); state[name] = Tensor(st, info['shape'])
        buf = io.BytesIO(); Pickler(buf, protocol=2).dump(state)
        with zipfile.ZipFile(dst, 'w', zipfile.ZIP_STORED) as z:
            z.writestr('archive/data.pkl', buf.getvalue())
            z.writestr('archive/.format_version', '1')
            z.writestr('archive/.storage_alignment', '64')
            z.writestr('archive/byteorder', 'little')
            for st in storages: z.writestr('archive/data/' + st.key, st.payload)
            z.writestr('archive/version', '3\n')
            z.writestr('archive/.data/serialization_id', '0123456789')
        """;

    private static string? FindPython()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, "python3"))) return Path.Combine(dir, "python3");
        return null;
    }

    [SkippableTheory]
    [InlineData("gpt2-tiny-f16")]
    [InlineData("pythia-tiny-f32")]
    [InlineData("Llama-3-tiny-bf16")]
    public void PythonPickleAndZipfile_WrittenBin_LoadsByteIdentical(string fixture)
    {
        SharedData.Require();
        string? python = FindPython();
        Skip.If(python is null, "python3 is not on PATH; the Python-written torch layout is not checked");
        using var tmp = new TempDir();
        string script = tmp.Write("write_bin.py", System.Text.Encoding.UTF8.GetBytes(PythonWriter));
        string dir = Path.Combine(tmp.Path, "model");
        Directory.CreateDirectory(dir);
        var psi = new ProcessStartInfo(python!) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(Safetensors(fixture));
        psi.ArgumentList.Add(Path.Combine(dir, "pytorch_model.bin"));
        using (var p = Process.Start(psi)!)
        {
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, err);
        }
        using var st = Checkpoint.Open(TestPaths.Fixture(fixture));
        using var bin = Checkpoint.Open(dir);
        Assert.True(bin.IsPyTorch);
        AssertSameTensors(st, bin);
    }

    // ----- hostile and malformed files -------------------------------------------------------------------------------

    private static byte[] TinyTensorBytes => new byte[16];

    private static string WritePickle(TempDir tmp, byte[] pickle, bool withStorage = true)
    {
        var entries = new List<(string, byte[])> { ("archive/data.pkl", pickle) };
        if (withStorage) entries.Add(("archive/data/0", TinyTensorBytes));
        string path = tmp.File("hostile.bin");
        TorchBinWriter.WriteZip(path, entries);
        return path;
    }

    private static CheckpointException Refused(string path) => Assert.Throws<CheckpointException>(() => TorchCheckpointFile.Open(path));

    [Theory]
    [InlineData("posix", "system")]
    [InlineData("os", "system")]
    [InlineData("builtins", "eval")]
    [InlineData("subprocess", "Popen")]
    [InlineData("torch", "load")]
    [InlineData("torch._utils", "_rebuild_parameter")]
    public void HostileGlobal_IsRefusedByName_AndNothingRuns(string module, string name)
    {
        using var tmp = new TempDir();
        // The classic payload: GLOBAL module.name, ('touch /tmp/pwned',), REDUCE, as the value of a state-dict entry.
        var p = new PickleBuilder().Proto(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark()
            .Unicode("w").Global(module, name).Mark().Unicode("touch " + tmp.File("pwned")).Tuple().Reduce()
            .SetItems().Stop();
        var ex = Refused(WritePickle(tmp, p.ToArray(), withStorage: false));
        Assert.Contains($"'{module}.{name}'", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(tmp.File("pwned")));
    }

    [Fact]
    public void HostileTopLevelReduce_IsRefusedBeforeAnythingElse()
    {
        using var tmp = new TempDir();
        var p = new PickleBuilder().Proto(2).Global("os", "system").Unicode("echo hi").Op(0x85).Reduce().Stop();
        Assert.Contains("'os.system'", Refused(WritePickle(tmp, p.ToArray(), false)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StackGlobal_OfForbiddenName_IsRefused()
    {
        using var tmp = new TempDir();
        var p = new PickleBuilder().Proto(4).Op(0x8c).Op(8).Raw("builtins"u8).Op(0x8c).Op(4).Raw("exec"u8).Op(0x93).Stop();
        Assert.Contains("'builtins.exec'", Refused(WritePickle(tmp, p.ToArray(), false)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData((byte)'i')] // INST
    [InlineData((byte)'o')] // OBJ
    [InlineData((byte)0x81)] // NEWOBJ
    [InlineData((byte)'P')] // PERSID (text)
    [InlineData((byte)'S')] // STRING
    public void UnsupportedOpcode_IsRefusedByName(byte op)
    {
        using var tmp = new TempDir();
        var p = new PickleBuilder().Proto(2).Op(op).Stop();
        Assert.Contains($"opcode 0x{op:x2}", Refused(WritePickle(tmp, p.ToArray(), false)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StorageTypeCalledDirectly_IsRefused()
    {
        using var tmp = new TempDir();
        var p = new PickleBuilder().Proto(2).Global("torch", "FloatStorage").EmptyTuple().Reduce().Stop();
        Assert.Contains("'torch.FloatStorage'", Refused(WritePickle(tmp, p.ToArray(), false)).Message, StringComparison.Ordinal);
    }

    private static byte[] OneTensor(string storageType = "FloatStorage", long numel = 4, long offset = 0, int[]? shape = null, long[]? stride = null, string key = "0") =>
        new PickleBuilder().Proto(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark()
            .Unicode("w").RebuildTensor(storageType, key, numel, offset, shape ?? [2, 2], stride).SetItems().Stop().ToArray();

    [Fact]
    public void WellFormedTinyFile_Loads()
    {
        using var tmp = new TempDir();
        using var f = TorchCheckpointFile.Open(WritePickle(tmp, OneTensor()));
        Assert.Equal([2, 2], f.Get("w").Shape);
        Assert.Equal(TensorDType.F32, f.Get("w").DType);
    }

    [Theory]
    [InlineData("FloatStorage", 5, 0, "holds 16 bytes")]            // storage size differs from its entry
    [InlineData("FloatStorage", 4, 1, "lies outside its storage")]  // offset + numel beyond the storage
    [InlineData("DoubleStorage", 4, 0, "holds 16 bytes")]           // dtype changes the byte count
    [InlineData("ComplexFloatStorage", 4, 0, "'torch.ComplexFloatStorage'")]
    public void StorageMismatch_IsRefused(string type, long numel, long offset, string expected)
    {
        using var tmp = new TempDir();
        Assert.Contains(expected, Refused(WritePickle(tmp, OneTensor(type, numel, offset))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NonContiguousStride_IsRefused()
    {
        using var tmp = new TempDir();
        Assert.Contains("not contiguous", Refused(WritePickle(tmp, OneTensor(stride: [1, 2]))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingStorageEntry_IsRefused()
    {
        using var tmp = new TempDir();
        Assert.Contains("missing", Refused(WritePickle(tmp, OneTensor(key: "7"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnreferencedStorage_IsRefused()
    {
        using var tmp = new TempDir();
        string path = tmp.File("extra.bin");
        TorchBinWriter.WriteZip(path, [("archive/data.pkl", OneTensor()), ("archive/data/0", TinyTensorBytes), ("archive/data/1", new byte[8])]);
        Assert.Contains("not used by any tensor", Refused(path).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BigEndianByteOrder_IsRefused()
    {
        using var tmp = new TempDir();
        string path = tmp.File("be.bin");
        TorchBinWriter.WriteZip(path, [("archive/data.pkl", OneTensor()), ("archive/byteorder", "big"u8.ToArray()), ("archive/data/0", TinyTensorBytes)]);
        Assert.Contains("byte order is 'big'", Refused(path).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LegacyNonZipPickle_IsRefusedPlainly()
    {
        using var tmp = new TempDir();
        string path = tmp.Write("legacy.bin", OneTensor());
        Assert.Contains("not a zip archive", Refused(path).Message, StringComparison.Ordinal);
    }

    /// <summary>The fixture's small tensors (norms, biases, the smaller matrices) as one .bin of a few hundred KB.</summary>
    private static string SmallBin(TempDir tmp)
    {
        var small = TorchBinWriter.ReadSafetensors(Safetensors("gpt2-tiny-f16")).Where(t => t.Data.Length <= 20_000).ToList();
        string path = tmp.File("small.bin");
        TorchBinWriter.Write(path, small);
        return path;
    }

    [SkippableFact]
    public void EveryTruncation_IsRefused()
    {
        SharedData.Require();
        using var tmp = new TempDir();
        string good = SmallBin(tmp);
        byte[] bytes = File.ReadAllBytes(good);
        // Every length in the last 3 KB (central directory and tail), plus a spread across the file.
        var lengths = Enumerable.Range(0, 3072).Select(i => bytes.Length - 1 - i)
            .Concat(Enumerable.Range(0, 200).Select(i => (int)((long)bytes.Length * i / 200))).Where(n => n >= 0).Distinct();
        foreach (int n in lengths)
        {
            string p = tmp.Write("cut.bin", bytes[..n]);
            var ex = Record.Exception(() => TorchCheckpointFile.Open(p).Dispose());
            Assert.True(ex is CheckpointException, $"truncated to {n} of {bytes.Length} bytes: {ex?.GetType().Name ?? "loaded"}: {ex?.Message}");
        }
    }

    [SkippableFact]
    public void ByteFlips_InStructure_AreRefused_AndNeverThrowAnythingElse()
    {
        SharedData.Require();
        using var tmp = new TempDir();
        string good = SmallBin(tmp);
        byte[] bytes = File.ReadAllBytes(good);
        using var reference = TorchCheckpointFile.Open(good);
        var names = reference.Names.ToHashSet();
        // data.pkl is the first entry: flip every byte of it (after the 30-byte local header + name + padding) and of the
        // central directory + end record; each flip must be refused (CRC of data.pkl, structure checks) or, if it only
        // touched a field the reader does not use, load the same tensor names.
        int cdStart = bytes.Length - 22 - 2048;
        var positions = Enumerable.Range(0, 3072).Concat(Enumerable.Range(Math.Max(0, cdStart), bytes.Length - Math.Max(0, cdStart)));
        int refused = 0, loaded = 0;
        foreach (int i in positions.Distinct())
        {
            var copy = (byte[])bytes.Clone();
            copy[i] ^= 0x5A;
            string p = tmp.Write("flip.bin", copy);
            try
            {
                using var f = TorchCheckpointFile.Open(p);
                Assert.True(names.SetEquals(f.Names), $"flip at {i} loaded different tensors");
                loaded++;
            }
            catch (CheckpointException) { refused++; }
        }
        Assert.True(refused > 800, $"only {refused} of {refused + loaded} flips were refused");
    }
}
