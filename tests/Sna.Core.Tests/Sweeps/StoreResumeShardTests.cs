using Microsoft.Data.Sqlite;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Research.Storage;
using Sna.Research.Sweeps;
using Sna.Core.Tests.Models;

namespace Sna.Core.Tests.Sweeps;

public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sna-sweep-" + Guid.NewGuid().ToString("N")[..10]);
    public TempDir() => Directory.CreateDirectory(Path);
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

/// <summary>Results store: one row per (config, prompt), resume after cancellation, shards + merge, exports — all bit-identical.</summary>
public class StoreResumeShardTests
{
    internal static TransformerModel Model => ModelFixtures.Model("gpt2-tiny-f32");

    internal static (SweepDefinition Def, SweepTask[] Tasks) Small(TransformerModel m, string name = "small")
    {
        var c = m.Config;
        var tasks = new[] { SweepTestData.Task("arith", c.VocabSize, c.DMlp, 50256, 4, 1), SweepTestData.Task("poem", c.VocabSize, c.DMlp, 50256, 3, 2) };
        var def = new SweepDefinition
        {
            Name = name,
            Model = new SweepModel(m.Provenance.Source, m.Provenance.ContentHash),
            Tasks = tasks.Select(t => t.Name).ToArray(),
            Counts = [3, 5],
            Multipliers = SweepDefinition.ParseMultipliers("1.1:2.4:4"),
            Positions = [PositionsMode.All, PositionsMode.Last],
            NeuronSource = "random:1",
        };
        return (def, tasks);
    }

    internal static SweepOptions SmallBatches(int threads = 1) => new() { Threads = threads, MaxRowsLast = 7, MaxTokensAll = 40 };

    internal static List<ResultRow> Run(string db, SweepOptions? o = null, string name = "small")
    {
        var (def, tasks) = Small(Model, name);
        using var store = ResultStore.Open(db);
        var r = new SweepEngine(Model, def, tasks).Run(store, o ?? SmallBatches());
        Assert.True(r.Completed);
        return store.ReadResults().ToList();
    }

    [SharedFact]
    public void Full_run_stores_one_row_per_config_and_prompt()
    {
        using var tmp = new TempDir();
        var (def, tasks) = Small(Model);
        var grid = new SweepGrid(def, Model.Config.NLayers);
        Assert.Equal(2 * 2 * 3 * 2 * 4, grid.Count);
        var progress = new List<SweepProgress>();
        using var store = ResultStore.Open(tmp.File("a.db"));
        var res = new SweepEngine(Model, def, tasks).Run(store, SmallBatches(2), new SyncProgress(progress));
        long expected = grid.Configurations.Sum(c => c.Task == "arith" ? 4 : 3);
        Assert.True(res.Completed);
        Assert.Equal(expected, res.EvaluationsWritten);
        Assert.Equal(expected, store.ResultCount());
        Assert.Equal(grid.Count, store.CompletedConfigs().Length);
        Assert.Equal(7, store.ReadPrompts().Count());
        var last = progress[^1];
        Assert.Equal(expected, last.EvaluationsDone);
        Assert.Equal(grid.Count, last.ConfigsDone);
        // rows agree with the stored prompts and the configuration grid
        var prompts = store.ReadPrompts().ToDictionary(p => (p.Task, p.PromptIndex));
        foreach (var r in store.ReadResults())
        {
            var c = grid[r.ConfigId];
            Assert.Equal((c.Task, c.Layer, c.Count, c.Multiplier), (r.Task, r.Layer, r.Count, r.Multiplier));
            Assert.Equal(prompts[(r.Task, r.PromptIndex)].PBase, r.PBase);
            Assert.Equal(Scoring.ImprovementPct(r.PBase, r.PPost), r.ImprovementPct);
        }
        // the aggregate view exists and has one row per config
        using var cmd = store.Connection.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM config_aggregates";
        Assert.Equal((long)grid.Count, (long)cmd.ExecuteScalar()!);
        // neurons stored per (task, layer, count)
        Assert.Equal(2 * 3 * 2, store.ReadNeurons().Count);
        // a duplicate row is impossible
        var one = store.ReadResults().First();
        Assert.Throws<SqliteException>(() => store.WriteResults([one]));
    }

