using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Sna.Runtime.Hub;

/// <summary>A model snapshot present in the cache.</summary>
/// <param name="RepoId">Hub repo id.</param>
/// <param name="Revision">Requested revision (branch, tag or commit).</param>
/// <param name="Commit">Commit the revision resolved to.</param>
/// <param name="Directory">The snapshot folder (<c>…/snapshots/{commit}</c>), usable as a local model directory.</param>
/// <param name="Files">Repo-relative files present in the snapshot.</param>
/// <param name="BytesDownloaded">Bytes transferred by this call (0 for a pure cache hit).</param>
/// <param name="RequestsMade">HTTP requests made by this call (0 offline or for a pinned-commit cache hit).</param>
/// <param name="Warning">Set when the hub was unreachable and the cached copy was used instead.</param>
public sealed record ModelSnapshot(
    string RepoId,
    string Revision,
    string Commit,
    string Directory,
    IReadOnlyList<string> Files,
    long BytesDownloaded,
    int RequestsMade,
    string? Warning = null);

/// <summary>
/// Downloads model files from the Hugging Face hub into the shared huggingface_hub cache.
/// <para>
/// Request policy, as huggingface_hub's <c>snapshot_download</c>: one
/// <c>GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true</c> lists the revision (commit <c>sha</c>,
/// <c>siblings</c> with sizes and LFS sha256); the files to fetch are chosen from that list (config.json;
/// model.safetensors or its index and shards, else pytorch_model.bin or its index and shards; the tokenizer files
/// present). Each file is addressed by the commit and fetched only if its snapshot entry is missing (a HEAD on the
/// resolve URL for ETag/X-Linked-Etag/X-Linked-Size/X-Repo-Commit and the LFS redirect, then a GET of the blob). A
/// revision that is a full commit sha makes no request at all when the snapshot is complete. Offline
/// (<see cref="HubSettings.Offline"/>) never touches the network. If the hub is unreachable, a complete cached snapshot
/// of the revision is used and <see cref="ModelSnapshot.Warning"/> says so.
/// </para>
/// <para>
/// Failures, as huggingface_hub's <c>http_backoff</c>/<c>http_get</c>: 408, 429 and 5xx answers and connection errors are
/// retried up to <see cref="MaxRetries"/> times with exponential backoff (1 s doubling to 8 s), waiting
/// <c>Retry-After</c> seconds when the hub sends it; a body cut off mid-file (dropped connection, stalled read) is
/// resumed with a <c>Range</c> request, up to <see cref="MaxRetries"/> times in a row without progress; a 403 from the
/// CDN (an expired signed URL) makes the client resolve the file again for a fresh URL; an anonymous 401 with
/// <c>X-Error-Code: RepoNotFound</c> means "not found".
/// </para>
/// <para>
/// The token is sent only to the endpoint's origin (scheme, host, port); redirects to another origin (the LFS CDN)
/// go without it. The token never appears in exception messages.
/// </para>
/// </summary>
public sealed partial class HubClient : IDisposable
{
    private const int MaxRedirects = 10;
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private int _requests;

