using System.IO.MemoryMappedFiles;
using System.Text;

namespace Sna.Runtime.Checkpoints;

/// <summary>
/// A PyTorch checkpoint (<c>pytorch_model.bin</c>, <c>torch.save</c>'s zip format), memory-mapped read-only and
/// validated as strictly as <see cref="SafetensorsFile"/>, without executing anything.
/// <para>
/// Layout: a zip archive of stored entries under one top folder (<c>{archive}/data.pkl</c>, <c>{archive}/data/{key}</c>
/// per storage, optional <c>byteorder</c> and <c>version</c>). <c>data.pkl</c> is read by <see cref="RestrictedUnpickler"/>,
/// which accepts a (possibly ordered) dict of name → <c>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)</c>
/// and nothing else. Each tensor is then a zero-copy view into its storage's bytes in the mapping.
/// </para>
/// <para>
/// Checks: the zip structure (see <see cref="StoredZip"/>), the CRC-32 of <c>data.pkl</c>; byte order little-endian;
/// every storage a known <c>torch.*Storage</c> type whose <c>data/{key}</c> entry exists and holds exactly
/// numel × element size bytes, with one type per key; every tensor's size and stride non-negative and row-major
/// contiguous (strides of size-1 dimensions are free, as in <c>Tensor.is_contiguous</c>), its offset and extent
/// inside its storage (overflow-checked); no storage entry left unreferenced; tensor names unique strings.
/// Tensors may share a storage (tied weights). The storages' own bytes are not checksummed (as with safetensors,
/// <see cref="Checkpoint.ContentHash"/> identifies the content).
/// </para>
/// </summary>
public sealed unsafe class TorchCheckpointFile : ITensorFile, ITensorStorage
{
    private readonly MemoryMappedFile _mmf;
    private readonly MemoryMappedViewAccessor _accessor;
    private byte* _base;
    private readonly Dictionary<string, TensorEntry> _byName;
    private readonly string[] _names;
    private int _disposed;

    public string Path { get; }

    public long FileLength { get; }

    /// <summary>The archive's top folder (torch uses the file's stem, e.g. <c>archive</c> or <c>pytorch_model</c>).</summary>
    public string ArchiveName { get; }

    public IReadOnlyList<string> Names => _names;

    public IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();

    private TorchCheckpointFile(string path, long length, MemoryMappedFile mmf, MemoryMappedViewAccessor accessor, byte* basePtr)
    {
        Path = path;
        FileLength = length;
        _mmf = mmf;
        _accessor = accessor;
        _base = basePtr;
        (ArchiveName, var entries) = Parse();
        _byName = new Dictionary<string, TensorEntry>(entries.Count, StringComparer.Ordinal);
        foreach (var e in entries) _byName.Add(e.Name, e);
        _names = entries.Select(e => e.Name).ToArray();
    }

    /// <summary>True when the file starts like a zip archive (<c>PK\x03\x04</c>).</summary>
    public static bool LooksLikeZip(ReadOnlySpan<byte> head) => head.Length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;

