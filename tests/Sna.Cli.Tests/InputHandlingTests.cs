using System.Security.Cryptography;
using System.Text.Json;

namespace Sna.Cli.Tests;

/// <summary>
/// Issue 12's input handling: a user's own task file works in every command (by path, by name in ./tasks or --tasks-dir),
/// bad values are one-line errors with exit 2, outputs never overwrite inputs, and a bug is exit 70 with a log file.
/// </summary>
[Collection("cli")]
public sealed class InputHandlingTests : IDisposable
{
    private readonly TempDir _tmp = new();
    private readonly string? _oldCache = Environment.GetEnvironmentVariable("SNA_CACHE_DIR");
    private readonly string? _oldLog = Environment.GetEnvironmentVariable("SNA_LOG_DIR");
    private static string Tiny => TestPaths.TinyDir;

    public InputHandlingTests()
    {
        // Never the user's ~/.cache: discovery means and crash logs go to this test's temp dir.
        Environment.SetEnvironmentVariable("SNA_CACHE_DIR", Path.Combine(_tmp.Path, "cache"));
        Environment.SetEnvironmentVariable("SNA_LOG_DIR", Path.Combine(_tmp.Path, "logs"));
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("SNA_CACHE_DIR", _oldCache);
        Environment.SetEnvironmentVariable("SNA_LOG_DIR", _oldLog);
        _tmp.Dispose();
    }