    /// <param name="settings">Endpoint, cache, token, offline flag.</param>
    /// <param name="handler">Optional message handler (tests). It should not follow redirects itself
    /// (<c>AllowAutoRedirect = false</c>) so that this client controls where the token goes.</param>
    /// <param name="disposeHandler">Whether disposing this client disposes <paramref name="handler"/>.</param>
    public HubClient(HubSettings settings, HttpMessageHandler? handler = null, bool disposeHandler = true)
    {
        Settings = settings ?? throw new ArgumentNullException(nameof(settings));
        Cache = new HubCache(settings.CacheDir);
        if (!Uri.TryCreate(settings.Endpoint + "/", UriKind.Absolute, out var ep) || (ep.Scheme != Uri.UriSchemeHttps && ep.Scheme != Uri.UriSchemeHttp))
            throw new HubException(HubErrorKind.InvalidModel, $"invalid HF_ENDPOINT: {settings.Endpoint}");
        _endpoint = ep;
        handler ??= new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(20),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        _http = new HttpClient(handler, disposeHandler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("sna/0.1 (huggingface_hub-compatible)");
    }

    public HubSettings Settings { get; }
    public HubCache Cache { get; }

    /// <summary>Timeout for receiving response headers.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Timeout for a single read of a response body (stall detection).</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Retries after a retryable status or connection error, and resumes in a row without progress (huggingface_hub: 5).</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>First backoff wait; it doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(8);

    /// <summary>Wait before resuming a cut-off download.</summary>
    public TimeSpan ResumeDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How waits happen (tests record them instead of sleeping).</summary>
    public Func<TimeSpan, CancellationToken, Task> Delay { get; init; } = Task.Delay;

    /// <summary>Receives one line per retry, resume or re-resolve (what huggingface_hub logs as warnings).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Total HTTP requests sent by this client (each redirect hop counts).</summary>
    public int RequestCount => Volatile.Read(ref _requests);

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")]
    private static partial Regex RepoIdRegex();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Regex();

    /// <summary>Hub repo ids: <c>name</c> or <c>org/name</c>; letters, digits, '.', '_', '-'; no '--' or '..'.</summary>
    public static bool IsValidRepoId(string repoId) =>
        RepoIdRegex().IsMatch(repoId) && !repoId.Contains("--", StringComparison.Ordinal) && !repoId.Contains("..", StringComparison.Ordinal)
        && !repoId.EndsWith('.');

    /// <summary><c>{endpoint}/{repo}/resolve/{revision}/{file}</c>, revision percent-encoded (so <c>refs/pr/1</c> works).</summary>
    public string ResolveUrl(string repoId, string revision, string file) =>
        $"{Settings.Endpoint}/{repoId}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}";

    /// <summary>
    /// Ensures config.json, safetensors weights (single file or index + shards) and the tokenizer files present in
    /// the repo are in the cache for <paramref name="revision"/>, downloading what is missing.
    /// Offline, this is <see cref="GetCachedModel"/>.
    /// </summary>
    public async Task<ModelSnapshot> DownloadModelAsync(
        string repoId, string? revision = null, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        revision = string.IsNullOrWhiteSpace(revision) ? "main" : revision;
        ValidateRepo(repoId, revision);
        if (Settings.Offline) return GetCachedModel(repoId, revision);

        int requestsAtStart = RequestCount;
        var state = new DownloadState(repoId, revision, progress);
        if (HubCache.IsCommitHash(revision) && Cache.GetRepo(repoId)?.Find(revision) is { IsCompleteModel: true } pinned)
            return new ModelSnapshot(repoId, revision, revision, pinned.Path, pinned.Files, 0, 0);

        RepoListing listing;
        try
        {
            listing = await ListRevisionAsync(repoId, revision, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException e) when (e.Kind == HubErrorKind.Network)
        {
            return FallBackToCache(repoId, revision, e, requestsAtStart);
        }
        string commit = listing.Commit;
        Cache.WriteRef(repoId, revision, commit);
        state.Commit = commit;
        state.Listing = listing;

        var files = new List<string>();
        if (listing.Find(ModelFiles.Config) is null)
            throw Fail(HubErrorKind.NotFound, $"repo {repoId} has no {ModelFiles.Config} at revision {revision} (files: {listing.Describe()})");
        await EnsureFileAsync(state, ModelFiles.Config, required: true, null, cancellationToken).ConfigureAwait(false);
        files.Add(ModelFiles.Config);

        files.AddRange(await EnsureWeightsAsync(state, cancellationToken).ConfigureAwait(false));

        foreach (var tok in ModelFiles.TokenizerFiles)
        {
            if (listing.Find(tok) is null)
            {
                Cache.MarkMissing(repoId, commit, tok);
                continue;
            }
            await EnsureFileAsync(state, tok, required: true, null, cancellationToken).ConfigureAwait(false);
            files.Add(tok);
        }

        string? warning = await StepBranchWarningAsync(state, cancellationToken).ConfigureAwait(false);
        return new ModelSnapshot(repoId, revision, commit, Cache.SnapshotDir(repoId, commit), files,
            state.BytesDownloaded, RequestCount - requestsAtStart, warning);
    }

    /// <summary>A file of a revision as <c>/api/models/{repo}/revision/{rev}?blobs=true</c> lists it.</summary>
    /// <param name="Path">Repo-relative path (<c>rfilename</c>).</param>
    /// <param name="Size">Size in bytes.</param>
    /// <param name="BlobId">Git blob id.</param>
    /// <param name="LfsSha256">SHA-256 of the content for LFS files, else null.</param>
    public sealed record RepoFile(string Path, long? Size, string? BlobId, string? LfsSha256);

    /// <summary>A revision's commit and files.</summary>
    public sealed record RepoListing(string Commit, IReadOnlyList<RepoFile> Files)
    {
        public RepoFile? Find(string path) => Files.FirstOrDefault(f => f.Path == path);

        internal string Describe() => Files.Count == 0 ? "none" : string.Join(", ", Files.Take(30).Select(f => f.Path)) + (Files.Count > 30 ? ", …" : "");
    }

    /// <summary><c>GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true</c>: the revision's commit and its files.</summary>
    public async Task<RepoListing> ListRevisionAsync(string repoId, string revision, CancellationToken ct = default)
    {
        const string what = "(file list)";
        var uri = new Uri($"{Settings.Endpoint}/api/models/{repoId}/revision/{Uri.EscapeDataString(revision)}?blobs=true");
        for (int hop = 0; ; hop++)
        {
            using var resp = await SendWithRetryAsync(() => new HttpRequestMessage(HttpMethod.Get, uri), repoId, what, revision, ct, retryNetworkErrors: false).ConfigureAwait(false);
            int code = (int)resp.StatusCode;
            if (code is >= 300 and < 400 && resp.Headers.Location is { } loc && !loc.IsAbsoluteUri && hop < MaxRedirects)
            {
                uri = new Uri(uri, loc); // renamed repo: relative redirect to the new id
                continue;
            }
            if (!resp.IsSuccessStatusCode) throw ErrorFor(resp, repoId, what, revision);
            string json = await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(json);
                var root = doc.RootElement;
                string sha = root.TryGetProperty("sha", out var s) && s.ValueKind == System.Text.Json.JsonValueKind.String ? s.GetString()! : "";
                if (!HubCache.IsCommitHash(sha))
                    throw Fail(HubErrorKind.Network, $"the hub's file list for {repoId}@{revision} has no valid commit sha");
                var files = new List<RepoFile>();
                if (root.TryGetProperty("siblings", out var sib) && sib.ValueKind == System.Text.Json.JsonValueKind.Array)
                    foreach (var f in sib.EnumerateArray())
                    {
                        if (!f.TryGetProperty("rfilename", out var n) || n.GetString() is not { } name || !ModelFiles.IsSafeRelativePath(name)) continue;
                        long? size = f.TryGetProperty("size", out var sz) && sz.TryGetInt64(out var l) ? l : null;
                        string? blob = f.TryGetProperty("blobId", out var b) && b.ValueKind == System.Text.Json.JsonValueKind.String ? b.GetString() : null;
                        string? lfs = f.TryGetProperty("lfs", out var lf) && lf.ValueKind == System.Text.Json.JsonValueKind.Object &&
                                      lf.TryGetProperty("sha256", out var ls) && ls.GetString() is { } h && Sha256Regex().IsMatch(h) ? h : null;
                        files.Add(new RepoFile(name, size, blob, lfs));
                    }
                return new RepoListing(sha, files);
            }
            catch (System.Text.Json.JsonException e)
            {
                throw Fail(HubErrorKind.Network, $"the hub's file list for {repoId}@{revision} is not valid JSON ({e.Message})", e);
            }
        }
    }

    private static bool IsWeightFile(string path) =>
        path.EndsWith(".safetensors", StringComparison.Ordinal) || path.EndsWith(".bin", StringComparison.Ordinal);

    /// <summary>
    /// Pythia's <c>step{N}</c> branches are known to hold, on some repos, the very weights of <c>main</c>. When every weight
    /// file of this revision has the same LFS sha256 in main, say so (one extra listing request; none if it fails).
    /// </summary>
    private async Task<string?> StepBranchWarningAsync(DownloadState s, CancellationToken ct)
    {
        if (!StepRegex().IsMatch(s.Revision) || s.Listing is null) return null;
        var weights = s.Listing.Files.Where(f => IsWeightFile(f.Path)).ToList();
        if (weights.Count == 0 || weights.Any(w => w.LfsSha256 is null)) return null;
        RepoListing main;
        try { main = await ListRevisionAsync(s.RepoId, "main", ct).ConfigureAwait(false); }
        catch (HubException) { return null; }
        if (main.Commit == s.Commit) return null;
        if (!weights.All(w => main.Find(w.Path)?.LfsSha256 == w.LfsSha256)) return null;
        return $"the weights of {s.RepoId}@{s.Revision} are byte-identical to main's ({string.Join(", ", weights.Select(w => $"{w.Path} sha256 {w.LfsSha256![..12]}…"))}): " +
               "this branch does not hold the checkpoint of that training step (a known problem of some hub branches); results will be main's";
    }

    [GeneratedRegex("^step[0-9]+$")]
    private static partial Regex StepRegex();

    /// <summary>
    /// The cached snapshot for <paramref name="revision"/> without any network access. Throws
    /// <see cref="HubException"/> (<see cref="HubErrorKind.Offline"/>) naming the missing files and how to get them.
    /// </summary>
    public ModelSnapshot GetCachedModel(string repoId, string? revision = null)
    {
        revision = string.IsNullOrWhiteSpace(revision) ? "main" : revision;
        ValidateRepo(repoId, revision);
        // A cache filled by another tool may hold the repo under its legacy or canonical id (huggingface_hub caches
        // under the id as typed): look for both before saying it is missing.
        foreach (var other in ModelAliases.CacheAlternates(repoId))
        {
            if (Cache.ResolveCommit(repoId, revision) is { } own && ModelFiles.FindMissing(Cache.SnapshotDir(repoId, own)).Count == 0) break;
            if (Cache.ResolveCommit(other, revision) is { } c && ModelFiles.FindMissing(Cache.SnapshotDir(other, c)).Count == 0)
                return GetCachedModel(other, revision) with { RepoId = repoId };
        }
        string? commit = Cache.ResolveCommit(repoId, revision);
        IReadOnlyList<string> missing = commit is null
            ? [ModelFiles.Config, ModelFiles.MissingWeightsDescription, ModelFiles.MissingTokenizerDescription]
            : ModelFiles.FindMissing(Cache.SnapshotDir(repoId, commit));
        if (missing.Count > 0 || commit is null)
            throw Fail(HubErrorKind.Offline, OfflineMessage(repoId, revision, commit, missing, reason: null), null, missing);
        var dir = Cache.SnapshotDir(repoId, commit);
        var files = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(HubCache.FileUsable)
            .Select(f => Path.GetRelativePath(dir, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal).ToList();
        return new ModelSnapshot(repoId, revision, commit, dir, files, 0, 0);
    }

    private ModelSnapshot FallBackToCache(string repoId, string revision, HubException networkError, int requestsAtStart)
    {
        try
        {
            var cached = GetCachedModel(repoId, revision);
            return cached with
            {
                RequestsMade = RequestCount - requestsAtStart,
                Warning = $"{networkError.Message}; using the cached snapshot {cached.Commit[..Math.Min(12, cached.Commit.Length)]} of {repoId}@{revision}",
            };
        }
        catch (HubException offline) when (offline.Kind == HubErrorKind.Offline)
        {
            throw Fail(HubErrorKind.Network,
                $"{networkError.Message}; the cache has no complete copy of {repoId}@{revision} either (missing: {string.Join(", ", offline.MissingFiles)})",
                networkError, offline.MissingFiles);
        }
    }

    private string OfflineMessage(string repoId, string revision, string? commit, IReadOnlyList<string> missing, string? reason)
    {
        string spec = revision == "main" ? repoId : $"{repoId}@{revision}";
        var sb = new System.Text.StringBuilder();
        sb.Append(reason ?? "offline mode (HF_HUB_OFFLINE=1, `sna download --offline` or LoadOptions.Offline)").Append(": ");
        if (commit is null)
        {
            sb.Append($"{spec} is not in the Hugging Face cache at {Cache.CacheDir}");
            var alternates = ModelAliases.CacheAlternates(repoId);
            if (alternates.Count > 0)
                sb.Append($" (looked for {string.Join(" and ", new[] { repoId }.Concat(alternates).Select(HubCache.RepoFolderName))})");
        }
        else
            sb.Append($"the cached snapshot {commit} of {spec} is incomplete ({Cache.SnapshotDir(repoId, commit)})");
        sb.Append(".\nMissing files:");
        foreach (var m in missing) sb.Append("\n  - ").Append(m);
        var other = commit is null ? Cache.GetRepo(repoId) : null;
        if (other is { Refs.Count: > 0 })
            sb.Append("\nCached revisions of this repo: ").Append(string.Join(", ", other.Refs.Keys));
        sb.Append("\nTo get them: run `sna download ").Append(spec)
          .Append("` on a machine with internet access and copy its cache folder ")
          .Append(HubCache.RepoFolderName(repoId)).Append(" into ").Append(Cache.CacheDir)
          .Append(" (or point HF_HUB_CACHE/HF_HOME at a copied cache), or run it here with offline mode off.");
        return sb.ToString();
    }

    private void ValidateRepo(string repoId, string revision)
    {
        if (!IsValidRepoId(repoId))
            throw Fail(HubErrorKind.InvalidModel, $"not a valid hub repo id: '{repoId}' (expected 'name' or 'org/name')");
        if (revision.Length == 0 || revision.Contains("..", StringComparison.Ordinal) || revision.StartsWith('/') || revision.Contains('\\'))
            throw Fail(HubErrorKind.InvalidModel, $"not a valid revision: '{revision}'");
    }

    private sealed class DownloadState(string repoId, string revision, IProgress<DownloadProgress>? progress)
    {
        public string RepoId { get; } = repoId;
        public string Revision { get; } = revision;
        public string Commit { get; set; } = "";
        public IProgress<DownloadProgress>? Progress { get; } = progress;
        public long BytesDownloaded;
        public RepoListing? Listing { get; set; }
    }

    /// <summary>
    /// The weights, chosen from the listing like transformers does: model.safetensors, else model.safetensors.index.json
    /// and its shards, else pytorch_model.bin, else pytorch_model.bin.index.json and its shards.
    /// </summary>
    private async Task<IReadOnlyList<string>> EnsureWeightsAsync(DownloadState s, CancellationToken ct)
    {
        var listing = s.Listing!;
        foreach (var (single, index) in new[] { (ModelFiles.Safetensors, ModelFiles.SafetensorsIndex), (ModelFiles.PytorchBin, ModelFiles.PytorchBinIndex) })
        {
            if (listing.Find(single) is not null)
            {
                await EnsureFileAsync(s, single, required: true, null, ct).ConfigureAwait(false);
                return [single];
            }
            if (listing.Find(index) is null) continue;
            await EnsureFileAsync(s, index, required: true, null, ct).ConfigureAwait(false);
            string indexPath = Cache.SnapshotFile(s.RepoId, s.Commit, index);
            IReadOnlyList<string> shards;
            try { shards = ModelFiles.ParseShardIndex(await File.ReadAllTextAsync(indexPath, ct).ConfigureAwait(false)); }
            catch (Exception e) when (e is System.Text.Json.JsonException or FormatException)
            {
                throw Fail(HubErrorKind.Unsupported, $"{s.RepoId}@{s.Revision}: cannot read {index}: {e.Message}", e);
            }
            var list = new List<string> { index };
            foreach (var shard in shards)
            {
                if (listing.Find(shard) is null)
                    throw Fail(HubErrorKind.NotFound, $"{s.RepoId}@{s.Revision}: {index} names shard {shard}, which the repo does not hold");
                await EnsureFileAsync(s, shard, required: true, null, ct).ConfigureAwait(false);
                list.Add(shard);
            }
            return list;
        }
        throw Fail(HubErrorKind.NotFound,
            $"repo {s.RepoId} has no weights SNA can read at revision {s.Revision}: none of {ModelFiles.Safetensors}, {ModelFiles.SafetensorsIndex}, " +
            $"{ModelFiles.PytorchBin}, {ModelFiles.PytorchBinIndex} (files: {listing.Describe()})");
    }

    /// <summary>Makes <c>snapshots/{commit}/{file}</c> present. Returns false if an optional file does not exist upstream.</summary>
    private async Task<bool> EnsureFileAsync(DownloadState s, string file, bool required, FileMetadata? known, CancellationToken ct)
    {
        if (Cache.HasFile(s.RepoId, s.Commit, file)) return true;
        if (!required && Cache.IsMarkedMissing(s.RepoId, s.Commit, file)) return false;

        var meta = known ?? await GetMetadataAsync(s.RepoId, s.Commit, file, ct).ConfigureAwait(false);
        if (meta is null)
        {
            if (required) throw Fail(HubErrorKind.NotFound, $"repo or file not found: {s.RepoId}/{file}@{s.Revision}");
            Cache.MarkMissing(s.RepoId, s.Commit, file);
            return false;
        }
        if (!meta.Redirected)
            meta = meta with { DownloadUri = new Uri(ResolveUrl(s.RepoId, s.Commit, file)) }; // pin to the commit

        string blob = Cache.BlobPath(s.RepoId, meta.Etag);
        if (!File.Exists(blob))
            await DownloadBlobAsync(s, file, meta, blob, ct).ConfigureAwait(false);
        Cache.LinkSnapshotFile(s.RepoId, s.Commit, file, blob);
        return true;
    }

    /// <summary>What a HEAD on the resolve URL tells us.</summary>
    /// <param name="Commit">X-Repo-Commit.</param>
    /// <param name="Etag">Normalized X-Linked-Etag (LFS: sha256) or ETag.</param>
    /// <param name="Size">X-Linked-Size or Content-Length.</param>
    /// <param name="IsLfs">True when the hub sent X-Linked-Etag.</param>
    /// <param name="DownloadUri">Where to GET the bytes (the CDN location for LFS files).</param>
    /// <param name="Redirected">True if DownloadUri came from a (non-relative) redirect.</param>
    internal sealed record FileMetadata(string? Commit, string Etag, long? Size, bool IsLfs, Uri DownloadUri, bool Redirected);

    /// <summary>HEAD the resolve URL following only relative redirects (repo renames), like huggingface_hub.
    /// Returns null when the file does not exist in the repo (404 EntryNotFound).</summary>
    internal async Task<FileMetadata?> GetMetadataAsync(string repoId, string revision, string file, CancellationToken ct)
    {
        var uri = new Uri(ResolveUrl(repoId, revision, file));
        for (int hop = 0; ; hop++)
        {
            var target = uri;
            using var resp = await SendWithRetryAsync(() =>
            {
                var req = new HttpRequestMessage(HttpMethod.Head, target);
                req.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
                return req;
            }, repoId, file, revision, ct, retryNetworkErrors: false).ConfigureAwait(false);
            int code = (int)resp.StatusCode;
            if (code is >= 300 and < 400 && resp.Headers.Location is { } loc)
            {
                if (!loc.IsAbsoluteUri && hop < MaxRedirects)
                {
                    uri = new Uri(uri, loc);
                    continue;
                }
                return ReadMetadata(resp, new Uri(uri, loc), redirected: true, repoId, file, revision);
            }
            if (resp.IsSuccessStatusCode) return ReadMetadata(resp, uri, redirected: false, repoId, file, revision);
            if (resp.StatusCode == HttpStatusCode.NotFound && ErrorCode(resp) is null or "EntryNotFound") return null;
            throw ErrorFor(resp, repoId, file, revision);
        }
    }

    private FileMetadata ReadMetadata(HttpResponseMessage resp, Uri download, bool redirected, string repoId, string file, string revision)
    {
        string? linked = Header(resp, "X-Linked-Etag");
        string? etag = NormalizeEtag(linked ?? Header(resp, "ETag"));
        if (string.IsNullOrEmpty(etag) || !IsSafeBlobName(etag))
            throw Fail(HubErrorKind.Network, $"the hub sent no usable ETag for {repoId}/{file}@{revision}; cannot cache it");
        long? size = long.TryParse(Header(resp, "X-Linked-Size"), out var ls) ? ls : resp.Content.Headers.ContentLength;
        return new FileMetadata(Header(resp, "X-Repo-Commit"), etag, size, linked is not null, download, redirected);
    }

    private static bool IsSafeBlobName(string etag) =>
        etag.Length <= 200 && etag.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '+' or '=') && !etag.Contains("..", StringComparison.Ordinal);

    /// <summary>huggingface_hub's <c>_normalize_etag</c>: drop a weak prefix and the quotes.</summary>
    internal static string? NormalizeEtag(string? etag)
    {
        if (etag is null) return null;
        etag = etag.Trim();
        if (etag.StartsWith("W/", StringComparison.Ordinal)) etag = etag[2..];
        return etag.Trim('"');
    }

    private static string? Header(HttpResponseMessage resp, string name) =>
        resp.Headers.TryGetValues(name, out var v) ? v.FirstOrDefault()
        : resp.Content.Headers.TryGetValues(name, out var cv) ? cv.FirstOrDefault() : null;

    private static string? ErrorCode(HttpResponseMessage resp) => Header(resp, "X-Error-Code");

    /// <summary>True when a request to <paramref name="target"/> may carry the token: same scheme, host and port as the endpoint.</summary>
    public static bool SameOrigin(Uri endpoint, Uri target) =>
        string.Equals(endpoint.Scheme, target.Scheme, StringComparison.OrdinalIgnoreCase) &&
        string.Equals(endpoint.IdnHost, target.IdnHost, StringComparison.OrdinalIgnoreCase) &&
        endpoint.Port == target.Port;

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage req, string repoId, string file, string revision, CancellationToken ct)
    {
        if (Settings.Token is { } token && SameOrigin(_endpoint, req.RequestUri!))
            req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(RequestTimeout);
        Interlocked.Increment(ref _requests);
        try
        {
            return await _http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw Fail(HubErrorKind.Network,
                $"network error: no response from {req.RequestUri!.Host} within {RequestTimeout.TotalSeconds:0}s for {repoId}/{file}@{revision}");
        }
        catch (HttpRequestException e)
        {
            throw Fail(HubErrorKind.Network,
                $"network error: cannot reach {req.RequestUri!.GetLeftPart(UriPartial.Authority)} for {repoId}/{file}@{revision} ({e.Message}); " +
                "check the connection, proxy or HF_ENDPOINT (without a network, a complete copy in the Hugging Face cache is used)", e);
        }
    }

