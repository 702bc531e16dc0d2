using Sna.Runtime;
using Sna.Research.Analysis;
using Sna.Research.Method;

namespace Sna.Research.Storage;

/// <summary>
/// Reads one or more results databases into the analysis layer's <see cref="SweepResultSet"/>. Several databases are how a
/// sweep and its controls (random-neuron seeds, bottom-k) are combined: each database holds one sweep definition, and they
/// must all be of the same model (content hash). Domain and level come from the built-in suite of that name when there is
/// one, else from the task name (<c>math-easy</c> → math / easy). Only complete configurations are read — the store's one
/// definition (<see cref="ResultStore.CompletedConfigs"/>), the same <c>sna summary</c> uses — and the number left out is
/// <see cref="SweepResultSet.IncompleteConfigurations"/>. An undefined improvement (NULL) is read as NaN; the analysis skips
/// such rows and says how many.
/// </summary>
public static class ResultSetReader
{
    /// <summary>True when <paramref name="path"/> holds a sweep (a stored definition); classification-only databases do not.</summary>
    public static bool HasSweep(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"results database not found: {path}", path);
        using var conn = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder
            { DataSource = path, Mode = Microsoft.Data.Sqlite.SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        try
        {
            conn.Open();
            using var c = conn.CreateCommand();
            c.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sweep'";
            if ((long)c.ExecuteScalar()! == 0) return false;
            c.CommandText = "SELECT count(*) FROM sweep";
            return (long)c.ExecuteScalar()! > 0;
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            throw new SnaInputException("--db", $"{path}: not a readable SQLite results database ({e.Message})", e);
        }
    }

    public static SweepResultSet Read(params string[] paths)
    {
        if (paths.Length == 0) throw new SnaInputException("--db", "no sweep results database given (a report needs at least one `sna sweep` database)");
        var rows = new List<SweepRow>();
        int incomplete = 0;
        string? modelHash = null, modelName = null, sweepName = null;
        foreach (var path in paths)
        {
            if (!HasSweep(path)) throw new SnaInputException("--db", $"{path}: no sweep stored (not a `sna sweep` results database, or an empty one)");
            using var store = ResultStore.OpenReadOnly(path);
            var stored = store.ReadDefinition() ?? throw new SnaInputException("--db", $"{path}: no sweep definition stored (not a results database, or an empty one)");
            if (modelHash is not null && stored.Definition.Model.ContentHash != modelHash)
                throw new SnaInputException("--db", $"{path}: model {stored.Definition.Model.ContentHash[..12]}… differs from {modelHash[..12]}… of the first database; a report covers one model");
            modelHash ??= stored.Definition.Model.ContentHash;
            modelName ??= stored.Definition.Model.Path;
            sweepName ??= stored.Definition.Name;
            var complete = store.CompletedConfigs().ToHashSet();
            var left = new HashSet<int>();
            foreach (var r in store.ReadResults())
            {
                if (!complete.Contains(r.ConfigId)) { left.Add(r.ConfigId); continue; }
                var (domain, level) = DomainAndLevel(r.Task);
                rows.Add(new SweepRow(r.Task, domain, level, r.PromptIndex, r.Layer, r.Count, r.Multiplier, r.Positions, r.NeuronSource,
                                      r.PBase, r.PPost, r.LogProbBase, r.LogProbPost, r.ImprovementPct));
            }
            incomplete += left.Count;
        }
        return new SweepResultSet(rows, sweepName!, modelName!, modelHash) { IncompleteConfigurations = incomplete };
    }

    private static (string Domain, string Level) DomainAndLevel(string task) =>
        TaskLibrary.TryGetBuiltIn(task, out var suite) && suite.Domain.Length > 0 ? (suite.Domain, suite.Level) : SweepResultSet.ParseTaskName(task);
}
