using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Sna.Tests;

/// <summary>One file served by the fake hub.</summary>
public sealed record FakeFile(byte[] Content, bool Lfs)
{
    public string Sha256 => Convert.ToHexStringLower(SHA256.HashData(Content));

    /// <summary>Git blob id, which the hub uses as ETag for non-LFS files.</summary>
    public string GitOid => Convert.ToHexStringLower(SHA1.HashData(
        Encoding.ASCII.GetBytes($"blob {Content.Length}\0").Concat(Content).ToArray()));

    public string Etag => Lfs ? Sha256 : GitOid;
}

public sealed record RecordedRequest(string Method, string Target, string? Range, string? Authorization);

/// <summary>
/// A misbehaviour the fake hub applies once, to the next request to <paramref name="Where"/> ("api", "resolve" or "cdn")
/// with <paramref name="Method"/> (any if null): answer <paramref name="Status"/> (with <paramref name="RetryAfter"/>), or
/// send <paramref name="DropAfterBytes"/> bytes of the body then drop the connection, after <paramref name="Stall"/>.
/// </summary>
public sealed record FakeFault(string Where, int Status = 0, string? RetryAfter = null, int DropAfterBytes = -1, TimeSpan Stall = default, string? Method = null);

/// <summary>Repos and behaviour switches, shareable between a "hub" and a "CDN" server.</summary>
public sealed class FakeHubStore
{
    public ConcurrentDictionary<string, Dictionary<string, string>> Refs { get; } = new(StringComparer.Ordinal);
    public ConcurrentDictionary<string, Dictionary<string, Dictionary<string, FakeFile>>> Commits { get; } = new(StringComparer.Ordinal);
    /// <summary>Old repo id → new repo id (the hub answers 307 with a relative Location).</summary>
    public ConcurrentDictionary<string, string> Renamed { get; } = new(StringComparer.Ordinal);

    public void AddRepo(string repoId, string commit, IReadOnlyDictionary<string, FakeFile> files, params string[] refs)
    {
        Commits.GetOrAdd(repoId, _ => new())[commit] = new Dictionary<string, FakeFile>(files);
        var r = Refs.GetOrAdd(repoId, _ => new());
        foreach (var rf in refs) r[rf] = commit;
    }

    public FakeFile? FindLfs(string sha) =>
        Commits.Values.SelectMany(c => c.Values).SelectMany(f => f.Values).FirstOrDefault(f => f.Lfs && f.Sha256 == sha);
}

