using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Sna.Runtime.Checkpoints;

/// <summary>
/// Builds a safetensors file. Layout follows the reference implementation: tensors sorted by descending element size
/// (so every tensor is aligned to its element size), then by name; header JSON padded with spaces to a multiple of
/// 8 bytes so the data section starts 8-byte aligned; tensors packed back to back.
/// <para>
/// <see cref="Add(string, TensorDType, int[], ReadOnlySpan{byte})"/> copies the bytes. The float32 overload captures the
/// array without copying (convenient for large synthetic models); it is converted when the file is written, so do not
/// modify it before <see cref="Save"/>/<see cref="WriteTo"/>.
/// </para>
/// </summary>
public sealed class SafetensorsWriter
{
    private sealed record Pending(string Name, TensorDType DType, int[] Shape, long ByteLength, byte[]? Bytes, float[]? Floats);

    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);
    private readonly List<Pending> _tensors = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public int Count => _tensors.Count;

    /// <summary>Adds a <c>__metadata__</c> entry (e.g. "format" → "pt").</summary>
    public SafetensorsWriter AddMetadata(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        _metadata[key] = value;
        return this;
    }

    /// <summary>Adds a tensor from its raw little-endian bytes (copied).</summary>
    public SafetensorsWriter Add(string name, TensorDType dtype, int[] shape, ReadOnlySpan<byte> data)
    {
        long bytes = CheckAndSize(name, dtype, shape);
        if (data.Length != bytes)
            throw new ArgumentException($"tensor '{name}': shape {SafetensorsFile.FormatShape(shape)} of {dtype.ToSafetensorsName()} needs {bytes} bytes, got {data.Length}", nameof(data));
        _tensors.Add(new Pending(name, dtype, (int[])shape.Clone(), bytes, data.ToArray(), null));
        _names.Add(name);
        return this;
    }

    /// <summary>
    /// Adds a tensor from float32 values, stored as <paramref name="storeAs"/> (F32, F16 or BF16; F16/BF16 round to
    /// nearest even). The array is captured, not copied.
    /// </summary>
    public SafetensorsWriter Add(string name, int[] shape, float[] data, TensorDType storeAs = TensorDType.F32)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!storeAs.IsWeightType())
            throw new ArgumentException($"tensor '{name}': float data can be stored as F32, F16 or BF16, not {storeAs.ToSafetensorsName()}", nameof(storeAs));
        long bytes = CheckAndSize(name, storeAs, shape);
        if (data.LongLength * storeAs.ElementSize() != bytes)
            throw new ArgumentException($"tensor '{name}': shape {SafetensorsFile.FormatShape(shape)} needs {bytes / storeAs.ElementSize()} elements, got {data.Length}", nameof(data));
        _tensors.Add(new Pending(name, storeAs, (int[])shape.Clone(), bytes, null, data));
        _names.Add(name);
        return this;
    }

    private long CheckAndSize(string name, TensorDType dtype, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved and cannot be a tensor name", nameof(name));
        if (_names.Contains(name)) throw new ArgumentException($"tensor '{name}' was already added", nameof(name));
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"tensor '{name}': negative dimension in shape {SafetensorsFile.FormatShape(shape)}", nameof(shape));
            count = checked(count * d);
        }
        return checked(count * dtype.ElementSize());
    }

    /// <summary>Writes the file (overwriting).</summary>
    public void Save(string path)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
        WriteTo(fs);
    }

    /// <summary>The whole file as a byte array (small files: tests).</summary>
    public byte[] ToArray()
    {
        using var ms = new MemoryStream();
        WriteTo(ms);
        return ms.ToArray();
    }

    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var ordered = _tensors
            .OrderByDescending(t => t.DType.ElementSize())
            .ThenBy(t => t.Name, StringComparer.Ordinal)
            .ToList();

        byte[] header = BuildHeader(ordered, _metadata);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);

        byte[] buffer = new byte[1 << 20];
        foreach (var t in ordered)
        {
            if (t.Bytes is not null)
            {
                stream.Write(t.Bytes);
                continue;
            }
            // float32 source, converted in chunks.
            var src = t.Floats!;
            int es = t.DType.ElementSize();
            int chunk = buffer.Length / es;
            for (int off = 0; off < src.Length; off += chunk)
            {
                int n = Math.Min(chunk, src.Length - off);
                var s = src.AsSpan(off, n);
                var dst = buffer.AsSpan(0, n * es);
                switch (t.DType)
                {
                    case TensorDType.F32:
                        MemoryMarshal.AsBytes(s).CopyTo(dst);
                        break;
                    case TensorDType.F16:
                        System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(s, MemoryMarshal.Cast<byte, Half>(dst));
                        break;
                    case TensorDType.BF16:
                        var d16 = MemoryMarshal.Cast<byte, ushort>(dst);
                        for (int i = 0; i < n; i++) d16[i] = SingleToBf16(s[i]);
                        break;
                }
                stream.Write(dst);
            }
        }
        stream.Flush();
    }

    internal static byte[] BuildHeader(IReadOnlyList<(string Name, TensorDType DType, int[] Shape, long Begin, long End)> entries,
        IReadOnlyDictionary<string, string> metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata.Count > 0)
            {
                w.WriteStartObject("__metadata__");
                foreach (var kv in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(kv.Key, kv.Value);
                w.WriteEndObject();
            }
            foreach (var e in entries)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", e.DType.ToSafetensorsName());
                w.WriteStartArray("shape");
                foreach (int d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(e.Begin);
                w.WriteNumberValue(e.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - ms.Length % 8) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    private static byte[] BuildHeader(List<Pending> ordered, IReadOnlyDictionary<string, string> metadata)
    {
        var entries = new List<(string, TensorDType, int[], long, long)>(ordered.Count);
        long offset = 0;
        foreach (var t in ordered)
        {
            entries.Add((t.Name, t.DType, t.Shape, offset, offset + t.ByteLength));
            offset += t.ByteLength;
        }
        return BuildHeader(entries, metadata);
    }

    /// <summary>float32 → bfloat16 bits, round to nearest even; NaN stays NaN (quiet).</summary>
    public static ushort SingleToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) return (ushort)((bits >> 16) | 0x0040);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }
}
