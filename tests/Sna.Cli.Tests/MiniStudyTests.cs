using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sna.Tests;

namespace Sna.Cli.Tests;

/// <summary>docs/mini-study.md run once, as written (every sna step in document order, in one temporary directory), for
/// <see cref="MiniStudyTests"/>. A failing step is rethrown by each test that reads it.</summary>
public sealed class MiniStudyRun : IDisposable
{
    public const string Doc = "docs/mini-study.md";
    private readonly Lazy<(TempDir Dir, List<string> Ran, List<string> Skipped)> _run = new(() => DocsExamplesTests.RunDocument(Doc));
    public string Dir => _run.Value.Dir.Path;
    public List<string> Ran => _run.Value.Ran;
    public List<string> Skipped => _run.Value.Skipped;
    public void Dispose() { if (_run.IsValueCreated) _run.Value.Dir.Dispose(); }
}

/// <summary>The mini-study (issue #16's "done means"): own task file, saved neuron set, amplify --top/--generate, sweep over
/// the set, summary, export read by pandas, report — by copy-paste from docs/mini-study.md.</summary>
[Collection("cli")]
public class MiniStudyTests(MiniStudyRun study, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<MiniStudyRun>
{
    [Fact]
    public void The_mini_study_runs_end_to_end_as_written()
    {
        string dir = study.Dir;
        Assert.Empty(study.Skipped);
        Assert.True(study.Ran.Count >= 10, string.Join('\n', study.Ran));
        // What each step promised is there: the set file, the sweep over it, the export with neurons and prompts, the report.
        var set = Sna.Research.Method.NeuronSetFile.Read(Path.Combine(dir, "capitals-set.json"));
        Assert.Equal("capitals", set.Task);
        string csv = File.ReadAllText(Path.Combine(dir, "capitals.csv"));
        var header = csv[..csv.IndexOf('\n')].Split(',');
        foreach (var col in new[] { "layer", "count", "multiplier", "improvement_pct", "rank_base", "rank_post", "prompt", "target", "neurons", "model", "model_hash" })
            Assert.Contains(col, header);
        Assert.Contains(" Paris", csv);
        Assert.Contains("file", csv); // neuron_source
        Assert.DoesNotContain("\u2212", csv); // no Unicode minus in a machine-readable file
        Assert.True(File.Exists(Path.Combine(dir, "capitals-report", "report.html")));
        var tsv = File.ReadAllLines(Path.Combine(dir, "capitals-summary.tsv"));
        Assert.Contains("capitals", string.Join('\n', tsv));
    }

    /// <summary>A python3 that imports pandas: <c>python3</c> on PATH, else Debian's <c>/usr/bin/python3</c> (a pyenv shim
    /// on PATH may lack Debian's python3-pandas); null when neither does.</summary>
    private static string? PythonWithPandas()
    {
        foreach (var exe in new[] { "python3", "/usr/bin/python3" })
        {
            try
            {
                var psi = new ProcessStartInfo(exe, ["-c", "import pandas"]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
                using var p = Process.Start(psi)!;
                p.StandardError.ReadToEnd();
                if (p.WaitForExit(60_000) && p.ExitCode == 0) return exe;
            }
            catch (System.ComponentModel.Win32Exception) { }   // not installed
        }
        return null;
    }

    [SkippableFact]
    public void The_pandas_snippet_runs_verbatim_and_prints_the_best_configuration_its_neurons_prompts_and_run()
    {
        var blocks = DocsExamplesTests.PythonBlocks(MiniStudyRun.Doc);
        string snippet = Assert.Single(blocks);
        string? python = PythonWithPandas();
        Skip.If(python is null, "python3 with pandas is not installed (apt-get install python3-pandas; .ci/run installs it): the mini-study's pandas step is not run");
        string dir = study.Dir;

        var psi = new ProcessStartInfo(python!, ["-"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = dir };
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(snippet);
        p.StandardInput.Close();
        var err = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "python did not finish in 2 minutes");
        output.WriteLine(stdout);
        Assert.True(p.ExitCode == 0, $"the snippet exited {p.ExitCode}: {err.Result}");

        // Types: integers and floats, as a pandas user expects from the CSV (no strings from odd number formats).
        var dtypes = Regex.Matches(stdout, @"^(\w+)\s+(int64|float64|object)$", RegexOptions.Multiline).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        foreach (var c in new[] { "layer", "count", "rank_base", "rank_post" }) Assert.Equal("int64", dtypes[c]);
        foreach (var c in new[] { "multiplier", "p_base", "p_post", "improvement_pct" }) Assert.Equal("float64", dtypes[c]);

        // The best configuration, its neurons (parsed to ints) and the run record equal what sna summary --json says.
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "capitals-summary.json")))!;
        var best = summary["tasks"]![0]!["best"]!;
        var inv = CultureInfo.InvariantCulture;
        string mult = ((double)best["multiplier"]!).ToString("0.0###", inv);
        Assert.Contains($"best: layer {(int)best["layer"]!}, count {(int)best["count"]!}, x{mult}, mean {(double)best["mean_improvement_pct"]!:+0.00;-0.00}%", stdout);
        var neurons = best["neurons"]!.AsArray().Select(n => (int)n!).ToArray();
        Assert.Contains("neurons: [" + string.Join(", ", neurons) + "]", stdout);
        var set = Sna.Research.Method.NeuronSetFile.Read(Path.Combine(dir, "capitals-set.json"));
        Assert.Equal(set.Layer((int)best["layer"]!, "set").Indices((int)best["count"]!), neurons);
        // Every prompt of the best configuration with its target and rank_base (the doc's claim: all rank beyond 20,000).
        foreach (var row in summary["tasks"]![0]!["prompt_rows"]!.AsArray())
        {
            var line = stdout.Split('\n').SingleOrDefault(l => l.Contains((string)row!["text"]!));
            Assert.True(line is not null, $"prompt {(string)row!["text"]!} not printed");
            var cells = Regex.Split(line!.Trim(), @"\s+");
            Assert.Contains(((string)row["target"]!).Trim(), cells);
            int rankBase = (int)row["rank_base"]!;
            Assert.Contains(rankBase.ToString(inv), cells);
            Assert.True(rankBase > 20_000 && int.Parse(cells[^3], inv) > 20_000, line);   // rank_post is the third cell from the end
        }
        var run = summary["run"]!;
        Assert.Contains($"model: sna-demo-gpt2 {((string)run["model_sha256"]!)[..12]} run: {(string)run["sna_version"]!} bos {(string)run["bos"]!}", stdout);
    }
}