    private static bool IsRetryable(HttpStatusCode code) => (int)code is 408 or 429 or 500 or 502 or 503 or 504;

    /// <summary>
    /// huggingface_hub's <c>http_backoff</c>: sends a fresh request from <paramref name="make"/> until the answer is not
    /// 408/429/5xx and no connection error happened, at most <see cref="MaxRetries"/> retries; waits 1, 2, 4, 8, 8 s, or
    /// the <c>Retry-After</c> seconds the server asked for. The last answer is returned, whatever its status.
    /// <paramref name="retryNetworkErrors"/> = false (metadata requests: the file list and HEADs) fails at once on a
    /// connection error so that an unreachable hub falls back to the cache quickly, as huggingface_hub's metadata calls do.
    /// </summary>
    private async Task<HttpResponseMessage> SendWithRetryAsync(Func<HttpRequestMessage> make, string repoId, string file, string revision, CancellationToken ct,
        bool retryNetworkErrors = true)
    {
        TimeSpan sleep = RetryBaseDelay;
        for (int tries = 1; ; tries++)
        {
            TimeSpan wait = sleep;
            string why;
            using (var req = make())
            {
                HttpResponseMessage resp;
                try
                {
                    resp = await SendAsync(req, repoId, file, revision, ct).ConfigureAwait(false);
                }
                catch (HubException e) when (e.Kind == HubErrorKind.Network && retryNetworkErrors && tries <= MaxRetries && !ct.IsCancellationRequested)
                {
                    why = e.Message;
                    goto Wait;
                }
                if (!IsRetryable(resp.StatusCode) || tries > MaxRetries) return resp;
                why = $"HTTP {(int)resp.StatusCode} for {req.Method} {req.RequestUri!.GetLeftPart(UriPartial.Path)}";
                if (Header(resp, "Retry-After") is { } ra && int.TryParse(ra.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int secs))
                    wait = TimeSpan.FromSeconds(secs);
                resp.Dispose();
            }
        Wait:
            Log?.Invoke($"{why}; retrying in {wait.TotalSeconds:0.###} s [retry {tries}/{MaxRetries}]");
            await Delay(wait, ct).ConfigureAwait(false);
            sleep = TimeSpan.FromTicks(Math.Min(MaxRetryDelay.Ticks, sleep.Ticks * 2));
        }
    }

