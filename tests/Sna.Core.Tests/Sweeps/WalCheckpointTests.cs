using Microsoft.Data.Sqlite;
using Sna.Research.Storage;
using Sna.Research.Sweeps;

namespace Sna.Core.Tests.Sweeps;

/// <summary>
/// Shard databases on a cluster: the <c>.db</c> file alone holds its sweep and the committed batches (the WAL is checkpointed
/// before any result, at the first results commit, then every <see cref="ResultStore.CheckpointInterval"/>, and at the end of
/// a run), and merge refuses an input whose <c>-wal</c> still holds commits, naming it, or that fails <c>quick_check</c>.
/// </summary>
public class WalCheckpointTests
{
    private static (long Rows, string QuickCheck) Inspect(string db)
    {
        using var c = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA quick_check";
        string check = (string)cmd.ExecuteScalar()!;
        cmd.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE name = 'results'";
        if ((long)cmd.ExecuteScalar()! == 0) return (0, check);   // even the schema is still in the WAL
        cmd.CommandText = "SELECT COUNT(*) FROM results";
        return ((long)cmd.ExecuteScalar()!, check);
    }

    /// <summary>Copies only the main file (what `cp shard-*.db` off a node does), mid-run, while the writer is alive.</summary>
    private static (long Committed, long InCopy, string Check) CopyMidRun(TempDir tmp, TimeSpan? interval)
    {
        var model = StoreResumeShardTests.Model;
        var (def, tasks) = StoreResumeShardTests.Small(model);
        string db = tmp.File("shard.db"), copy = tmp.File("copied.db");
        using var store = ResultStore.Open(db);
        store.CheckpointInterval = interval;
        long committed = -1;
        var r = new SweepEngine(model, def, tasks).Run(store, StoreResumeShardTests.SmallBatches() with
        {
            AfterBatchCommitted = n =>
            {
                if (n != 5) return;
                committed = store.ResultCount();
                File.Copy(db, copy);
            },
        });
        Assert.True(r.Completed);
        Assert.True(committed > 0, "the copy was never taken");
        var (rows, check) = Inspect(copy);
        return (committed, rows, check);
    }

    [SharedFact]
    public void With_checkpoints_after_every_commit_the_db_file_alone_holds_every_committed_batch()
    {
        using var tmp = new TempDir();
        var (committed, inCopy, check) = CopyMidRun(tmp, TimeSpan.Zero);
        Assert.Equal("ok", check);
        Assert.Equal(committed, inCopy);
    }

    [SharedFact]
    public void With_the_default_interval_the_db_file_alone_is_sound_and_holds_the_first_batch()
    {
        using var tmp = new TempDir();
        var (committed, inCopy, check) = CopyMidRun(tmp, ResultStore.DefaultCheckpointInterval);
        Assert.Equal("ok", check);
        Assert.InRange(inCopy, 1, committed);   // the first commit always checkpoints; later ones within 2 s
    }

    [SharedFact]
    public void Without_checkpoints_the_copy_misses_commits_which_is_what_the_checkpoints_prevent()
    {
        using var tmp = new TempDir();
        var (committed, inCopy, _) = CopyMidRun(tmp, null);
        Assert.True(inCopy < committed, $"copy has {inCopy} of {committed} committed rows");
    }

    [SharedFact]
    public void A_finished_or_cancelled_run_leaves_everything_in_the_db_file_while_the_store_is_still_open()
    {
        using var tmp = new TempDir();
        var model = StoreResumeShardTests.Model;
        var (def, tasks) = StoreResumeShardTests.Small(model);
        foreach (bool cancel in new[] { false, true })
        {
            string db = tmp.File($"run-{cancel}.db"), copy = tmp.File($"copy-{cancel}.db");
            using var store = ResultStore.Open(db);
            store.CheckpointInterval = TimeSpan.FromHours(1);   // only before results, the first commit and the run's end checkpoint
            using var cts = new CancellationTokenSource();
            var r = new SweepEngine(model, def, tasks).Run(store, StoreResumeShardTests.SmallBatches() with
            {
                AfterBatchCommitted = n => { if (cancel && n == 4) cts.Cancel(); },
            }, ct: cts.Token);
            Assert.Equal(!cancel, r.Completed);
            File.Copy(db, copy);   // store not yet disposed: as if the process died right after the run
            var (rows, check) = Inspect(copy);
            Assert.Equal("ok", check);
            Assert.Equal(store.ResultCount(), rows);
            Assert.Null(ResultStore.PendingJournal(db));
        }
    }

