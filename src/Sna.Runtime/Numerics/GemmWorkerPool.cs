namespace Sna.Runtime.Numerics;

/// <summary>A unit of parallel work: tasks 0..count-1, each independent; <see cref="RunTask"/> must be thread-safe.</summary>
internal abstract class GemmParallelJob
{
    public abstract void RunTask(int task);
}

/// <summary>
/// A tiny fork-join pool with dedicated background threads (no allocation per dispatch, unlike Parallel.For).
/// Tasks are handed out dynamically (an interlocked counter), so a core slowed down by other processes simply takes fewer
/// tasks. Which thread runs a task never affects results: every task writes a disjoint part of C, computed in a fixed order.
/// One dispatch at a time: a caller that finds the pool busy runs its tasks inline instead (same results, fewer threads;
/// <see cref="ManagedGemm"/> does not even try while another of its calls is running).
/// </summary>
internal sealed class GemmWorkerPool
{
    private static readonly Dictionary<int, GemmWorkerPool> s_pools = new();

    /// <summary>Shared pool with <paramref name="workers"/> helper threads (total parallelism workers + 1 with the caller).</summary>
    public static GemmWorkerPool Get(int workers)
    {
        lock (s_pools)
        {
            if (!s_pools.TryGetValue(workers, out var p)) s_pools[workers] = p = new GemmWorkerPool(workers);
            return p;
        }
    }

    private readonly object _gate = new();
    private readonly ManualResetEventSlim[] _start;
    private readonly ManualResetEventSlim _done = new(false, 200);
    private GemmParallelJob? _job;
    private int _taskCount;
    private int _next;
    private int _active;
    private Exception? _error;

    /// <summary>A pool of its own (tests); callers share the pools of <see cref="Get"/>.</summary>
    internal GemmWorkerPool(int workers)
    {
        _start = new ManualResetEventSlim[workers];
        for (int i = 0; i < workers; i++)
        {
            _start[i] = new ManualResetEventSlim(false, 200);
            int idx = i;
            var t = new Thread(() => WorkerLoop(idx)) { IsBackground = true, Name = $"sna-gemm-{i}" };
            t.Start();
        }
    }

    public int Workers => _start.Length;

    /// <summary>Run tasks 0..taskCount-1 with up to <paramref name="maxThreads"/> threads (including the caller).</summary>
    public void Run(GemmParallelJob job, int taskCount, int maxThreads)
    {
        int helpers = Math.Min(Math.Min(Workers, maxThreads - 1), taskCount - 1);
        if (helpers <= 0 || !Monitor.TryEnter(_gate))
        {
            for (int t = 0; t < taskCount; t++) job.RunTask(t);
            return;
        }
        try
        {
            _job = job;
            _taskCount = taskCount;
            _next = 0;
            _error = null;
            _active = helpers;
            _done.Reset();
            for (int i = 0; i < helpers; i++) _start[i].Set();
            Work();
            // Wait on the condition, not on the event alone: a helper of the previous dispatch may still be between its
            // final decrement and its _done.Set(), and that late Set must not release this dispatch while helpers are
            // still running its tasks (they write C through pointers that die when this call returns).
            while (Volatile.Read(ref _active) != 0)
            {
                _done.Wait();
                _done.Reset();
            }
            _job = null;
            if (_error is { } e) throw new AggregateException("GEMM worker task failed", e);
        }
        finally
        {
            Monitor.Exit(_gate);
        }
    }

    private void Work()
    {
        GemmParallelJob job = _job!;
        int count = _taskCount;
        int t;
        while ((t = Interlocked.Increment(ref _next) - 1) < count)
        {
            try { job.RunTask(t); }
            catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
        }
    }

    private void WorkerLoop(int idx)
    {
        var start = _start[idx];
        while (true)
        {
            start.Wait();
            start.Reset();
            Work();
            if (Interlocked.Decrement(ref _active) == 0) _done.Set();
        }
    }
}