    private HubException ErrorFor(HttpResponseMessage resp, string repoId, string file, string revision)
    {
        string? code = ErrorCode(resp);
        switch (resp.StatusCode)
        {
            case HttpStatusCode.Unauthorized when code == "RepoNotFound" && Header(resp, "X-Error-Message") != "Invalid credentials in Authorization header":
                // The hub answers 401 RepoNotFound for a repo that does not exist as well as for a private or gated one
                // asked for without a token; huggingface_hub reports both as RepositoryNotFoundError.
                return Fail(HubErrorKind.NotFound,
                    $"repo not found: {repoId} ({file}@{revision}; HTTP 401 RepoNotFound): check the id" +
                    (Settings.Token is null ? "; if it is private or gated, set HF_TOKEN to a token with access" : "; the token sent has no access to it if it exists"));
            case (HttpStatusCode)429:
                return Fail(HubErrorKind.Network, $"rate limited by the hub (HTTP 429) for {repoId}/{file}@{revision} after {MaxRetries} retries; try again later");
            case HttpStatusCode.Unauthorized:
            case HttpStatusCode.Forbidden:
                string hint = Settings.Token is null
                    ? "set HF_TOKEN to a token with access (the repo may be private or gated, or may not exist)"
                    : code == "GatedRepo"
                        ? "set HF_TOKEN: the token was sent but the repo is gated; accept its terms on the hub with that account"
                        : "set HF_TOKEN: the token was sent but was rejected or has no access to this repo";
                return Fail(HubErrorKind.Authentication, $"authentication required for {repoId}: {hint} (HTTP {(int)resp.StatusCode} on {file}@{revision})");
            case HttpStatusCode.NotFound:
                string detail = code switch
                {
                    "RepoNotFound" => " (repo not found)",
                    "RevisionNotFound" => $" (revision '{revision}' not found)",
                    "EntryNotFound" => " (file not found)",
                    _ => "",
                };
                return Fail(HubErrorKind.NotFound, $"repo or file not found: {repoId}/{file}@{revision}{detail}");
            default:
                return Fail(HubErrorKind.Network,
                    $"unexpected HTTP {(int)resp.StatusCode} {resp.ReasonPhrase} from the hub for {repoId}/{file}@{revision}");
        }
    }

