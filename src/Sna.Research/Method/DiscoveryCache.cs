using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Sna.Runtime.Caching;
using Sna.Runtime.Models;

namespace Sna.Research.Method;

/// <summary>
/// On-disk cache of <see cref="MeanActivations"/>: one binary file per (model, text set), named by
/// SHA-256(<see cref="FormatVersion"/>, <see cref="ForwardPassVersion.Current"/>, model content hash, compute weights dtype,
/// GEMM provider, the token ids of every text). The ids carry the texts, the tokenizer and the BOS policy, so any change to
/// those is a miss; the format and forward-pass versions make a fix to the forward pass (or to this file's layout) a miss too,
/// never a stale hit. Models without a content hash are never cached.
/// Location: <c>&lt;cache root&gt;/neurons</c>, the root resolved by <see cref="SnaCacheDir"/> (<c>$SNA_CACHE_DIR</c>, default
/// <c>~/.cache/sna</c>).
/// File format: "SNAMEAN1", int32 layers, int32 d_mlp, int32 text count, then layers × d_mlp float64, little-endian.
/// </summary>
public sealed class DiscoveryCache(string directory)
{
    /// <summary>Part of every key: bump when the file layout or the way means are computed here changes.</summary>
    public const string FormatVersion = "sna-mean-v2";
    private static readonly byte[] Magic = "SNAMEAN1"u8.ToArray();
    private int _hits, _misses;

    public string Directory { get; } = directory;
    public int Hits => _hits;
    public int Misses => _misses;

    public static string DefaultDirectory => SnaCacheDir.For("neurons");

    public static DiscoveryCache Default() => new(DefaultDirectory);

    /// <summary>The cache key of a text set on a model, or null when the model has no content hash.</summary>
    public string? Key(TransformerModel model, IReadOnlyList<int[]> sequences) => Key(model, sequences, DiscoveryMeanOptions.Default);

    /// <summary>The cache key of a text set averaged with <paramref name="means"/> (positions and weighting are part of the key).</summary>
    public string? Key(TransformerModel model, IReadOnlyList<int[]> sequences, DiscoveryMeanOptions means) => Key(model, sequences, ForwardPassVersion.Current, means);

    /// <summary>The key as it would be under forward-pass version <paramref name="forwardVersion"/> (tests show a bump is a miss).</summary>
    internal string? Key(TransformerModel model, IReadOnlyList<int[]> sequences, int forwardVersion, DiscoveryMeanOptions? means = null)
    {
        if (string.IsNullOrEmpty(model.Provenance.ContentHash)) return null;
        // The default means keep the key they had before positions and weighting existed (caches stay valid); any other adds them.
        string how = means is null || means == DiscoveryMeanOptions.Default ? "" : means + "\n";
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(Encoding.UTF8.GetBytes($"{FormatVersion}\nforward-v{forwardVersion}\n{model.Provenance.ContentHash}\n{model.Provenance.ComputeWeightsDType}\n{model.Gemm.Name}\n{model.Config.NLayers}x{model.Config.DMlp}\n{sequences.Count}\n{how}"));
        Span<byte> buf = stackalloc byte[4];
        foreach (var s in sequences)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buf, s.Length); h.AppendData(buf);
            foreach (int id in s) { BinaryPrimitives.WriteInt32LittleEndian(buf, id); h.AppendData(buf); }
        }
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    public string PathFor(string key) => Path.Combine(Directory, key + ".bin");

    public bool TryLoad(string key, ModelConfig config, out MeanActivations mean)
    {
        mean = null!;
        try
        {
            var path = PathFor(key);
            if (!File.Exists(path)) { Interlocked.Increment(ref _misses); return false; }
            var bytes = File.ReadAllBytes(path);
            int n = config.NLayers * config.DMlp;
            if (bytes.Length != 20 + 8 * n || !bytes.AsSpan(0, 8).SequenceEqual(Magic)
                || BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)) != config.NLayers
                || BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12)) != config.DMlp)
            { Interlocked.Increment(ref _misses); return false; }
            int texts = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(16));
            var values = new double[n];
            for (int i = 0; i < n; i++) values[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(20 + 8 * i));
            mean = new MeanActivations(config.NLayers, config.DMlp, texts, values);
            Interlocked.Increment(ref _hits);
            return true;
        }
        catch (IOException) { Interlocked.Increment(ref _misses); return false; }
        catch (UnauthorizedAccessException) { Interlocked.Increment(ref _misses); return false; }
    }

    /// <summary>Writes atomically (temporary file, then rename). A cache that cannot be written is skipped silently.</summary>
    public void Store(string key, MeanActivations mean)
    {
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            var v = mean.Values;
            var bytes = new byte[20 + 8 * v.Length];
            Magic.CopyTo(bytes, 0);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), mean.Layers);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), mean.DMlp);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), mean.TextCount);
            for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(20 + 8 * i), v[i]);
            var path = PathFor(key);
            var tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.WriteAllBytes(tmp, bytes);
            File.Move(tmp, path, overwrite: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