/// <summary>
/// A fake Hugging Face hub for the hub client's and the web tool's tests (tests/Shared, compiled into each test project):
/// an in-process Kestrel server on 127.0.0.1 (random port) speaking the hub's resolve protocol:
/// HEAD/GET <c>/{repo}/resolve/{rev}/{file}</c> with X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size;
/// LFS files answer 302 to <c>/cdn/{sha256}</c> (on this server or <see cref="CdnBaseUrl"/>), which honours Range.
/// </summary>
public sealed class FakeHub : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeHub(WebApplication app, FakeHubStore store)
    {
        _app = app;
        Store = store;
    }

    public FakeHubStore Store { get; }
    public string Url { get; private set; } = "";
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public string? RequiredToken { get; set; }
    /// <summary>Faults applied in order, each once (see <see cref="FakeFault"/>).</summary>
    public ConcurrentQueue<FakeFault> Faults { get; } = new();
    public string? CdnBaseUrl { get; set; }
    public bool CorruptLfs { get; set; }
    public bool IgnoreRange { get; set; }
    /// <summary>Wait this long before answering any request (to observe and cancel a download mid-way).</summary>
    public TimeSpan ResponseDelay { get; set; }

    public void ResetRequests() => Requests.Clear();

    /// <summary>An http URL on 127.0.0.1 where nothing listens: a hub that cannot be reached.</summary>
    public static string UnreachableUrl()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return $"http://127.0.0.1:{port}";
    }

    public static async Task<FakeHub> StartAsync(FakeHubStore? store = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel();
        var app = builder.Build();
        app.Urls.Add("http://127.0.0.1:0");
        var hub = new FakeHub(app, store ?? new FakeHubStore());
        app.Run(hub.HandleAsync);
        await app.StartAsync();
        hub.Url = app.Urls.Single().TrimEnd('/');
        return hub;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        string raw = ctx.Features.Get<IHttpRequestFeature>()!.RawTarget;
        string? range = ctx.Request.Headers.Range.FirstOrDefault();
        string? auth = ctx.Request.Headers.Authorization.FirstOrDefault();
        Requests.Enqueue(new RecordedRequest(ctx.Request.Method, raw, range, auth));
        if (ResponseDelay > TimeSpan.Zero) await Task.Delay(ResponseDelay, ctx.RequestAborted);

        string path = raw.Split('?')[0];
        var segs = path.Trim('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
        var resp = ctx.Response;

        string where = segs.Length == 2 && segs[0] == "cdn" ? "cdn" : segs.Length > 0 && segs[0] == "api" ? "api" : "resolve";
        FakeFault? fault = null;
        if (Faults.TryPeek(out var next) && next.Where == where && (next.Method is null || next.Method == ctx.Request.Method)
            && Faults.TryDequeue(out var taken))
            fault = taken;
        if (fault is { Status: > 0 })
        {
            if (fault.Stall > TimeSpan.Zero) await Task.Delay(fault.Stall, ctx.RequestAborted);
            resp.StatusCode = fault.Status;
            if (fault.RetryAfter is not null) resp.Headers["Retry-After"] = fault.RetryAfter;
            return;
        }

        if (where == "cdn")
        {
            var lfs = Store.FindLfs(segs[1]);
            if (lfs is null) { resp.StatusCode = 404; return; }
            byte[] data = lfs.Content;
            if (CorruptLfs) { data = (byte[])data.Clone(); data[data.Length / 2] ^= 0xFF; }
            await ServeBytes(ctx, data, range, fault);
            return;
        }

        if (where == "api")
        {
            await ServeListingAsync(ctx, segs, auth);
            return;
        }

        int ri = Array.IndexOf(segs, "resolve");
        if (ri is < 1 or > 2 || segs.Length < ri + 3) { resp.StatusCode = 404; return; }
        string repo = string.Join('/', segs[..ri]);
        string rev = segs[ri + 1];
        string file = string.Join('/', segs[(ri + 2)..]);

        if (Unauthorized(ctx, auth)) return;
        if (Store.Renamed.TryGetValue(repo, out var newRepo))
        {
            resp.StatusCode = 307;
            resp.Headers.Location = "/" + newRepo + "/resolve/" + Uri.EscapeDataString(rev) + "/" + file;
            return;
        }
        if (!Store.Commits.TryGetValue(repo, out var commits))
        {
            NotFoundRepo(ctx, auth);
            return;
        }
        string? commit = commits.ContainsKey(rev) ? rev
            : Store.Refs.TryGetValue(repo, out var refs) && refs.TryGetValue(rev, out var c) ? c : null;
        if (commit is null)
        {
            resp.StatusCode = 404;
            resp.Headers["X-Error-Code"] = "RevisionNotFound";
            return;
        }
        resp.Headers["X-Repo-Commit"] = commit;
        if (!commits[commit].TryGetValue(file, out var ff))
        {
            resp.StatusCode = 404;
            resp.Headers["X-Error-Code"] = "EntryNotFound";
            return;
        }
        if (ff.Lfs)
        {
            resp.StatusCode = 302;
            resp.Headers.ETag = "\"" + ff.Sha256 + "\"";
            resp.Headers["X-Linked-Etag"] = "\"" + ff.Sha256 + "\"";
            resp.Headers["X-Linked-Size"] = ff.Content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
            string cdn = CdnBaseUrl ?? $"{ctx.Request.Scheme}://{ctx.Request.Host}";
            resp.Headers.Location = $"{cdn}/cdn/{ff.Sha256}?X-Amz-Signature=fake";
            return;
        }
        resp.Headers.ETag = "\"" + ff.GitOid + "\"";
        await ServeBytes(ctx, ff.Content, range, fault);
    }

    /// <summary>The hub's answer to a request without valid credentials: 401 RepoNotFound (anonymous) or invalid credentials.</summary>
    private bool Unauthorized(HttpContext ctx, string? auth)
    {
        if (RequiredToken is null || auth == "Bearer " + RequiredToken) return false;
        ctx.Response.StatusCode = 401;
        ctx.Response.Headers["X-Error-Code"] = "RepoNotFound";
        ctx.Response.Headers["X-Error-Message"] = auth is null ? "Repository not found" : "Invalid credentials in Authorization header";
        return true;
    }

    /// <summary>The real hub answers an unknown repo with 401 when the request is anonymous, 404 with a token.</summary>
    private static void NotFoundRepo(HttpContext ctx, string? auth)
    {
        ctx.Response.StatusCode = auth is null ? 401 : 404;
        ctx.Response.Headers["X-Error-Code"] = "RepoNotFound";
        ctx.Response.Headers["X-Error-Message"] = "Repository not found";
    }

    /// <summary><c>GET /api/models/{repo}/revision/{rev}[?blobs=true]</c>: the commit and its files, as the hub's model_info.</summary>
    private async Task ServeListingAsync(HttpContext ctx, string[] segs, string? auth)
    {
        var resp = ctx.Response;
        int ri = Array.IndexOf(segs, "revision");
        if (segs.Length < 4 || segs[1] != "models" || ri is < 3 or > 4 || segs.Length != ri + 2) { resp.StatusCode = 404; return; }
        string repo = string.Join('/', segs[2..ri]);
        string rev = segs[ri + 1];
        if (Unauthorized(ctx, auth)) return;
        if (Store.Renamed.TryGetValue(repo, out var newRepo))
        {
            resp.StatusCode = 307;
            resp.Headers.Location = "/api/models/" + newRepo + "/revision/" + Uri.EscapeDataString(rev) + ctx.Request.QueryString;
            return;
        }
        if (!Store.Commits.TryGetValue(repo, out var commits)) { NotFoundRepo(ctx, auth); return; }
        string? commit = commits.ContainsKey(rev) ? rev
            : Store.Refs.TryGetValue(repo, out var refs) && refs.TryGetValue(rev, out var c) ? c : null;
        if (commit is null)
        {
            resp.StatusCode = 404;
            resp.Headers["X-Error-Code"] = "RevisionNotFound";
            return;
        }
        bool blobs = ctx.Request.Query["blobs"] == "true";
        var siblings = commits[commit].OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => blobs
            ? (object)new Dictionary<string, object?>
            {
                ["rfilename"] = kv.Key,
                ["size"] = kv.Value.Content.Length,
                ["blobId"] = kv.Value.GitOid,
                ["lfs"] = kv.Value.Lfs ? new { size = kv.Value.Content.Length, sha256 = kv.Value.Sha256, pointerSize = 134 } : null,
            }
            : new { rfilename = kv.Key }).ToList();
        resp.ContentType = "application/json";
        await resp.WriteAsync(System.Text.Json.JsonSerializer.Serialize(new { _id = "fake", id = repo, modelId = repo, sha = commit, siblings }));
    }

    private async Task ServeBytes(HttpContext ctx, byte[] data, string? range, FakeFault? fault = null)
    {
        var resp = ctx.Response;
        resp.Headers.AcceptRanges = "bytes";
        int start = 0;
        if (!IgnoreRange && range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = int.Parse(range["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
            if (start >= data.Length)
            {
                resp.StatusCode = 416;
                resp.Headers.ContentRange = $"bytes */{data.Length}";
                return;
            }
            resp.StatusCode = 206;
            resp.Headers.ContentRange = $"bytes {start}-{data.Length - 1}/{data.Length}";
        }
        resp.ContentLength = data.Length - start;
        if (HttpMethods.IsHead(ctx.Request.Method)) return;
        if (fault is { DropAfterBytes: >= 0 })
        {
            // Part of the body, then (after a stall, if asked) the connection is cut: the client sees a short body.
            await resp.StartAsync();
            await resp.Body.WriteAsync(data.AsMemory(start, Math.Min(fault.DropAfterBytes, data.Length - start)));
            await resp.Body.FlushAsync();
            if (fault.Stall > TimeSpan.Zero)
                try { await Task.Delay(fault.Stall, ctx.RequestAborted); } catch (OperationCanceledException) { }
            ctx.Abort();
            return;
        }
        await resp.Body.WriteAsync(data.AsMemory(start));
    }
}
