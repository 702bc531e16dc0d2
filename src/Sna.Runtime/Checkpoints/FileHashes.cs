using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Sna.Runtime.Caching;

namespace Sna.Runtime.Checkpoints;

/// <summary>
/// SHA-256 of checkpoint files without re-reading gigabytes on every load:
/// <list type="number">
/// <item>a file that is (or links to) a blob of a Hugging Face hub cache (<c>…/models--*/blobs/{64 hex}</c>) is named
/// by its SHA-256 already (the hub's LFS etag): the name is the hash, nothing is read;</item>
/// <item>elsewhere, the hash is kept in <c>$SNA_CACHE_DIR/hashes</c> (see <see cref="SnaCacheDir"/>), one small file
/// per checkpoint file keyed by its absolute path, holding its size, its modification time and the hash; a change of
/// size or mtime makes it hash again.</item>
/// </list>
/// The cache is an optimisation: if it cannot be written, the hash is still returned.
/// </summary>
public static partial class FileHashes
{
    /// <summary>The hash cache folder: <c>$SNA_CACHE_DIR/hashes</c>.</summary>
    public static string DefaultCacheDir => SnaCacheDir.For("hashes");

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Name();

    /// <summary>How <see cref="Sha256(string, string?)"/> obtained a hash (for tests and benchmarks).</summary>
    public enum Source { HubBlobName, HashCache, Computed }

    /// <summary>SHA-256 (lowercase hex) of the file at <paramref name="path"/> (symlinks followed).</summary>
    public static string Sha256(string path, string? cacheDir = null) => Sha256(path, cacheDir, out _);

    public static string Sha256(string path, string? cacheDir, out Source source)
    {
        ArgumentNullException.ThrowIfNull(path);
        string real = ResolveFinal(path);
        if (HubBlobSha256(real) is { } named)
        {
            source = Source.HubBlobName;
            return named;
        }
        FileInfo info;
        try { info = new FileInfo(real); _ = info.Length; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"cannot hash '{path}': {ex.Message}", path, null, ex);
        }
        string dir = cacheDir ?? DefaultCacheDir;
        string entry = Path.Combine(dir, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(real))) + ".sha256");
        string key = $"{info.Length} {info.LastWriteTimeUtc.Ticks} ";
        try
        {
            if (File.Exists(entry))
            {
                string text = File.ReadAllText(entry);
                if (text.StartsWith(key, StringComparison.Ordinal) && text.Length >= key.Length + 64 && Sha256Name().IsMatch(text.AsSpan(key.Length, 64)))
                {
                    source = Source.HashCache;
                    return text.Substring(key.Length, 64);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }

        string sha = Checkpoint.ComputeFileSha256(real);
        source = Source.Computed;
        try
        {
            Directory.CreateDirectory(dir);
            string tmp = entry + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.WriteAllText(tmp, key + sha + "\n" + real + "\n");
            File.Move(tmp, entry, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        return sha;
    }

    /// <summary>The SHA-256 a hub-cache blob path states by its name (<c>…/models--*/blobs/{sha256}</c>), else null.</summary>
    public static string? HubBlobSha256(string realPath)
    {
        string name = Path.GetFileName(realPath);
        var blobs = Path.GetDirectoryName(realPath);
        if (!Sha256Name().IsMatch(name) || blobs is null || Path.GetFileName(blobs) != "blobs") return null;
        var repo = Path.GetFileName(Path.GetDirectoryName(blobs));
        return repo is not null && repo.StartsWith("models--", StringComparison.Ordinal) ? name : null;
    }

    private static string ResolveFinal(string path)
    {
        var fi = new FileInfo(Path.GetFullPath(path));
        try
        {
            if (fi.LinkTarget is not null && fi.ResolveLinkTarget(returnFinalTarget: true) is { } t) return t.FullName;
        }
        catch (IOException) { }
        return fi.FullName;
    }
}
