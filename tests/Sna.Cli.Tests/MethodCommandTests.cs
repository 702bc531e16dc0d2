using System.Globalization;
using System.Text.Json;
using Sna.Research.Method;

namespace Sna.Cli.Tests;

/// <summary>The SNA method commands (issue 3) end to end on the bundled model and the fixtures.</summary>
[Collection("cli")]
public class MethodCommandTests
{
    [Fact]
    public void Tasks_lists_the_twelve_built_in_suites()
    {
        var r = CliHarness.Json("tasks", "--json");
        var names = r.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToArray();
        foreach (var d in new[] { "math", "poetry", "code", "logic" })
            foreach (var l in new[] { "easy", "medium", "hard" })
                Assert.Contains($"{d}-{l}", names);
    }

    [Fact]
    public void Tasks_refuses_a_tasks_dir_that_does_not_exist_and_says_when_tasks_is_missing()
    {
        string dir = Directory.CreateTempSubdirectory("sna-cli-").FullName, cwd = Directory.GetCurrentDirectory();
        try
        {
            var (code, _, err) = CliHarness.Run("tasks", "--tasks-dir", Path.Combine(dir, "typo"));
            Assert.Equal(2, code);
            Assert.Contains("typo", err);
            Assert.Contains("no such directory", err);
            Assert.Single(err.Trim().Split('\n'));
            Directory.SetCurrentDirectory(dir);   // no ./tasks here (the "cli" collection runs alone)
            var (code2, output, _) = CliHarness.Run("tasks");
            Assert.Equal(0, code2);
            Assert.Contains("Task files: none", output);
            Directory.CreateDirectory(Path.Combine(dir, "mine"));
            var listed = CliHarness.Json("tasks", "--tasks-dir", Path.Combine(dir, "mine"), "--json");
            Assert.Equal(TaskLibrary.BuiltInNames.Count, listed.GetProperty("tasks").GetArrayLength());
        }
        finally
        {
            Directory.SetCurrentDirectory(cwd);
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Neurons_json_is_sorted_by_difference_and_matches_the_library()
    {
        var r = CliHarness.Json("neurons", "--task", "math-easy", "--layer", "2", "--top", "8", "--json", "--no-cache");
        Assert.Equal(2, r.GetProperty("layer").GetInt32());
        var diffs = r.GetProperty("neurons").EnumerateArray().Select(n => n.GetProperty("difference").GetDouble()).ToArray();
        Assert.Equal(8, diffs.Length);
        Assert.Equal(diffs.OrderByDescending(d => d), diffs);
        var idx = r.GetProperty("neurons").EnumerateArray().Select(n => n.GetProperty("index").GetInt32()).ToArray();
        Assert.Equal(8, idx.Distinct().Count());
    }

    [SharedFact]
    public void Neurons_from_text_files_on_a_fixture_reproduce_the_golden_differential()
    {
        string fx = TestPaths.Fixture("gpt2-tiny-f32");
        var spec = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("prompts.json"))).RootElement;
        var golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(fx, "golden.json"))).RootElement;
        string dir = Directory.CreateTempSubdirectory("sna-cli-").FullName;
        try
        {
            string task = Path.Combine(dir, "task.json"), neutral = Path.Combine(dir, "neutral.json");
            File.WriteAllText(task, spec.GetProperty("sets").GetProperty("arithmetic").GetRawText());
            File.WriteAllText(neutral, spec.GetProperty("neutral").GetRawText());
            var r = CliHarness.Json("neurons", "--model", fx, "--task-texts", task, "--neutral-texts", neutral, "--layer", "1", "--top", "25", "--no-bos", "--no-cache", "--json");
            var ours = r.GetProperty("neurons").EnumerateArray().Select(n => n.GetProperty("index").GetInt32()).ToArray();
            var want = golden.GetProperty("differential").GetProperty("arithmetic").GetProperty("layer1").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            Assert.True(ours.Intersect(want).Count() >= 24, $"shared {ours.Intersect(want).Count()} of 25");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Amplify_task_json_has_the_contract_shape_and_consistent_means()
    {
        var r = CliHarness.Json("amplify", "--task", "math-medium", "--layer", "3", "--count", "5", "--multiplier", "2", "--json");
        Assert.Equal(5, r.GetProperty("neurons").GetArrayLength());
        var prompts = r.GetProperty("prompts").EnumerateArray().ToArray();
        Assert.Equal(TaskLibrary.BuiltIn("math-medium").Prompts.Count, prompts.Length);
        foreach (var p in prompts)
        {
            double pb = p.GetProperty("p_base").GetDouble(), pp = p.GetProperty("p_post").GetDouble();
            Assert.Equal((pp - pb) / pb * 100, p.GetProperty("improvement_pct").GetDouble(), 9);
            Assert.False(string.IsNullOrEmpty(p.GetProperty("text").GetString()));
            Assert.False(string.IsNullOrEmpty(p.GetProperty("target").GetString()));
        }
        var mean = r.GetProperty("mean");
        Assert.Equal(prompts.Average(p => p.GetProperty("p_base").GetDouble()), mean.GetProperty("p_base").GetDouble(), 12);
        Assert.Equal(prompts.Average(p => p.GetProperty("p_post").GetDouble()), mean.GetProperty("p_post").GetDouble(), 12);
    }

    [Fact]
    public void Amplify_task_with_multiplier_one_changes_nothing()
    {
        var r = CliHarness.Json("amplify", "--task", "logic-easy", "--layer", "1", "--count", "10", "--multiplier", "1", "--json");
        foreach (var p in r.GetProperty("prompts").EnumerateArray())
            Assert.Equal(p.GetProperty("p_base").GetDouble(), p.GetProperty("p_post").GetDouble());
    }

    [Fact]
    public void Advise_assigns_zones_by_the_thresholds()
    {
        var r = CliHarness.Json("advise", "--task", "poetry-easy", "--zones", "0.07:0.10", "--json");
        double mean = r.GetProperty("mean_p_base").GetDouble();
        Assert.Equal(mean < 0.07 ? 1 : mean <= 0.10 ? 2 : 3, r.GetProperty("zone").GetInt32());
        foreach (var p in r.GetProperty("prompts").EnumerateArray())
        {
            double pb = p.GetProperty("p_base").GetDouble();
            Assert.Equal(pb < 0.07 ? 1 : pb <= 0.10 ? 2 : 3, p.GetProperty("zone").GetInt32());
        }
        Assert.False(string.IsNullOrWhiteSpace(r.GetProperty("advice").GetString()));
    }

    [Fact]
    public void A_malformed_task_file_names_the_file_and_line()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sna-bad-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, "{\n  \"name\": \"x\",\n  \"prompts\": [ {\"text\": \"a\" \n}");
        try
        {
            var (code, _, err) = CliHarness.Run("advise", "--task", path, "--json");
            Assert.Equal(2, code);
            Assert.Matches(System.Text.RegularExpressions.Regex.Escape(path) + @":\d+: invalid JSON", err); // FILE:LINE: reason
        }
        finally { File.Delete(path); }
    }
}
