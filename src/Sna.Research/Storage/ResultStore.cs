using System.Globalization;
using Microsoft.Data.Sqlite;
using Sna.Research.Sweeps;

namespace Sna.Research.Storage;

/// <summary>One prompt of a task with its unmodified score.</summary>
public sealed record PromptRow(string Task, int PromptIndex, string Text, string Target, int TargetId,
                               double PBase, double LogProbBase, int RankBase, int NTokens);

/// <summary>One (prompt, configuration) result. <see cref="ImprovementPct"/> = (P_post − P_base) / P_base × 100.</summary>
public sealed record ResultRow(int ConfigId, string Task, int PromptIndex, int Layer, int Count, double Multiplier, string Positions,
                               string NeuronSource, double PBase, double PPost, double LogProbBase, double LogProbPost, int RankPost,
                               double ImprovementPct);

/// <summary>
/// The SQLite results store of one sweep (or one shard of it). Tables: <c>sweep</c> (definition JSON + hash, one row),
/// <c>configs</c>, <c>prompts</c>, <c>neurons</c> (per task, layer, count), <c>results</c> (primary key (config_id, prompt_index):
/// a duplicate is impossible), views <c>config_aggregates</c> and <c>completed_configs</c>. WAL journal; every
/// <see cref="WriteResults"/> call is one transaction, so a killed process loses at most the batch in flight.
/// <para>
/// Self-contained file: the WAL is checkpointed into the main file and truncated before any result exists (once the definition,
/// grid and task sizes are written, and once a prompt group's prompts and neurons are: <see cref="CheckpointBeforeResults"/>),
/// after the first results commit, then at most every <see cref="CheckpointInterval"/> (2 s) of commits, and when a sweep run
/// ends (completed or cancelled) — so the <c>.db</c> file alone, copied off a cluster node after its job was killed, is a
/// database of its sweep holding every batch committed before the last checkpoint that completed (normally up to 2 s before the
/// kill), and after a run everything. A database whose <c>-wal</c> still holds frames is reported by
/// <see cref="PendingJournal"/>, and <see cref="ResultMerge"/> refuses it, naming the file.
/// </para>
/// </summary>
public sealed class ResultStore : IDisposable
{
    /// <summary>
    /// 2: <c>improvement_pct</c> may be NULL (undefined: P_base and P_post both 0); table <c>task_sizes</c> (prompts per task,
    /// written before any result) defines a complete configuration. Version-1 databases are upgraded in place when opened for
    /// writing and read as they are otherwise.
    /// </summary>
    public const int SchemaVersion = 2;
    private readonly SqliteConnection _db;
    public string Path { get; }