    [SharedFact]
    public void Cancel_then_resume_equals_an_uninterrupted_run_bit_for_bit()
    {
        using var tmp = new TempDir();
        var reference = Run(tmp.File("ref.db"));
        var (def, tasks) = Small(Model);
        using var cts = new CancellationTokenSource();
        using (var store = ResultStore.Open(tmp.File("b.db")))
        {
            var r = new SweepEngine(Model, def, tasks).Run(store, SmallBatches() with { AfterBatchCommitted = n => { if (n == 5) cts.Cancel(); } }, null, cts.Token);
            Assert.False(r.Completed);
            Assert.Equal(5, r.Batches);
            long partial = store.ResultCount();
            Assert.True(partial > 0 && partial < reference.Count);
            // without --resume the database is refused
            Assert.Throws<Sna.Runtime.SnaInputException>(() => new SweepEngine(Model, def, tasks).Run(store, SmallBatches()));
        }
        using (var store = ResultStore.Open(tmp.File("b.db")))
        {
            var r = new SweepEngine(Model, def, tasks).Run(store, SmallBatches(2) with { Resume = true, MaxRowsLast = 3 });
            Assert.True(r.Completed);
            Assert.True(r.EvaluationsSkipped > 0);
            Assert.Equal(reference, store.ReadResults().ToList());   // records compare every double exactly
        }
        // a different definition is refused
        using (var store = ResultStore.Open(tmp.File("b.db")))
        {
            var other = def with { Counts = [3] };
            Assert.Throws<Sna.Runtime.SnaInputException>(() => new SweepEngine(Model, other, tasks).Run(store, new SweepOptions { Resume = true }));
        }
    }

    [SharedFact]
    public void Batching_never_changes_a_result_bit_and_resuming_recomputes_the_same_batches()
    {
        using var tmp = new TempDir();
        // One row per batch, small batches (prompts of different lengths left-padded together), the defaults (calls above
        // the managed GEMM's 32-row small-M path; gpt2's tied unembedding is [N,K], where that path rounds differently):
        // bit for bit, because the evaluator keeps every GEMM call at or above the provider's RowInvariantFrom.
        Assert.Equal(33, Model.Gemm.RowInvariantFrom);
        var alone = Run(tmp.File("one.db"), new SweepOptions { Threads = 1, MaxRowsLast = 1, MaxTokensAll = 1 });
        Assert.Equal(alone, Run(tmp.File("small.db"), SmallBatches(2)));
        var dflt = Run(tmp.File("default.db"), new SweepOptions());
        Assert.Equal(alone, dflt);
        // A run killed after its first batch and resumed recomputes exactly the uninterrupted run's batches (cut from the
        // whole grid, stored rows or not; committed batches are skipped whole).
        var (def, tasks) = Small(Model);
        using var cts = new CancellationTokenSource();
        using (var store = ResultStore.Open(tmp.File("killed.db")))
        {
            var r = new SweepEngine(Model, def, tasks).Run(store, new SweepOptions { Threads = 1, AfterBatchCommitted = n => { if (n == 1) cts.Cancel(); } }, null, cts.Token);
            Assert.False(r.Completed);
            Assert.True(store.ResultCount() > 0 && store.ResultCount() < dflt.Count);
        }
        using (var store = ResultStore.Open(tmp.File("killed.db")))
        {
            var r = new SweepEngine(Model, def, tasks).Run(store, new SweepOptions { Resume = true });
            Assert.True(r.Completed);
            Assert.Equal(dflt.Count, r.EvaluationsSkipped + r.EvaluationsWritten);
            Assert.Equal(dflt, store.ReadResults().ToList());
        }
    }

