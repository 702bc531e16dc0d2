using Sna.Runtime;
using Microsoft.Data.Sqlite;

namespace Sna.Research.Storage;

/// <summary>What a merge did.</summary>
public sealed record MergeReport(int Inputs, long ResultRows, long IdenticalDuplicateRows, int CompletedConfigs, int ConfigsInGrid);

/// <summary>
/// Combines shard databases of one sweep into a new one. Refuses inputs of different sweeps (definition hash). A row present in
/// several inputs must be bit-identical in every column (then it is stored once and counted in
/// <see cref="MergeReport.IdenticalDuplicateRows"/>); a row with differing values is an error and nothing is written.
/// Prompts and neurons must agree the same way. An input with a pending journal (<see cref="ResultStore.PendingJournal"/>: a
/// non-empty <c>-wal</c>, e.g. of a killed or running job) is refused, naming the file, before anything is read or written; so
/// is an input that fails <c>PRAGMA quick_check</c> (e.g. a file torn by a copy taken mid-checkpoint).
/// </summary>
public static class ResultMerge
{
    private static readonly string[] ResultValueColumns =
        ["task", "layer", "count", "multiplier", "positions", "neuron_source", "p_base", "p_post", "logprob_base", "logprob_post", "rank_post", "improvement_pct"];
    private static readonly string[] PromptValueColumns = ["text", "target", "target_id", "p_base", "logprob_base", "rank_base", "n_tokens"];

