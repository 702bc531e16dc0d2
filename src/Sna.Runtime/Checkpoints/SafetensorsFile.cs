using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text.Json;
using System.Text.Unicode;

namespace Sna.Runtime.Checkpoints;

/// <summary>
/// One safetensors file, memory-mapped read-only and fully validated on open.
/// <para>
/// Zero-copy: the data section is never copied into managed memory. Every <see cref="TensorView"/> (and every
/// <see cref="Sna.Runtime.Numerics.WeightMatrix"/> made from one) points straight into the mapping, so a multi-GB checkpoint
/// costs page cache, not a second copy on the managed heap. Only the JSON header is read into managed memory.
/// </para>
/// <para>
/// <see cref="Dispose"/> unmaps the file: views taken from it then throw <see cref="ObjectDisposedException"/>, and raw
/// pointers obtained earlier (<see cref="TensorView.Data"/>, <see cref="Sna.Runtime.Numerics.WeightMatrix.Data"/>) dangle.
/// Keep the file open for as long as any model built from it is in use.
/// </para>
/// <para>
/// Validation follows the safetensors reference implementation: header length ≤ 100 MB and inside the file; header
/// valid UTF-8 JSON object; <c>__metadata__</c> a string→string map; every tensor a known dtype, a shape of non-negative
/// integers, <c>data_offsets</c> [begin, end) inside the data section with end - begin = product(shape) × element size
/// (overflow-checked); and the tensors tile the data section exactly — no overlaps, no holes, no trailing bytes.
/// Any violation throws <see cref="CheckpointException"/> naming the file and the tensor. Reads after a successful open
/// never leave the mapping (unless the file is truncated on disk while mapped, which no mapping reader can prevent).
/// </para>
/// </summary>
public sealed unsafe class SafetensorsFile : ITensorFile, ITensorStorage
{
    /// <summary>Largest accepted JSON header, as in the reference implementation.</summary>
    public const long MaxHeaderLength = 100_000_000;

    private readonly MemoryMappedFile _mmf;
    private readonly MemoryMappedViewAccessor _accessor;
    private byte* _base;          // start of the file in memory; null after Dispose
    private readonly Dictionary<string, TensorEntry> _byName;
    private readonly string[] _names;
    private int _disposed;

    /// <summary>Absolute path of the file.</summary>
    public string Path { get; }

    /// <summary>File size in bytes.</summary>
    public long FileLength { get; }

    /// <summary>Length of the JSON header in bytes (the value of the 8-byte prefix).</summary>
    public long HeaderLength { get; }

    /// <summary>File offset of the data section: 8 + <see cref="HeaderLength"/>.</summary>
    public long DataOffset => 8 + HeaderLength;

    /// <summary>Length of the data section in bytes.</summary>
    public long DataLength => FileLength - DataOffset;

    /// <summary>The header's <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensor names, in data-section order.</summary>
    public IReadOnlyList<string> Names => _names;

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    private SafetensorsFile(string path, long fileLength, MemoryMappedFile mmf, MemoryMappedViewAccessor accessor, byte* basePtr)
    {
        Path = path;
        FileLength = fileLength;
        _mmf = mmf;
        _accessor = accessor;
        _base = basePtr;

        if (fileLength < 8)
            throw Error($"file is {fileLength} bytes, shorter than the 8-byte header-length prefix (truncated or not a safetensors file)");

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(basePtr, 8));
        if (n > MaxHeaderLength)
            throw Error($"header length {n} exceeds the {MaxHeaderLength}-byte (100 MB) limit (corrupt file or not a safetensors file)");
        if ((long)n > fileLength - 8)
            throw Error($"header length {n} extends beyond the end of the file ({fileLength} bytes; truncated?)");
        HeaderLength = (long)n;

        var header = new ReadOnlySpan<byte>(basePtr + 8, (int)n);
        var (metadata, entries) = ParseHeader(header);
        Metadata = metadata;

