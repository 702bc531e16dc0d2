using Sna.Runtime.Hub;
using Sna.Web.Models;

namespace Sna.Web.Api;

/// <summary>
/// Download jobs for the hub models of the catalog: <c>POST /api/models/{id}/download</c> starts one (or returns the one
/// already running for that model), the hub client fetches the model into the hub cache (never elsewhere) with progress,
/// and the catalog looks again when it is done. Only the catalog's hub models can be downloaded: the repo id comes from
/// <see cref="ModelAliases"/>, never from the client. A job is cancelled by DELETE or by server shutdown (a partial file
/// stays in the cache as <c>.incomplete</c> and the next download resumes it). Downloads do not take compute slots.
/// </summary>
public sealed class ModelDownloads(ModelCatalog catalog, WebOptions options, ILogger<ModelDownloads> log, IHostApplicationLifetime lifetime) : IDisposable
{
    private readonly JobTable<Job> _jobs = new("download", options.MaxJobs);
    private readonly object _start = new();

    public DownloadStatus Start(string modelId)
    {
        if (!catalog.TryGet(modelId, out var entry))
            throw new NotFoundException("Unknown model.", $"there is no model with id '{(modelId.Length > 80 ? modelId[..80] : modelId)}'; GET /api/models lists the models this server offers");
        if (entry.HubModel is not { } model)
            throw new RequestValidationException("model", $"model '{modelId}' is not a hub model; only the hub models of GET /api/models can be downloaded");
        lock (_start)
        {
            if (_jobs.All.FirstOrDefault(j => j.ModelId == entry.Id && !j.IsFinished) is { } running) return running.Snapshot();
            var job = new Job(Guid.NewGuid().ToString("N"), entry.Id, model, CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping));
            try { _jobs.Add(job); }   // 429 when full
            catch { job.End(); throw; }
            _ = Task.Run(() => Run(job));
            return job.Snapshot();
        }
    }

    public DownloadStatus Get(string id) => _jobs.Watch(id).Snapshot();

    public DownloadStatus Cancel(string id) => _jobs.Cancel(id).Snapshot();

    /// <summary>The job, for the event stream; marks it as watched.</summary>
    public Job Watch(string id) => _jobs.Watch(id);

    private async Task Run(Job job)
    {
        var ct = job.Cts.Token;
        try
        {
            job.SetState("running");
            var snap = await catalog.Hub.DownloadModelAsync(job.Model.RepoId, "main", job, ct);
            catalog.RefreshHub();
            job.Complete(snap.Commit, snap.Warning is null ? null : Scrub(snap.Warning));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { job.SetState("cancelled"); }
        catch (HubException e)
        {
            job.Fail(new JobProblem(e.Kind == HubErrorKind.Offline ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status502BadGateway,
                "The model could not be downloaded.", Scrub(e.Message)));
        }
        catch (Exception e)
        {
            log.LogError(e, "download job {Id} ({Repo}) failed", job.Id, job.Model.RepoId);
            job.Fail(new JobProblem(StatusCodes.Status500InternalServerError, "The model could not be downloaded.",
                "the download failed unexpectedly (the server log has the details)"));
        }
        finally { job.End(); }
    }

    /// <summary>The hub client's messages never hold the token; they may name the cache directory, which stays on the server.</summary>
    private string Scrub(string message)
    {
        if (catalog.Hub.Settings.Token is { Length: > 0 } t) message = message.Replace(t, "***", StringComparison.Ordinal);
        return message.Replace(catalog.Hub.Settings.CacheDir, "the hub cache", StringComparison.Ordinal);
    }

    public void Dispose() => _jobs.CancelAll();

    /// <summary>One model download; its progress comes from the hub client (one report per file, every 100 ms).</summary>
    public sealed class Job(string id, string modelId, ModelAlias model, CancellationTokenSource cts) : JobBase(id, cts), IProgress<DownloadProgress>
    {
        private readonly Dictionary<string, long> _fileBytes = new(StringComparer.Ordinal);
        private DownloadProgress? _last;
        private string? _commit, _warning;
        private JobProblem? _problem;

        public string ModelId { get; } = modelId;
        public ModelAlias Model { get; } = model;

        public void Report(DownloadProgress p) => Change(() => { _fileBytes[p.File] = p.BytesDone; _last = p; });
        public void Complete(string commit, string? warning) => Change(() => { _commit = commit; _warning = warning; SetStateLocked("completed"); });
        public void Fail(JobProblem problem) => Change(() => { _problem = problem; SetStateLocked("failed"); });

        public override object Status() => Snapshot();

        public DownloadStatus Snapshot()
        {
            lock (Gate)
                return new DownloadStatus(Id, ModelId, Model.RepoId, State, _fileBytes.Values.Sum(), Model.SafetensorsBytes,
                    _last?.File, _last?.BytesDone, _last?.TotalBytes, _last?.BytesPerSecond ?? 0, _commit, _warning, _problem);
        }
    }
}