    /// <summary>
    /// The model's thread count (attention heads and the scorer's rows of a logits chunk run in parallel above it) never
    /// changes a result bit: both positions modes, one batch of every row, one model view serial and one four-wide.
    /// </summary>
    [SharedFact]
    public void Model_threads_never_change_a_result_bit()
    {
        using var tmp = new TempDir();
        var (def, tasks) = Small(Model);
        List<ResultRow> RunWith(int threads, string file)
        {
            using var view = Model.WithThreads(threads);
            using var store = ResultStore.Open(tmp.File(file));
            Assert.True(new SweepEngine(view, def, tasks).Run(store, new SweepOptions { Threads = 1 }).Completed);
            return store.ReadResults().ToList();
        }
        var serial = RunWith(1, "serial.db");
        Assert.True(serial.Count >= 2 * 8 * 4, "too few rows for the scorer to split a chunk over threads: the test would be vacuous");
        Assert.Equal(serial, RunWith(4, "wide.db"));   // records compare every double exactly
    }

    /// <summary>Without the padding to RowInvariantFrom rows the comparison above would fail: the GEMM does round a row
    /// differently alone than among 33 rows on [N,K] weights (so the test guards something real).</summary>
    [Fact]
    public unsafe void The_managed_gemm_small_m_path_on_transposed_weights_rounds_differently()
    {
        int K = 64, N = 96;
        var r = new Random(3);
        var bData = new float[N * K];
        var a = new float[33 * K];
        for (int i = 0; i < bData.Length; i++) bData[i] = (float)(r.NextDouble() - 0.5);
        for (int i = 0; i < a.Length; i++) a[i] = (float)(r.NextDouble() - 0.5);
        var g = new Sna.Runtime.Numerics.ManagedGemm();
        fixed (float* pb = bData)
        {
            var w = new Sna.Runtime.Numerics.WeightMatrix(pb, Sna.Runtime.Numerics.WeightDType.F32, K, N, transposed: true);
            var one = new float[N];
            g.Sgemm(a.AsSpan(0, K), 1, w, one, false);
            var many = new float[33 * N];
            g.Sgemm(a, 33, w, many, false);
            Assert.NotEqual(one, many.AsSpan(0, N).ToArray());
            var alsoMany = new float[34 * N];
            g.Sgemm(a.Concat(a.AsSpan(0, K).ToArray()).ToArray(), 34, w, alsoMany, false);
            Assert.Equal(many.AsSpan(0, N).ToArray(), alsoMany.AsSpan(0, N).ToArray());     // at or above 33 rows: invariant
        }
    }

    [Fact]
    public void Padded_batches_bound_tokens_and_padding()
    {
        int[] lengths = [5, 5, 6, 6, 6, 9, 12, 12, 40, 41];
        var b = SweepEngine.PaddedBatches(lengths, 24);
        Assert.Equal([(0, 4), (4, 1), (5, 2), (7, 1), (8, 1), (9, 1)], b);
        // every row once, in order; each batch within its budget (a lone row may exceed it) and at most 1/8 padding
        Assert.Equal(Enumerable.Range(0, lengths.Length), b.SelectMany(x => Enumerable.Range(x.Start, x.Count)));
        foreach (var (s, n) in b)
        {
            int longest = lengths[s + n - 1], real = lengths.Skip(s).Take(n).Sum();
            Assert.True(n == 1 || n * longest <= 24);
            Assert.True(8 * (n * longest - real) <= n * longest);
        }
        Assert.Equal([(0, 10)], SweepEngine.PaddedBatches(Enumerable.Repeat(16, 10).ToArray(), 2048));
        Assert.Throws<ArgumentException>(() => SweepEngine.PaddedBatches([6, 5], 100));
    }

    [SharedFact]
    public void Shards_merged_equal_one_process()
    {
        using var tmp = new TempDir();
        var reference = Run(tmp.File("ref.db"));
        var shardFiles = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            var f = tmp.File($"shard{i}.db");
            Run(f, SmallBatches() with { Shard = new ShardSpec(i, 3) });
            shardFiles.Add(f);
        }
        var rep = ResultMerge.Merge(tmp.File("merged.db"), shardFiles);
        Assert.Equal(reference.Count, rep.ResultRows);
        Assert.Equal(0, rep.IdenticalDuplicateRows);
        Assert.Equal(rep.ConfigsInGrid, rep.CompletedConfigs);
        using (var merged = ResultStore.OpenReadOnly(tmp.File("merged.db")))
        {
            Assert.Equal(reference, merged.ReadResults().ToList());
            using var refStore = ResultStore.OpenReadOnly(tmp.File("ref.db"));
            Assert.Equal(refStore.ReadPrompts(), merged.ReadPrompts());
            Assert.Equal(refStore.ReadNeurons().OrderBy(k => k.Key).Select(k => (k.Key, string.Join(',', k.Value))),
                         merged.ReadNeurons().OrderBy(k => k.Key).Select(k => (k.Key, string.Join(',', k.Value))));
        }

