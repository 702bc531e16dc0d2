using System.Text.RegularExpressions;

namespace Sna.Cli.Tests;

/// <summary>
/// The report a reviewer can trust (#16): a provenance block (command, version+commit, BOS, grid, definitions), no internal names,
/// `report --controls` ingests `sna controls --json`, and an export carries neurons, prompts and the model so `report --csv` knows it.
/// </summary>
[Collection("cli")]
public class ReportProvenanceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sna-report-prov-").FullName;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private string Sweep()
    {
        string db = Path.Combine(_dir, "s.db");
        var (code, _, err) = CliHarness.Run("sweep", "--tasks", "math-easy,logic-easy,poetry-hard", "--layers", "1,3", "--counts", "3,5",
            "--multipliers", "1.5,2", "--db", db);
        Assert.True(code == 0, err);
        return db;
    }

    [Fact]
    public void Report_from_a_db_has_provenance_and_ingests_controls_json()
    {
        string db = Sweep();
        var (c1, controls, e1) = CliHarness.Run("controls", "--task", "math-easy", "--layer", "3", "--count", "5", "--multiplier", "2", "--seeds", "3",
            "--no-collateral", "--no-cache", "--json");
        Assert.True(c1 == 0, e1);
        string cfile = Path.Combine(_dir, "controls.jsonl");
        File.WriteAllText(cfile, controls);
        string outDir = Path.Combine(_dir, "report");
        var (c2, _, e2) = CliHarness.Run("report", "--db", db, "--out", outDir, "--controls", cfile, "--no-svg");
        Assert.True(c2 == 0, e2);
        string html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        Assert.Contains("id=\"table-provenance\"", html);
        foreach (var key in new[] { "command", "version", "date", "model", "grid", "positions", "BOS", "definitions" })
            Assert.Contains($"<td>{key}</td>", html);
        Assert.Contains("sna report --db", html);
        Assert.Matches(@"\d+\.\d+\.\d+\+[0-9a-f]{7,}", html); // version with commit
        Assert.Contains("layers 1, 3; counts 3, 5; multipliers 1.5, 2", html);
        Assert.DoesNotContain("PValueT", html);
        Assert.DoesNotContain("PValueExact", html);
        // The controls section shows the ingested result (math-easy, L3 k5 x2, 3 random sets).
        var controlsTable = Regex.Match(html, "<table id=\"table-controls\">.*?</table>", RegexOptions.Singleline).Value;
        Assert.Contains("math-easy", controlsTable);
        Assert.Contains("sna controls --json", html);
    }

    [Fact]
    public void Export_carries_neurons_prompts_and_model_and_report_csv_knows_the_model()
    {
        string db = Sweep();
        string csv = Path.Combine(_dir, "s.csv");
        var (c1, _, e1) = CliHarness.Run("export", "--db", db, "--format", "csv", "--out", csv);
        Assert.True(c1 == 0, e1);
        var lines = File.ReadAllLines(csv);
        var header = lines[0].Split(',');
        foreach (var col in new[] { "rank_base", "prompt", "target", "neurons", "model", "model_hash", "sweep" }) Assert.Contains(col, header);
        var summary = CliHarness.Json("summary", "--db", db, "--json");
        var best = summary.GetProperty("tasks")[0].GetProperty("best");
        Assert.Contains(string.Join(' ', best.GetProperty("neurons").EnumerateArray().Select(n => n.GetInt32())), File.ReadAllText(csv));
        string outDir = Path.Combine(_dir, "from-csv");
        var (c2, _, e2) = CliHarness.Run("report", "--csv", csv, "--out", outDir, "--no-svg");
        Assert.True(c2 == 0, e2);
        var json = File.ReadAllText(Path.Combine(outDir, "summary.json"));
        Assert.DoesNotContain("\"model\": \"unknown\"", json);
        Assert.Contains("sna-demo-gpt2", json);
    }
}
