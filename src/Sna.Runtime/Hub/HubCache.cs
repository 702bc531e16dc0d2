using System.Text.RegularExpressions;

namespace Sna.Runtime.Hub;

/// <summary>One snapshot (commit) of a cached repo.</summary>
public sealed record CachedSnapshot(
    string Commit,
    string Path,
    IReadOnlyList<string> Refs,
    IReadOnlyList<string> Files,
    long SizeBytes,
    bool IsCompleteModel,
    DateTime LastModifiedUtc);

/// <summary>A cached model repo (<c>models--org--name</c>).</summary>
public sealed record CachedRepo(
    string RepoId,
    string Path,
    long SizeOnDiskBytes,
    long IncompleteBytes,
    IReadOnlyDictionary<string, string> Refs,
    IReadOnlyList<CachedSnapshot> Snapshots)
{
    /// <summary>The snapshot of <paramref name="revision"/> (a ref or a commit), if cached.</summary>
    public CachedSnapshot? Find(string revision = "main")
    {
        string? commit = Refs.TryGetValue(revision, out var c) ? c : HubCache.IsCommitHash(revision) ? revision : null;
        return commit is null ? null : Snapshots.FirstOrDefault(s => string.Equals(s.Commit, commit, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The main snapshot if complete, else the most recent complete one.</summary>
    public CachedSnapshot? BestComplete() =>
        Find("main") is { IsCompleteModel: true } m ? m
        : Snapshots.Where(s => s.IsCompleteModel).OrderByDescending(s => s.LastModifiedUtc).FirstOrDefault();
}

/// <summary>
/// The huggingface_hub cache layout, shared with the Python tools:
/// <code>
/// {cache}/models--{org}--{name}/blobs/{etag}             file contents (LFS etag = sha256)
/// {cache}/models--{org}--{name}/snapshots/{commit}/{file} relative symlink ../../blobs/{etag} (copy if symlinks fail)
/// {cache}/models--{org}--{name}/refs/{revision}           commit hash, no newline
/// {cache}/models--{org}--{name}/.no_exist/{commit}/{file} empty marker: file absent at that commit
/// {cache}/.locks/models--{org}--{name}/{etag}.lock        download lock
/// </code>
/// </summary>
public sealed partial class HubCache
{
    public HubCache(string cacheDir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(cacheDir);
        CacheDir = Path.GetFullPath(cacheDir);
    }

    public string CacheDir { get; }

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitRegex();

    /// <summary>A full 40-hex commit sha (lower case, as the hub writes them).</summary>
    public static bool IsCommitHash(string revision) => CommitRegex().IsMatch(revision);

    /// <summary><c>models--</c> + repo id with '/' replaced by '--' (e.g. <c>models--EleutherAI--pythia-160m</c>).</summary>
    public static string RepoFolderName(string repoId) => "models--" + repoId.Replace("/", "--", StringComparison.Ordinal);

    /// <summary>Inverse of <see cref="RepoFolderName"/>; null for non-model folders.</summary>
    public static string? RepoIdFromFolderName(string folder) =>
        folder.StartsWith("models--", StringComparison.Ordinal) && folder.Length > "models--".Length
            ? folder["models--".Length..].Replace("--", "/", StringComparison.Ordinal)
            : null;

    public string RepoDir(string repoId) => Path.Combine(CacheDir, RepoFolderName(repoId));
    public string BlobPath(string repoId, string etag) => Path.Combine(RepoDir(repoId), "blobs", etag);
    public string SnapshotDir(string repoId, string commit) => Path.Combine(RepoDir(repoId), "snapshots", commit);
    public string SnapshotFile(string repoId, string commit, string file) => Path.Combine(SnapshotDir(repoId, commit), ToOsPath(file));
    internal string NoExistMarker(string repoId, string commit, string file) => Path.Combine(RepoDir(repoId), ".no_exist", commit, ToOsPath(file));
    internal string LockPath(string repoId, string etag) => Path.Combine(CacheDir, ".locks", RepoFolderName(repoId), etag + ".lock");
    private string RefPath(string repoId, string revision) => Path.Combine(RepoDir(repoId), "refs", ToOsPath(revision));

    private static string ToOsPath(string repoPath) => repoPath.Replace('/', Path.DirectorySeparatorChar);

    /// <summary>The commit a ref points to, or null.</summary>
    public string? ReadRef(string repoId, string revision)
    {
        string p = RefPath(repoId, revision);
        try
        {
            if (!File.Exists(p)) return null;
            string c = File.ReadAllText(p).Trim();
            return c.Length == 0 ? null : c;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>Writes <c>refs/{revision}</c> (atomically) unless the revision is the commit itself.</summary>
    public void WriteRef(string repoId, string revision, string commit)
    {
        if (string.Equals(revision, commit, StringComparison.OrdinalIgnoreCase)) return;
        if (ReadRef(repoId, revision) == commit) return;
        string p = RefPath(repoId, revision);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        string tmp = p + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(tmp, commit);
        File.Move(tmp, p, overwrite: true);
    }

    /// <summary>The commit for a revision from the cache alone: the revision itself if it is a commit hash, else its ref.</summary>
    public string? ResolveCommit(string repoId, string revision) =>
        IsCommitHash(revision) ? revision : ReadRef(repoId, revision);

    /// <summary>True if the snapshot file exists and (if a symlink) its target exists.</summary>
    public bool HasFile(string repoId, string commit, string file) => FileUsable(SnapshotFile(repoId, commit, file));

    internal bool IsMarkedMissing(string repoId, string commit, string file) => File.Exists(NoExistMarker(repoId, commit, file));

    internal void MarkMissing(string repoId, string commit, string file)
    {
        try
        {
            string m = NoExistMarker(repoId, commit, file);
            Directory.CreateDirectory(Path.GetDirectoryName(m)!);
            using (File.Create(m)) { }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Points <c>snapshots/{commit}/{file}</c> at the blob with a relative symlink, as huggingface_hub does.
    /// If the file system refuses symlinks (e.g. Windows without developer mode), the blob is copied instead.
    /// </summary>
    internal void LinkSnapshotFile(string repoId, string commit, string file, string blobPath)
    {
        string pointer = SnapshotFile(repoId, commit, file);
        string dir = Path.GetDirectoryName(pointer)!;
        Directory.CreateDirectory(dir);
        var existing = new FileInfo(pointer);
        if (existing.Exists || existing.LinkTarget is not null) existing.Delete();
        string relative = Path.GetRelativePath(dir, blobPath);
        try
        {
            File.CreateSymbolicLink(pointer, relative);
            return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            // fall through to copy
        }
        string tmp = pointer + ".copy.tmp";
        File.Copy(blobPath, tmp, overwrite: true);
        File.Move(tmp, pointer, overwrite: true);
    }

    /// <summary>True if <paramref name="path"/> is a regular file or a symlink whose final target is an existing file.</summary>
    public static bool FileUsable(string path)
    {
        try
        {
            var fi = new FileInfo(path);
            if (fi.LinkTarget is not null)
                return fi.ResolveLinkTarget(returnFinalTarget: true) is FileInfo { Exists: true };
            return fi.Exists;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    private static long UsableLength(string path)
    {
        var fi = new FileInfo(path);
        if (fi.LinkTarget is not null)
            return fi.ResolveLinkTarget(returnFinalTarget: true) is FileInfo { Exists: true } t ? t.Length : 0;
        return fi.Exists ? fi.Length : 0;
    }

    /// <summary>All cached model repos, sorted by repo id.</summary>
    public IReadOnlyList<CachedRepo> ListRepos()
    {
        if (!Directory.Exists(CacheDir)) return [];
        var repos = new List<CachedRepo>();
        foreach (var dir in Directory.EnumerateDirectories(CacheDir, "models--*"))
        {
            var repo = ScanRepo(dir);
            if (repo is not null) repos.Add(repo);
        }
        repos.Sort((a, b) => string.Compare(a.RepoId, b.RepoId, StringComparison.OrdinalIgnoreCase));
        return repos;
    }

    /// <summary>One cached repo, or null if it is not in the cache.</summary>
    public CachedRepo? GetRepo(string repoId)
    {
        string dir = RepoDir(repoId);
        return Directory.Exists(dir) ? ScanRepo(dir, repoId) : null;
    }

    private static CachedRepo? ScanRepo(string dir, string? repoId = null)
    {
        repoId ??= RepoIdFromFolderName(Path.GetFileName(dir));
        if (repoId is null) return null;

        long onDisk = 0, incomplete = 0;
        string blobs = Path.Combine(dir, "blobs");
        if (Directory.Exists(blobs))
            foreach (var f in new DirectoryInfo(blobs).EnumerateFiles())
            {
                if (f.LinkTarget is not null) continue;
                if (f.Name.EndsWith(".incomplete", StringComparison.Ordinal)) incomplete += f.Length;
                else onDisk += f.Length;
            }

        var refs = new SortedDictionary<string, string>(StringComparer.Ordinal);
        string refsDir = Path.Combine(dir, "refs");
        if (Directory.Exists(refsDir))
            foreach (var f in Directory.EnumerateFiles(refsDir, "*", SearchOption.AllDirectories))
            {
                try
                {
                    string commit = File.ReadAllText(f).Trim();
                    if (commit.Length > 0)
                        refs[Path.GetRelativePath(refsDir, f).Replace(Path.DirectorySeparatorChar, '/')] = commit;
                }
                catch (IOException) { }
            }

        var snapshots = new List<CachedSnapshot>();
        string snapsDir = Path.Combine(dir, "snapshots");
        if (Directory.Exists(snapsDir))
            foreach (var s in new DirectoryInfo(snapsDir).EnumerateDirectories())
            {
                var files = new List<string>();
                long size = 0;
                foreach (var f in s.EnumerateFiles("*", SearchOption.AllDirectories))
                {
                    if (f.Name.EndsWith(".tmp", StringComparison.Ordinal)) continue;
                    if (!FileUsable(f.FullName)) continue;
                    files.Add(Path.GetRelativePath(s.FullName, f.FullName).Replace(Path.DirectorySeparatorChar, '/'));
                    size += UsableLength(f.FullName);
                    if (f.LinkTarget is null) onDisk += f.Length; // copies made when symlinks were unavailable
                }
                files.Sort(StringComparer.Ordinal);
                var snapRefs = refs.Where(r => r.Value == s.Name).Select(r => r.Key).ToList();
                snapshots.Add(new CachedSnapshot(s.Name, s.FullName, snapRefs, files, size,
                    ModelFiles.FindMissing(s.FullName).Count == 0, s.LastWriteTimeUtc));
            }
        snapshots.Sort((a, b) => b.LastModifiedUtc.CompareTo(a.LastModifiedUtc));
        return new CachedRepo(repoId, dir, onDisk, incomplete, refs, snapshots);
    }
}
