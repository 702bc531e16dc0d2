using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Sna.Core.Tests.Checkpoints;

/// <summary>
/// An independent, deliberately naive safetensors reader for cross-checking: reads the whole file with a FileStream,
/// finds the tensor's offsets in the header and decodes elements one at a time with BinaryPrimitives.
/// </summary>
internal sealed class NaiveSafetensors
{
    public sealed record Info(string DType, long[] Shape, long Begin, long End);

    public byte[] Bytes { get; }
    public long DataStart { get; }
    public Dictionary<string, Info> Tensors { get; } = new(StringComparer.Ordinal);

    public NaiveSafetensors(string path)
    {
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read))
        {
            Bytes = new byte[fs.Length];
            int read = 0;
            while (read < Bytes.Length)
            {
                int r = fs.Read(Bytes, read, Bytes.Length - read);
                if (r == 0) throw new EndOfStreamException();
                read += r;
            }
        }
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan(0, 8));
        DataStart = 8 + n;
        using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(Bytes, 8, (int)n));
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__") continue;
            var offs = p.Value.GetProperty("data_offsets");
            Tensors[p.Name] = new Info(
                p.Value.GetProperty("dtype").GetString()!,
                p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                offs[0].GetInt64(), offs[1].GetInt64());
        }
    }

    /// <summary>Element <paramref name="index"/> of the flattened tensor, decoded to float.</summary>
    public float Element(string name, long index)
    {
        var t = Tensors[name];
        long at = DataStart + t.Begin;
        switch (t.DType)
        {
            case "F32": return BinaryPrimitives.ReadSingleLittleEndian(Bytes.AsSpan(checked((int)(at + index * 4)), 4));
            case "F16": return (float)BinaryPrimitives.ReadHalfLittleEndian(Bytes.AsSpan(checked((int)(at + index * 2)), 2));
            case "BF16":
                ushort bits = BinaryPrimitives.ReadUInt16LittleEndian(Bytes.AsSpan(checked((int)(at + index * 2)), 2));
                return BitConverter.UInt32BitsToSingle((uint)bits << 16);
            case "F64": return (float)BinaryPrimitives.ReadDoubleLittleEndian(Bytes.AsSpan(checked((int)(at + index * 8)), 8));
            default: throw new NotSupportedException(t.DType);
        }
    }
}

/// <summary>Builds raw (possibly invalid) safetensors bytes: 8-byte length prefix + header text + data.</summary>
internal static class RawSafetensors
{
    public static byte[] Build(string header, int dataBytes, ulong? headerLengthOverride = null)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        return Build(h, dataBytes, headerLengthOverride);
    }

    public static byte[] Build(byte[] header, int dataBytes, ulong? headerLengthOverride = null)
    {
        var bytes = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLengthOverride ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        for (int i = 0; i < dataBytes; i++) bytes[8 + header.Length + i] = (byte)(i * 7 + 1);
        return bytes;
    }
}
