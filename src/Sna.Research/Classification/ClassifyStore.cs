using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Sna.Research.Classification;

/// <summary>
/// Stores classification runs in SQLite: <c>classify_runs</c> (one row per run, with the JSON summary),
/// <c>classify_examples</c> (baseline decision per evaluated example), <c>classify_grid</c> (per cell and zone:
/// n, accuracy before/after, change in pp, fixed, broken; zone 0 = all examples). Several runs share one file.
/// </summary>
// INTEGRATION: align with the sweep engine's results store (schema, run ids) when both land.
public static class ClassifyStore
{
    public const int SchemaVersion = 1;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS classify_runs (
            run_id INTEGER PRIMARY KEY AUTOINCREMENT,
            schema_version INTEGER NOT NULL,
            created_utc TEXT NOT NULL,
            model TEXT NOT NULL,
            model_sha256 TEXT NOT NULL,
            data_source TEXT NOT NULL,
            data_sha256 TEXT NOT NULL,
            n INTEGER NOT NULL,
            seed INTEGER NOT NULL,
            train_n INTEGER NOT NULL,
            method TEXT NOT NULL,
            k INTEGER NOT NULL,
            amplify TEXT NOT NULL,
            template TEXT NOT NULL,
            zone_low REAL NOT NULL,
            zone_high REAL NOT NULL,
            accuracy_before REAL,
            zone3_unchanged INTEGER NOT NULL,
            summary_json TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS classify_examples (
            run_id INTEGER NOT NULL REFERENCES classify_runs(run_id),
            row INTEGER NOT NULL,
            line INTEGER NOT NULL,
            label INTEGER NOT NULL,
            p0 REAL NOT NULL,
            p1 REAL NOT NULL,
            predicted INTEGER NOT NULL,
            correct INTEGER NOT NULL,
            margin REAL NOT NULL,
            zone INTEGER NOT NULL,
            tokens INTEGER NOT NULL,
            PRIMARY KEY (run_id, row)
        );
        CREATE TABLE IF NOT EXISTS classify_grid (
            run_id INTEGER NOT NULL REFERENCES classify_runs(run_id),
            layer INTEGER NOT NULL,
            multiplier REAL NOT NULL,
            zone INTEGER NOT NULL,
            n INTEGER NOT NULL,
            accuracy_before REAL,
            accuracy_after REAL,
            delta_pp REAL,
            fixed INTEGER NOT NULL,
            broken INTEGER NOT NULL,
            PRIMARY KEY (run_id, layer, multiplier, zone)
        );
        """;

    /// <summary>Writes a run (in one transaction) and returns its run_id. <paramref name="summary"/> defaults to <see cref="ClassifyResult.ToJson"/>.</summary>
    public static long Save(string dbPath, ClassifyResult r, string model, string modelSha256, JsonObject? summary = null)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(dbPath));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        using var conn = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = dbPath, Pooling = false }.ToString());
        conn.Open();
        using (var c = conn.CreateCommand()) { c.CommandText = Schema; c.ExecuteNonQuery(); }
        using var tx = conn.BeginTransaction();
        long runId;
        using (var c = conn.CreateCommand())
        {
            c.Transaction = tx;
            c.CommandText = """
                INSERT INTO classify_runs (schema_version, created_utc, model, model_sha256, data_source, data_sha256, n, seed, train_n,
                    method, k, amplify, template, zone_low, zone_high, accuracy_before, zone3_unchanged, summary_json)
                VALUES ($v, $t, $m, $ms, $ds, $dsha, $n, $seed, $tn, $method, $k, $amp, $tpl, $zl, $zh, $acc, $z3, $json);
                SELECT last_insert_rowid();
                """;
            c.Parameters.AddWithValue("$v", SchemaVersion);
            c.Parameters.AddWithValue("$t", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            c.Parameters.AddWithValue("$m", model);
            c.Parameters.AddWithValue("$ms", modelSha256);
            c.Parameters.AddWithValue("$ds", r.DataSource);
            c.Parameters.AddWithValue("$dsha", r.DataSha256);
            c.Parameters.AddWithValue("$n", r.Examples.Length);
            c.Parameters.AddWithValue("$seed", unchecked((long)r.Split.Seed));
            c.Parameters.AddWithValue("$tn", r.Split.Train.Length);
            c.Parameters.AddWithValue("$method", r.Options.Method.ToString().ToLowerInvariant());
            c.Parameters.AddWithValue("$k", r.Options.K);
            c.Parameters.AddWithValue("$amp", r.Options.AmplifyName);
            c.Parameters.AddWithValue("$tpl", r.Options.Spec.Template);
            c.Parameters.AddWithValue("$zl", r.Options.Spec.Zones.Low);
            c.Parameters.AddWithValue("$zh", r.Options.Spec.Zones.High);
            c.Parameters.AddWithValue("$acc", (object?)r.Before[0].Accuracy ?? DBNull.Value);
            c.Parameters.AddWithValue("$z3", r.Zone3Unchanged ? 1 : 0);
            c.Parameters.AddWithValue("$json", (summary ?? r.ToJson()).ToJsonString());
            runId = (long)c.ExecuteScalar()!;
        }
        using (var c = conn.CreateCommand())
        {
            c.Transaction = tx;
            c.CommandText = """
                INSERT INTO classify_examples (run_id, row, line, label, p0, p1, predicted, correct, margin, zone, tokens)
                VALUES ($r, $row, $line, $label, $p0, $p1, $pred, $ok, $margin, $zone, $tok);
                """;
            var p = new[] { "$r", "$row", "$line", "$label", "$p0", "$p1", "$pred", "$ok", "$margin", "$zone", "$tok" }
                .Select(n => c.Parameters.Add(n, SqliteType.Integer)).ToArray();
            p[4].SqliteType = p[5].SqliteType = p[8].SqliteType = SqliteType.Real;
            c.Prepare();
            foreach (var e in r.Examples)
            {
                p[0].Value = runId; p[1].Value = e.Row; p[2].Value = e.Line; p[3].Value = e.Label;
                p[4].Value = e.Baseline.P0; p[5].Value = e.Baseline.P1; p[6].Value = e.Baseline.Predicted; p[7].Value = e.Correct ? 1 : 0;
                p[8].Value = e.Baseline.Margin; p[9].Value = e.Baseline.Zone; p[10].Value = e.Tokens;
                c.ExecuteNonQuery();
            }
        }
        using (var c = conn.CreateCommand())
        {
            c.Transaction = tx;
            c.CommandText = """
                INSERT INTO classify_grid (run_id, layer, multiplier, zone, n, accuracy_before, accuracy_after, delta_pp, fixed, broken)
                VALUES ($r, $l, $m, $z, $n, $ab, $aa, $d, $f, $b);
                """;
            string[] names = ["$r", "$l", "$m", "$z", "$n", "$ab", "$aa", "$d", "$f", "$b"];
            var p = names.Select(n => c.Parameters.Add(n, SqliteType.Integer)).ToArray();
            p[2].SqliteType = p[5].SqliteType = p[6].SqliteType = p[7].SqliteType = SqliteType.Real;
            c.Prepare();
            foreach (var cell in r.Grid)
                for (int z = 0; z <= 3; z++)
                {
                    p[0].Value = runId; p[1].Value = cell.Layer; p[2].Value = (double)cell.Multiplier; p[3].Value = z;
                    p[4].Value = cell.After[z].N;
                    p[5].Value = (object?)r.Before[z].Accuracy ?? DBNull.Value;
                    p[6].Value = (object?)cell.After[z].Accuracy ?? DBNull.Value;
                    p[7].Value = (object?)cell.DeltaPp[z] ?? DBNull.Value;
                    p[8].Value = cell.Fixed[z]; p[9].Value = cell.Broken[z];
                    c.ExecuteNonQuery();
                }
        }
        tx.Commit();
        return runId;
    }
}