        ValidateLayout(entries);
        _byName = new Dictionary<string, TensorEntry>(entries.Count, StringComparer.Ordinal);
        foreach (var e in entries) _byName.Add(e.Name, e);
        _names = entries.Select(e => e.Name).ToArray();
    }

    /// <summary>Maps and validates a safetensors file. Throws <see cref="CheckpointException"/> if it is invalid.</summary>
    public static SafetensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = System.IO.Path.GetFullPath(path);
        if (!BitConverter.IsLittleEndian)
            throw new CheckpointException($"safetensors file '{full}': big-endian hosts are not supported (safetensors data is little-endian)", full);
        if (!File.Exists(full))
            throw new CheckpointException($"safetensors file '{full}' does not exist", full);

        FileStream? fs = null;
        MemoryMappedFile? mmf = null;
        MemoryMappedViewAccessor? accessor = null;
        bool acquired = false;
        try
        {
            try
            {
                fs = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.None);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointException($"safetensors file '{full}': cannot open: {ex.Message}", full, null, ex);
            }

            long length = fs.Length;
            if (length < 8)
                throw new CheckpointException(
                    $"safetensors file '{full}': file is {length} bytes, shorter than the 8-byte header-length prefix (truncated or not a safetensors file)", full);

            try
            {
                mmf = MemoryMappedFile.CreateFromFile(fs, mapName: null, capacity: 0, MemoryMappedFileAccess.Read,
                    HandleInheritability.None, leaveOpen: false);
                fs = null; // owned by the mapping now
                accessor = mmf.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointException($"safetensors file '{full}': cannot memory-map: {ex.Message}", full, null, ex);
            }
            byte* ptr = null;
            accessor.SafeMemoryMappedViewHandle.AcquirePointer(ref ptr);
            acquired = true;
            ptr += accessor.PointerOffset;
            return new SafetensorsFile(full, length, mmf, accessor, ptr);
        }
        catch
        {
            if (acquired) accessor!.SafeMemoryMappedViewHandle.ReleasePointer();
            accessor?.Dispose();
            mmf?.Dispose();
            fs?.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The tensor called <paramref name="name"/>; throws <see cref="CheckpointException"/> if absent.</summary>
    public TensorView Get(string name)
    {
        ThrowIfDisposed();
        if (!_byName.TryGetValue(name, out var e))
            throw new CheckpointException($"safetensors file '{Path}' has no tensor '{name}' ({_names.Length} tensors present)", Path, name);
        return new TensorView(this, e);
    }

    public bool TryGet(string name, out TensorView view)
    {
        ThrowIfDisposed();
        if (_byName.TryGetValue(name, out var e))
        {
            view = new TensorView(this, e);
            return true;
        }
        view = default;
        return false;
    }

    /// <summary>All tensors, in data-section order.</summary>
    public IEnumerable<TensorView> Tensors
    {
        get
        {
            foreach (var name in _names) yield return Get(name);
        }
    }

    byte* ITensorStorage.DataBase => DataSectionPointer;

    /// <summary>Pointer to the first byte of the data section. Valid until <see cref="Dispose"/>.</summary>
    internal byte* DataSectionPointer
    {
        get
        {
            ThrowIfDisposed();
            return _base + DataOffset;
        }
    }

    internal void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0) throw new ObjectDisposedException(nameof(SafetensorsFile), $"safetensors file '{Path}' has been closed");
    }

    /// <summary>Unmaps the file. Views and pointers taken from it become invalid.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _base = null;
        _accessor.SafeMemoryMappedViewHandle.ReleasePointer();
        _accessor.Dispose();
        _mmf.Dispose();
    }

    public override string ToString() => $"{Path} ({_names.Length} tensors, {FileLength} bytes)";

    // ---------------------------------------------------------------------------------------------------------------

    private CheckpointException Error(string problem, string? tensor = null) =>
        tensor is null
            ? new CheckpointException($"safetensors file '{Path}': {problem}", Path)
            : new CheckpointException($"safetensors file '{Path}': tensor '{tensor}': {problem}", Path, tensor);

    private (IReadOnlyDictionary<string, string> Metadata, List<TensorEntry> Entries) ParseHeader(ReadOnlySpan<byte> header)
    {
        if (!Utf8.IsValid(header))
            throw Error("header is not valid UTF-8");

        JsonDocument doc;
        try
        {
            // The header is at most 100 MB, so this copy is bounded; the data section is never copied.
            doc = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            throw Error($"header is not valid JSON ({ex.Message})");
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Error($"header is not a JSON object (found {KindName(root.ValueKind)})");

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<TensorEntry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in root.EnumerateObject())
            {
                string name = prop.Name;
                if (!seen.Add(name))
                    throw Error(name == "__metadata__" ? "header has more than one __metadata__ entry" : "tensor name appears more than once in the header", name == "__metadata__" ? null : name);

                if (name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object)
                        throw Error($"__metadata__ must be a JSON object of strings (found {KindName(prop.Value.ValueKind)})");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw Error($"__metadata__ value for key '{m.Name}' must be a string (found {KindName(m.Value.ValueKind)})");
                        if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
                            throw Error($"__metadata__ key '{m.Name}' appears more than once");
                    }
                    continue;
                }

                entries.Add(ParseTensor(name, prop.Value));
            }
            return (metadata, entries);
        }
    }

    private TensorEntry ParseTensor(string name, JsonElement info)
    {
        if (info.ValueKind != JsonValueKind.Object)
            throw Error($"tensor info must be a JSON object (found {KindName(info.ValueKind)})", name);

        if (!info.TryGetProperty("dtype", out var dtypeEl))
            throw Error("missing \"dtype\"", name);
        if (dtypeEl.ValueKind != JsonValueKind.String)
            throw Error($"\"dtype\" must be a string (found {KindName(dtypeEl.ValueKind)})", name);
        string dtypeName = dtypeEl.GetString()!;
        if (!TensorDTypeExtensions.TryParseSafetensorsName(dtypeName, out var dtype))
            throw Error($"unknown or unsupported dtype '{dtypeName}' (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)", name);

        if (!info.TryGetProperty("shape", out var shapeEl))
            throw Error("missing \"shape\"", name);
        if (shapeEl.ValueKind != JsonValueKind.Array)
            throw Error($"\"shape\" must be a list of non-negative integers (found {KindName(shapeEl.ValueKind)})", name);
        var shape = new int[shapeEl.GetArrayLength()];
        int i = 0;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0)
                throw Error($"\"shape\" must be a list of non-negative integers (element {i} is {d.GetRawText()})", name);
            if (dim > int.MaxValue)
                throw Error($"shape dimension {dim} exceeds the supported maximum {int.MaxValue}", name);
            shape[i++] = (int)dim;
        }

        if (!info.TryGetProperty("data_offsets", out var offEl))
            throw Error("missing \"data_offsets\"", name);
        if (offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw Error($"\"data_offsets\" must be a list of two integers [begin, end] (found {Truncate(offEl.GetRawText())})", name);
        long begin = ParseOffset(name, offEl[0], "begin");
        long end = ParseOffset(name, offEl[1], "end");
        if (end < begin)
            throw Error($"data_offsets [{begin}, {end}] are reversed (end < begin)", name);
        if (end > DataLength)
            throw Error($"data_offsets [{begin}, {end}] extend beyond the end of the data section ({DataLength} bytes; file truncated?)", name);

        long expected;
        try
        {
            expected = 1;
            foreach (int dim in shape) expected = checked(expected * dim);
            expected = checked(expected * dtype.ElementSize());
        }
        catch (OverflowException)
        {
            throw Error($"shape {FormatShape(shape)} x {dtype.ElementSize()} bytes per {dtypeName} element overflows a 64-bit byte count", name);
        }
        if (expected != end - begin)
            throw Error($"byte length {end - begin} (data_offsets [{begin}, {end}]) does not match shape {FormatShape(shape)} of {dtypeName}, which needs {expected} bytes", name);

        return new TensorEntry(name, dtype, shape, begin, end);
    }

    private long ParseOffset(string name, JsonElement el, string which)
    {
        if (el.ValueKind != JsonValueKind.Number)
            throw Error($"data_offsets {which} must be an integer (found {Truncate(el.GetRawText())})", name);
        if (!el.TryGetInt64(out long v))
        {
            // A number that is not an int64: negative/positive out of range, or fractional.
            throw Error($"data_offsets {which} {Truncate(el.GetRawText())} is not a valid byte offset (must be a non-negative integer)", name);
        }
        if (v < 0)
            throw Error($"data_offsets {which} {v} is negative", name);
        return v;
    }

    private void ValidateLayout(List<TensorEntry> entries)
    {
        // Like the reference implementation: sort by (begin, end) and require the tensors to tile the data
        // section exactly. Overlaps would alias tensors; holes/trailing bytes allow polyglot files.
        var sorted = entries.ToArray();
        Array.Sort(sorted, static (a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long cursor = 0;
        TensorEntry? prev = null;
        foreach (var e in sorted)
        {
            if (e.Begin < cursor)
                throw Error($"data_offsets [{e.Begin}, {e.End}] overlap tensor '{prev!.Name}' at [{prev.Begin}, {prev.End}]", e.Name);
            if (e.Begin > cursor)
                throw Error($"data_offsets [{e.Begin}, {e.End}] leave a hole: data-section bytes [{cursor}, {e.Begin}) belong to no tensor", e.Name);
            cursor = e.End;
            prev = e;
        }
        if (cursor != DataLength)
            throw Error($"data section is {DataLength} bytes but the tensors cover only {cursor}; {DataLength - cursor} trailing bytes belong to no tensor");
        entries.Clear();
        entries.AddRange(sorted);
    }

    internal static string FormatShape(ReadOnlySpan<int> shape) => "[" + string.Join(",", shape.ToArray()) + "]";

    private static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    private static string Truncate(string s) => s.Length <= 80 ? s : s[..77] + "...";
}

/// <summary>Parsed, validated header entry of one tensor. Offsets are relative to the data section.</summary>
internal sealed class TensorEntry(string name, TensorDType dtype, int[] shape, long begin, long end)
{
    public string Name { get; } = name;
    public TensorDType DType { get; } = dtype;
    public int[] Shape { get; } = shape;
    public long Begin { get; } = begin;
    public long End { get; } = end;
    public long ByteLength => End - Begin;
    public long ElementCount => ByteLength / DType.ElementSize();
}
