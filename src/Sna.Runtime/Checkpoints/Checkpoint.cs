using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Sna.Runtime.Checkpoints;

/// <summary>
/// A Hugging Face checkpoint directory: <c>model.safetensors</c>, or the sharded layout
/// <c>model.safetensors.index.json</c> + shards; else PyTorch's <c>pytorch_model.bin</c> or
/// <c>pytorch_model.bin.index.json</c> + shards (safetensors is preferred when both exist). Every file is
/// memory-mapped and validated on open (see <see cref="SafetensorsFile"/> and <see cref="TorchCheckpointFile"/>).
/// <para>
/// Zero-copy: tensors are <see cref="TensorView"/>s pointing into the mappings, so loading never holds a second copy of
/// the weights. <see cref="Dispose"/> unmaps every file; views and <see cref="Sna.Runtime.Numerics.WeightMatrix"/>es taken
/// from the checkpoint must not be used afterwards.
/// </para>
/// </summary>
public sealed class Checkpoint : IDisposable
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";
    public const string TorchFileName = "pytorch_model.bin";
    public const string TorchIndexFileName = "pytorch_model.bin.index.json";

    private readonly ITensorFile[] _files;
    private readonly Dictionary<string, ITensorFile> _owner;
    private readonly string[] _names;
    private readonly string? _indexPath;
    private readonly object _hashLock = new();
    private string? _contentHash;
    private bool _disposed;

    /// <summary>The checkpoint directory (absolute).</summary>
    public string Directory { get; }

    /// <summary>True for the sharded layout (index + shards).</summary>
    public bool IsSharded => _indexPath is not null;

    /// <summary>Path of the shard index (<c>model.safetensors.index.json</c> or <c>pytorch_model.bin.index.json</c>) for a sharded checkpoint, else null.</summary>
    public string? IndexFile => _indexPath;

    /// <summary>
    /// Single file: the <c>__metadata__</c> map. Sharded: the index's <c>metadata</c> object (string values as is, other
    /// values as raw JSON text, e.g. <c>total_size</c>).
    /// </summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>True when the weights are PyTorch zip checkpoints (<c>.bin</c>), false for safetensors.</summary>
    public bool IsPyTorch => _files.Length > 0 && _files[0] is TorchCheckpointFile;

    /// <summary>Absolute paths of the weight files (one, or the shards in ordinal order of their names).</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>The opened weight files, in the order of <see cref="Files"/>.</summary>
    public IReadOnlyList<ITensorFile> TensorFiles => _files;

    /// <summary>Tensor names: file order for a single file, index order for a sharded checkpoint.</summary>
    public IReadOnlyCollection<string> Names => _names;

    private Checkpoint(string directory, string? indexPath, ITensorFile[] files, Dictionary<string, ITensorFile> owner,
        string[] names, IReadOnlyDictionary<string, string> metadata)
    {
        Directory = directory;
        _indexPath = indexPath;
        _files = files;
        _owner = owner;
        _names = names;
        Metadata = metadata;
        Files = files.Select(f => f.Path).ToArray();
    }

    /// <summary>
    /// Opens a checkpoint directory: <c>model.safetensors</c> if present, else <c>model.safetensors.index.json</c> and its
    /// shards, else <c>pytorch_model.bin</c>, else <c>pytorch_model.bin.index.json</c> and its shards. A path to a single
    /// <c>.safetensors</c> or <c>.bin</c> file is accepted too. Throws <see cref="CheckpointException"/> with what was
    /// found when no layout is present or anything fails validation.
    /// </summary>
    public static Checkpoint Open(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string full = Path.GetFullPath(directory);

        if (File.Exists(full))
        {
            if (!full.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) && !full.EndsWith(".bin", StringComparison.OrdinalIgnoreCase))
                throw new CheckpointException($"checkpoint path '{full}' is a file but not a .safetensors or .bin file; pass the checkpoint directory", full);
            return OpenSingle(Path.GetDirectoryName(full)!, full);
        }
        if (!System.IO.Directory.Exists(full))
            throw new CheckpointException($"checkpoint directory '{full}' does not exist", full);

        string single = Path.Combine(full, SingleFileName);
        if (File.Exists(single)) return OpenSingle(full, single);

        string index = Path.Combine(full, IndexFileName);
        if (File.Exists(index)) return OpenSharded(full, index);

        string torch = Path.Combine(full, TorchFileName);
        if (File.Exists(torch)) return OpenSingle(full, torch);

        string torchIndex = Path.Combine(full, TorchIndexFileName);
        if (File.Exists(torchIndex)) return OpenSharded(full, torchIndex);

        throw new CheckpointException(DescribeMissing(full), full);
    }

    private static string DescribeMissing(string dir)
    {
        var found = System.IO.Directory.EnumerateFileSystemEntries(dir)
            .Select(p => Path.GetFileName(p) + (System.IO.Directory.Exists(p) ? "/" : ""))
            .Order(StringComparer.Ordinal)
            .ToList();
        var sb = new StringBuilder();
        sb.Append($"checkpoint directory '{dir}' has none of {SingleFileName}, {IndexFileName}, {TorchFileName}, {TorchIndexFileName}; ");
        sb.Append(found.Count == 0 ? "it is empty" : $"found: {string.Join(", ", found.Take(40))}{(found.Count > 40 ? $", ... ({found.Count} entries)" : "")}");
        bool pickle = found.Any(f => f.EndsWith(".pt", StringComparison.OrdinalIgnoreCase)
                                     || f.EndsWith(".pth", StringComparison.OrdinalIgnoreCase)
                                     || f.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase));
        if (pickle)
            sb.Append(". Other PyTorch file names are not looked for: pass the file's path, or rename it to pytorch_model.bin");
        var otherSafetensors = found.Where(f => f.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)).ToList();
        if (otherSafetensors.Count > 0)
            sb.Append($". To open another .safetensors file, pass its path: {string.Join(", ", otherSafetensors)}");
        return sb.ToString();
    }

    private static Checkpoint OpenSingle(string dir, string file)
    {
        var f = OpenFile(file);
        try
        {
            var owner = new Dictionary<string, ITensorFile>(f.Names.Count, StringComparer.Ordinal);
            foreach (var n in f.Names) owner.Add(n, f);
            return new Checkpoint(dir, null, [f], owner, f.Names.ToArray(), f.Metadata);
        }
        catch
        {
            f.Dispose();
            throw;
        }
    }

    /// <summary>A <c>.bin</c> file is a PyTorch zip checkpoint; anything else is read as safetensors.</summary>
    private static ITensorFile OpenFile(string path) =>
        path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) ? TorchCheckpointFile.Open(path) : SafetensorsFile.Open(path);

    private static Checkpoint OpenSharded(string dir, string indexPath)
    {
        var (metadata, weightMap) = ReadIndex(indexPath);
        var shardNames = weightMap.Select(kv => kv.Value).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var opened = new Dictionary<string, ITensorFile>(StringComparer.Ordinal);
        try
        {
            foreach (var shard in shardNames)
            {
                string shardPath = Path.Combine(dir, shard);
                if (!File.Exists(shardPath))
                {
                    var mappedTo = weightMap.First(kv => kv.Value == shard).Key;
                    throw new CheckpointException(
                        $"shard index '{indexPath}' maps tensor '{mappedTo}' (and {weightMap.Count(kv => kv.Value == shard) - 1} others) to shard '{shard}', which does not exist in '{dir}'",
                        indexPath, mappedTo);
                }
                opened.Add(shard, OpenFile(shardPath));
            }

            var owner = new Dictionary<string, ITensorFile>(weightMap.Count, StringComparer.Ordinal);
            foreach (var (name, shard) in weightMap)
            {
                var f = opened[shard];
                if (!f.Contains(name))
                {
                    string? actual = opened.FirstOrDefault(kv => kv.Value.Contains(name)).Key;
                    throw new CheckpointException(
                        $"shard index '{indexPath}' maps tensor '{name}' to shard '{shard}', but that shard has no such tensor" +
                        (actual is null ? " (nor does any other shard)" : $" (it is in shard '{actual}')"),
                        indexPath, name);
                }
                owner.Add(name, f);
            }
            foreach (var (shard, f) in opened)
            {
                foreach (var n in f.Names)
                {
                    if (!owner.TryGetValue(n, out var o) || !ReferenceEquals(o, f))
                        throw new CheckpointException(
                            $"shard '{f.Path}' contains tensor '{n}', which the index '{indexPath}' " +
                            (o is null ? "does not list" : $"maps to shard '{Path.GetFileName(o.Path)}'") +
                            " (inconsistent sharded checkpoint)",
                            f.Path, n);
                }
            }

            var files = shardNames.Select(s => opened[s]).ToArray();
            return new Checkpoint(dir, indexPath, files, owner, weightMap.Select(kv => kv.Key).ToArray(), metadata);
        }
        catch
        {
            foreach (var f in opened.Values) f.Dispose();
            throw;
        }
    }

    private static (IReadOnlyDictionary<string, string> Metadata, List<KeyValuePair<string, string>> WeightMap) ReadIndex(string indexPath)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(indexPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"shard index '{indexPath}': cannot read: {ex.Message}", indexPath, null, ex);
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes);
        }
        catch (JsonException ex)
        {
            throw new CheckpointException($"shard index '{indexPath}' is not valid JSON ({ex.Message})", indexPath, null, ex);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"shard index '{indexPath}' is not a JSON object", indexPath);

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("metadata", out var md) && md.ValueKind != JsonValueKind.Null)
            {
                if (md.ValueKind != JsonValueKind.Object)
                    throw new CheckpointException($"shard index '{indexPath}': \"metadata\" must be an object", indexPath);
                foreach (var p in md.EnumerateObject())
                    metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            }

            if (!root.TryGetProperty("weight_map", out var wm) || wm.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"shard index '{indexPath}' has no \"weight_map\" object", indexPath);

            var map = new List<KeyValuePair<string, string>>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in wm.EnumerateObject())
            {
                if (!seen.Add(p.Name))
                    throw new CheckpointException($"shard index '{indexPath}' lists tensor '{p.Name}' more than once", indexPath, p.Name);
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw new CheckpointException($"shard index '{indexPath}': tensor '{p.Name}' must map to a shard file name (string)", indexPath, p.Name);
                string shard = p.Value.GetString()!;
                // Shards are plain file names beside the index: no directories, no escaping the checkpoint folder.
                if (shard.Length == 0 || shard != Path.GetFileName(shard) || shard is "." or ".." || shard.Contains('/') || shard.Contains('\\'))
                    throw new CheckpointException($"shard index '{indexPath}': tensor '{p.Name}' maps to '{shard}', which is not a plain file name in the checkpoint directory", indexPath, p.Name);
                map.Add(new(p.Name, shard));
            }
            if (map.Count == 0)
                throw new CheckpointException($"shard index '{indexPath}' has an empty \"weight_map\"", indexPath);
            return (metadata, map);
        }
    }

    public bool Contains(string name)
    {
        ThrowIfDisposed();
        return _owner.ContainsKey(name);
    }

    /// <summary>The tensor called <paramref name="name"/>; throws <see cref="CheckpointException"/> naming the directory if absent.</summary>
    public TensorView Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ThrowIfDisposed();
        if (_owner.TryGetValue(name, out var f)) return f.Get(name);
        throw new CheckpointException($"checkpoint '{Directory}' has no tensor '{name}'{Suggest(name)} ({_names.Length} tensors present)", Directory, name);
    }

    public bool TryGet(string name, out TensorView view)
    {
        ArgumentNullException.ThrowIfNull(name);
        ThrowIfDisposed();
        if (_owner.TryGetValue(name, out var f)) return f.TryGet(name, out view);
        view = default;
        return false;
    }

    private string Suggest(string name)
    {
        // Common mismatch: "h.0..." vs "transformer.h.0..." (GPT-2 repo vs save_pretrained), "gpt_neox." prefix.
        var candidates = _names.Where(n => n.EndsWith("." + name, StringComparison.Ordinal) || name.EndsWith("." + n, StringComparison.Ordinal)).Take(3).ToList();
        return candidates.Count == 0 ? "" : $"; did you mean {string.Join(" or ", candidates.Select(c => $"'{c}'"))}?";
    }

    /// <summary>
    /// SHA-256 (lowercase hex) identifying the checkpoint's bytes; computed on first use (streaming, never loading a whole
    /// file) and cached. Single file: the file's SHA-256, equal to <c>sha256sum model.safetensors</c>. Sharded: the
    /// SHA-256 of the <c>sha256sum</c>-format manifest ("hash␠␠name\n") of the index and the shards in ordinal name
    /// order, i.e. <c>sha256sum model.safetensors.index.json model-*.safetensors | sort -k2 | sha256sum</c> with LC_ALL=C.
    /// Each file's hash comes from <see cref="FileHashes"/>: a hub-cache blob's name, else the hash cache, else reading it.
    /// </summary>
    public string ContentHash
    {
        get
        {
            lock (_hashLock)
            {
                if (_contentHash is not null) return _contentHash;
                ThrowIfDisposed();
                if (_indexPath is null)
                {
                    _contentHash = FileHashes.Sha256(_files[0].Path);
                }
                else
                {
                    var all = _files.Select(f => f.Path).Append(_indexPath)
                        .OrderBy(p => Path.GetFileName(p), StringComparer.Ordinal);
                    var manifest = new StringBuilder();
                    foreach (var p in all)
                        manifest.Append(FileHashes.Sha256(p)).Append("  ").Append(Path.GetFileName(p)).Append('\n');
                    _contentHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(manifest.ToString())));
                }
                return _contentHash;
            }
        }
    }

    /// <summary>SHA-256 of a file as lowercase hex (like <c>sha256sum</c>), streamed in 1 MB reads.</summary>
    public static string ComputeFileSha256(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 20, FileOptions.SequentialScan);
            return Convert.ToHexStringLower(SHA256.HashData(fs));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"cannot hash '{path}': {ex.Message}", path, null, ex);
        }
    }

    private void ThrowIfDisposed()
    {
        if (_disposed) throw new ObjectDisposedException(nameof(Checkpoint), $"checkpoint '{Directory}' has been closed");
    }

    /// <summary>Unmaps every file of the checkpoint.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var f in _files) f.Dispose();
    }

    public override string ToString() => $"{Directory} ({_names.Length} tensors in {_files.Length} file(s))";
}
