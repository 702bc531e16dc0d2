using Sna.Runtime;
using System.Diagnostics;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Research.Storage;

namespace Sna.Research.Sweeps;

/// <summary>How a sweep runs (none of this changes its results).</summary>
public sealed record SweepOptions
{
    public ShardSpec Shard { get; init; } = ShardSpec.Whole;
    /// <summary>Continue a database that already has results of this sweep (skips every stored (config, prompt)).</summary>
    public bool Resume { get; init; }
    /// <summary>Batches evaluated concurrently (each with its own buffers); GEMM threading is the provider's own.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;
    /// <summary>positions = last: rows (configuration × prompt) per batch, one pass that the rows of consecutive layers join at
    /// their own block; one batch = one transaction.</summary>
    public int MaxRowsLast { get; init; } = 2048;
    /// <summary>positions = all: padded tokens per batch (rows × the batch's longest prompt; rows of several prompts share a batch).</summary>
    public int MaxTokensAll { get; init; } = 2048;
    /// <summary>Prefix caches held at once; prompts beyond the budget are processed in groups.</summary>
    public long MaxCacheBytes { get; init; } = 1L << 30;
    /// <summary>Called after each batch is committed, from the committing thread and under the store's write lock (no other
    /// batch writes meanwhile, so the callback may use the store), e.g. for tests and throttling.</summary>
    public Action<int>? AfterBatchCommitted { get; init; }
}

/// <summary>
/// Progress of a run. An evaluation is one (configuration, prompt); <see cref="ConfigsDone"/> counts configurations with every
/// prompt stored. Rates and ETA are from this run's evaluations (skipped, already stored ones excluded).
/// </summary>
public sealed record SweepProgress(long EvaluationsDone, long EvaluationsTotal, int ConfigsDone, int ConfigsTotal,
                                   double ConfigsPerSecond, TimeSpan Elapsed, TimeSpan? Eta, string Stage);

/// <summary>What a run did.</summary>
public sealed record SweepRunResult(bool Completed, long EvaluationsWritten, long EvaluationsSkipped, int Batches,
                                    int ConfigsInShard, long PrefixCacheBytes, TimeSpan Elapsed);

/// <summary>
/// Runs a sweep into a <see cref="ResultStore"/>: base runs (prefix caches) per prompt, then for every (task, prompt group,
/// positions, layer) the shard's configurations in batches, each batch committed in one transaction. Resumable (stored
/// evaluations are skipped), shardable (<see cref="ShardSpec"/>), cancellable (stops after the batches in flight, all committed).
/// Results are bit-identical across threads, batch sizes and shards (per-row kernels, every GEMM call at or above the
/// provider's <see cref="Sna.Runtime.Numerics.IGemmProvider.RowInvariantFrom"/>), and a resumed run recomputes exactly the
/// uninterrupted run's batches (cut from the whole grid).
/// </summary>
public sealed class SweepEngine
{
    private readonly SweepEvaluator _ev;
    private readonly TransformerModel _model;
    public SweepDefinition Definition { get; }
    public IReadOnlyList<SweepTask> Tasks { get; }
    public SweepGrid Grid { get; }

    public SweepEngine(TransformerModel model, SweepDefinition definition, IReadOnlyList<SweepTask> tasks)
    {
        _model = model;
        _ev = new SweepEvaluator(model);
        Definition = definition;
        Tasks = tasks;
        definition.Validate(model.Config.NLayers, model.Config.DMlp);
        if (!tasks.Select(t => t.Name).SequenceEqual(definition.Tasks))
            throw new ArgumentException($"the tasks given ({string.Join(", ", tasks.Select(t => t.Name))}) do not match the definition's ({string.Join(", ", definition.Tasks)})");
        foreach (var t in tasks)
        {
            if (t.Prompts.Count == 0) throw new SnaInputException($"task {t.Name} has no prompts");
            foreach (var p in t.Prompts) model.ValidateBatch([p.Ids]);
        }
        Grid = new SweepGrid(definition, model.Config.NLayers);
    }

    public SweepEvaluator Evaluator => _ev;

    /// <summary>The neurons the definition's source picks at (layer, count) for a task; checked and stored by <see cref="Run"/>.</summary>
    private int[] Select(SweepTask task, int layer, int count)
    {
        var n = task.Neurons(layer, count) ?? throw new SnaInputException($"task {task.Name}: the neuron selector returned null for layer {layer}, count {count}");
        if (n.Length != count) throw new InvalidOperationException($"task {task.Name}: the neuron selector returned {n.Length} neurons for layer {layer}, count {count}");
        if (n.Distinct().Count() != n.Length) throw new InvalidOperationException($"task {task.Name}: duplicate neurons at layer {layer}, count {count}");
        foreach (int x in n)
            if (x < 0 || x >= _model.Config.DMlp) throw new InvalidOperationException($"task {task.Name}: neuron {x} is out of range at layer {layer} (d_mlp = {_model.Config.DMlp})");
        return n;
    }