    /// <summary>Maps and validates a PyTorch zip checkpoint. Throws <see cref="CheckpointException"/> if it is invalid or unsafe.</summary>
    public static TorchCheckpointFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = System.IO.Path.GetFullPath(path);
        if (!BitConverter.IsLittleEndian)
            throw new CheckpointException($"PyTorch checkpoint '{full}': big-endian hosts are not supported", full);
        if (!File.Exists(full)) throw new CheckpointException($"PyTorch checkpoint '{full}' does not exist", full);
        FileStream? fs = null;
        MemoryMappedFile? mmf = null;
        MemoryMappedViewAccessor? accessor = null;
        bool acquired = false;
        try
        {
            try { fs = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointException($"PyTorch checkpoint '{full}': cannot open: {ex.Message}", full, null, ex);
            }
            long length = fs.Length;
            Span<byte> head = stackalloc byte[4];
            int got = fs.Read(head);
            if (got < 4 || !LooksLikeZip(head))
                throw new CheckpointException(
                    $"PyTorch checkpoint '{full}' is not a zip archive: only the zip format of torch.save (PyTorch 1.6 and later) is read; " +
                    "legacy tar/raw-pickle checkpoints are refused (re-save with a recent torch, or convert to safetensors)", full);
            try
            {
                mmf = MemoryMappedFile.CreateFromFile(fs, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
                fs = null;
                accessor = mmf.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointException($"PyTorch checkpoint '{full}': cannot memory-map: {ex.Message}", full, null, ex);
            }
            byte* ptr = null;
            accessor.SafeMemoryMappedViewHandle.AcquirePointer(ref ptr);
            acquired = true;
            ptr += accessor.PointerOffset;
            return new TorchCheckpointFile(full, length, mmf, accessor, ptr);
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

    private CheckpointException Error(string problem, string? tensor = null) =>
        tensor is null
            ? new CheckpointException($"PyTorch checkpoint '{Path}': {problem}", Path)
            : new CheckpointException($"PyTorch checkpoint '{Path}': tensor '{tensor}': {problem}", Path, tensor);

    private (string Archive, List<TensorEntry> Entries) Parse()
    {
        var zip = StoredZip.ReadEntries(_base, FileLength, Path);
        var pkl = zip.Where(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal) && e.Name.IndexOf('/') == e.Name.Length - "/data.pkl".Length).ToList();
        if (pkl.Count != 1)
            throw Error(pkl.Count == 0 ? "no {archive}/data.pkl entry (not a torch.save zip checkpoint)" : "more than one data.pkl entry");
        string archive = pkl[0].Name[..^"/data.pkl".Length];
        string prefix = archive + "/";
        var byName = new Dictionary<string, StoredZipEntry>(StringComparer.Ordinal);
        foreach (var e in zip)
        {
            if (!e.Name.StartsWith(prefix, StringComparison.Ordinal))
                throw Error($"zip entry '{e.Name}' is outside the archive folder '{archive}/'");
            byName[e.Name[prefix.Length..]] = e;
        }

        if (byName.TryGetValue("byteorder", out var bo))
        {
            string order = Encoding.ASCII.GetString(Span(bo)).Trim();
            if (order != "little") throw Error($"byte order is '{order}'; only little-endian checkpoints are supported");
        }

        if (pkl[0].Length > 1L << 30) throw Error($"data.pkl is {pkl[0].Length} bytes, more than a state dict needs");
        byte[] pickle = Span(pkl[0]).ToArray();
        if (StoredZip.Crc32(pickle) != pkl[0].Crc32) throw Error("data.pkl fails its CRC-32 check (corrupt file)");
        object? root = RestrictedUnpickler.Load(pickle, Path);
        if (root is not PickleDict dict)
            throw Error("data.pkl is not a state dict (a dict of name → tensor); nested checkpoints ({'state_dict': …}, optimizer states) are not supported");

        var storages = new Dictionary<string, PickleStorage>(StringComparer.Ordinal);
        var entries = new List<TensorEntry>(dict.Items.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (k, v) in dict.Items)
        {
            if (k is not string name) throw Error("state dict has a key that is not a string");
            if (!seen.Add(name)) throw Error("tensor name appears more than once", name);
            if (v is not PickleTensor t) throw Error("value is not a tensor (only tensors are accepted in a state dict)", name);
            entries.Add(Validate(name, t, byName, storages));
        }
        foreach (var key in byName.Keys.Where(n => n.StartsWith("data/", StringComparison.Ordinal)))
            if (!storages.ContainsKey(key["data/".Length..]))
                throw Error($"storage entry '{prefix}{key}' is not used by any tensor");
        return (archive, entries);
    }

    private TensorEntry Validate(string name, PickleTensor t, Dictionary<string, StoredZipEntry> zip, Dictionary<string, PickleStorage> storages)
    {
        var s = t.Storage;
        if (storages.TryGetValue(s.Key, out var prior))
        {
            if (prior.DType != s.DType || prior.Numel != s.Numel)
                throw Error($"storage '{s.Key}' is declared as {prior.TypeName}[{prior.Numel}] and as {s.TypeName}[{s.Numel}]", name);
        }
        else storages[s.Key] = s;
        if (!zip.TryGetValue("data/" + s.Key, out var entry))
            throw Error($"its storage data/{s.Key} is missing from the archive (truncated?)", name);
        int es = s.DType.ElementSize();
        long storageBytes;
        try { storageBytes = checked(s.Numel * es); }
        catch (OverflowException) { throw Error($"storage data/{s.Key} size overflows", name); }
        if (entry.Length != storageBytes)
            throw Error($"storage data/{s.Key} holds {entry.Length} bytes, but {s.TypeName} of {s.Numel} elements needs {storageBytes}", name);

        var shape = new int[t.Size.Length];
        long numel = 1;
        try
        {
            for (int i = 0; i < t.Size.Length; i++)
            {
                if (t.Size[i] < 0 || t.Size[i] > int.MaxValue) throw Error($"size {Fmt(t.Size)} has an invalid dimension", name);
                shape[i] = (int)t.Size[i];
                numel = checked(numel * t.Size[i]);
            }
        }
        catch (OverflowException) { throw Error($"size {Fmt(t.Size)} overflows", name); }
        if (t.Stride.Length != t.Size.Length) throw Error($"stride {Fmt(t.Stride)} does not match size {Fmt(t.Size)}", name);
        long expect = 1;
        for (int i = t.Size.Length - 1; i >= 0; i--)
        {
            if (t.Size[i] != 1 && t.Stride[i] != expect && numel != 0)
                throw Error($"stride {Fmt(t.Stride)} for size {Fmt(t.Size)} is not contiguous (row-major); only contiguous tensors are supported", name);
            if (t.Stride[i] < 0) throw Error($"stride {Fmt(t.Stride)} is negative", name);
            expect *= Math.Max(1, t.Size[i]);
        }
        if (t.Offset < 0 || t.Offset > s.Numel || numel > s.Numel - t.Offset)
            throw Error($"offset {t.Offset} + {numel} elements lies outside its storage data/{s.Key} of {s.Numel} elements", name);
        long begin = entry.DataOffset + t.Offset * es;
        return new TensorEntry(name, s.DType, shape, begin, begin + numel * es);
    }

    private static string Fmt(long[] v) => "(" + string.Join(", ", v) + ")";

    private ReadOnlySpan<byte> Span(StoredZipEntry e) => new(_base + e.DataOffset, checked((int)e.Length));

    public bool Contains(string name) => _byName.ContainsKey(name);

    public TensorView Get(string name)
    {
        ThrowIfDisposed();
        if (!_byName.TryGetValue(name, out var e))
            throw new CheckpointException($"PyTorch checkpoint '{Path}' has no tensor '{name}' ({_names.Length} tensors present)", Path, name);
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

    byte* ITensorStorage.DataBase
    {
        get
        {
            ThrowIfDisposed();
            return _base;
        }
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0) throw new ObjectDisposedException(nameof(TorchCheckpointFile), $"PyTorch checkpoint '{Path}' has been closed");
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _base = null;
        _accessor.SafeMemoryMappedViewHandle.ReleasePointer();
        _accessor.Dispose();
        _mmf.Dispose();
    }

    public override string ToString() => $"{Path} ({_names.Length} tensors, {FileLength} bytes)";
}
