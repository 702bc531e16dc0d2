using System.Text.Json;

namespace Sna.Cli.Tests;

/// <summary>
/// Output that fits where it goes (#16): piped tables never wrap or truncate a value, --format tsv|csv|json parse, COLUMNS is
/// honoured for a terminal table, classify's neuron lists are never split inside a number, summary --json carries the records.
/// </summary>
[Collection("cli")]
public class OutputFormatTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sna-output-").FullName;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private string SmallSweep()
    {
        string db = Path.Combine(_dir, "s.db");
        var (code, _, err) = CliHarness.Run("sweep", "--model", TestPaths.Fixture("gpt2-tiny-f32"), "--tasks", "math-easy,logic-easy", "--layers", "0,2",
            "--counts", "3,5", "--multipliers", "1.5,2", "--db", db);
        Assert.True(code == 0, err);
        return db;
    }

    private static (int Exit, string Out, string Err) RunWith(Dictionary<string, string?> env, params string[] args)
    {
        var old = env.Keys.ToDictionary(k => k, Environment.GetEnvironmentVariable);
        try
        {
            foreach (var (k, v) in env) Environment.SetEnvironmentVariable(k, v);
            return CliHarness.Run(args);
        }
        finally { foreach (var (k, v) in old) Environment.SetEnvironmentVariable(k, v); }
    }

    [SharedFact]
    public void Piped_summary_has_whole_headers_and_one_row_per_task()
    {
        string db = SmallSweep();
        var (code, output, err) = RunWith(new() { ["SNA_OUTPUT_TERMINAL"] = "0", ["COLUMNS"] = "40" }, "summary", "--db", db);
        Assert.True(code == 0, err);
        var lines = output.Split('\n');
        Assert.StartsWith("task", lines[0]);
        foreach (var h in new[] { "positions", "prompts", "mean P_base", "zone", "configs", "mean %", "success", "golden (>10%)", "best %" })
            Assert.Contains(h, lines[0]);
        Assert.DoesNotContain("…", output);
        Assert.DoesNotContain("\u2212", output);
        Assert.DoesNotContain(" %", output.Replace("mean %", "").Replace("best %", ""));
        // Exactly one line per task, each with the whole best configuration and its improvement.
        var taskLines = lines.Where(l => l.StartsWith("math-easy ", StringComparison.Ordinal) || l.StartsWith("logic-easy ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2 + 4, taskLines.Length); // 2 in the task table, 2 layers × 2 tasks in the layer table
        Assert.Matches(@"L\d k\d x[\d.]+\s+[+-][\d.]+%$", taskLines[0]);
    }

    [SharedFact]
    public void Tsv_and_csv_have_a_header_and_the_same_cells_and_json_matches()
    {
        string db = SmallSweep();
        var (c1, tsv, e1) = CliHarness.Run("summary", "--db", db, "--format", "tsv");
        var (c2, csv, e2) = CliHarness.Run("summary", "--db", db, "--format", "csv");
        Assert.True(c1 == 0 && c2 == 0, e1 + e2);
        var t = tsv.Split("\n\n")[0].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("# tasks", t[0]);
        var header = t[1].Split('\t');
        Assert.Equal(4, t.Length); // "# tasks", header, 2 tasks
        Assert.All(t.Skip(1), l => Assert.Equal(header.Length, l.Split('\t').Length));
        var c = csv.Split("\n\n")[0].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(string.Join(',', header), c[1]);
        var json = CliHarness.Json("summary", "--db", db, "--format", "json");
        Assert.Equal(2, json.GetProperty("tasks").GetArrayLength());
        var (c3, _, e3) = CliHarness.Run("summary", "--db", db, "--format", "xml");
        Assert.Equal(2, c3);
        Assert.Contains("--format", e3);
    }

    [SharedFact]
    public void Columns_sets_the_width_of_a_terminal_table_and_a_piped_table_never_wraps()
    {
        string db = SmallSweep();
        var (_, narrow, _) = RunWith(new() { ["SNA_OUTPUT_TERMINAL"] = "1", ["COLUMNS"] = "60" }, "summary", "--db", db);
        var (_, wide, _) = RunWith(new() { ["SNA_OUTPUT_TERMINAL"] = "1", ["COLUMNS"] = "250" }, "summary", "--db", db);
        Assert.True(narrow.Split('\n').Max(l => l.Length) <= 60, narrow);
        Assert.True(wide.Split('\n').Max(l => l.Length) > 60, wide);
        // --format table when piped: as wide as needed, one line per row, headers whole.
        var (_, piped, _) = RunWith(new() { ["SNA_OUTPUT_TERMINAL"] = "0", ["COLUMNS"] = "40" }, "summary", "--db", db, "--format", "table");
        Assert.Contains("golden (>10%)", piped);
        Assert.Single(piped.Split('\n'), l => l.Contains("math-easy") && l.Contains('%') && l.Contains(" L"));
    }

    [SharedFact]
    public void Summary_json_carries_neurons_prompts_and_the_model_and_run_records()
    {
        string db = SmallSweep();
        var r = CliHarness.Json("summary", "--db", db, "--json");
        var task = r.GetProperty("tasks")[0];
        Assert.Equal(JsonValueKind.Number, task.GetProperty("prompts").ValueKind); // the documented count stays
        var best = task.GetProperty("best");
        Assert.Equal(best.GetProperty("count").GetInt32(), best.GetProperty("neurons").GetArrayLength());
        Assert.Equal(2 * 2, task.GetProperty("neurons").GetArrayLength()); // layers × counts
        var p0 = task.GetProperty("prompt_rows")[0];
        foreach (var k in new[] { "text", "target", "rank_base", "p_base" }) Assert.True(p0.TryGetProperty(k, out _), k);
        Assert.Equal(64, r.GetProperty("model").GetProperty("sha256").GetString()!.Length);
        var run = r.GetProperty("run");
        Assert.Contains("+", run.GetProperty("sna_version").GetString()); // version+commit, as --version
        Assert.Equal("prepend", run.GetProperty("bos").GetString());
        Assert.Equal(64, run.GetProperty("definition_sha256").GetString()!.Length);
    }

    [Fact]
    public void Classify_neuron_lists_are_never_split_inside_a_number()
    {
        var (code, output, err) = RunWith(new() { ["SNA_OUTPUT_TERMINAL"] = "1", ["COLUMNS"] = "70", ["SNA_PROGRESS_INTERVAL"] = "0" },
            "classify", "--n", "8", "--train-n", "8", "--layers", "1", "--multipliers", "2", "--naive-sample", "0");
        Assert.True(code == 0, err);
        // Every wrapped cell ends at a comma or a whole number: no line of the neuron table ends with a digit followed on
        // the next line by a digit in the same column. Simplest invariant: every neuron in the JSON appears whole in the text.
        var j = CliHarness.Json("classify", "--n", "8", "--train-n", "8", "--layers", "1", "--multipliers", "2", "--naive-sample", "0", "--json");
        var flat = System.Text.RegularExpressions.Regex.Replace(output, @"[│\s]+", " ");
        var tokens = flat.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        foreach (var cls in j.GetProperty("neurons").EnumerateArray().First().EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Array))
            foreach (var n in cls.Value.EnumerateArray())
                Assert.Contains(n.GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture), tokens);
        Assert.Contains("steps", err); // progress on stderr
    }
}