    /// <summary>Items of one layer, or (<paramref name="Joined"/>, positions = last) of consecutive layers in one pass, from <paramref name="Layer"/> up.</summary>
    private sealed record Batch(SweepTask Task, PositionsMode Positions, int Layer, List<(SweepConfiguration Config, int PromptIndex, PrefixCache Cache)> Items, bool Joined = false);

    /// <summary>
    /// Runs the shard's remaining evaluations into <paramref name="store"/>. A full disk or a database locked by another process
    /// surfaces as one <see cref="Sna.Runtime.SnaEnvironmentException"/> naming the file (never an <see cref="AggregateException"/>);
    /// everything committed before it stays, so the run resumes.
    /// </summary>
    public SweepRunResult Run(ResultStore store, SweepOptions? options = null, IProgress<SweepProgress>? progress = null, CancellationToken ct = default)
    {
        try { return RunCore(store, options, progress, ct); }
        catch (Microsoft.Data.Sqlite.SqliteException e) when (store.EnvironmentError(e, "write results to") is { } env) { throw env; }
    }

    private SweepRunResult RunCore(ResultStore store, SweepOptions? options, IProgress<SweepProgress>? progress, CancellationToken ct)
    {
        options ??= new SweepOptions();
        var sw = Stopwatch.StartNew();
        var def = Definition;
        store.BindDefinition(def, options.Resume);
        store.RecordShard(options.Shard);
        var mine = Grid.ForShard(options.Shard).ToList();
        store.WriteConfigurations(mine, def.NeuronSource);
        // Before any result: what "complete" means for each task's configurations (every prompt, all groups).
        store.WriteTaskSizes(Tasks.Select(t => (t.Name, t.Prompts.Count)));
        store.CheckpointBeforeResults();   // the .db alone is a database of this sweep before any result exists
        var done = store.DoneEvaluations();
        int configsTotal = mine.Count;
        var byName = Tasks.ToDictionary(t => t.Name, StringComparer.Ordinal);
        long evalTotal = mine.Sum(c => (long)byName[c.Task].Prompts.Count);
        long skipped = 0;
        var remainingPerConfig = new Dictionary<int, int>();
        foreach (var c in mine)
        {
            int n = byName[c.Task].Prompts.Count;
            int stored = 0;
            for (int i = 0; i < n; i++) if (done.Contains((c.Id, i))) stored++;
            skipped += stored;
            remainingPerConfig[c.Id] = n - stored;
        }
        int configsDone = remainingPerConfig.Count(kv => kv.Value == 0);
        long written = 0;
        int batches = 0;
        long cacheBytesMax = 0;
        bool cancelled = false;
        bool keepKv = def.Positions.Contains(PositionsMode.Last);
        var gate = new object();

        void Report(string stage)
        {
            if (progress is null) return;
            double secs = sw.Elapsed.TotalSeconds;
            double evalRate = secs > 0 ? written / secs : 0;
            double avgPrompts = configsTotal == 0 ? 1 : (double)evalTotal / configsTotal;
            long left = evalTotal - skipped - written;
            progress.Report(new SweepProgress(skipped + written, evalTotal, configsDone, configsTotal, evalRate / avgPrompts, sw.Elapsed,
                evalRate > 0 ? TimeSpan.FromSeconds(left / evalRate) : null, stage));
        }
        Report("starting");

        for (int ti = 0; ti < Tasks.Count && !cancelled; ti++)
        {
            var task = Tasks[ti];
            var taskConfigs = mine.Where(c => c.Task == task.Name).ToList();
            // Neurons for every (layer, count) the shard touches, stored and checked.
            var neurons = new Dictionary<(int Layer, int Count), int[]>();
            foreach (var c in taskConfigs)
                if (!neurons.ContainsKey((c.Layer, c.Count)))
                {
                    var n = Select(task, c.Layer, c.Count);
                    neurons[(c.Layer, c.Count)] = n;
                    store.WriteNeurons(task.Name, c.Layer, c.Count, def.NeuronSource, n);
                }
            var perLayer = neurons.GroupBy(kv => kv.Key.Layer).ToDictionary(g => g.Key, g => g.SelectMany(kv => kv.Value).Distinct().ToArray());
            bool anyLeft = taskConfigs.Any(c => remainingPerConfig[c.Id] > 0);

            // Prompt groups that fit the cache budget.
            var groups = PromptGroups(task, perLayer, keepKv, options.MaxCacheBytes);
            foreach (var group in groups)
            {
                if (cancelled) break;
                bool groupLeft = taskConfigs.Any(c => group.Any(i => !done.Contains((c.Id, i))));
                // Base runs: always recorded (cheap; checks a resumed database against today's model).
                var caches = new Dictionary<int, PrefixCache>();
                Report($"{task.Name}: base runs");
                // In batches of up to MaxTokensAll padded tokens, shortest first (one forward each, not one per prompt).
                var byLength = group.OrderBy(i => task.Prompts[i].Ids.Length).ThenBy(i => i).ToList();
                foreach (var (s, n) in PaddedBatches(byLength.Select(i => task.Prompts[i].Ids.Length).ToList(), options.MaxTokensAll))
                {
                    var part = byLength.GetRange(s, n);
                    var built = _ev.BuildCaches(part.Select(i => (task.Prompts[i].Ids, task.Prompts[i].TargetId)).ToList(), perLayer, keepKv);
                    for (int j = 0; j < n; j++) caches[part[j]] = built[j];
                }
                store.WritePrompts(group.Select(i => new PromptRow(task.Name, i, task.Prompts[i].Text, task.Prompts[i].Target, task.Prompts[i].TargetId,
                    caches[i].Base.Probability, caches[i].Base.LogProb, caches[i].Base.Rank, task.Prompts[i].Ids.Length)));
                cacheBytesMax = Math.Max(cacheBytesMax, caches.Values.Sum(c => c.Bytes));
                if (!groupLeft || !anyLeft) continue;
                store.CheckpointBeforeResults();   // this group's prompts and neurons in the main file before its first result

                var work = new List<Batch>();
                foreach (var pos in def.Positions)
                {
                    // positions = last: the rows of every layer in one stream, ascending layer, cut into passes that rows
                    // join at their own block (EvaluateLast); a layer with a persistent hook after hook_post runs alone.
                    var joined = new List<(SweepConfiguration, int, PrefixCache)>();
                    foreach (int layer in Grid.Layers.Order())
                    {
                        var cfgs = taskConfigs.Where(c => c.Positions == pos && c.Layer == layer).ToList();
                        if (pos == PositionsMode.Last)
                        {
                            var items = new List<(SweepConfiguration, int, PrefixCache)>();
                            foreach (var c in cfgs)
                                foreach (int i in group) items.Add((c, i, caches[i]));
                            if (_ev.CanJoinPass(layer)) joined.AddRange(items);
                            else
                                for (int s = 0; s < items.Count; s += options.MaxRowsLast)
                                    work.Add(new Batch(task, pos, layer, items.GetRange(s, Math.Min(options.MaxRowsLast, items.Count - s))));
                        }
                        else
                        {
                            // Rows of every prompt share batches (the GEMMs then see up to MaxTokensAll rows, not one
                            // prompt's): shortest prompts first, so a batch pads its rows to nearly their own length.
                            var items = new List<(SweepConfiguration, int, PrefixCache)>();
                            foreach (int i in group.OrderBy(i => caches[i].T).ThenBy(i => i))
                                foreach (var c in cfgs) items.Add((c, i, caches[i]));
                            foreach (var (s, n) in PaddedBatches(items.Select(x => x.Item3.T).ToList(), options.MaxTokensAll))
                                work.Add(new Batch(task, pos, layer, items.GetRange(s, n)));
                        }
                    }
                    for (int s = 0; s < joined.Count; s += options.MaxRowsLast)
                    {
                        var part = joined.GetRange(s, Math.Min(options.MaxRowsLast, joined.Count - s));
                        work.Add(new Batch(task, pos, part[0].Item1.Layer, part, Joined: true));
                    }
                }

                // Batches are cut from the shard's whole grid, stored or not, so a resumed run recomputes exactly the batches
                // an uninterrupted run computes (the same rows together: the same bits, whatever the GEMM's path for their
                // row count); batches committed earlier (one transaction each) are skipped whole.
                work.RemoveAll(b => b.Items.TrueForAll(x => done.Contains((x.Config.Id, x.PromptIndex))));
                try
                {
                Parallel.ForEach(work, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Threads) }, (batch, state) =>
                {
                    if (ct.IsCancellationRequested) { cancelled = true; state.Stop(); return; }
                    var rows = EvaluateBatch(batch, neurons);
                    int nb;
                    lock (gate)
                    {
                        rows.RemoveAll(r => done.Contains((r.ConfigId, r.PromptIndex)));   // only when the batch options changed
                        store.WriteResults(rows);
                        written += rows.Count;
                        nb = ++batches;
                        foreach (var r in rows)
                        {
                            done.Add((r.ConfigId, r.PromptIndex));
                            if (--remainingPerConfig[r.ConfigId] == 0) configsDone++;
                        }
                        Report($"{task.Name}: {SweepDefinition.PositionsName(batch.Positions)} L{batch.Layer}{(batch.Joined && batch.Items[^1].Config.Layer != batch.Layer ? $"-{batch.Items[^1].Config.Layer}" : "")}");
                        options.AfterBatchCommitted?.Invoke(nb);   // under the lock: no other batch is writing to the store
                    }
                });
                }
                catch (AggregateException e)
                {
                    // Parallel.ForEach wraps what a batch threw (a full disk, a locked database): rethrow that, with its own
                    // stack, so callers see one exception and the user one line. Several batches failing alike: the first.
                    var inner = e.Flatten().InnerExceptions;
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(
                        inner.FirstOrDefault(x => x is Sna.Runtime.SnaEnvironmentException) ?? inner[0]).Throw();
                    throw;
                }
            }
        }
        if (ct.IsCancellationRequested) cancelled = true;
        // A run's end is a boundary that matters: leave the main file holding everything committed (see ResultStore).
        store.Checkpoint();
        Report(cancelled ? "cancelled" : "done");
        return new SweepRunResult(!cancelled, written, skipped, batches, configsTotal, cacheBytesMax, sw.Elapsed);
    }

    private List<ResultRow> EvaluateBatch(Batch b, Dictionary<(int Layer, int Count), int[]> neurons)
    {
        var items = b.Items.Select(x => new SweepItem(x.Cache, neurons[(x.Config.Layer, x.Config.Count)], x.Config.MultiplierF)).ToList();
        var scores = new TargetScore[items.Count];
        if (b.Joined) _ev.EvaluateLast(b.Items.Select((x, j) => (x.Config.Layer, items[j])).ToList(), scores);
        else _ev.Evaluate(b.Layer, b.Positions, items, scores);
        var rows = new List<ResultRow>(items.Count);
        for (int j = 0; j < items.Count; j++)
        {
            var (c, i, cache) = b.Items[j];
            var bs = cache.Base; var s = scores[j];
            rows.Add(new ResultRow(c.Id, c.Task, i, c.Layer, c.Count, c.Multiplier, SweepDefinition.PositionsName(c.Positions), Definition.NeuronSource,
                bs.Probability, s.Probability, bs.LogProb, s.LogProb, s.Rank, Scoring.ImprovementPct(bs.Probability, s.Probability)));
        }
        return rows;
    }

    /// <summary>
    /// Cuts rows of ascending lengths into consecutive batches (start, count) for positions = all: a batch holds at most
    /// <paramref name="maxTokens"/> padded tokens (rows × its longest row; at least one row) and pads at most an eighth of them.
    /// </summary>
    internal static List<(int Start, int Count)> PaddedBatches(IReadOnlyList<int> lengths, int maxTokens)
    {
        var batches = new List<(int, int)>();
        int s = 0;
        while (s < lengths.Count)
        {
            int n = 1;
            long real = lengths[s];
            while (s + n < lengths.Count)
            {
                int longest = lengths[s + n];
                if (longest < lengths[s + n - 1]) throw new ArgumentException("lengths must ascend", nameof(lengths));
                long padded = (long)(n + 1) * longest;
                if (padded > maxTokens || 8 * (padded - real - longest) > padded) break;
                real += longest; n++;
            }
            batches.Add((s, n));
            s += n;
        }
        return batches;
    }

    private List<List<int>> PromptGroups(SweepTask task, Dictionary<int, int[]> perLayer, bool keepKv, long budget)
    {
        var c = _model.Config;
        int kvw = c.NKvHeads * c.DHead;
        int cols = perLayer.Values.Sum(v => v.Length);
        var groups = new List<List<int>>();
        var cur = new List<int>();
        long bytes = 0;
        for (int i = 0; i < task.Prompts.Count; i++)
        {
            int T = task.Prompts[i].Ids.Length;
            long b = 4L * T * ((long)c.NLayers * (c.DModel + (keepKv ? 2 * kvw : 0)) + cols);
            if (cur.Count > 0 && bytes + b > budget) { groups.Add(cur); cur = new(); bytes = 0; }
            cur.Add(i); bytes += b;
        }
        if (cur.Count > 0) groups.Add(cur);
        return groups;
    }

    /// <summary>Estimated prefix-cache bytes for prompts of the given lengths (every layer, <paramref name="neuronColumns"/> gathered columns in all).</summary>
    public static long EstimateCacheBytes(ModelConfig c, IEnumerable<int> promptLengths, bool keepKeysValues, int neuronColumns) =>
        promptLengths.Sum(T => 4L * T * ((long)c.NLayers * (c.DModel + (keepKeysValues ? 2 * c.NKvHeads * c.DHead : 0)) + neuronColumns));
}
