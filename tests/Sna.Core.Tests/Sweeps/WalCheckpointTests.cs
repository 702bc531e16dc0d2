using Microsoft.Data.Sqlite;
using Sna.Research.Storage;
using Sna.Research.Sweeps;

namespace Sna.Core.Tests.Sweeps;

/// <summary>
/// Shard databases on a cluster: the <c>.db</c> file alone holds the committed batches (the WAL is checkpointed at the first
/// commit, then every <see cref="ResultStore.CheckpointInterval"/>, and at the end of a run), and merge refuses an input whose
/// <c>-wal</c> still holds commits, naming it.
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
            store.CheckpointInterval = TimeSpan.FromHours(1);   // only the first commit and the run's end checkpoint
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