    private ResultStore(string path, bool readOnly)
    {
        Path = System.IO.Path.GetFullPath(path);
        var csb = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        };
        _db = new SqliteConnection(csb.ToString());
        try
        {
            _db.Open();
            if (!readOnly)
            {
                Exec("PRAGMA busy_timeout=10000;");
                Exec("PRAGMA journal_mode=WAL;");
                Exec("PRAGMA synchronous=NORMAL;");
                CreateSchema();
            }
            else
            {
                using var check = Cmd("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('sweep', 'results')");
                if (Convert.ToInt64(check.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
                    throw new Sna.Runtime.SnaInputException("--db", $"{Path} is not a results database of sna sweep (it has no sweep or results table)");
            }
        }
        catch (SqliteException e) when ((e.SqliteErrorCode & 0xff) is 26 or 11)
        {
            // SQLITE_NOTADB, SQLITE_CORRUPT: the file given is not a usable results database (an input error).
            _db.Dispose();
            throw new Sna.Runtime.SnaInputException("--db", $"{Path} is not a usable SQLite results database: {e.Message}", e);
        }
        catch (SqliteException e) when (EnvironmentError(e, "open") is { } env)
        {
            _db.Dispose();
            throw env;
        }
        catch
        {
            _db.Dispose();
            throw;
        }
    }

    /// <summary>How long a write waits for another process's lock before failing (default 10 s).</summary>
    public TimeSpan BusyTimeout
    {
        set => Exec($"PRAGMA busy_timeout={(long)value.TotalMilliseconds};");
    }

    /// <summary>
    /// A SQLite failure caused by the environment (disk full, locked by another process, I/O error, read-only file) as a
    /// one-line <see cref="Sna.Runtime.SnaEnvironmentException"/> naming the database; null for anything else (a bug).
    /// </summary>
    internal Sna.Runtime.SnaEnvironmentException? EnvironmentError(SqliteException e, string action)
    {
        string? why = (e.SqliteErrorCode & 0xff) switch
        {
            13 => "the disk is full (SQLITE_FULL); free space or write elsewhere, then rerun with --resume",
            5 or 6 => "the database is locked by another process (SQLITE_BUSY); wait for it or stop it, then rerun with --resume",
            10 => $"an I/O error occurred (SQLITE_IOERR: {e.Message.Replace("SQLite Error 10: ", "").TrimEnd('.')})",
            8 => "the file or its folder is read-only (SQLITE_READONLY)",
            14 => "the file cannot be opened (SQLITE_CANTOPEN: missing folder or no permission)",
            _ => null,
        };
        return why is null ? null : new Sna.Runtime.SnaEnvironmentException($"cannot {action} {Path}: {why}", Path, e);
    }

    /// <summary>The default <see cref="CheckpointInterval"/>.</summary>
    public static readonly TimeSpan DefaultCheckpointInterval = TimeSpan.FromSeconds(2);

    /// <summary>
    /// After a <see cref="WriteResults"/> commit, checkpoint the WAL into the main file (and truncate it) when at least this long
    /// has passed since the last checkpoint; the first commit always checkpoints (so the schema, definition and first batch are
    /// in the main file). <see cref="TimeSpan.Zero"/>: after every commit. Null: never (SQLite's own auto-checkpoint only).
    /// The checkpoint costs two fsyncs; <c>bench store</c> measures it (docs/sweeps.md). Default 2 s.
    /// </summary>
    public TimeSpan? CheckpointInterval { get; set; } = DefaultCheckpointInterval;

    private readonly System.Diagnostics.Stopwatch _sinceCheckpoint = new();

    /// <summary>
    /// Copies every committed page from the WAL into the main file and truncates the WAL (<c>PRAGMA wal_checkpoint(TRUNCATE)</c>;
    /// waits up to the busy timeout for readers). Returns false when a reader kept it from completing (the next one catches up).
    /// </summary>
    public bool Checkpoint()
    {
        using var cmd = Cmd("PRAGMA wal_checkpoint(TRUNCATE)");
        using var r = cmd.ExecuteReader();
        bool complete = r.Read() && r.GetInt64(0) == 0;
        if (complete) _sinceCheckpoint.Restart();
        return complete;
    }

    /// <summary>
    /// The checkpoint before results can exist: called by the sweep engine once the definition, grid and task sizes are written,
    /// and again once a prompt group's prompts and neurons are, before that group's first result. A reader (or a copy of the
    /// <c>.db</c> alone) can see a results commit before the checkpoint that follows it completes — on a loaded or throttled node
    /// that takes a while — so without this the main file of a job killed in that window would not even hold the schema. Skipped
    /// when <see cref="CheckpointInterval"/> is null (never checkpoint). When a reader keeps it from completing (it waits up to
    /// the busy timeout), the first results commit tries again.
    /// </summary>
    public void CheckpointBeforeResults()
    {
        if (CheckpointInterval is not null) Checkpoint();
    }

    private bool _resultsCheckpointed;   // a checkpoint has completed after a results commit (the first one always tries)

    private void CheckpointIfDue()
    {
        if (CheckpointInterval is not { } every) return;
        if (!_resultsCheckpointed || _sinceCheckpoint.Elapsed >= every) _resultsCheckpointed |= Checkpoint();
    }

    /// <summary>
    /// The journal file beside <paramref name="dbPath"/> that still holds data the main file lacks, or null: a non-empty
    /// <c>-wal</c> (commits not yet checkpointed: the writer was killed or is still running) or a non-empty <c>-journal</c>
    /// (a hot rollback journal: the writer died mid-commit). Such a database is only complete together with that file.
    /// </summary>
    public static string? PendingJournal(string dbPath)
    {
        foreach (var ext in new[] { "-wal", "-journal" })
        {
            var f = new FileInfo(dbPath + ext);
            if (f.Exists && f.Length > 0) return f.FullName;
        }
        return null;
    }

    /// <summary>
    /// SQLite's <c>PRAGMA quick_check</c> of the file (b-tree structure, page and record formats; reads the whole file; no
    /// index cross-check): null when it passes, otherwise its first findings joined on "; ". Best effort against a torn copy:
    /// whole pages of an older snapshot mixed into a newer one can pass it.
    /// </summary>
    public string? QuickCheck()
    {
        var found = new List<string>();
        try
        {
            using var cmd = Cmd("PRAGMA quick_check(5)");
            using var r = cmd.ExecuteReader();
            while (r.Read()) found.Add(r.GetString(0));
        }
        catch (SqliteException e) when ((e.SqliteErrorCode & 0xff) is 11 or 26)
        {
            found.Add(e.Message);   // SQLITE_CORRUPT / SQLITE_NOTADB: damaged past what quick_check can walk
        }
        catch (SqliteException e) when (EnvironmentError(e, "check") is { } env)
        {
            throw env;              // an I/O error or a lock while reading it: the environment, not the file's content
        }
        return found is ["ok"] ? null : string.Join("; ", found);
    }

    /// <summary>Opens (creating if needed) a store for writing.</summary>
    public static ResultStore Open(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new Sna.Runtime.SnaInputException("--db", "the results database path is empty");
        string full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new Sna.Runtime.SnaInputException("--db", $"{full} is a directory; give a database file such as {System.IO.Path.Combine(full, "results.db")}");
        // Like every other output, the database's folder is created when missing. A path through a file is the input's fault;
        // no permission is left to SQLite (SQLITE_CANTOPEN: the environment, exit 74).
        if (System.IO.Path.GetDirectoryName(full) is { } folder && !Directory.Exists(folder))
        {
            try { Directory.CreateDirectory(folder); }
            catch (IOException e) { throw new Sna.Runtime.SnaInputException("--db", $"cannot create the folder of {full}: {e.Message}", e); }
            catch (UnauthorizedAccessException) { }
        }
        return new(full, readOnly: false);
    }
    public static ResultStore OpenReadOnly(string path) =>
        File.Exists(path) ? new(path, readOnly: true) : throw new FileNotFoundException($"no results database at {path}", path);

    internal SqliteConnection Connection => _db;

    private void CreateSchema()
    {
        Exec($"""
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '{SchemaVersion}');
            CREATE TABLE IF NOT EXISTS task_sizes(task TEXT PRIMARY KEY, n_prompts INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS sweep(
                id INTEGER PRIMARY KEY CHECK (id = 1),
                name TEXT NOT NULL, definition_json TEXT NOT NULL, definition_hash TEXT NOT NULL,
                model_path TEXT NOT NULL, model_hash TEXT NOT NULL, created_utc TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS shards(
                shard_index INTEGER NOT NULL, shard_count INTEGER NOT NULL, host TEXT, started_utc TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS configs(
                config_id INTEGER PRIMARY KEY, config_key TEXT NOT NULL UNIQUE, task TEXT NOT NULL, positions TEXT NOT NULL,
                layer INTEGER NOT NULL, count INTEGER NOT NULL, multiplier REAL NOT NULL, neuron_source TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS prompts(
                task TEXT NOT NULL, prompt_index INTEGER NOT NULL, text TEXT NOT NULL, target TEXT NOT NULL, target_id INTEGER NOT NULL,
                p_base REAL NOT NULL, logprob_base REAL NOT NULL, rank_base INTEGER NOT NULL, n_tokens INTEGER NOT NULL,
                PRIMARY KEY(task, prompt_index)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS neurons(
                task TEXT NOT NULL, layer INTEGER NOT NULL, count INTEGER NOT NULL, neuron_source TEXT NOT NULL, neurons TEXT NOT NULL,
                PRIMARY KEY(task, layer, count)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS results(
                config_id INTEGER NOT NULL, prompt_index INTEGER NOT NULL, task TEXT NOT NULL, layer INTEGER NOT NULL,
                count INTEGER NOT NULL, multiplier REAL NOT NULL, positions TEXT NOT NULL, neuron_source TEXT NOT NULL,
                p_base REAL NOT NULL, p_post REAL NOT NULL, logprob_base REAL NOT NULL, logprob_post REAL NOT NULL,
                rank_post INTEGER NOT NULL, improvement_pct REAL,
                PRIMARY KEY(config_id, prompt_index)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS results_task_layer ON results(task, layer);
            """);
        if (StoredSchemaVersion() < 2) UpgradeToVersion2();
        Exec($"""
            CREATE VIEW IF NOT EXISTS config_aggregates AS
                SELECT r.config_id, r.task, r.positions, r.layer, r.count, r.multiplier, r.neuron_source,
                       COUNT(*) AS n_prompts,
                       AVG(r.improvement_pct) AS mean_improvement_pct,
                       AVG(r.p_base) AS mean_p_base, AVG(r.p_post) AS mean_p_post,
                       (AVG(r.p_post) - AVG(r.p_base)) / AVG(r.p_base) * 100.0 AS ratio_of_means_pct,
                       AVG(r.logprob_post - r.logprob_base) AS mean_logprob_gain
                FROM results r GROUP BY r.config_id;
            {CompletedConfigsView}
            """);
    }

    /// <summary>
    /// The one definition of a complete configuration: a result row for every prompt of its task, the task's size being what
    /// the sweep recorded in <c>task_sizes</c> before storing any result (so a configuration is never complete while prompt
    /// groups are still missing). Used by <see cref="CompletedConfigs"/>, hence by <c>sna summary</c>, <c>sna report</c> and merge.
    /// </summary>
    private const string CompletedConfigsView = """
            CREATE VIEW IF NOT EXISTS completed_configs AS
                SELECT r.config_id FROM results r JOIN task_sizes t ON t.task = r.task
                GROUP BY r.config_id
                HAVING COUNT(*) = MAX(t.n_prompts);
            """;

    private int StoredSchemaVersion()
    {
        using var cmd = Cmd("SELECT value FROM meta WHERE key = 'schema_version'");
        return cmd.ExecuteScalar() is string v && int.TryParse(v, CultureInfo.InvariantCulture, out int n) ? n : SchemaVersion;
    }

    /// <summary>
    /// Version 1 → 2 in one transaction: <c>results.improvement_pct</c> loses NOT NULL (table rebuilt, rows copied as they are),
    /// <c>task_sizes</c> is filled from the stored prompts (what version 1 counted), the views are recreated.
    /// </summary>
    private void UpgradeToVersion2()
    {
        using var tx = _db.BeginTransaction();
        foreach (var sql in new[]
        {
            "DROP VIEW IF EXISTS config_aggregates",
            "DROP VIEW IF EXISTS completed_configs",
            """
            CREATE TABLE results_v2(
                config_id INTEGER NOT NULL, prompt_index INTEGER NOT NULL, task TEXT NOT NULL, layer INTEGER NOT NULL,
                count INTEGER NOT NULL, multiplier REAL NOT NULL, positions TEXT NOT NULL, neuron_source TEXT NOT NULL,
                p_base REAL NOT NULL, p_post REAL NOT NULL, logprob_base REAL NOT NULL, logprob_post REAL NOT NULL,
                rank_post INTEGER NOT NULL, improvement_pct REAL,
                PRIMARY KEY(config_id, prompt_index)) WITHOUT ROWID
            """,
            "INSERT INTO results_v2 SELECT * FROM results",
            "DROP TABLE results",
            "ALTER TABLE results_v2 RENAME TO results",
            "CREATE INDEX IF NOT EXISTS results_task_layer ON results(task, layer)",
            "INSERT OR IGNORE INTO task_sizes(task, n_prompts) SELECT task, COUNT(*) FROM prompts GROUP BY task",
            "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
        })
        {
            using var c = Cmd(sql, tx);
            c.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>
    /// Records how many prompts each task has, before any of its results; a task already recorded must have the same size
    /// (else the task changed since the sweep started).
    /// </summary>
    public void WriteTaskSizes(IEnumerable<(string Task, int Prompts)> sizes)
    {
        var existing = TaskSizes();
        using var tx = _db.BeginTransaction();
        using var cmd = Cmd("INSERT INTO task_sizes(task, n_prompts) VALUES ($t, $n)", tx);
        var ps = Params(cmd, "$t", "$n");
        foreach (var (task, n) in sizes)
        {
            if (existing.TryGetValue(task, out int old))
            {
                if (old != n) throw new Sna.Runtime.SnaInputException("--tasks", $"task {task} now has {n} prompts, the stored sweep has {old}: the task changed since the sweep started");
                continue;
            }
            ps[0].Value = task; ps[1].Value = n;
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>Prompts per task as recorded in <c>task_sizes</c> (empty for a version-1 database opened read-only).</summary>
    public Dictionary<string, int> TaskSizes()
    {
        var d = new Dictionary<string, int>(StringComparer.Ordinal);
        using (var t = Cmd("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'task_sizes'"))
            if ((long)t.ExecuteScalar()! == 0) return d;
        using var cmd = Cmd("SELECT task, n_prompts FROM task_sizes");
        using var r = cmd.ExecuteReader();
        while (r.Read()) d[r.GetString(0)] = r.GetInt32(1);
        return d;
    }

    // -------------------------------------------------------------------------------------------------------------
    // Definition

    /// <summary>The stored definition, or null for a fresh database.</summary>
    public (SweepDefinition Definition, string Hash)? ReadDefinition()
    {
        using var cmd = Cmd("SELECT definition_json, definition_hash FROM sweep WHERE id = 1");
        using var r = cmd.ExecuteReader();
        if (!r.Read()) return null;
        return (SweepDefinition.FromJson(r.GetString(0)), r.GetString(1));
    }

    /// <summary>
    /// Binds the database to <paramref name="def"/>: stores it when fresh; otherwise requires the same hash, and (unless
    /// <paramref name="resume"/>) that no results exist yet.
    /// </summary>
    public void BindDefinition(SweepDefinition def, bool resume)
    {
        string hash = def.Hash();
        var existing = ReadDefinition();
        if (existing is null)
        {
            using var cmd = Cmd("INSERT INTO sweep(id, name, definition_json, definition_hash, model_path, model_hash, created_utc) VALUES (1, $n, $j, $h, $mp, $mh, $t)");
            cmd.Parameters.AddWithValue("$n", def.Name);
            cmd.Parameters.AddWithValue("$j", def.ToJson());
            cmd.Parameters.AddWithValue("$h", hash);
            cmd.Parameters.AddWithValue("$mp", def.Model.Path);
            cmd.Parameters.AddWithValue("$mh", def.Model.ContentHash);
            cmd.Parameters.AddWithValue("$t", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            cmd.ExecuteNonQuery();
            return;
        }
        if (existing.Value.Hash != hash)
            throw new Sna.Runtime.SnaInputException("--db", $"{Path} holds a different sweep ({def.DifferenceFrom(existing.Value.Definition)}; definition hash {existing.Value.Hash[..12]}…, this one {hash[..12]}…); use a new database");
        if (!resume && ResultCount() > 0)
            throw new Sna.Runtime.SnaInputException("--db", $"{Path} already has {ResultCount()} results of this sweep; pass --resume to continue it");
    }

    /// <summary>
    /// Records that a run of <paramref name="shard"/> starts. A database holding results of exactly one other shard is refused:
    /// resuming shard 1/3's file as another shard (say a Slurm array index resubmitted alone, which <c>--shard auto</c> sees as
    /// 0/1) would fill it with configurations that other shards own. A merged database (several shards) may be resumed as any.
    /// </summary>
    public void RecordShard(ShardSpec shard)
    {
        if (ResultCount() > 0)
        {
            var recorded = new List<(int Index, int Count)>();
            using (var q = Cmd("SELECT DISTINCT shard_index, shard_count FROM shards"))
            using (var r = q.ExecuteReader())
                while (r.Read()) recorded.Add((r.GetInt32(0), r.GetInt32(1)));
            if (recorded.Count == 1 && recorded[0] != (shard.Index, shard.Count))
                throw new Sna.Runtime.SnaInputException("--shard", $"{Path} holds results of shard {recorded[0].Index}/{recorded[0].Count}; this run is shard {shard}. " +
                    $"Resume it as --shard {recorded[0].Index}/{recorded[0].Count} (a Slurm array index resubmitted alone: SHARD={recorded[0].Index}/{recorded[0].Count})");
        }
        using var cmd = Cmd("INSERT INTO shards(shard_index, shard_count, host, started_utc) VALUES ($i, $n, $h, $t)");
        cmd.Parameters.AddWithValue("$i", shard.Index);
        cmd.Parameters.AddWithValue("$n", shard.Count);
        cmd.Parameters.AddWithValue("$h", Environment.MachineName);
        cmd.Parameters.AddWithValue("$t", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        cmd.ExecuteNonQuery();
    }

    public void WriteConfigurations(IEnumerable<SweepConfiguration> configs, string neuronSource)
    {
        using var tx = _db.BeginTransaction();
        using var cmd = Cmd("INSERT OR IGNORE INTO configs(config_id, config_key, task, positions, layer, count, multiplier, neuron_source) VALUES ($id, $k, $t, $p, $l, $c, $m, $s)", tx);
        var ps = Params(cmd, "$id", "$k", "$t", "$p", "$l", "$c", "$m", "$s");
        foreach (var c in configs)
        {
            ps[0].Value = c.Id; ps[1].Value = c.Key; ps[2].Value = c.Task; ps[3].Value = SweepDefinition.PositionsName(c.Positions);
            ps[4].Value = c.Layer; ps[5].Value = c.Count; ps[6].Value = c.Multiplier; ps[7].Value = neuronSource;
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>Stores the neurons of (task, layer, count); if already stored they must be the same (a deterministic selector).</summary>
    public void WriteNeurons(string task, int layer, int count, string source, int[] neurons)
    {
        string list = string.Join(',', neurons);
        using (var q = Cmd("SELECT neurons FROM neurons WHERE task = $t AND layer = $l AND count = $c"))
        {
            q.Parameters.AddWithValue("$t", task); q.Parameters.AddWithValue("$l", layer); q.Parameters.AddWithValue("$c", count);
            if (q.ExecuteScalar() is string old)
            {
                if (old != list) throw new InvalidOperationException($"task {task} layer {layer} count {count}: the neuron selector now picks [{list}], the stored sweep used [{old}]; the selector must be deterministic");
                return;
            }
        }
        using var cmd = Cmd("INSERT INTO neurons(task, layer, count, neuron_source, neurons) VALUES ($t, $l, $c, $s, $n)");
        cmd.Parameters.AddWithValue("$t", task); cmd.Parameters.AddWithValue("$l", layer); cmd.Parameters.AddWithValue("$c", count);
        cmd.Parameters.AddWithValue("$s", source); cmd.Parameters.AddWithValue("$n", list);
        cmd.ExecuteNonQuery();
    }

    public Dictionary<(string Task, int Layer, int Count), int[]> ReadNeurons()
    {
        var d = new Dictionary<(string, int, int), int[]>();
        using var cmd = Cmd("SELECT task, layer, count, neurons FROM neurons");
        using var r = cmd.ExecuteReader();
        while (r.Read())
            d[(r.GetString(0), r.GetInt32(1), r.GetInt32(2))] = r.GetString(3).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        return d;
    }

    /// <summary>Stores prompts; a prompt already stored must be identical (same text, ids count and bit-identical baseline).</summary>
    public void WritePrompts(IEnumerable<PromptRow> prompts)
    {
        var existing = ReadPrompts().ToDictionary(p => (p.Task, p.PromptIndex));
        using var tx = _db.BeginTransaction();
        using var cmd = Cmd("INSERT INTO prompts(task, prompt_index, text, target, target_id, p_base, logprob_base, rank_base, n_tokens) VALUES ($a, $b, $c, $d, $e, $f, $g, $h, $i)", tx);
        var ps = Params(cmd, "$a", "$b", "$c", "$d", "$e", "$f", "$g", "$h", "$i");
        foreach (var p in prompts)
        {
            if (existing.TryGetValue((p.Task, p.PromptIndex), out var old))
            {
                if (old != p) throw new Sna.Runtime.SnaInputException($"prompt {p.Task}#{p.PromptIndex} differs from the stored one ({old} vs {p}): the model, tokenizer, task or GEMM provider changed since the sweep started");
                continue;
            }
            ps[0].Value = p.Task; ps[1].Value = p.PromptIndex; ps[2].Value = p.Text; ps[3].Value = p.Target; ps[4].Value = p.TargetId;
            ps[5].Value = p.PBase; ps[6].Value = p.LogProbBase; ps[7].Value = p.RankBase; ps[8].Value = p.NTokens;
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
    }

    public IEnumerable<PromptRow> ReadPrompts()
    {
        using var cmd = Cmd("SELECT task, prompt_index, text, target, target_id, p_base, logprob_base, rank_base, n_tokens FROM prompts ORDER BY task, prompt_index");
        using var r = cmd.ExecuteReader();
        var list = new List<PromptRow>();
        while (r.Read())
            list.Add(new PromptRow(r.GetString(0), r.GetInt32(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetDouble(5), r.GetDouble(6), r.GetInt32(7), r.GetInt32(8)));
        return list;
    }

    // -------------------------------------------------------------------------------------------------------------
    // Results

    /// <summary>Inserts one batch in one transaction. A row whose (config_id, prompt_index) exists is an error (nothing is written).</summary>
    public void WriteResults(IReadOnlyList<ResultRow> rows)
    {
        try { WriteResultsCore(rows); }
        catch (SqliteException e) when (EnvironmentError(e, "write results to") is { } env) { throw env; }
    }

    private void WriteResultsCore(IReadOnlyList<ResultRow> rows)
    {
        using var tx = _db.BeginTransaction();
        using var cmd = Cmd("""
            INSERT INTO results(config_id, prompt_index, task, layer, count, multiplier, positions, neuron_source,
                                p_base, p_post, logprob_base, logprob_post, rank_post, improvement_pct)
            VALUES ($a, $b, $c, $d, $e, $f, $g, $h, $i, $j, $k, $l, $m, $n)
            """, tx);
        var ps = Params(cmd, "$a", "$b", "$c", "$d", "$e", "$f", "$g", "$h", "$i", "$j", "$k", "$l", "$m", "$n");
        foreach (var x in rows)
        {
            ps[0].Value = x.ConfigId; ps[1].Value = x.PromptIndex; ps[2].Value = x.Task; ps[3].Value = x.Layer; ps[4].Value = x.Count;
            ps[5].Value = x.Multiplier; ps[6].Value = x.Positions; ps[7].Value = x.NeuronSource; ps[8].Value = x.PBase; ps[9].Value = x.PPost;
            ps[10].Value = x.LogProbBase; ps[11].Value = x.LogProbPost; ps[12].Value = x.RankPost;
            // NaN (P_base and P_post both 0: the improvement is undefined) is stored as NULL, as docs/cli.md says.
            ps[13].Value = double.IsNaN(x.ImprovementPct) ? DBNull.Value : x.ImprovementPct;
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
        CheckpointIfDue();
    }

    /// <summary>Every stored (config_id, prompt_index), for resuming.</summary>
    public HashSet<(int ConfigId, int PromptIndex)> DoneEvaluations()
    {
        var set = new HashSet<(int, int)>();
        using var cmd = Cmd("SELECT config_id, prompt_index FROM results");
        using var r = cmd.ExecuteReader();
        while (r.Read()) set.Add((r.GetInt32(0), r.GetInt32(1)));
        return set;
    }

    /// <summary>Complete configurations (see <see cref="CompletedConfigsView"/>): a row for every prompt of their task.</summary>
    public int[] CompletedConfigs()
    {
        using var cmd = Cmd("SELECT config_id FROM completed_configs ORDER BY config_id");
        using var r = cmd.ExecuteReader();
        var l = new List<int>();
        while (r.Read()) l.Add(r.GetInt32(0));
        return l.ToArray();
    }

    public long ResultCount()
    {
        using var cmd = Cmd("SELECT COUNT(*) FROM results");
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>All results, ordered by (config_id, prompt_index).</summary>
    public IEnumerable<ResultRow> ReadResults()
    {
        using var cmd = Cmd("""
            SELECT config_id, task, prompt_index, layer, count, multiplier, positions, neuron_source,
                   p_base, p_post, logprob_base, logprob_post, rank_post, improvement_pct
            FROM results ORDER BY config_id, prompt_index
            """);
        using var r = cmd.ExecuteReader();
        while (r.Read())
            yield return new ResultRow(r.GetInt32(0), r.GetString(1), r.GetInt32(2), r.GetInt32(3), r.GetInt32(4), r.GetDouble(5),
                r.GetString(6), r.GetString(7), r.GetDouble(8), r.GetDouble(9), r.GetDouble(10), r.GetDouble(11), r.GetInt32(12),
                r.IsDBNull(13) ? double.NaN : r.GetDouble(13));
    }

    // -------------------------------------------------------------------------------------------------------------

    internal void Exec(string sql)
    {
        using var cmd = Cmd(sql);
        cmd.ExecuteNonQuery();
    }

    internal SqliteCommand Cmd(string sql, SqliteTransaction? tx = null)
    {
        var c = _db.CreateCommand();
        c.CommandText = sql;
        c.Transaction = tx;
        return c;
    }

    private static SqliteParameter[] Params(SqliteCommand cmd, params string[] names) =>
        names.Select(n => cmd.Parameters.Add(new SqliteParameter { ParameterName = n })).ToArray();

    public void Dispose()
    {
        _db.Dispose();
    }
}
