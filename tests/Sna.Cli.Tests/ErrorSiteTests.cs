using System.Text.Json;

namespace Sna.Cli.Tests;

/// <summary>
/// Library failures that used to reach users as exit 70 with a trace: a file that is not a results database, malformed report
/// inputs, a shard resumed under another shard spec, an unknown SNA_GEMM; an environment failure is exit 74; a task written by
/// <c>tasks select</c> always loads back. Uses the bundled model (in the repository), so it runs on a bare clone.
/// </summary>
[Collection("cli")]
public sealed class ErrorSiteTests : IDisposable
{
    // Caches go to the test process's temporary SNA_CACHE_DIR (tests/Shared/TestEnvironment); crash logs to this test's folder.
    private readonly TempDir _tmp = new();
    private readonly string? _oldLog = Environment.GetEnvironmentVariable("SNA_LOG_DIR");
    private static string Model => TestPaths.BundledModelDir;

    public ErrorSiteTests() => Environment.SetEnvironmentVariable("SNA_LOG_DIR", Path.Combine(_tmp.Path, "logs"));

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("SNA_LOG_DIR", _oldLog);
        _tmp.Dispose();
    }

    private string File(string name, string text) => _tmp.Write(name, text);

    private static void AssertExit(int expected, (int Exit, string Out, string Err) r, string? contains = null)
    {
        Assert.True(r.Exit == expected, $"exit {r.Exit} (expected {expected}); stderr: {r.Err}; stdout: {r.Out}");
        Assert.DoesNotContain("   at ", r.Err + r.Out);
        Assert.DoesNotContain("internal error", r.Err);
        Assert.Single(r.Err.Trim().Split('\n'), l => l.StartsWith("error: ", StringComparison.Ordinal) || l.StartsWith("cancelled", StringComparison.Ordinal));
        if (contains is not null) Assert.Contains(contains, r.Err);
    }

    [Fact]
    public void A_bad_positions_value_is_one_line_exit_2_with_the_wording_the_web_gives()
    {
        AssertExit(2, CliHarness.Run("amplify", "--model", Model, "--prompt", "The sky is", "--target", " blue", "--layer", "0", "--neurons", "1",
            "--multiplier", "2", "--positions", "first"), "--positions must be all or last, got 'first'");
        // the web's validator calls the same parser (POST /api/amplify answers 400 with errors.positions; tests/Sna.Web.Tests/ApiTests)
        var e = Assert.Throws<Sna.Runtime.SnaInputException>(() => Sna.Research.Method.PositionsModes.Parse("first", "positions"));
        Assert.Equal("positions must be all or last, got 'first'", e.Message);
        Assert.Equal(Sna.Research.Method.PositionsMode.Last, Sna.Research.Method.PositionsModes.Parse(" LAST "));
    }

    [Fact]
    public void Zones_bands_and_interference_targets_go_through_the_shared_parsers()
    {
        // one --zones option (Options.Zones): the same error everywhere it is offered
        foreach (var cmd in new[] { new[] { "baseline", "--model", Model, "--prompt", "a", "--target", " b" }, ["summary", "--db", "x.db"], ["advise", "--task", "math-easy"] })
            AssertExit(2, CliHarness.Run([.. cmd, "--zones", "0.5:0.2"]), "zone thresholds must satisfy 0 < low < high < 1");
        AssertExit(2, CliHarness.Run("tasks", "select", "--pool", "p.json", "--band", "high", "--out", "o.json"), "--band must look like");
        // --targets is the library's task list: a name twice is an error, before the model loads
        AssertExit(2, CliHarness.Run("interference", "--model", Model, "--sources", "math-easy@0", "--targets", "math-easy,logic-easy,math-easy"),
            "two tasks are named 'math-easy'");
    }

    [Fact]
    public void A_prompt_longer_than_the_context_is_one_line_exit_2_in_baseline_and_amplify()
    {
        string prompt = string.Concat(Enumerable.Repeat(" word", 200));   // the bundled model's context is 128
        AssertExit(2, CliHarness.Run("baseline", "--model", Model, "--prompt", prompt, "--target", " x"), "the model's context is");
        AssertExit(2, CliHarness.Run("amplify", "--model", Model, "--prompt", prompt, "--target", " x", "--layer", "0", "--neurons", "1", "--multiplier", "2"),
            "the model's context is");
        AssertExit(2, CliHarness.Run("baseline", "--model", Model, "--prompt", "The sky is", "--target", ""), "the target is empty");
    }

    [Fact]
    public void A_file_that_is_not_a_results_database_is_an_input_error_everywhere()
    {
        string junk = File("junk.db", "this is not a SQLite database, it only has the extension");
        string empty = File("empty.db", "");
        AssertExit(2, CliHarness.Run("report", "--db", junk, "--out-dir", Path.Combine(_tmp.Path, "rep")), "junk.db");
        AssertExit(2, CliHarness.Run("summary", "--db", junk), "junk.db");
        AssertExit(2, CliHarness.Run("export", "--db", junk, "--out", Path.Combine(_tmp.Path, "x.csv")), "junk.db");
        AssertExit(2, CliHarness.Run("merge", Path.Combine(_tmp.Path, "m.db"), junk, empty), "junk.db");
        AssertExit(2, CliHarness.Run("report", "--db", empty, "--out-dir", Path.Combine(_tmp.Path, "rep2")), "empty.db");
        Assert.False(System.IO.File.Exists(Path.Combine(_tmp.Path, "m.db")));
    }

    [Fact]
    public void Malformed_report_inputs_are_input_errors()
    {
        string csv = File("bad.csv", "task,layer\nx,1\n");
        AssertExit(2, CliHarness.Run("report", "--csv", csv, "--out-dir", Path.Combine(_tmp.Path, "r1")), "bad.csv");
        string controls = File("controls.json", "{\"not\": \"controls\"}");
        string okCsv = File("ok.csv", "task,layer,count,multiplier,prompt_index,positions,neuron_source,p_base,p_post,logprob_base,logprob_post,improvement_pct\n");
        var r = CliHarness.Run("report", "--csv", okCsv, "--controls", controls, "--out-dir", Path.Combine(_tmp.Path, "r2"));
        Assert.True(r.Exit == 2, $"exit {r.Exit}: {r.Err}");
        Assert.DoesNotContain("   at ", r.Err + r.Out);
        string inter = File("inter.csv", "a,b\n1,2\n");
        r = CliHarness.Run("report", "--csv", okCsv, "--interference", inter, "--out-dir", Path.Combine(_tmp.Path, "r3"));
        Assert.True(r.Exit == 2, $"exit {r.Exit}: {r.Err}");
        Assert.DoesNotContain("   at ", r.Err + r.Out);
    }

    [Fact]
    public void A_shard_database_resumed_as_another_shard_is_an_input_error_naming_the_recorded_shard()
    {
        string task = InputHandlingTests.WriteTask(Path.Combine(_tmp.Path, "t"), "caps.json");
        string db = Path.Combine(_tmp.Path, "shard.db");
        string[] Sweep(string shard, params string[] extra) =>
            ["sweep", "--model", Model, "--tasks", task, "--layers", "0-1", "--counts", "3", "--multipliers", "2", "--db", db, "--shard", shard, .. extra];
        var first = CliHarness.Run(Sweep("0/2"));
        Assert.True(first.Exit == 0, first.Err);
        AssertExit(2, CliHarness.Run(Sweep("1/2", "--resume")), "--shard 0/2");
    }

    [Fact]
    public void An_unwritable_database_location_is_an_environment_error_exit_74()
    {
        // /proc refuses new files even to root: SQLITE_CANTOPEN, the environment (not the input, not a bug).
        var r = CliHarness.Run("sweep", "--model", Model, "--tasks", "math-easy", "--layers", "0", "--counts", "3", "--multipliers", "2",
                               "--db", "/proc/sna-test-cannot-create.db");
        AssertExit(74, r, "cannot open");
    }

    [Fact]
    public void An_unknown_SNA_GEMM_is_an_input_error()
    {
        string? old = Environment.GetEnvironmentVariable("SNA_GEMM");
        try
        {
            Environment.SetEnvironmentVariable("SNA_GEMM", "cublas");
            Assert.Throws<Sna.Runtime.SnaInputException>(() => Sna.Runtime.Numerics.GemmProviders.Create(Environment.GetEnvironmentVariable("SNA_GEMM")));
        }
        finally { Environment.SetEnvironmentVariable("SNA_GEMM", old); }
    }

    [Theory]
    [InlineData("zone 1.json", null, "zone-1")]
    [InlineData("my  band\t2.json", null, "my-band-2")]
    [InlineData("x.json", "custom-name", "custom-name")]
    public void Tasks_select_writes_a_task_name_the_loader_accepts(string outName, string? name, string expected)
    {
        string pool = Path.Combine(_tmp.Path, "pool.json");
        System.IO.File.WriteAllText(pool, """[{"text": "What is 2 + 3? Answer:", "target": " 5"}, {"text": "What is 4 + 4? Answer:", "target": " 8"}]""");
        string outPath = Path.Combine(_tmp.Path, outName);
        string[] args = ["tasks", "select", "--model", Model, "--pool", pool, "--band", "0:1", "--out", outPath, "--json", .. name is null ? Array.Empty<string>() : ["--name", name]];
        var j = CliHarness.Json(args);
        Assert.Equal(expected, j.GetProperty("name").GetString());
        var suite = Sna.Research.Method.TaskSuiteJson.Load(outPath);   // loads back
        Assert.Equal(expected, suite.Name);
        // and is usable by name from its file
        var b = CliHarness.Run("advise", "--model", Model, "--task", outPath, "--json");
        Assert.True(b.Exit == 0, b.Err);
    }

    [Fact]
    public void Tasks_select_refuses_a_name_with_whitespace_stating_the_rule()
    {
        string pool = Path.Combine(_tmp.Path, "pool.json");
        System.IO.File.WriteAllText(pool, """[{"text": "What is 2 + 3? Answer:", "target": " 5"}]""");
        string outPath = Path.Combine(_tmp.Path, "sel.json");
        AssertExit(2, CliHarness.Run("tasks", "select", "--model", Model, "--pool", pool, "--band", "0:1", "--out", outPath, "--name", "zone 1"), "whitespace");
        Assert.False(System.IO.File.Exists(outPath));
    }
}