    /// <summary>Builds a HubException whose message is guaranteed not to contain the token.</summary>
    private HubException Fail(HubErrorKind kind, string message, Exception? inner = null, IReadOnlyList<string>? missing = null)
    {
        if (Settings.Token is { Length: > 0 } t) message = message.Replace(t, "***", StringComparison.Ordinal);
        return new HubException(kind, message, inner, missing);
    }

    /// <summary>
    /// Streams the file to <c>blobs/{etag}.incomplete</c> (resuming with a Range request if a partial file exists),
    /// checks the size and, for LFS files, the SHA-256, then renames it to <c>blobs/{etag}</c>. A body cut off mid-way
    /// (dropped connection, stalled read, short body) is resumed from where it stopped, up to <see cref="MaxRetries"/>
    /// times in a row without progress; a 403 from another origin (an expired CDN URL) re-resolves the file.
    /// </summary>
    private async Task DownloadBlobAsync(DownloadState s, string file, FileMetadata meta, string blob, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        await using var fileLock = await AcquireLockAsync(Cache.LockPath(s.RepoId, meta.Etag), s, file, ct).ConfigureAwait(false);
        if (File.Exists(blob)) return; // another process finished it while we waited

        string partial = blob + ".incomplete";
        bool verifySha = meta.IsLfs && Sha256Regex().IsMatch(meta.Etag);
        bool restarted = false;
        int resumesLeft = MaxRetries, reResolves = 0;

        while (true)
        {
            long existing = File.Exists(partial) ? new FileInfo(partial).Length : 0;
            if (meta.Size is long expected && existing > expected) { File.Delete(partial); existing = 0; }

            if (meta.Size is long full && existing == full && existing > 0)
            {
                // Complete but never renamed (e.g. killed before the rename): just verify it.
                using var whole = verifySha ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
                if (whole is not null) await HashPrefixAsync(partial, whole, ct).ConfigureAwait(false);
                Finish(s, file, meta, partial, blob, whole);
                return;
            }

            using var resp = await GetAsync(s, file, meta.DownloadUri, existing, ct).ConfigureAwait(false);
            if (resp.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && existing > 0 && !restarted)
            {
                File.Delete(partial);
                restarted = true;
                continue;
            }
            if (resp.StatusCode == HttpStatusCode.Forbidden && resp.RequestMessage?.RequestUri is { } where
                && !SameOrigin(_endpoint, where) && reResolves < 3)
            {
                // A signed CDN URL that expired (or was revoked): not an authentication problem; ask the hub again.
                reResolves++;
                Log?.Invoke($"HTTP 403 from {where.Host} for {s.RepoId}/{file} (expired download URL?); resolving it again");
                var fresh = await GetMetadataAsync(s.RepoId, s.Commit, file, ct).ConfigureAwait(false)
                    ?? throw Fail(HubErrorKind.NotFound, $"repo or file not found: {s.RepoId}/{file}@{s.Revision}");
                meta = fresh.Redirected ? meta with { DownloadUri = fresh.DownloadUri } : meta;
                continue;
            }
            if (!resp.IsSuccessStatusCode) throw ErrorFor(resp, s.RepoId, file, s.Revision);

            bool append;
            if (resp.StatusCode == HttpStatusCode.PartialContent)
            {
                // Only acceptable as the answer to our Range request, starting where the partial file ends.
                append = existing > 0 && (resp.Content.Headers.ContentRange is not { From: { } from } || from == existing);
                if (!append)
                {
                    if (restarted) throw Fail(HubErrorKind.Network, $"the server sent an unexpected byte range for {s.RepoId}/{file}");
                    File.Delete(partial);
                    restarted = true;
                    continue;
                }
            }
            else
            {
                append = false; // 200: either no Range was sent, or the server ignored it; start over
                existing = 0;
            }

            using var sha = verifySha ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
            if (sha is not null && append) await HashPrefixAsync(partial, sha, ct).ConfigureAwait(false);
            string? cut = null;
            try
            {
                await CopyBodyAsync(s, file, resp, partial, append, existing, meta.Size, sha, ct).ConfigureAwait(false);
                if (meta.Size is long want && new FileInfo(partial).Length < want)
                    cut = $"the body of {s.RepoId}/{file} ended after {new FileInfo(partial).Length} of {want} bytes";
            }
            catch (HubException e) when (e.Kind == HubErrorKind.Network && !ct.IsCancellationRequested)
            {
                cut = e.Message;
            }
            if (cut is null)
            {
                Finish(s, file, meta, partial, blob, sha);
                return;
            }
            long now = File.Exists(partial) ? new FileInfo(partial).Length : 0;
            if (now > existing) resumesLeft = MaxRetries; // data arrived: the budget starts again, as in huggingface_hub
            if (resumesLeft-- <= 0)
                throw Fail(HubErrorKind.Network, $"{cut}; gave up after {MaxRetries} attempts without progress; run the command again to resume");
            Log?.Invoke($"{cut}; resuming at byte {now}");
            await Delay(ResumeDelay, ct).ConfigureAwait(false);
        }
    }

