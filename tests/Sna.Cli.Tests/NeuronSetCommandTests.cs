using System.Text.Json;
using Sna.Research.Method;
using Sna.Tests;

namespace Sna.Cli.Tests;

/// <summary>Neuron set files through the CLI (issue #16): neurons --out writes one; amplify, sweep and controls read it.</summary>
[Collection("cli")]
public class NeuronSetCommandTests
{
    private static string WriteSet(TempDir dir, string name = "set.json", params string[] extra)
    {
        string path = Path.Combine(dir.Path, name);
        var (code, _, err) = CliHarness.Run(["neurons", "--task", "math-easy", "--layer", "3", "--count", "5", "--out", path, .. extra]);
        Assert.True(code == 0, err);
        return path;
    }

    [Fact]
    public void Neurons_out_writes_the_set_with_its_provenance_and_the_same_neurons_as_json()
    {
        using var dir = new TempDir();
        string path = WriteSet(dir);
        var set = NeuronSetFile.Read(path);
        var json = CliHarness.Json("neurons", "--task", "math-easy", "--layer", "3", "--count", "5", "--json");
        var want = json.GetProperty("neurons").EnumerateArray().Select(n => (n.GetProperty("index").GetInt32(), n.GetProperty("difference").GetDouble())).ToArray();
        Assert.Equal(want, set.Layer(3, path).Neurons.Select(n => (n.Index, n.Difference)).ToArray());
        Assert.Equal("differential", set.Method);
        Assert.Equal("prepend", set.Bos);
        Assert.Equal("math-easy", set.Task);
        var suite = TaskLibrary.BuiltIn("math-easy");
        Assert.Equal(NeuronSetFile.TextsHash(suite.DiscoveryTexts, TaskLibrary.NeutralCorpus), set.TextsSha256);
        var run = CliHarness.Json("baseline", "--prompt", "1 + 1 =", "--target", " 2", "--json").GetProperty("run");
        Assert.Equal(run.GetProperty("model_sha256").GetString(), set.ModelSha256);
    }

    [Fact]
    public void Amplify_reads_the_set_as_path_and_as_at_path_and_equals_explicit_neurons()
    {
        using var dir = new TempDir();
        string path = WriteSet(dir);
        var idx = NeuronSetFile.Read(path).Layer(3, path).Indices();
        string[] common = ["amplify", "--prompt", "What is 3 + 4? Answer:", "--target", " 7", "--multiplier", "3", "--json"];
        var explicitRun = CliHarness.Json([.. common, "--layer", "3", "--neurons", string.Join(',', idx)]);
        var fromFile = CliHarness.Json([.. common, "--neurons", path]);
        var fromAt = CliHarness.Json([.. common, "--neurons", "@" + path]);
        foreach (var r in new[] { fromFile, fromAt })
        {
            Assert.Equal(explicitRun.GetProperty("amplified").GetProperty("probability").GetDouble(), r.GetProperty("amplified").GetProperty("probability").GetDouble());
            Assert.Equal(3, r.GetProperty("layer").GetInt32());
            Assert.Equal(NeuronSetFile.FileHash(path), r.GetProperty("run").GetProperty("neuron_set").GetProperty("sha256").GetString());
        }
        // --count K takes the set's first K; task mode records the file as the neuron source.
        var task = CliHarness.Json("amplify", "--task", "math-easy", "--neurons", path, "--count", "2", "--multiplier", "2", "--json");
        Assert.Equal(idx.Take(2), task.GetProperty("neurons").EnumerateArray().Select(n => n.GetInt32()));
        Assert.Equal("file", task.GetProperty("run").GetProperty("neuron_source").GetString());
    }

    [Fact]
    public void Amplify_warns_in_one_line_when_the_set_was_found_on_another_model()
    {
        using var dir = new TempDir();
        string path = WriteSet(dir);
        File.WriteAllText(path, File.ReadAllText(path).Replace(NeuronSetFile.Read(path).ModelSha256, new string('0', 64)));
        var (code, _, err) = CliHarness.Run("amplify", "--prompt", "2 + 2 =", "--target", " 4", "--neurons", path, "--multiplier", "2", "--json");
        Assert.Equal(0, code);
        var warnings = err.Split('\n').Where(l => l.StartsWith("warning:") && l.Contains("not on the loaded model")).ToArray();
        Assert.Single(warnings);
    }

    [Fact]
    public void A_broken_set_file_is_exit_2_naming_the_field()
    {
        using var dir = new TempDir();
        string path = WriteSet(dir);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"format_version\": 1", "\"format_version\": 9"));
        var (code, _, err) = CliHarness.Run("amplify", "--prompt", "2 + 2 =", "--target", " 4", "--neurons", "@" + path, "--multiplier", "2");
        Assert.Equal(2, code);
        Assert.Contains("format_version", err);
        var (code2, _, err2) = CliHarness.Run("amplify", "--prompt", "2 + 2 =", "--target", " 4", "--neurons", Path.Combine(dir.Path, "absent.json"), "--multiplier", "2");
        Assert.Equal(2, code2);
        Assert.Contains("not found", err2);
        var (code3, _, _) = CliHarness.Run("amplify", "--prompt", "2 + 2 =", "--target", " 4", "--neurons", "@" + path + "x", "--layer", "1", "--multiplier", "2");
        Assert.Equal(2, code3); // never a response file
    }

    [Fact]
    public void Sweep_over_a_set_file_uses_exactly_its_neurons_and_refuses_a_resume_with_a_changed_file()
    {
        using var dir = new TempDir();
        string path = WriteSet(dir);
        string db = Path.Combine(dir.Path, "s.db");
        var (code, _, err) = CliHarness.Run("sweep", "--tasks", "math-easy", "--neurons-file", path, "--multipliers", "1.5,2", "--db", db);
        Assert.True(code == 0, err);
        var summary = CliHarness.Json("summary", "--db", db, "--json");
        string text = summary.GetRawText();
        Assert.Contains("\"neuron_source\":\"file\"", text.Replace(" ", ""));
        // Resuming with the same file is fine; with a changed file it is refused, naming the file.
        Assert.Equal(0, CliHarness.Run("sweep", "--tasks", "math-easy", "--neurons-file", path, "--multipliers", "1.5,2", "--db", db, "--resume").Exit);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"score\": 1.3", "\"score\": 1.2"));
        var (code2, _, err2) = CliHarness.Run("sweep", "--tasks", "math-easy", "--neurons-file", path, "--multipliers", "1.5,2", "--db", db, "--resume");
        Assert.Equal(2, code2);
        Assert.Contains("neuron set file changed", err2);
    }

    [Fact]
    public void Controls_reads_the_set_and_tests_exactly_its_neurons()
    {
        using var dir = new TempDir();
        string path = WriteSet(dir);
        var idx = NeuronSetFile.Read(path).Layer(3, path).Indices();
        var r = CliHarness.Json("controls", "--task", "math-easy", "--neurons", "@" + path, "--multiplier", "2", "--seeds", "2", "--no-collateral", "--json");
        Assert.Equal(idx, r.GetProperty("task_neurons").GetProperty("neurons").EnumerateArray().Select(n => n.GetInt32()));
        Assert.Equal("file", r.GetProperty("configuration").GetProperty("neuron_source").GetString());
        Assert.Equal(5, r.GetProperty("configuration").GetProperty("count").GetInt32());
    }
}