    public static MergeReport Merge(string output, IReadOnlyList<string> inputs)
    {
        if (inputs.Count == 0) throw new SnaInputException("nothing to merge");
        foreach (var i in inputs) if (!File.Exists(i)) throw new FileNotFoundException($"no results database at {i}", i);
        foreach (var i in inputs)
            if (ResultStore.PendingJournal(i) is { } j)
                throw new SnaInputException(
                    $"{i} has a pending journal {j} ({new FileInfo(j).Length} bytes): commits missing from the .db file. Is its job still running? " +
                    $"If not, fold them in by resuming the shard (sna sweep ... --resume) or with: sqlite3 '{i}' 'PRAGMA wal_checkpoint(TRUNCATE);' — then merge again");
        AtomicFile.RefuseInputs(output, inputs);
        if (File.Exists(output)) throw new SnaInputException("--out", $"{output} exists; merge writes a new database");

        string? hash = null;
        foreach (var i in inputs)
        {
            using var s = ResultStore.OpenReadOnly(i);
            // A .db copied off a node while its job was checkpointing (or killed mid-checkpoint) can be torn: some pages of the
            // newer snapshot, some of the older. Refuse it rather than merge what it happens to hold.
            if (s.QuickCheck() is { } damage)
                throw new SnaInputException(
                    $"{i} is damaged (PRAGMA quick_check: {damage}). Was it copied, or its job killed, while the job was writing it? " +
                    "Copy it again with its -wal once the job has ended, or resume the shard (sna sweep ... --resume), then merge again");
            var d = s.ReadDefinition() ?? throw new SnaInputException($"{i} has no sweep definition (not a sweep database?)");
            if (hash is null) hash = d.Hash;
            else if (d.Hash != hash)
                throw new SnaInputException($"{i} is a different sweep (definition hash {d.Hash[..12]}…, expected {hash[..12]}…); refusing to merge");
        }

        string tmp = output + ".partial";
        if (File.Exists(tmp)) File.Delete(tmp);
        long dupes = 0;
        try
        {
            using (var store = ResultStore.Open(tmp))
            {
                var db = store.Connection;
                for (int k = 0; k < inputs.Count; k++)
                {
                    Exec(db, $"ATTACH DATABASE '{inputs[k].Replace("'", "''")}' AS src");
                    using (var tx = db.BeginTransaction())
                    {
                        if (k == 0) Exec(db, "INSERT INTO sweep SELECT * FROM src.sweep", tx);
                        Exec(db, "INSERT INTO shards SELECT * FROM src.shards", tx);
                        Exec(db, "INSERT OR IGNORE INTO configs SELECT * FROM src.configs", tx);
                        if (Scalar(db, tx, "SELECT COUNT(*) FROM src.sqlite_master WHERE type = 'table' AND name = 'task_sizes'") > 0)
                        {
                            long badSizes = Scalar(db, tx, "SELECT COUNT(*) FROM src.task_sizes s JOIN task_sizes m USING(task) WHERE s.n_prompts IS NOT m.n_prompts");
                            if (badSizes > 0) throw new SnaInputException($"{inputs[k]}: {badSizes} task(s) have a different number of prompts than in another input");
                            Exec(db, "INSERT OR IGNORE INTO task_sizes SELECT task, n_prompts FROM src.task_sizes", tx);
                        }
                        else   // a version-1 input: its stored prompts are what it knew of each task
                            Exec(db, "INSERT OR IGNORE INTO task_sizes(task, n_prompts) SELECT task, COUNT(*) FROM src.prompts GROUP BY task", tx);

                        long badPrompts = Scalar(db, tx, $"SELECT COUNT(*) FROM src.prompts s JOIN prompts m USING(task, prompt_index) WHERE {Differs(PromptValueColumns)}");
                        if (badPrompts > 0) throw new SnaInputException($"{inputs[k]}: {badPrompts} prompt(s) differ from another input's (different model or tasks?)");
                        Exec(db, "INSERT OR IGNORE INTO prompts SELECT * FROM src.prompts", tx);

                        long badNeurons = Scalar(db, tx, "SELECT COUNT(*) FROM src.neurons s JOIN neurons m USING(task, layer, count) WHERE s.neurons IS NOT m.neurons OR s.neuron_source IS NOT m.neuron_source");
                        if (badNeurons > 0) throw new SnaInputException($"{inputs[k]}: {badNeurons} neuron selection(s) differ from another input's");
                        Exec(db, "INSERT OR IGNORE INTO neurons SELECT * FROM src.neurons", tx);

                        long bad = Scalar(db, tx, $"SELECT COUNT(*) FROM src.results s JOIN results m USING(config_id, prompt_index) WHERE {Differs(ResultValueColumns)}");
                        if (bad > 0) throw new SnaInputException($"{inputs[k]}: {bad} result row(s) exist in another input with different values; refusing to merge");
                        dupes += Scalar(db, tx, "SELECT COUNT(*) FROM src.results s JOIN results m USING(config_id, prompt_index)");
                        Exec(db, "INSERT OR IGNORE INTO results SELECT * FROM src.results", tx);
                        tx.Commit();
                    }
                    Exec(db, "DETACH DATABASE src");
                }
                Exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
            }
            File.Move(tmp, output);
            foreach (var ext in new[] { "-wal", "-shm" }) if (File.Exists(tmp + ext)) File.Delete(tmp + ext);
        }
        catch
        {
            foreach (var f in new[] { tmp, tmp + "-wal", tmp + "-shm" }) if (File.Exists(f)) File.Delete(f);
            throw;
        }
        using var result = ResultStore.OpenReadOnly(output);
        var def = result.ReadDefinition()!.Value.Definition;
        return new MergeReport(inputs.Count, result.ResultCount(), dupes, result.CompletedConfigs().Length, CountConfigs(result));
    }

    private static int CountConfigs(ResultStore s)
    {
        using var cmd = s.Cmd("SELECT COUNT(*) FROM configs");
        return (int)(long)cmd.ExecuteScalar()!;
    }

    private static string Differs(string[] cols) => string.Join(" OR ", cols.Select(c => $"s.{c} IS NOT m.{c}"));

    private static void Exec(SqliteConnection db, string sql, SqliteTransaction? tx = null)
    {
        using var c = db.CreateCommand();
        c.CommandText = sql; c.Transaction = tx;
        c.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection db, SqliteTransaction tx, string sql)
    {
        using var c = db.CreateCommand();
        c.CommandText = sql; c.Transaction = tx;
        return (long)c.ExecuteScalar()!;
    }
}
