using Sna.Research.Experiments;
using Sna.Research.Method;
using Sna.Runtime.Tokenization;

namespace Sna.Web.Api;

/// <summary>
/// Heat-map jobs: layer × multiplier grids of P(target) with each layer's top-k discovered neurons amplified
/// (the library's <see cref="PromptHeatmap"/>; this class only manages the jobs).
/// A job waits in the shared <see cref="ComputeGate"/> queue, then runs on a pool thread; it is cancelled by DELETE,
/// by server shutdown, or when no client has looked at it for <see cref="AbandonAfter"/>.
/// </summary>
public sealed class HeatmapJobs(SnaService service, ComputeGate gate, ILogger<HeatmapJobs> log, IHostApplicationLifetime lifetime) : IDisposable
{
    public static readonly TimeSpan AbandonAfter = TimeSpan.FromMinutes(2);

    private readonly JobTable<Job> _jobs = new("heat-map", service.Options.MaxJobs);

    public HeatmapStatus Start(HeatmapRequest request)
    {
        var plan = service.PlanHeatmap(request);
        var job = new Job(Guid.NewGuid().ToString("N"), plan, CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping));
        Task<System.Threading.RateLimiting.RateLimitLease> lease;
        try
        {
            _jobs.Add(job);                        // throws ServerBusyException (429) when the table is full (atomic)
            try { lease = gate.Enqueue(job.Cts.Token); }   // throws ServerBusyException (429) when the queue is full
            catch { _jobs.Remove(job); throw; }
        }
        catch
        {
            job.End();
            throw;
        }
        _ = Task.Run(() => Run(job, lease));
        return job.Snapshot();
    }

    public HeatmapStatus Get(string id) => _jobs.Watch(id).Snapshot();

    public HeatmapStatus Cancel(string id) => _jobs.Cancel(id).Snapshot();

    /// <summary>The job, for the event stream; marks it as watched.</summary>
    public Job Watch(string id) => _jobs.Watch(id);

    private async Task Run(Job job, Task<System.Threading.RateLimiting.RateLimitLease> pending)
    {
        var ct = job.Cts.Token;
        try
        {
            using var lease = await pending;
            if (!lease.IsAcquired) throw new ServerBusyException("the work queue is full");
            job.SetState("running");
            await Task.Run(() => Compute(job, ct), ct);
            job.SetState("completed");
        }
        catch (OperationCanceledException) { job.SetState("cancelled"); }
        catch (Exception e) when (e is RequestValidationException or Sna.Runtime.SnaInputException or ServerBusyException)
        {
            job.Fail(e.Message);
        }
        catch (Exception e)
        {
            log.LogError(e, "heat-map job {Id} failed", job.Id);
            job.Fail("the job failed unexpectedly (the server log has the details)");
        }
        finally { job.End(); }
    }

    private void Compute(Job job, CancellationToken ct)
    {
        var p = job.Plan;
        using var lease = service.Acquire(p.Model);   // the model is not released while this job runs
        var lm = lease.Model;
        var policy = SnaService.Policy(lm, p.Bos);
        var input = SnaService.Encode(lm, p.Prompt, p.Target, policy);
        var suite = SnaService.DiscoverySuite(p.Task, p.Prompt, p.Target);
        PromptHeatmap.Run(lm.Language, input, suite, p.Layers, p.Multipliers, p.Count, p.Positions, new PromptHeatmapProgress
        {
            Baseline = job.SetBaseline,
            Neurons = job.SetNeurons,
            LayerStarting = _ => { if (DateTime.UtcNow - job.LastSeen > AbandonAfter) throw new OperationCanceledException("abandoned"); },
            Cell = c =>
            {
                job.AddCell(new HeatmapCell(c.Layer, c.Multiplier, c.Probability, c.ImprovementPct));
                if (service.Options.HeatmapCellDelay > TimeSpan.Zero) Task.Delay(service.Options.HeatmapCellDelay, ct).Wait(ct);
            },
        }, ct);
    }

    public void Dispose() => _jobs.CancelAll();

    /// <summary>One heat-map job's cells as they come.</summary>
    public sealed class Job(string id, HeatmapPlan plan, CancellationTokenSource cts) : JobBase(id, cts)
    {
        private readonly List<HeatmapCell> _cells = new();
        private readonly Dictionary<string, int[]> _neurons = new();
        private string? _error;
        private double? _baseline;

        public HeatmapPlan Plan { get; } = plan;

        public void Fail(string error) => Change(() => { _error = error; SetStateLocked("failed"); });
        public void SetBaseline(double p) => Change(() => _baseline = p);
        public void SetNeurons(int layer, int[] n) => Change(() => _neurons[layer.ToString(System.Globalization.CultureInfo.InvariantCulture)] = n);
        public void AddCell(HeatmapCell c) => Change(() => _cells.Add(c));

        public override object Status() => Snapshot();

        public HeatmapStatus Snapshot()
        {
            lock (Gate)
                return new HeatmapStatus(Id, State, _cells.Count, Plan.Layers.Length * Plan.Multipliers.Length, Plan.Layers, Plan.Multipliers, Plan.Count,
                    PositionsModes.Name(Plan.Positions), _baseline, new Dictionary<string, int[]>(_neurons), _cells.ToArray(), _error);
        }
    }
}