    private void Finish(DownloadState s, string file, FileMetadata meta, string partial, string blob, IncrementalHash? sha)
    {
        long actual = new FileInfo(partial).Length;
        if (meta.Size is long expected && actual != expected)
        {
            File.Delete(partial);
            throw Fail(HubErrorKind.Integrity,
                $"download of {s.RepoId}/{file} is incomplete or corrupt: got {actual} bytes, expected {expected}; the partial file was removed, run the command again");
        }
        if (sha is not null)
        {
            string got = Convert.ToHexStringLower(sha.GetHashAndReset());
            if (!string.Equals(got, meta.Etag, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(partial);
                throw Fail(HubErrorKind.Integrity,
                    $"checksum mismatch for {s.RepoId}/{file}: expected sha256 {meta.Etag}, got {got}; the corrupt download was removed, run the command again");
            }
        }
        File.Move(partial, blob, overwrite: true);
    }

    private static async Task HashPrefixAsync(string path, IncrementalHash sha, CancellationToken ct)
    {
        byte[] buf = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous);
            int n;
            while ((n = await fs.ReadAsync(buf, ct).ConfigureAwait(false)) > 0) sha.AppendData(buf, 0, n);
        }
        finally { ArrayPool<byte>.Shared.Return(buf); }
    }

    /// <summary>GET following redirects; the token is dropped for any hop outside the endpoint's origin.</summary>
    private async Task<HttpResponseMessage> GetAsync(DownloadState s, string file, Uri uri, long rangeStart, CancellationToken ct)
    {
        for (int hop = 0; ; hop++)
        {
            var target = uri;
            var resp = await SendWithRetryAsync(() =>
            {
                var req = new HttpRequestMessage(HttpMethod.Get, target);
                req.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
                if (rangeStart > 0) req.Headers.Range = new RangeHeaderValue(rangeStart, null);
                return req;
            }, s.RepoId, file, s.Revision, ct).ConfigureAwait(false);
            int code = (int)resp.StatusCode;
            if (code is >= 300 and < 400 && resp.Headers.Location is { } loc)
            {
                resp.Dispose();
                if (hop >= MaxRedirects) throw Fail(HubErrorKind.Network, $"too many redirects downloading {s.RepoId}/{file}");
                uri = new Uri(uri, loc);
                continue;
            }
            return resp;
        }
    }

    private async Task<long> CopyBodyAsync(DownloadState s, string file, HttpResponseMessage resp, string partial, bool append,
        long existing, long? expected, IncrementalHash? sha, CancellationToken ct)
    {
        long? total = expected ?? (resp.Content.Headers.ContentLength is long cl ? cl + existing : null);
        long done = existing, transferred = 0;
        var clock = Stopwatch.StartNew();
        long lastReport = -1;
        void Report(bool completed)
        {
            double secs = Math.Max(clock.Elapsed.TotalSeconds, 1e-3);
            s.Progress?.Report(new DownloadProgress(s.RepoId, file, done, total, transferred / secs, completed));
        }
        Report(false);

        byte[] buf = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            await using var body = await resp.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await using var fs = new FileStream(partial, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read,
                1 << 16, FileOptions.Asynchronous);
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
            while (true)
            {
                idle.CancelAfter(ReadTimeout);
                int n;
                try { n = await body.ReadAsync(buf, idle.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw Fail(HubErrorKind.Network,
                        $"network error: download of {s.RepoId}/{file} stalled for {ReadTimeout.TotalSeconds:0}s; run the command again to resume");
                }
                catch (Exception e) when (e is HttpRequestException or IOException)
                {
                    throw Fail(HubErrorKind.Network,
                        $"network error while downloading {s.RepoId}/{file} ({e.Message}); run the command again to resume", e);
                }
                if (n == 0) break;
                await fs.WriteAsync(buf.AsMemory(0, n), ct).ConfigureAwait(false);
                sha?.AppendData(buf, 0, n);
                done += n;
                transferred += n;
                s.BytesDownloaded += n;
                long ms = clock.ElapsedMilliseconds;
                if (ms - lastReport >= 100) { lastReport = ms; Report(false); }
            }
        }
        finally { ArrayPool<byte>.Shared.Return(buf); }
        Report(true);
        return transferred;
    }

    /// <summary>Exclusive lock on <c>.locks/…/{etag}.lock</c> (flock on Unix, like Python's filelock), polling until free.</summary>
    private static async Task<FileStream> AcquireLockAsync(string path, DownloadState s, string file, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
            }
            catch (IOException) when (waited.Elapsed < TimeSpan.FromHours(1))
            {
                await Task.Delay(250, ct).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new HubException(HubErrorKind.Network, $"timed out waiting for another process downloading {s.RepoId}/{file} (lock {path})", e);
            }
        }
    }
}
