using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Sna.Runtime.Checkpoints;

namespace Sna.Tests;

/// <summary>
/// Writes PyTorch zip checkpoints (<c>torch.save</c>'s layout: <c>{archive}/data.pkl</c> as a protocol-2 pickle of an
/// OrderedDict of <c>torch._utils._rebuild_tensor_v2</c> calls with persistent-id storages, <c>{archive}/data/{key}</c>
/// stored and 64-byte aligned, <c>byteorder</c>, <c>version</c>) from safetensors files, for tests. Test-only: the
/// product never writes <c>.bin</c> files. Also exposes the pickle and zip builders so tests can craft hostile files.
/// </summary>
public static class TorchBinWriter
{
    public sealed record Entry(string Name, TensorDType DType, int[] Shape, byte[] Data);

    /// <summary>Tensors of a safetensors file, in file order, with their raw bytes.</summary>
    public static List<Entry> ReadSafetensors(string path)
    {
        using var f = SafetensorsFile.Open(path);
        return f.Names.Select(n => { var v = f.Get(n); return new Entry(n, v.DType, v.Shape, v.AsBytes().ToArray()); }).ToList();
    }

    public static string StorageType(TensorDType d) => d switch
    {
        TensorDType.F32 => "FloatStorage",
        TensorDType.F16 => "HalfStorage",
        TensorDType.BF16 => "BFloat16Storage",
        TensorDType.F64 => "DoubleStorage",
        TensorDType.I64 => "LongStorage",
        TensorDType.I32 => "IntStorage",
        TensorDType.I16 => "ShortStorage",
        TensorDType.I8 => "CharStorage",
        TensorDType.U8 => "ByteStorage",
        TensorDType.BOOL => "BoolStorage",
        _ => throw new ArgumentOutOfRangeException(nameof(d)),
    };

