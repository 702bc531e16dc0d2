using System.Text.Json;

namespace Sna.Cli.Tests;

/// <summary><c>sna sweep</c>, <c>merge</c>, <c>export</c>, <c>summary</c> and <c>demo</c> end to end on a fixture and the bundled model.</summary>
[Collection("cli")]
public class SweepCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sna-sweep-cli-").FullName;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private string[] Sweep(string db, params string[] extra) =>
        ["sweep", "--model", TestPaths.Fixture("gpt2-tiny-f32"), "--tasks", "math-easy,logic-easy", "--layers", "0,2", "--counts", "3,5",
         "--multipliers", "1.5,2", "--db", db, .. extra];

    [SharedFact]
    public void Shards_merged_equal_one_run_and_export_has_the_documented_columns()
    {
        string whole = Path.Combine(_dir, "whole.db"), s0 = Path.Combine(_dir, "s0.db"), s1 = Path.Combine(_dir, "s1.db"), merged = Path.Combine(_dir, "merged.db");
        Assert.Equal(0, CliHarness.Run(Sweep(whole)).Exit);
        Assert.Equal(0, CliHarness.Run(Sweep(s0, "--shard", "0/2")).Exit);
        Assert.Equal(0, CliHarness.Run(Sweep(s1, "--shard", "1/2")).Exit);
        var (mcode, _, merr) = CliHarness.Run("merge", merged, s0, s1);
        Assert.True(mcode == 0, merr);
        string a = Path.Combine(_dir, "whole.csv"), b = Path.Combine(_dir, "merged.csv");
        Assert.Equal(0, CliHarness.Run("export", "--db", whole, "--format", "csv", "--out", a).Exit);
        Assert.Equal(0, CliHarness.Run("export", "--db", merged, "--format", "csv", "--out", b).Exit);
        var lines = File.ReadAllLines(a);
        Assert.Equal(File.ReadAllLines(b), lines); // same rows, same values, bit for bit
        var header = lines[0].Split(',');
        foreach (var col in new[] { "task", "prompt_index", "layer", "count", "multiplier", "positions", "neuron_source", "p_base", "p_post", "logprob_base", "logprob_post", "improvement_pct" })
            Assert.Contains(col, header);
        int prompts = Sna.Research.Method.TaskLibrary.BuiltIn("math-easy").Prompts.Count + Sna.Research.Method.TaskLibrary.BuiltIn("logic-easy").Prompts.Count;
        Assert.Equal(prompts * 2 * 2 * 2, lines.Length - 1); // prompts × layers × counts × multipliers
    }

    [SharedFact]
    public void Resume_of_a_finished_sweep_adds_nothing_and_a_different_definition_is_refused()
    {
        string db = Path.Combine(_dir, "r.db");
        Assert.Equal(0, CliHarness.Run(Sweep(db)).Exit);
        var (code, output, _) = CliHarness.Run(Sweep(db, "--resume"));
        Assert.Equal(0, code);
        Assert.Contains("0 rows written", output);
        var (code2, _, err2) = CliHarness.Run(["sweep", "--model", TestPaths.Fixture("gpt2-tiny-f32"), "--tasks", "math-easy", "--layers", "1", "--counts", "3", "--multipliers", "2", "--db", db, "--resume"]);
        Assert.Equal(2, code2);
        Assert.Contains("error:", err2);
    }

    [SharedFact]
    public void No_cache_neither_reads_nor_writes_the_discovery_cache_and_gives_the_same_results()
    {
        // The cli collection runs one test at a time, so this test may point SNA_CACHE_DIR at its own folder.
        string cacheRoot = Path.Combine(_dir, "cache"), neurons = Path.Combine(cacheRoot, "neurons");
        string? old = Environment.GetEnvironmentVariable("SNA_CACHE_DIR");
        Environment.SetEnvironmentVariable("SNA_CACHE_DIR", cacheRoot);
        try
        {
            string a = Path.Combine(_dir, "nc.db"), b = Path.Combine(_dir, "c.db");
            Assert.Equal(0, CliHarness.Run(Sweep(a, "--no-cache")).Exit);
            Assert.False(Directory.Exists(neurons) && Directory.EnumerateFiles(neurons).Any(), "--no-cache wrote the discovery cache");
            Assert.Equal(0, CliHarness.Run(Sweep(b)).Exit);
            Assert.NotEmpty(Directory.GetFiles(neurons, "*.bin"));
            // Same neurons and results with and without the cache.
            string ca = Path.Combine(_dir, "nc.csv"), cb = Path.Combine(_dir, "c.csv");
            Assert.Equal(0, CliHarness.Run("export", "--db", a, "--format", "csv", "--out", ca).Exit);
            Assert.Equal(0, CliHarness.Run("export", "--db", b, "--format", "csv", "--out", cb).Exit);
            Assert.Equal(File.ReadAllLines(ca), File.ReadAllLines(cb));
        }
        finally { Environment.SetEnvironmentVariable("SNA_CACHE_DIR", old); }
    }

    [SharedFact]
    public void Summary_json_reports_the_paper_metrics_per_task()
    {
        string db = Path.Combine(_dir, "m.db");
        Assert.Equal(0, CliHarness.Run(Sweep(db)).Exit);
        var r = CliHarness.Json("summary", "--db", db, "--json");
        var text = r.GetRawText();
        foreach (var key in new[] { "success_rate", "golden_zone_count", "best", "zone" })
            Assert.Contains($"\"{key}\"", text);
    }

    [Fact]
    public void Demo_runs_end_to_end_on_a_reduced_grid_and_writes_the_report()
    {
        string outDir = Path.Combine(_dir, "demo");
        var (code, output, err) = CliHarness.Run("demo", "--out", outDir, "--tasks", "math-easy,poetry-easy,logic-hard", "--layers", "0,3",
                                                 "--counts", "3", "--multipliers", "2", "--control-seeds", "2");
        Assert.True(code == 0, err);
        Assert.Contains("report.html", output);
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "report", "summary.json"))).RootElement;
        Assert.Equal(3, summary.GetProperty("tasks").GetArrayLength());
        foreach (var t in summary.GetProperty("tasks").EnumerateArray())
            foreach (var key in new[] { "task", "baseline", "mean_improvement_pct", "max_improvement_pct", "success_rate", "golden_zone_count", "zone", "best_layer" })
                Assert.True(t.TryGetProperty(key, out _), key);
        Assert.True(File.Exists(Path.Combine(outDir, "sweep.db")));
        Assert.Equal(3, summary.GetProperty("controls").GetArrayLength()); // one per task, on held-out prompts
        Assert.True(File.Exists(Path.Combine(outDir, "interference.csv")));
        var html = File.ReadAllText(Path.Combine(outDir, "report", "report.html"));
        Assert.Contains("table-collateral", html);
        Assert.Contains("table-classification", html);   // the SST-2 step is part of the story
        Assert.Equal(JsonValueKind.Object, summary.GetProperty("classification").ValueKind);
        // issue #13: held-out protocol by default, p adjusted across tasks, exact match before/after, rho² beside the paper's 58%
        var adj = summary.GetProperty("controls_adjusted").EnumerateArray().ToArray();
        Assert.Equal(3, adj.Length);
        Assert.All(adj, a => Assert.Equal("held-out", a.GetProperty("design").GetString()));
        Assert.All(adj, a => Assert.True(a.GetProperty("p_holm").GetDouble() >= a.GetProperty("p").GetDouble()));
        Assert.False(summary.GetProperty("held_out").GetProperty("in_sample").GetBoolean());
        Assert.Equal(3, summary.GetProperty("generation").GetArrayLength());
        Assert.Equal(0.58, summary.GetProperty("baseline_rho_squared").GetProperty("paper").GetDouble());
        Assert.Contains("Holm", output);
        Assert.Contains("exact match", output);
        Assert.Contains("table-generation", html);
        // #16: piped (the harness redirects stdout), no header, value or sentence is wrapped at 80 columns.
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Contains(lines, l => l.Contains("survives (Holm)") && l.Contains("McNemar p"));
        Assert.Contains(lines, l => l.StartsWith("ρ² of baseline alone", StringComparison.Ordinal) && l.EndsWith("/P_base.", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("SNA demo on ", StringComparison.Ordinal) && l.Contains("gemm "));
        Assert.DoesNotContain(lines, l => l.Contains('│') || l.Contains('─'));   // plain aligned columns when piped, not a box
    }
}