    /// <summary>A researcher's own task: capitals, with the leading space GPT-2 targets carry.</summary>
    public static string WriteTask(string dir, string fileName, string name = "my-capitals", string extraPrompt = "")
    {
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, fileName);
        File.WriteAllText(path, $$"""
            {
              "name": "{{name}}",
              "domain": "geography",
              "level": "easy",
              "prompts": [
                {"text": "The capital of France is", "target": " Paris"},
                {"text": "The capital of Italy is", "target": " Rome"},
                {"text": "The capital of Spain is", "target": " Madrid"}{{extraPrompt}}
              ]
            }
            """);
        return path;
    }

    private static string[] Sweep(string tasks, string db, params string[] extra) =>
        ["sweep", "--model", Tiny, "--tasks", tasks, "--layers", "0-1", "--counts", "3", "--multipliers", "2", "--db", db, .. extra];

    private static void AssertInputError((int Exit, string Out, string Err) r, string? contains = null)
    {
        Assert.True(r.Exit == 2, $"exit {r.Exit}; stderr: {r.Err}; stdout: {r.Out}");
        Assert.DoesNotContain("   at ", r.Err + r.Out);               // no stack trace
        var lines = r.Err.Trim().Split('\n');
        Assert.Single(lines, l => l.StartsWith("error: ", StringComparison.Ordinal));       // one line says what is wrong
        Assert.All(lines, l => Assert.True(l.StartsWith("error: ", StringComparison.Ordinal) || l.StartsWith("note: ", StringComparison.Ordinal), l));
        if (contains is not null) Assert.Contains(contains, r.Err);
    }

    [SharedFact]
    public void Sweep_runs_on_a_task_file_by_path_and_by_name_in_tasks_dir_and_records_what_was_resolved()
    {
        string file = WriteTask(Path.Combine(_tmp.Path, "mine"), "my-task.json");
        string db = Path.Combine(_tmp.Path, "r.db");
        var r = CliHarness.Run(Sweep(file, db));
        Assert.True(r.Exit == 0, r.Err);

        // the stored definition names the task by its name, with its content hash and the path as given
        using (var store = Sna.Research.Storage.ResultStore.OpenReadOnly(db))
        {
            var def = store.ReadDefinition()!.Value.Definition;
            Assert.Equal(["my-capitals"], def.Tasks);
            var src = Assert.Single(def.TaskSources!);
            Assert.Equal("my-capitals", src.Name);
            Assert.Equal(file, src.Path);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))), src.Sha256);
        }

        // by name, found in --tasks-dir: the same sweep (the path is not part of the definition's hash), so resume adds nothing
        var r2 = CliHarness.Run(Sweep("my-task", db, "--tasks-dir", Path.Combine(_tmp.Path, "mine"), "--resume"));
        Assert.True(r2.Exit == 0, r2.Err);
        Assert.Contains("0 rows written", r2.Out);

        // a changed task file is refused on resume, naming the change
        WriteTask(Path.Combine(_tmp.Path, "mine"), "my-task.json", extraPrompt: ",\n    {\"text\": \"The capital of Peru is\", \"target\": \" Lima\"}");
        var r3 = CliHarness.Run(Sweep(file, db, "--resume"));
        AssertInputError(r3, "task 'my-capitals' changed");
    }

    [SharedFact]
    public void A_name_in_dot_tasks_is_found_and_an_unknown_name_says_where_it_looked()
    {
        string old = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = _tmp.Path;
            WriteTask(Path.Combine(_tmp.Path, "tasks"), "my-task.json");
            var r = CliHarness.Run("advise", "--model", Tiny, "--task", "my-task", "--json");
            Assert.True(r.Exit == 0, r.Err);
            Assert.Equal("my-capitals", JsonDocument.Parse(r.Out).RootElement.GetProperty("task").GetString());
            AssertInputError(CliHarness.Run("advise", "--model", Tiny, "--task", "no-such-task"), "unknown task 'no-such-task'");
            AssertInputError(CliHarness.Run("advise", "--model", Tiny, "--task", "missing/file.json"), "task file not found");
        }
        finally { Environment.CurrentDirectory = old; }
    }

    [SharedFact]
    public void Controls_interference_neurons_and_amplify_run_on_a_task_file()
    {
        string file = WriteTask(_tmp.Path, "my-task.json");
        var c = CliHarness.Run("controls", "--model", Tiny, "--task", file, "--layer", "1", "--count", "3", "--multiplier", "2", "--seeds", "2", "--no-collateral", "--json");
        Assert.True(c.Exit == 0, c.Err);
        Assert.Equal("my-capitals", JsonDocument.Parse(c.Out).RootElement.GetProperty("task").GetString());
        string csv = Path.Combine(_tmp.Path, "interference.csv");
        var i = CliHarness.Run("interference", "--model", Tiny, "--source", $"{file}@1:3:2", "--targets", $"{file},math-easy", "--out", csv, "--json");
        Assert.True(i.Exit == 0, i.Err);
        Assert.True(File.Exists(csv));
        var n = CliHarness.Run("neurons", "--model", Tiny, "--task", file, "--layer", "1", "--count", "3", "--json");
        Assert.True(n.Exit == 0, n.Err);
        Assert.Equal(3, JsonDocument.Parse(n.Out).RootElement.GetProperty("neurons").GetArrayLength());
        var a = CliHarness.Run("amplify", "--model", Tiny, "--task", file, "--layer", "1", "--count", "3", "--multiplier", "2", "--json");
        Assert.True(a.Exit == 0, a.Err);
    }

    [SharedFact]
    public void Demo_runs_on_a_task_file()
    {
        string a = WriteTask(_tmp.Path, "a.json", "task-a");
        string b = WriteTask(_tmp.Path, "b.json", "task-b");
        string outDir = Path.Combine(_tmp.Path, "demo");
        var r = CliHarness.Run("demo", "--model", Tiny, "--out-dir", outDir, "--tasks", $"{a},{b}", "--layers", "0,2", "--counts", "3", "--multipliers", "2", "--control-seeds", "2");
        Assert.True(r.Exit == 0, r.Err);
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "report", "summary.json"))).RootElement;
        Assert.Equal(new string?[] { "task-a", "task-b" }, summary.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("task").GetString()).ToArray());
    }

    public static TheoryData<string[], string> KnownCrashes() => new()
    {
        // issue 12: stack traces and exit -6 before
        { ["amplify", "--model", Tiny, "--prompt", "a", "--target", " b", "--layer", "0", "--neurons", "1,99999999999", "--multiplier", "2"], "--neurons must be an integer" },
        { ["classify", "--model", Tiny, "--layers", "99999999999"], "--layers must be an integer" },
        { ["sweep", "--model", Tiny, "--tasks", "math-easy", "--db", "x.db", "--multipliers", "1:2:99999999999"], "start:stop:count" },
        // silently clamped before
        { ["amplify", "--model", Tiny, "--task", "math-easy", "--layer", "0", "--count", "100000", "--multiplier", "2"], "--count 100000 is out of range" },
        { ["neurons", "--model", Tiny, "--task", "math-easy", "--count", "100000"], "--count 100000 is out of range" },
        { ["neurons", "--model", Tiny, "--task", "math-easy", "--top", "100000"], "--count 100000 is out of range" },
        // the rest of the vocabulary
        { ["amplify", "--model", Tiny, "--prompt", "a", "--target", " b", "--layer", "7", "--neurons", "1", "--multiplier", "2"], "layer 7 is out of range" },
        { ["amplify", "--model", Tiny, "--prompt", "a", "--target", " b", "--layer", "0", "--neurons", "1", "--multiplier", "NaN"], "--multiplier must be finite" },
        { ["amplify", "--model", Tiny, "--prompt", "a", "--target", " b", "--layer", "0", "--neurons", "1", "--multiplier", "1e-50"], "rounds to 0 in float32" },
        { ["amplify", "--model", Tiny, "--prompt", "a", "--target", " b", "--layer", "0", "--neurons", "1,1", "--multiplier", "2"], "repeats 1" },
        { ["controls", "--model", Tiny, "--task", "math-easy", "--layer", "0", "--multiplier", "Infinity"], "--multiplier must be finite" },
        { ["sweep", "--model", Tiny, "--tasks", "math-easy", "--db", "x.db", "--layers", "3-1"], "range '3-1' is empty" },
        { ["sweep", "--model", Tiny, "--tasks", "math-easy", "--db", "x.db", "--counts", "0"], "--counts must be an integer in 1.." },
        { ["sweep", "--model", Tiny, "--tasks", "all", "--db", "x.db", "--counts", string.Join(",", Enumerable.Range(1, 128)), "--multipliers", "1:2:1000", "--positions", "all,last"], "configurations" },
        { ["classify", "--model", Tiny, "--n", "-5"], "--n must be an integer in 1..1000000" },
        { ["baseline", "--model", Tiny, "--prompt", "a", "--target", " b", "--top", "99999999999"], "--top must be an integer in 1..1000" },
        { ["report", "--db", "nothing.db", "--out-dir", "r", "--resamples", "0"], "--resamples must be an integer" },
    };

    [SharedTheory, MemberData(nameof(KnownCrashes))]
    public void Hostile_numbers_are_one_line_errors_with_exit_2(string[] args, string message)
    {
        string old = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = _tmp.Path;
            AssertInputError(CliHarness.Run(args), message);
            Assert.False(File.Exists(Path.Combine(_tmp.Path, "x.db")));   // refused before anything was created
        }
        finally { Environment.CurrentDirectory = old; }
    }

    [SharedFact]
    public void Layers_all_and_ranges_work_everywhere_they_are_taken()
    {
        var r = CliHarness.Run("classify", "--model", Tiny, "--layers", "all", "--multipliers", "2", "--n", "4", "--train-n", "20", "--naive-sample", "0", "--json");
        Assert.True(r.Exit == 0, r.Err);
        Assert.Equal(3, JsonDocument.Parse(r.Out).RootElement.GetProperty("grid").EnumerateArray().Select(c => c.GetProperty("layer").GetInt32()).Distinct().Count());
        var r2 = CliHarness.Run("classify", "--model", Tiny, "--layers", "1-2", "--multipliers", "2", "--n", "4", "--train-n", "20", "--naive-sample", "0", "--json");
        Assert.True(r2.Exit == 0, r2.Err);
    }

    [SharedFact]
    public void Export_never_overwrites_its_database_and_writes_atomically()
    {
        string db = Path.Combine(_tmp.Path, "s.db");
        Assert.Equal(0, CliHarness.Run(Sweep("math-easy", db)).Exit);
        byte[] before = File.ReadAllBytes(db);
        AssertInputError(CliHarness.Run("export", "--db", db, "--out", db), "is also an input");
        Assert.Equal(before, File.ReadAllBytes(db));
        // through a symlink too
        string link = Path.Combine(_tmp.Path, "link.csv");
        File.CreateSymbolicLink(link, db);
        AssertInputError(CliHarness.Run("export", "--db", db, "--out", link), "is also an input");
        Assert.Equal(before, File.ReadAllBytes(db));
        // a good export leaves no temporary file behind
        string csv = Path.Combine(_tmp.Path, "out", "s.csv");
        Assert.Equal(0, CliHarness.Run("export", "--db", db, "--out", csv).Exit);
        Assert.Equal(new string?[] { "s.csv" }, Directory.GetFiles(Path.GetDirectoryName(csv)!).Select(Path.GetFileName).ToArray());
        // a non-database input is one line, not a SQLite trace
        string notDb = WriteTask(_tmp.Path, "t.json");
        AssertInputError(CliHarness.Run("export", "--db", notDb, "--out", Path.Combine(_tmp.Path, "t.csv")));
    }

    [SharedFact]
    public void Deprecated_spellings_still_work_with_a_note()
    {
        var r = CliHarness.Run("neurons", "--model", Tiny, "--task", "math-easy", "--layer", "1", "--top", "3", "--json");
        Assert.True(r.Exit == 0, r.Err);
        Assert.Contains("'neurons --top' is deprecated; use --count", r.Err);
        Assert.Equal(3, JsonDocument.Parse(r.Out).RootElement.GetProperty("neurons").GetArrayLength());
        var t = CliHarness.Run("tokenize", "--model", Tiny, "-t", "hello", "--json");
        Assert.True(t.Exit == 0, t.Err);
        Assert.Contains("deprecated", t.Err);
    }

    [Fact]
    public void A_bug_is_exit_70_with_the_trace_in_a_log_file()
    {
        var e = new Err();
        int code = Capture(() => CliRunner.Report(new InvalidOperationException("boom"), ["x"]), e);
        Assert.Equal(70, code);
        Assert.DoesNotContain("   at ", e.Text);
        string log = e.Text.Split("the full trace is in ")[1].Trim();
        Assert.StartsWith(Path.Combine(_tmp.Path, "logs"), log);
        Assert.Contains("System.InvalidOperationException: boom", File.ReadAllText(log));
        // an ArgumentException from deep inside is a bug too, not a user error
        Assert.Equal(70, Capture(() => CliRunner.Report(new ArgumentException("deep"), ["x"]), new Err()));
        // an input error wrapped by Parallel.ForEach is still an input error
        Assert.Equal(2, Capture(() => CliRunner.Report(new AggregateException(new Sna.Runtime.SnaInputException("bad")), ["x"]), new Err()));
        Assert.Equal(130, Capture(() => CliRunner.Report(new OperationCanceledException(), ["x"]), new Err()));
    }

    private sealed class Err { public string Text = ""; }

    private static int Capture(Func<int> f, Err e)
    {
        var old = Console.Error;
        var w = new StringWriter();
        Console.SetError(w);
        try { return f(); }
        finally { Console.SetError(old); e.Text = w.ToString(); }
    }
}
