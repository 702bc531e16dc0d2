using Sna.Runtime;
using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Sna.Research.Analysis;
using Sna.Research.Method;
using Sna.Research.Reporting;
using Spectre.Console;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna report (--csv FILE | --db FILE) --out-dir DIR [--zones 0.07:0.10] [--interference FILE] [--resamples N] [--seed S] [--no-svg] [--json]</c>:
/// analyses a sweep's results and writes report.html, report.md, summary.json and the figures into DIR.
/// </summary>
public static class ReportCommand
{
    public static Command Build()
    {
        var csv = new Option<FileInfo?>("--csv") { Description = "Sweep results as CSV (the sweep engine's export: task, prompt_index, layer, count, multiplier, positions, neuron_source, p_base, p_post, logprob_base, logprob_post, improvement_pct)." };
        var db = new Option<FileInfo[]?>("--db") { Description = "Sweep results database(s) (SQLite stores of `sna sweep`); repeat to add control sweeps (random:SEED, bottom) of the same model.", AllowMultipleArgumentsPerToken = true };
        var outDir = Options.OutDir("Output directory (created if needed): report.html, report.md, summary.json, figures.");
        var zones = Options.Zones();
        var interference = new Option<FileInfo?>("--interference") { Description = "Optional interference measurements as CSV with columns source, target, delta_pp." };
        var resamples = Options.Int("--resamples", "Bootstrap resamples.", 1, 1_000_000, Bootstrap.DefaultResamples);
        var seed = Options.Seed("--seed", "Bootstrap seed.", Bootstrap.DefaultSeed);
        var noSvg = new Option<bool>("--no-svg") { Description = "Write PNG figures only." };
        var controls = new Option<FileInfo[]?>("--controls") { Description = "Output of `sna controls --json` (one result per line, or an array); repeat for several files. Shown in the Controls section.", AllowMultipleArgumentsPerToken = true };
        var json = Options.Json();
        var cmd = new Command("report", "Analyse a sweep: per-task summary, baseline–improvement statistics, zones, three-factor decomposition, layer specialization; writes HTML, Markdown, JSON and figures.")
        { csv, db, outDir, zones, interference, resamples, seed, noSvg, controls, json };
        cmd.SetAction(r =>
        {
            var csvFile = r.GetValue(csv);
            var dbFile = r.GetValue(db);
            if (dbFile is { Length: 0 }) dbFile = null;
            if ((csvFile is null) == (dbFile is null)) throw new SnaInputException("give exactly one of --csv FILE or --db FILE");
            var z = r.GetValue(zones)!;
            int b = r.GetValue(resamples);

            SweepResultSet set;
            Sna.Research.Classification.ClassifyReportData? classification = null;
            if (csvFile is not null)
            {
                if (!csvFile.Exists) throw new FileNotFoundException($"CSV file not found: {csvFile.FullName}");
                set = SweepResultSet.FromCsv(csvFile.FullName);
            }
            else
            {
                var paths = dbFile!.Select(f => f.FullName).ToArray();
                foreach (var p in paths) if (!File.Exists(p)) throw new FileNotFoundException($"results database not found: {p}", p);
                classification = paths.Where(Sna.Research.Classification.ClassifyReportData.Exists).Select(Sna.Research.Classification.ClassifyReportData.ReadLatest).LastOrDefault();
                var withSweep = paths.Where(Sna.Research.Storage.ResultSetReader.HasSweep).ToArray();
                if (withSweep.Length == 0)
                    throw new SnaInputException("--db", $"no sweep stored in {string.Join(", ", paths)} (not a results database of sna sweep, or an empty one)");
                set = Sna.Research.Storage.ResultSetReader.Read(withSweep);
            }

            var provenance = new List<KeyValuePair<string, string>>
            {
                new("command", "sna " + string.Join(" ", r.Tokens.Select(x => Quote(x.Value)))),
                new("version", Common.Version),
                new("date", DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)),
            };
            if (dbFile is not null)
                foreach (var dbf in dbFile.Where(x => Sna.Research.Storage.ResultSetReader.HasSweep(x.FullName)))
                {
                    using var store = Sna.Research.Storage.ResultStore.OpenReadOnly(dbf.FullName);
                    if (store.ReadDefinition() is not { } d) continue;
                    provenance.Add(new("BOS", Sna.Runtime.Tokenization.ModelTokenizer.BosDescription(d.Definition.Bos)));
                    provenance.Add(new("definition", $"{Path.GetFileName(dbf.FullName)}: sweep {d.Definition.Name}, definition sha256 {d.Hash}"));
                }
            var extraControls = (r.GetValue(controls) ?? []).SelectMany(cf => cf.Exists ? ControlsFile.Read(cf.FullName) : throw new FileNotFoundException($"controls file not found: {cf.FullName}")).ToArray();
            var options = new ReportOptions
            {
                Provenance = provenance,
                Controls = extraControls.Length > 0 ? extraControls : null,
                ControlsNote = extraControls.Length > 0 ? $"{extraControls.Length} control result(s) read from {string.Join(", ", (r.GetValue(controls) ?? []).Select(cf => cf.Name))} (sna controls --json)." : null,
                Analysis = new AnalysisOptions { Zones = z, Resamples = b, Seed = r.GetValue(seed) },
                Interference = r.GetValue(interference) is { } f
                    ? (f.Exists ? InterferenceMatrix.FromCsv(f.FullName) : throw new FileNotFoundException($"interference file not found: {f.FullName}"))
                    : null,
                WriteSvg = !r.GetValue(noSvg),
                Classification = classification,
            };
            string outPath = Path.GetFullPath(r.GetValue(outDir)!);
            if (File.Exists(outPath)) throw new SnaInputException("--out-dir", $"--out-dir {outPath} is a file; give a directory");
            var o = ReportWriter.Write(set, options, outPath);
            var st = o.Analysis.Statistics;
            if (r.GetValue(json))
            {
                Common.PrintJson(new JsonObject
                {
                    ["out"] = o.Directory,
                    ["html"] = o.HtmlPath,
                    ["markdown"] = o.MarkdownPath,
                    ["summary"] = o.JsonPath,
                    ["figures"] = new JsonArray(o.Figures.Select(x => (JsonNode)x.PngPath).ToArray()),
                    ["tasks"] = o.Analysis.Tasks.Count,
                    ["spearman_rho"] = Num(st.Spearman?.Rho),
                    ["spearman_p"] = Num(st.Spearman is null ? null : st.SpearmanPPreferred),
                    ["spearman_p_method"] = st.Spearman is null ? null : st.SpearmanPPreferredKind,
                    ["not_estimable"] = st.NotEstimable,
                });
                return 0;
            }
            var t = new Table().Title($"Sweep {Markup.Escape(o.Analysis.SweepName)} ({Markup.Escape(o.Analysis.ModelName)})")
                .AddColumn("task").AddColumn("baseline").AddColumn("zone").AddColumn("mean impr.").AddColumn("max impr.").AddColumn("success").AddColumn("best layer");
            foreach (var s in o.Analysis.Tasks)
                t.AddRow(Markup.Escape(s.Task), Fmt.Prob(s.Baseline), s.Zone.ToString(CultureInfo.InvariantCulture), Fmt.Pct(s.MeanImprovementPct, 2),
                    Fmt.Pct(s.MaxImprovementPct, 2), Fmt.F(s.SuccessRate, 2), s.BestLayer.ToString(CultureInfo.InvariantCulture));
            AnsiConsole.Write(t);
            AnsiConsole.MarkupLine(st.Spearman is { } sp
                ? Markup.Escape($"Spearman rho = {Fmt.F(sp.Rho)}, p = {Fmt.P(st.SpearmanPPreferred)} ({st.SpearmanPPreferredKind}), n = {sp.N}; 95% CI [{Fmt.F(st.SpearmanCi!.Lower)}, {Fmt.F(st.SpearmanCi.Upper)}]")
                : $"[yellow]{Markup.Escape(st.NotEstimable ?? "")}[/]");
            AnsiConsole.MarkupLine($"Wrote [bold]{Markup.Escape(o.HtmlPath)}[/], report.md, summary.json and {o.Figures.Count} figure(s).");
            return 0;
        });
        return cmd;
    }

    private static string Quote(string s) => s.Length > 0 && s.All(c => char.IsLetterOrDigit(c) || "-_./:=,@+%".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";

    private static JsonNode? Num(double? v) => v is double d && double.IsFinite(d) ? JsonValue.Create(d) : null;
}
