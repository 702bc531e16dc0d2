using Microsoft.Data.Sqlite;
using Sna.Research.Method;
using Sna.Research.Storage;
using Sna.Research.Sweeps;

namespace Sna.Core.Tests.Sweeps;

/// <summary>
/// Results store correctness: an undefined improvement (NaN) is stored as NULL and skipped (and counted) by the analysis;
/// version-1 databases are upgraded in place; one definition of a complete configuration, which never counts a
/// configuration whose later prompt groups are not stored yet, shared by summary (SweepMetrics) and report (ResultSetReader).
/// </summary>
public class StoreCorrectnessTests
{
    private static ResultRow Row(int config, int prompt, double pBase, double pPost) =>
        new(config, "t", prompt, 0, 3, 2.0, "last", "differential", pBase, pPost, Math.Log(pBase), Math.Log(pPost), 1,
            Scoring.ImprovementPct(pBase, pPost));

    private static SweepDefinition Def() => new()
    {
        Name = "nan", Model = new SweepModel("m", "hash"), Tasks = ["t"], Layers = [0], Counts = [3], Multipliers = [2.0],
        Positions = [PositionsMode.Last], NeuronSource = "differential",
    };

    private static void Prompts(ResultStore s, int n)
    {
        s.WriteTaskSizes([("t", n)]);
        s.WritePrompts(Enumerable.Range(0, n).Select(i => new PromptRow("t", i, $"p{i}", " x", 1, i == 0 ? 0.0 : 0.05, -3, 1, 4)));
    }

    [Fact]
    public void A_NaN_improvement_is_stored_as_NULL_and_the_summary_skips_and_counts_it()
    {
        using var tmp = new TempDir();
        using var s = ResultStore.Open(tmp.File("n.db"));
        s.BindDefinition(Def(), resume: false);
        Prompts(s, 2);
        var nan = Row(0, 0, 0.0, 0.0);   // both underflowed to 0: 0/0
        Assert.True(double.IsNaN(nan.ImprovementPct));
        s.WriteResults([nan, Row(0, 1, 0.05, 0.06)]);   // threw "NOT NULL constraint failed" before

        using (var c = s.Cmd("SELECT COUNT(*) FROM results WHERE improvement_pct IS NULL")) Assert.Equal(1L, (long)c.ExecuteScalar()!);
        var back = s.ReadResults().ToList();
        Assert.True(double.IsNaN(back[0].ImprovementPct));
        Assert.Equal(20.0, back[1].ImprovementPct, 9);

        var m = SweepMetrics.Compute(s);
        var t = Assert.Single(m.Tasks);
        Assert.Equal(1, t.Configs);
        Assert.Equal(1, t.UndefinedImprovementRows);
        Assert.Equal(20.0, t.MeanImprovementPct, 9);   // the mean over the defined prompt only

        var set = ResultSetReader.Read(s.Path);
        Assert.Equal(2, set.Rows.Count);
        var analysis = Sna.Research.Analysis.SweepAnalysis.Run(set);
        Assert.Contains(analysis.Caveats, c => c.StartsWith("1 row(s) with a non-finite improvement", StringComparison.Ordinal));
    }

