using Sna.Runtime;
using System.CommandLine;
using Spectre.Console;
using Sna.Research.Storage;

namespace Sna.Cli.Commands;

/// <summary><c>sna export --db results.db --out results.csv|results.parquet [--format csv|parquet]</c>.</summary>
public static class ExportCommand
{
    public static Command Build()
    {
        var db = Options.Db("Results database of sna sweep.");
        var output = Options.Out("Output file (.csv or .parquet); written to a temporary file and renamed, never over the database.");
        var format = new Option<string?>("--format") { Description = "csv or parquet (default: from the extension)." };
        var cmd = new Command("export", "Export sweep results (one row per prompt and configuration) to CSV or Parquet.") { db, output, format };
        cmd.SetAction(async (r, ct) =>
        {
            string path = r.GetValue(output)!;
            string dbPath = r.GetValue(db)!;
            string fmt = (r.GetValue(format) ?? (path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) ? "parquet" : "csv")).ToLowerInvariant();
            if (fmt is not ("csv" or "parquet")) throw new SnaInputException("--format", $"--format must be csv or parquet, got '{fmt}'");
            // Refuse before opening anything: the output must never be the database (or its WAL/SHM companions).
            AtomicFile.RefuseInputs(path, [dbPath, dbPath + "-wal", dbPath + "-shm"]);
            using var store = ResultStore.OpenReadOnly(dbPath);
            long n = fmt == "csv"
                ? AtomicFile.Write(path, t => ResultExport.ToCsv(store, t))
                : await AtomicFile.WriteAsync(path, t => ResultExport.ToParquetAsync(store, t, ct));
            AnsiConsole.MarkupLine($"{n} rows → {Markup.Escape(path)}");
            return 0;
        });
        return cmd;
    }
}
