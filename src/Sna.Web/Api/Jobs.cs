using System.Collections.Concurrent;
using System.Text.Json;

namespace Sna.Web.Api;

/// <summary>
/// What the server's background jobs (heat maps, model downloads) share: the states queued → running →
/// completed | cancelled | failed, a <see cref="Version"/> bumped on every change (the event stream sends when it moves),
/// when a client last looked and when the job finished.
/// </summary>
public abstract class JobBase(string id, CancellationTokenSource cts)
{
    /// <summary>Guards the job's state; subclasses change their fields only inside <see cref="Change"/>.</summary>
    protected readonly object Gate = new();
    private string _state = "queued";

    private readonly object _ctsGate = new();
    private bool _ended;

    public string Id { get; } = id;
    /// <summary>The job's cancellation source; disposed by <see cref="End"/> when the job's work is over.</summary>
    public CancellationTokenSource Cts { get; } = cts;

    /// <summary>Asks the job to stop (a no-op once it has ended).</summary>
    public void Cancel()
    {
        lock (_ctsGate) if (!_ended) Cts.Cancel();
    }

    /// <summary>Called once when the job's work is over (whatever the outcome): disposes <see cref="Cts"/>, which unlinks it from
    /// the application's stopping token. The job stays listed (its status is kept) until the table drops it.</summary>
    public void End()
    {
        lock (_ctsGate)
        {
            if (_ended) return;
            _ended = true;
            Cts.Dispose();
        }
    }
    public DateTime LastSeen { get; private set; } = DateTime.UtcNow;
    public DateTime FinishedAt { get; private set; } = DateTime.MaxValue;
    public int Version { get; private set; }
    public bool IsFinished { get { lock (Gate) return IsFinal(_state); } }

    /// <summary>The state as clients see it; read inside <see cref="Gate"/> by <see cref="Status"/>.</summary>
    protected string State => _state;

    public static bool IsFinal(string state) => state is "completed" or "cancelled" or "failed";

    /// <summary>Marks the job as watched now.</summary>
    public JobBase Touch() { LastSeen = DateTime.UtcNow; return this; }

    public void SetState(string s) => Change(() => SetStateLocked(s));

    /// <summary>Runs <paramref name="a"/> under the lock and bumps the version.</summary>
    protected void Change(Action a) { lock (Gate) { a(); Version++; } }

    /// <summary>For use inside <see cref="Change"/>.</summary>
    protected void SetStateLocked(string s)
    {
        _state = s;
        if (IsFinal(s)) FinishedAt = DateTime.UtcNow;
    }

    /// <summary>The job's status as sent to clients (a consistent copy).</summary>
    public abstract object Status();
}

/// <summary>The jobs of one kind: at most <c>max</c> kept (running or finished); finished ones are dropped after
/// <see cref="KeepFinished"/>, oldest first when room is needed.</summary>
public sealed class JobTable<TJob>(string kind, int max) where TJob : JobBase
{
    public static readonly TimeSpan KeepFinished = TimeSpan.FromMinutes(30);

    private readonly ConcurrentDictionary<string, TJob> _jobs = new(StringComparer.Ordinal);
    private readonly object _add = new();

    public ICollection<TJob> All => _jobs.Values;

    /// <summary>
    /// Adds <paramref name="job"/>, or throws <see cref="ServerBusyException"/> (429) when the table is full. The check and the
    /// add are one step under a lock, so concurrent submissions never exceed <c>max</c>.
    /// </summary>
    public void Add(TJob job)
    {
        lock (_add)
        {
            Prune();
            if (_jobs.Count >= max)
                throw new ServerBusyException($"{_jobs.Count} {kind} jobs are running or kept; wait for one to finish or DELETE it");
            if (!_jobs.TryAdd(job.Id, job)) throw new InvalidOperationException($"job id {job.Id} is already in use");
        }
    }

    /// <summary>Takes back a job that was added but could not start.</summary>
    public void Remove(TJob job) => _jobs.TryRemove(new KeyValuePair<string, TJob>(job.Id, job));

    public int Count => _jobs.Count;

    public TJob Find(string id) =>
        _jobs.TryGetValue(id, out var j) ? j
        : throw new NotFoundException("Unknown job.", $"there is no {kind} job '{(id.Length > 40 ? id[..40] : id)}' (finished jobs are kept {KeepFinished.TotalMinutes:0} minutes)");

    /// <summary>The job, marked as watched (a status request or the event stream).</summary>
    public TJob Watch(string id)
    {
        var job = Find(id);
        job.Touch();
        return job;
    }

    /// <summary>Asks the job to stop; it says so in its state when it has.</summary>
    public TJob Cancel(string id)
    {
        var job = Find(id);
        job.Cancel();
        return job;
    }

    public void CancelAll()
    {
        foreach (var j in _jobs.Values) j.Cancel();
    }

    private void Prune()
    {
        var now = DateTime.UtcNow;
        foreach (var (id, j) in _jobs)
            if (j.IsFinished && now - j.FinishedAt > KeepFinished) _jobs.TryRemove(id, out _);
        if (_jobs.Count >= max)
            foreach (var j in _jobs.Values.Where(j => j.IsFinished).OrderBy(j => j.FinishedAt).Take(_jobs.Count - max + 1))
                _jobs.TryRemove(j.Id, out _);
    }
}

/// <summary><c>GET …/{id}/events</c>: the job's status as server-sent events, <c>progress</c> on every change and
/// <c>done</c> at the end, with a keep-alive comment every 15 s.</summary>
public static class JobEvents
{
    public static async Task<IResult> StreamAsync(HttpContext ctx, JobBase job)
    {
        var res = ctx.Response;
        res.Headers.ContentType = "text/event-stream";
        res.Headers.CacheControl = "no-cache";
        var json = ctx.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        int sent = -1;
        var ct = ctx.RequestAborted;
        var lastWrite = DateTime.UtcNow;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                job.Touch();
                int v = job.Version;
                if (v != sent)
                {
                    sent = v;
                    bool final = job.IsFinished;
                    var status = job.Status();
                    await res.WriteAsync($"event: {(final ? "done" : "progress")}\ndata: {JsonSerializer.Serialize(status, json)}\n\n", ct);
                    await res.Body.FlushAsync(ct);
                    lastWrite = DateTime.UtcNow;
                    if (final) break;
                }
                else if (DateTime.UtcNow - lastWrite > TimeSpan.FromSeconds(15))
                {
                    await res.WriteAsync(": keep-alive\n\n", ct);
                    await res.Body.FlushAsync(ct);
                    lastWrite = DateTime.UtcNow;
                }
                await Task.Delay(100, ct);
            }
        }
        catch (OperationCanceledException) { /* the client closed the stream; the job goes on until DELETE (or abandoned) */ }
        return Results.Empty;
    }
}