    [Fact]
    public void A_version_1_database_is_upgraded_in_place_and_keeps_its_rows()
    {
        using var tmp = new TempDir();
        string db = tmp.File("v1.db");
        // The version-1 schema as it was shipped (only what matters here: meta, prompts and results with NOT NULL).
        using (var c = new SqliteConnection($"Data Source={db};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                INSERT INTO meta VALUES ('schema_version', '1');
                CREATE TABLE prompts(
                    task TEXT NOT NULL, prompt_index INTEGER NOT NULL, text TEXT NOT NULL, target TEXT NOT NULL, target_id INTEGER NOT NULL,
                    p_base REAL NOT NULL, logprob_base REAL NOT NULL, rank_base INTEGER NOT NULL, n_tokens INTEGER NOT NULL,
                    PRIMARY KEY(task, prompt_index)) WITHOUT ROWID;
                CREATE TABLE results(
                    config_id INTEGER NOT NULL, prompt_index INTEGER NOT NULL, task TEXT NOT NULL, layer INTEGER NOT NULL,
                    count INTEGER NOT NULL, multiplier REAL NOT NULL, positions TEXT NOT NULL, neuron_source TEXT NOT NULL,
                    p_base REAL NOT NULL, p_post REAL NOT NULL, logprob_base REAL NOT NULL, logprob_post REAL NOT NULL,
                    rank_post INTEGER NOT NULL, improvement_pct REAL NOT NULL,
                    PRIMARY KEY(config_id, prompt_index)) WITHOUT ROWID;
                CREATE VIEW completed_configs AS SELECT r.config_id FROM results r GROUP BY r.config_id
                    HAVING COUNT(*) = (SELECT COUNT(*) FROM prompts p WHERE p.task = MIN(r.task));
                INSERT INTO prompts VALUES ('t', 0, 'p0', ' x', 1, 0.05, -3, 1, 4), ('t', 1, 'p1', ' x', 1, 0.05, -3, 1, 4);
                INSERT INTO results VALUES (0, 0, 't', 0, 3, 2.0, 'last', 'differential', 0.05, 0.06, -3, -2.8, 1, 20.0),
                                           (0, 1, 't', 0, 3, 2.0, 'last', 'differential', 0.05, 0.05, -3, -3, 1, 0.0);
                """;
            cmd.ExecuteNonQuery();
        }
        using (var ro = ResultStore.OpenReadOnly(db)) Assert.Equal(2, ro.ReadResults().Count());   // read as it is
        using var s = ResultStore.Open(db);
        using (var c = s.Cmd("SELECT value FROM meta WHERE key = 'schema_version'")) Assert.Equal("2", (string)c.ExecuteScalar()!);
        Assert.Equal(2, s.ReadResults().Count());
        Assert.Equal(new Dictionary<string, int> { ["t"] = 2 }, s.TaskSizes());
        Assert.Equal([0], s.CompletedConfigs());
        s.WriteResults([Row(1, 0, 0.0, 0.0)]);   // NULL is now accepted
        Assert.True(double.IsNaN(s.ReadResults().Single(r => r.ConfigId == 1).ImprovementPct));
    }

    [SharedFact]
    public void A_configuration_is_not_complete_while_later_prompt_groups_are_missing_and_summary_and_report_agree()
    {
        using var tmp = new TempDir();
        var model = StoreResumeShardTests.Model;
        var (def, tasks) = StoreResumeShardTests.Small(model);
        def = def with { Positions = [PositionsMode.Last] };
        using var cts = new CancellationTokenSource();
        using var store = ResultStore.Open(tmp.File("p.db"));
        // A 1-byte cache budget puts every prompt in its own group: group 0 is fully swept before prompt 1 is even stored.
        var r = new SweepEngine(model, def, tasks).Run(store, StoreResumeShardTests.SmallBatches() with
        {
            MaxCacheBytes = 1, MaxRowsLast = 1000, AfterBatchCommitted = n => { if (n == 1) cts.Cancel(); },
        }, ct: cts.Token);
        Assert.False(r.Completed);
        Assert.True(store.ResultCount() > 0);
        Assert.True(store.ReadPrompts().Count() < tasks.Sum(t => t.Prompts.Count), "the later groups' prompts must not be stored yet");
        // Before: COUNT(rows) = COUNT(stored prompts) marked every configuration of group 0 complete.
        Assert.Empty(store.CompletedConfigs());

        var summary = SweepMetrics.Compute(store);
        Assert.All(summary.Tasks, t => Assert.Equal(0, t.Configs));
        Assert.True(summary.Tasks.Sum(t => t.IncompleteConfigs) > 0);
        var set = ResultSetReader.Read(store.Path);
        Assert.Empty(set.Rows);
        Assert.Equal(summary.Tasks.Sum(t => t.IncompleteConfigs), set.IncompleteConfigurations);

        // Resumed to the end: every configuration complete, and summary and report count the same ones.
        var done = new SweepEngine(model, def, tasks).Run(store, StoreResumeShardTests.SmallBatches() with { Resume = true, MaxCacheBytes = 1 });
        Assert.True(done.Completed);
        var grid = new SweepGrid(def, model.Config.NLayers);
        Assert.Equal(grid.Count, store.CompletedConfigs().Length);
        var full = SweepMetrics.Compute(store);
        var fullSet = ResultSetReader.Read(store.Path);
        Assert.Equal(full.Tasks.Sum(t => t.Configs), fullSet.Rows.Select(x => (x.Task, x.Configuration)).Distinct().Count());
        Assert.Equal(0, fullSet.IncompleteConfigurations);
    }

    [Fact]
    public void A_resumed_sweep_refuses_a_task_whose_size_changed()
    {
        using var tmp = new TempDir();
        using var s = ResultStore.Open(tmp.File("z.db"));
        s.WriteTaskSizes([("t", 3)]);
        s.WriteTaskSizes([("t", 3)]);   // the same again is fine
        var ex = Assert.Throws<Sna.Runtime.SnaInputException>(() => s.WriteTaskSizes([("t", 4)]));
        Assert.Contains("task t now has 4 prompts", ex.Message);
    }
}

/// <summary>A full disk or a locked database during a sweep: one exception naming the file, not an AggregateException.</summary>
public class StoreEnvironmentErrorTests
{
    [SharedFact]
    public void A_full_disk_in_the_parallel_batches_is_one_environment_error_and_the_committed_batches_stay()
    {
        using var tmp = new TempDir();
        var model = StoreResumeShardTests.Model;
        var (def, tasks) = StoreResumeShardTests.Small(model);
        string db = tmp.File("full.db");
        long committed = 0;
        using (var store = ResultStore.Open(db))
        {
            var ex = Record.Exception(() => new SweepEngine(model, def, tasks).Run(store, StoreResumeShardTests.SmallBatches(threads: 2) with
            {
                AfterBatchCommitted = n =>
                {
                    if (n != 2) return;
                    committed = store.ResultCount();
                    // The "disk" holds no further page: the next batch's commit fails with SQLITE_FULL.
                    using var c = store.Cmd("PRAGMA page_count");
                    long pages = (long)c.ExecuteScalar()!;
                    store.Exec($"PRAGMA max_page_count={pages}");
                },
            }));
            Assert.NotNull(ex);
            Assert.IsNotType<AggregateException>(ex);
            var env = Assert.IsType<Sna.Runtime.SnaEnvironmentException>(ex);
            Assert.Contains("disk is full", env.Message);
            Assert.Contains(db, env.Message);
            Assert.DoesNotContain('\n', env.Message);
        }
        using var again = ResultStore.OpenReadOnly(db);
        Assert.True(again.ResultCount() >= committed && committed > 0, $"{again.ResultCount()} rows kept, {committed} committed before the disk filled");
    }

    [SharedFact]
    public void A_database_locked_by_another_process_is_one_environment_error()
    {
        using var tmp = new TempDir();
        var model = StoreResumeShardTests.Model;
        var (def, tasks) = StoreResumeShardTests.Small(model);
        string db = tmp.File("locked.db");
        using var store = ResultStore.Open(db);
        store.BusyTimeout = TimeSpan.FromMilliseconds(100);
        // Another process holds the write lock (as a second sweep writing the same file would).
        using var other = new SqliteConnection($"Data Source={db};Pooling=False");
        other.Open();
        using (var c = other.CreateCommand()) { c.CommandText = "BEGIN IMMEDIATE; INSERT INTO meta VALUES ('holder', 'x');"; c.ExecuteNonQuery(); }
        var ex = Record.Exception(() => new SweepEngine(model, def, tasks).Run(store, StoreResumeShardTests.SmallBatches(threads: 2)));
        var env = Assert.IsType<Sna.Runtime.SnaEnvironmentException>(ex);
        Assert.Contains("locked by another process", env.Message);
        Assert.Contains(db, env.Message);
    }
}