    [SharedFact]
    public void Merge_refuses_an_input_with_a_pending_wal_and_names_it()
    {
        using var tmp = new TempDir();
        var model = StoreResumeShardTests.Model;
        var (def, tasks) = StoreResumeShardTests.Small(model);
        string db = tmp.File("live.db");
        var node = Directory.CreateDirectory(tmp.File("from-node")).FullName;
        string shard = Path.Combine(node, "shard-0.db");
        using (var store = ResultStore.Open(db))
        {
            store.CheckpointInterval = null;   // as a writer killed between commits and a checkpoint leaves it
            var rows = StoreResumeShardTests.Run(tmp.File("ref.db"));
            store.BindDefinition(def, resume: false);
            store.WriteResults(rows.Take(20).ToList());
            Assert.True(new FileInfo(db + "-wal").Length > 0);
            // The job "dies" here: its files are copied while the WAL still holds commits.
            File.Copy(db, shard);
            File.Copy(db + "-wal", shard + "-wal");
        }
        Assert.Equal(Path.GetFullPath(shard + "-wal"), ResultStore.PendingJournal(shard));
        string output = tmp.File("merged.db");
        var ex = Assert.Throws<Sna.Runtime.SnaInputException>(() => ResultMerge.Merge(output, [shard]));
        Assert.Contains(shard + "-wal", ex.Message);
        Assert.Contains("pending", ex.Message);
        Assert.False(File.Exists(output));
        Assert.True(new FileInfo(shard + "-wal").Length > 0, "the refused input was changed");

        // Opening it for writing once (as resuming the shard does) folds the WAL in; then merge accepts it with every row.
        long expected;
        using (var s = ResultStore.Open(shard)) expected = s.ResultCount();
        Assert.Null(ResultStore.PendingJournal(shard));
        var rep = ResultMerge.Merge(output, [shard]);
        Assert.Equal(expected, rep.ResultRows);
    }

    private static long Scalar(string db, string sql)
    {
        using var c = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return (long)cmd.ExecuteScalar()!;
    }

    private sealed class OnStage(string stage, Action act) : IProgress<SweepProgress>
    {
        public void Report(SweepProgress p) { if (p.Stage == stage) act(); }
    }

    /// <summary>
    /// A job killed after its first results commit but before the checkpoint that follows it (a reader can see the commit first;
    /// on a throttled node the checkpoint takes a while): the Slurm suite once caught that window and found a <c>.db</c> with
    /// no tables. The checkpoint before any result makes the main file a database of its sweep from the start.
    /// </summary>
    [SharedFact]
    public void Before_any_result_the_db_file_alone_is_already_a_database_of_its_sweep_and_merges()
    {
        using var tmp = new TempDir();
        var model = StoreResumeShardTests.Model;
        var (def, tasks) = StoreResumeShardTests.Small(model);
        foreach (bool checkpoints in new[] { true, false })
        {
            string db = tmp.File($"live-{checkpoints}.db"), copy = tmp.File($"copy-{checkpoints}.db");
            using var store = ResultStore.Open(db);
            store.CheckpointInterval = checkpoints ? ResultStore.DefaultCheckpointInterval : null;
            long resultsAtCopy = -1;
            var r = new SweepEngine(model, def, tasks).Run(store, StoreResumeShardTests.SmallBatches(),
                new OnStage("starting", () => { resultsAtCopy = store.ResultCount(); File.Copy(db, copy); }));
            Assert.True(r.Completed);
            Assert.Equal(0, resultsAtCopy);
            using var c = new SqliteConnection($"Data Source={copy};Mode=ReadOnly;Pooling=False");
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('sweep', 'configs', 'task_sizes', 'results')";
            long tables = (long)cmd.ExecuteScalar()!;
            if (!checkpoints)
            {
                Assert.Equal(0, tables);   // the schema is still in the WAL: what the checkpoint prevents
                continue;
            }
            Assert.Equal(4, tables);
            cmd.CommandText = "SELECT (SELECT definition_hash FROM sweep), (SELECT COUNT(*) FROM configs), (SELECT COUNT(*) FROM task_sizes)";
            using (var q = cmd.ExecuteReader())
            {
                Assert.True(q.Read());
                Assert.Equal(def.Hash(), q.GetString(0));
                Assert.Equal(Scalar(db, "SELECT COUNT(*) FROM configs"), q.GetInt64(1));   // the whole grid
                Assert.Equal(tasks.Length, q.GetInt64(2));
            }
            c.Close();
            var merged = ResultMerge.Merge(tmp.File($"merged-{checkpoints}.db"), [copy]);
            Assert.Equal(0, merged.ResultRows);
        }
    }

    [SharedFact]
    public void Merge_refuses_a_torn_database_file_and_says_why()
    {
        using var tmp = new TempDir();
        string db = tmp.File("torn.db");
        StoreResumeShardTests.Run(db);
        long pages = new FileInfo(db).Length / 4096;
        Assert.True(pages > 8, $"{pages} pages");
        // Overwrite pages in the middle with another snapshot's bytes (here: zeros and noise), as a copy taken mid-checkpoint can.
        using (var f = new FileStream(db, FileMode.Open, FileAccess.Write))
        {
            var noise = new byte[4096 * 3];
            new Random(7).NextBytes(noise);
            f.Seek(4096 * (pages / 2), SeekOrigin.Begin);
            f.Write(noise);
        }
        string output = tmp.File("merged.db");
        var ex = Assert.Throws<Sna.Runtime.SnaInputException>(() => ResultMerge.Merge(output, [db]));
        Assert.Contains("damaged", ex.Message);
        Assert.Contains(db, ex.Message);
        Assert.False(File.Exists(output));
        string cleanDb = tmp.File("clean.db");
        StoreResumeShardTests.Run(cleanDb);
        using var clean = ResultStore.OpenReadOnly(cleanDb);
        Assert.Null(clean.QuickCheck());
    }

    [SharedFact]
    public void A_clean_database_has_no_pending_journal()
    {
        using var tmp = new TempDir();
        string db = tmp.File("c.db");
        StoreResumeShardTests.Run(db);
        Assert.Null(ResultStore.PendingJournal(db));
        Assert.False(File.Exists(db + "-wal") && new FileInfo(db + "-wal").Length > 0);
    }
}
