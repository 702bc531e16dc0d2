using System.CommandLine;
using Spectre.Console;
using Sna.Research.Storage;

namespace Sna.Cli.Commands;

/// <summary><c>sna export --db results.db --out results.csv|results.parquet [--format csv|parquet]</c>.</summary>
public static class ExportCommand
{
    public static Command Build()
    {
        var db = new Option<string>("--db") { Description = "Results database.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Output file (.csv or .parquet).", Required = true };
        var format = new Option<string?>("--format") { Description = "csv or parquet (default: from the extension)." };
        var cmd = new Command("export", "Export sweep results (one row per prompt and configuration) to CSV or Parquet.") { db, output, format };
        cmd.SetAction(async (r, ct) =>
        {
            string path = r.GetValue(output)!;
            string fmt = r.GetValue(format) ?? (path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) ? "parquet" : "csv");
            using var store = ResultStore.OpenReadOnly(r.GetValue(db)!);
            long n = fmt switch
            {
                "csv" => ResultExport.ToCsv(store, path),
                "parquet" => await ResultExport.ToParquetAsync(store, path, ct),
                _ => throw new ArgumentException($"--format must be csv or parquet, got '{fmt}'"),
            };
            AnsiConsole.MarkupLine($"{n} rows → {Markup.Escape(path)}");
            return 0;
        });
        return cmd;
    }
}
