using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Sna.Research.Classification;

/// <summary>One grid cell of a stored classification run for one margin zone (0 = all examples).</summary>
public sealed record ClassifyCell(int Layer, double Multiplier, int Zone, int N, double? AccuracyBefore, double? AccuracyAfter, double? DeltaPp, int Fixed, int Broken);

/// <summary>
/// A stored classification run (`sna classify --db`) as the report shows it: the run's settings and its per-zone grid.
/// Read back from the database so a report can be made later from files alone.
/// </summary>
public sealed record ClassifyReportData(long RunId, string Model, string ModelSha256, string DataSource, int N, long Seed, string Method, int K,
    string Amplify, string Template, double ZoneLow, double ZoneHigh, double? AccuracyBefore, bool Zone3Unchanged, IReadOnlyList<ClassifyCell> Grid)
{
    public IEnumerable<int> Layers => Grid.Select(c => c.Layer).Distinct().Order();
    public IEnumerable<double> Multipliers => Grid.Select(c => c.Multiplier).Distinct().Order();

    /// <summary>The layer whose non-identity cells improve Zone 1 most on average (the paper's Figure 2 shows one layer).</summary>
    public int BestLayer => Grid.Where(c => c.Zone == 1 && c.DeltaPp is not null && c.Multiplier != 1)
                                .GroupBy(c => c.Layer).Select(g => (g.Key, Mean: g.Average(c => c.DeltaPp!.Value)))
                                .OrderByDescending(x => x.Mean).ThenBy(x => x.Key).Select(x => x.Key).DefaultIfEmpty(Layers.FirstOrDefault()).First();

    /// <summary>True when <paramref name="dbPath"/> holds at least one classification run.</summary>
    public static bool Exists(string dbPath)
    {
        using var conn = Open(dbPath);
        using var c = conn.CreateCommand();
        c.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'classify_runs'";
        if ((long)c.ExecuteScalar()! == 0) return false;
        c.CommandText = "SELECT count(*) FROM classify_runs";
        return (long)c.ExecuteScalar()! > 0;
    }

    /// <summary>The latest classification run stored in <paramref name="dbPath"/>.</summary>
    public static ClassifyReportData ReadLatest(string dbPath)
    {
        using var conn = Open(dbPath);
        using var c = conn.CreateCommand();
        c.CommandText = """
            SELECT run_id, model, model_sha256, data_source, n, seed, method, k, amplify, template, zone_low, zone_high, accuracy_before, zone3_unchanged
            FROM classify_runs ORDER BY run_id DESC LIMIT 1
            """;
        ClassifyReportData run;
        using (var r = c.ExecuteReader())
        {
            if (!r.Read()) throw new Sna.Runtime.SnaInputException("--db", $"{dbPath}: no classification run stored");
            run = new ClassifyReportData(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4), r.GetInt64(5), r.GetString(6),
                r.GetInt32(7), r.GetString(8), r.GetString(9), r.GetDouble(10), r.GetDouble(11), r.IsDBNull(12) ? null : r.GetDouble(12), r.GetInt64(13) != 0, []);
        }
        c.CommandText = """
            SELECT layer, multiplier, zone, n, accuracy_before, accuracy_after, delta_pp, fixed, broken
            FROM classify_grid WHERE run_id = $r ORDER BY layer, multiplier, zone
            """;
        c.Parameters.AddWithValue("$r", run.RunId);
        var grid = new List<ClassifyCell>();
        using (var r = c.ExecuteReader())
            while (r.Read())
                grid.Add(new ClassifyCell(r.GetInt32(0), r.GetDouble(1), r.GetInt32(2), r.GetInt32(3), N(r, 4), N(r, 5), N(r, 6), r.GetInt32(7), r.GetInt32(8)));
        return run with { Grid = grid };

        static double? N(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetDouble(i);
    }

    private static SqliteConnection Open(string dbPath)
    {
        if (!File.Exists(dbPath)) throw new FileNotFoundException($"results database not found: {dbPath}", dbPath);
        var conn = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = dbPath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        try
        {
            conn.Open();
            using var probe = conn.CreateCommand();
            probe.CommandText = "SELECT count(*) FROM sqlite_master";
            probe.ExecuteScalar();
            return conn;
        }
        catch (SqliteException e)
        {
            conn.Dispose();
            throw new Sna.Runtime.SnaInputException("--db", $"{dbPath}: not a readable SQLite results database ({e.Message})", e);
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"run {RunId}: {N} examples (seed {Seed}), {Method} neurons k={K}, amplify {Amplify}");
}
