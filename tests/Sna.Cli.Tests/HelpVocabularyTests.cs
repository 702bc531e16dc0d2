using System.CommandLine;

namespace Sna.Cli.Tests;

/// <summary>
/// One vocabulary across the CLI, checked on the command tree that <c>--help</c> prints (every command, every visible
/// option): <c>--count</c>/<c>-k</c> is neurons per layer, <c>--layers</c> takes ranges, <c>--db</c> is a results database,
/// <c>--out</c> is a file and <c>--out-dir</c> a directory, <c>-t</c> is only the task, and commands that score a target
/// offer <c>--score</c>. Each <c>--help</c> is also run and must exit 0.
/// </summary>
[Collection("cli")]
public sealed class HelpVocabularyTests
{
    private static IEnumerable<(string Path, Command Cmd)> Walk(Command c, string prefix)
    {
        foreach (var s in c.Subcommands)
        {
            string p = prefix.Length == 0 ? s.Name : prefix + " " + s.Name;
            yield return (p, s);
            foreach (var x in Walk(s, p)) yield return x;
        }
    }

    private static readonly string[] ScoringCommands = ["baseline", "advise", "amplify"];

    [Fact]
    public void Every_command_uses_the_same_option_vocabulary()
    {
        var problems = new List<string>();
        var commands = Walk(Program.BuildRoot(), "").ToList();
        foreach (var (path, cmd) in commands)
        {
            foreach (var o in cmd.Options.Where(o => !o.Hidden))
            {
                var aliases = o.Aliases.ToHashSet(StringComparer.Ordinal);
                string d = o.Description ?? "";
                if (o.Name is "--top" or "--k" && d.Contains("neuron", StringComparison.OrdinalIgnoreCase))
                    problems.Add($"{path} {o.Name}: neurons per layer is --count (-k); only a hidden alias may remain");
                if (o.Name == "--dir") problems.Add($"{path} --dir: a task directory is --tasks-dir");
                if (aliases.Contains("-k") && o.Name != "--count") problems.Add($"{path} {o.Name}: -k is only --count (neurons per layer)");
                if (o.Name == "--count" && !aliases.Contains("-k")) problems.Add($"{path} --count: should have the -k alias");
                if (o.Name == "--count" && !d.Contains("1..d_mlp", StringComparison.Ordinal) && !d.Contains("Neurons", StringComparison.OrdinalIgnoreCase))
                    problems.Add($"{path} --count: must be neurons per layer (1..d_mlp), says '{d}'");
                if (aliases.Contains("-t") && o.Name is not ("--task" or "--tasks")) problems.Add($"{path} {o.Name}: -t is only --task");
                if (o.Name == "--layers" && !d.Contains("1-3", StringComparison.Ordinal) && !d.Contains("ranges", StringComparison.OrdinalIgnoreCase))
                    problems.Add($"{path} --layers: must accept ranges such as 1-3,5 and say so, says '{d}'");
                if (o.Name == "--out-dir" && !d.Contains("director", StringComparison.OrdinalIgnoreCase))
                    problems.Add($"{path} --out-dir: must describe a directory, says '{d}'");
                if (o.Name == "--out" && (d.StartsWith("Output directory", StringComparison.OrdinalIgnoreCase) || d.StartsWith("Directory", StringComparison.OrdinalIgnoreCase)))
                    problems.Add($"{path} --out: writes a directory; call it --out-dir");
                if (o.Name != "--db" && o.Name != "--out" && d.Contains("results database", StringComparison.OrdinalIgnoreCase))
                    problems.Add($"{path} {o.Name}: a results database is --db");
                if (aliases.Contains("-o") && o.Name != "--out") problems.Add($"{path} {o.Name}: -o is only --out");
            }
            if (ScoringCommands.Contains(path) && !cmd.Options.Any(o => o.Name == "--score"))
                problems.Add($"{path}: scores a target but has no --score");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Every_command_help_prints_and_exits_0()
    {
        foreach (var (path, _) in Walk(Program.BuildRoot(), ""))
        {
            var r = CliHarness.Run([.. path.Split(' '), "--help"]);
            Assert.True(r.Exit == 0, $"sna {path} --help: exit {r.Exit}: {r.Err}");
            Assert.Contains("Usage", r.Out);
            // A default must read as the user would type it, never as a .NET object dump ("LayerList { Indices = ... }").
            var dump = System.Text.RegularExpressions.Regex.Match(r.Out, @"\[default: [^\]]*(\{ [A-Za-z]+ = |System\.|Sna\.)[^\]]*\]");
            Assert.False(dump.Success, $"sna {path} --help prints a default as an object: {dump.Value}");
        }
    }
}