    /// <summary>Writes <paramref name="tensors"/> as one <c>.bin</c>. <paramref name="aliases"/>: extra names viewing an existing tensor's storage (tied weights).</summary>
    public static void Write(string path, IReadOnlyList<Entry> tensors, string archive = "archive", IReadOnlyDictionary<string, string>? aliases = null)
    {
        var p = new PickleBuilder();
        p.Proto(2).Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark();
        var files = new List<(string, byte[])>();
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            p.Unicode(t.Name);
            p.RebuildTensor(StorageType(t.DType), i.ToString(System.Globalization.CultureInfo.InvariantCulture), t.Data.Length / t.DType.ElementSize(), 0, t.Shape);
        }
        if (aliases is not null)
            foreach (var (alias, target) in aliases)
            {
                int i = tensors.ToList().FindIndex(t => t.Name == target);
                var t = tensors[i];
                p.Unicode(alias);
                p.RebuildTensor(StorageType(t.DType), i.ToString(System.Globalization.CultureInfo.InvariantCulture), t.Data.Length / t.DType.ElementSize(), 0, t.Shape);
            }
        p.SetItems().Stop();
        files.Add(($"{archive}/data.pkl", p.ToArray()));
        files.Add(($"{archive}/byteorder", "little"u8.ToArray()));
        for (int i = 0; i < tensors.Count; i++) files.Add(($"{archive}/data/{i}", tensors[i].Data));
        files.Add(($"{archive}/version", "3\n"u8.ToArray()));
        WriteZip(path, files);
    }

    /// <summary><c>pytorch_model.bin</c> in <paramref name="dir"/> from a safetensors file.</summary>
    public static string FromSafetensors(string safetensors, string dir)
    {
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, Checkpoint.TorchFileName);
        Write(path, ReadSafetensors(safetensors), "pytorch_model");
        return path;
    }

    /// <summary><c>pytorch_model-0000i-of-0000n.bin</c> shards plus <c>pytorch_model.bin.index.json</c> in <paramref name="dir"/>.</summary>
    public static IReadOnlyList<string> ShardedFromSafetensors(string safetensors, string dir, int shards)
    {
        Directory.CreateDirectory(dir);
        var all = ReadSafetensors(safetensors);
        var map = new Dictionary<string, string>();
        var names = new List<string>();
        long total = 0;
        for (int s = 0; s < shards; s++)
        {
            string name = $"pytorch_model-{s + 1:00000}-of-{shards:00000}.bin";
            var part = all.Where((_, i) => i % shards == s).ToList();
            Write(Path.Combine(dir, name), part, $"pytorch_model-{s + 1:00000}-of-{shards:00000}");
            foreach (var t in part) { map[t.Name] = name; total += t.Data.Length; }
            names.Add(name);
        }
        File.WriteAllText(Path.Combine(dir, Checkpoint.TorchIndexFileName),
            JsonSerializer.Serialize(new { metadata = new { total_size = total }, weight_map = map }));
        return names;
    }

    /// <summary>A zip of stored entries, each entry's data 64-byte aligned (torch pads the local extra field).</summary>
    public static void WriteZip(string path, IReadOnlyList<(string Name, byte[] Data)> entries)
    {
        using var ms = new MemoryStream();
        var central = new MemoryStream();
        foreach (var (name, data) in entries)
        {
            byte[] n = Encoding.UTF8.GetBytes(name);
            long local = ms.Position;
            int pad = (int)((64 - (local + 30 + n.Length + 4) % 64) % 64);
            uint crc = Crc32(data);
            var lh = new byte[30];
            BinaryPrimitives.WriteUInt32LittleEndian(lh, 0x04034b50);
            BinaryPrimitives.WriteUInt16LittleEndian(lh.AsSpan(4), 20);
            BinaryPrimitives.WriteUInt32LittleEndian(lh.AsSpan(14), crc);
            BinaryPrimitives.WriteUInt32LittleEndian(lh.AsSpan(18), (uint)data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(lh.AsSpan(22), (uint)data.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(lh.AsSpan(26), (ushort)n.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(lh.AsSpan(28), (ushort)(4 + pad));
            ms.Write(lh); ms.Write(n);
            var extra = new byte[4 + pad];
            BinaryPrimitives.WriteUInt16LittleEndian(extra, 0x4246); // "FB", torch's padding field
            BinaryPrimitives.WriteUInt16LittleEndian(extra.AsSpan(2), (ushort)pad);
            ms.Write(extra);
            ms.Write(data);
            var ch = new byte[46];
            BinaryPrimitives.WriteUInt32LittleEndian(ch, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(ch.AsSpan(4), 20);
            BinaryPrimitives.WriteUInt16LittleEndian(ch.AsSpan(6), 20);
            BinaryPrimitives.WriteUInt32LittleEndian(ch.AsSpan(16), crc);
            BinaryPrimitives.WriteUInt32LittleEndian(ch.AsSpan(20), (uint)data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(ch.AsSpan(24), (uint)data.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(ch.AsSpan(28), (ushort)n.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(ch.AsSpan(42), (uint)local);
            central.Write(ch); central.Write(n);
        }
        long cdOffset = ms.Position;
        central.Position = 0;
        central.CopyTo(ms);
        var eocd = new byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(eocd, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(eocd.AsSpan(8), (ushort)entries.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(eocd.AsSpan(10), (ushort)entries.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(eocd.AsSpan(12), (uint)central.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(eocd.AsSpan(16), (uint)cdOffset);
        ms.Write(eocd);
        File.WriteAllBytes(path, ms.ToArray());
    }

    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        return c ^ 0xFFFFFFFFu;
    }
}

/// <summary>Emits pickle opcodes (protocol 2) one by one, for writing checkpoints and crafting hostile ones.</summary>
public sealed class PickleBuilder
{
    private readonly MemoryStream _s = new();

    public PickleBuilder Op(byte op) { _s.WriteByte(op); return this; }
    public PickleBuilder Raw(ReadOnlySpan<byte> b) { _s.Write(b); return this; }
    public PickleBuilder Proto(int v) => Op(0x80).Op((byte)v);
    public PickleBuilder Mark() => Op((byte)'(');
    public PickleBuilder EmptyTuple() => Op((byte)')');
    public PickleBuilder EmptyDict() => Op((byte)'}');
    public PickleBuilder Tuple() => Op((byte)'t');
    public PickleBuilder Reduce() => Op((byte)'R');
    public PickleBuilder SetItems() => Op((byte)'u');
    public PickleBuilder Stop() => Op((byte)'.');
    public PickleBuilder False() => Op(0x89);
    public PickleBuilder BinPersId() => Op((byte)'Q');
    public PickleBuilder Global(string module, string name) => Op((byte)'c').Raw(Encoding.ASCII.GetBytes(module + "\n" + name + "\n"));

    public PickleBuilder Unicode(string s)
    {
        byte[] b = Encoding.UTF8.GetBytes(s);
        Op((byte)'X');
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(n, (uint)b.Length);
        return Raw(n).Raw(b);
    }

    public PickleBuilder Int(long v)
    {
        if (v is >= 0 and < 256) return Op((byte)'K').Op((byte)v);
        if (v is >= int.MinValue and <= int.MaxValue)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)v);
            return Op((byte)'J').Raw(b);
        }
        Span<byte> l = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(l, v);
        return Op(0x8a).Op(8).Raw(l);
    }

    public PickleBuilder IntTuple(IEnumerable<long> values)
    {
        Mark();
        foreach (var v in values) Int(v);
        return Tuple();
    }

    /// <summary><c>_rebuild_tensor_v2(persistent ('storage', torch.T, key, 'cpu', numel), offset, size, stride, False, OrderedDict())</c>, contiguous strides unless given.</summary>
    public PickleBuilder RebuildTensor(string storageType, string key, long numel, long offset, int[] shape, long[]? stride = null)
    {
        if (stride is null)
        {
            stride = new long[shape.Length];
            long acc = 1;
            for (int i = shape.Length - 1; i >= 0; i--) { stride[i] = acc; acc *= shape[i]; }
        }
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Mark().Unicode("storage").Global("torch", storageType).Unicode(key).Unicode("cpu").Int(numel).Tuple().BinPersId();
        Int(offset).IntTuple(shape.Select(d => (long)d)).IntTuple(stride).False();
        Global("collections", "OrderedDict").EmptyTuple().Reduce();
        return Tuple().Reduce();
    }

    public byte[] ToArray() => _s.ToArray();
}