        // the same shard twice: identical duplicates are reported, not hidden, and stored once
        var rep2 = ResultMerge.Merge(tmp.File("dup.db"), [shardFiles[0], shardFiles[0], shardFiles[1], shardFiles[2]]);
        Assert.Equal(reference.Count, rep2.ResultRows);
        Assert.True(rep2.IdenticalDuplicateRows > 0);

        // a duplicate with a different value is an error, and no output is left behind
        var tampered = tmp.File("tampered.db");
        File.Copy(shardFiles[1], tampered);
        using (var c = new SqliteConnection($"Data Source={tampered};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE results SET p_post = p_post + 1e-12 WHERE config_id = (SELECT MIN(config_id) FROM results)";
            Assert.True(cmd.ExecuteNonQuery() > 0);
        }
        var ex = Assert.Throws<Sna.Runtime.SnaInputException>(() => ResultMerge.Merge(tmp.File("bad.db"), [shardFiles[1], tampered]));
        Assert.Contains("different values", ex.Message);
        Assert.False(File.Exists(tmp.File("bad.db")));

        // mixed sweep definitions are refused
        var other = tmp.File("other.db");
        Run(other, SmallBatches() with { Shard = new ShardSpec(0, 3) }, name: "other");
        Assert.Throws<Sna.Runtime.SnaInputException>(() => ResultMerge.Merge(tmp.File("mixed.db"), [shardFiles[0], other]));
    }

    [SharedFact]
    public async Task Csv_and_parquet_exports_round_trip_every_value()
    {
        using var tmp = new TempDir();
        var reference = Run(tmp.File("ref.db"));
        using var store = ResultStore.OpenReadOnly(tmp.File("ref.db"));
        Assert.Equal(reference.Count, ResultExport.ToCsv(store, tmp.File("r.csv")));
        var lines = File.ReadAllLines(tmp.File("r.csv"));
        Assert.Equal(string.Join(',', ResultExport.CsvColumns), lines[0]);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        for (int i = 0; i < reference.Count; i++)
        {
            var f = lines[i + 1].Split(',');
            var r = reference[i];
            Assert.Equal(r.Task, f[1]);
            Assert.Equal(r.Multiplier, double.Parse(f[5], inv));
            Assert.Equal(r.PPost, double.Parse(f[9], inv));
            Assert.Equal(r.LogProbPost, double.Parse(f[11], inv));
            Assert.Equal(r.ImprovementPct, double.Parse(f[13], inv));
        }
        Assert.Equal(reference.Count, await ResultExport.ToParquetAsync(store, tmp.File("r.parquet")));
        await using var fs = File.OpenRead(tmp.File("r.parquet"));
        var result = await Parquet.Serialization.ParquetSerializer.DeserializeAsync<ResultExport.ParquetResult>(fs);
        var back = result.Data;
        Assert.Equal(reference.Count, back.Count);
        for (int i = 0; i < reference.Count; i++)
        {
            Assert.Equal(reference[i].ConfigId, back[i].ConfigId);
            Assert.Equal(reference[i].PPost, back[i].PPost);
            Assert.Equal(reference[i].LogProbBase, back[i].LogProbBase);
            Assert.Equal(reference[i].Positions, back[i].Positions);
        }
        Assert.Contains("improvement_pct", result.Schema.GetDataFields().Select(f => f.Name));
        Assert.True(result.CustomMetadata.ContainsKey("sna.sweep.hash"));
    }

    private sealed class SyncProgress(List<SweepProgress> list) : IProgress<SweepProgress>
    {
        public void Report(SweepProgress value) { lock (list) list.Add(value); }
    }
}
