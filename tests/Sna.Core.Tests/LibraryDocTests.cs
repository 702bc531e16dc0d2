namespace Sna.Core.Tests;

/// <summary>docs/library.md's ten-line example is the example file CI runs (examples/run-all.sh), character for character.</summary>
public class LibraryDocTests
{
    [Fact]
    public void Library_md_quotes_examples_02_verbatim_and_it_is_ten_lines()
    {
        string example = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "examples", "02-discover-amplify.cs")).ReplaceLineEndings("\n");
        string doc = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "library.md")).ReplaceLineEndings("\n");
        Assert.Contains("```csharp\n" + example + "```\n", doc);
        Assert.Equal(10, example.TrimEnd('\n').Split('\n').Length);
        Assert.Contains("LanguageModel.Load(", example);
    }

    [Fact]
    public void Every_example_references_the_library_and_run_all_runs_it()
    {
        var dir = Path.Combine(TestPaths.RepoRoot, "examples");
        var files = Directory.GetFiles(dir, "*.cs").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["01-baseline.cs", "02-discover-amplify.cs", "03-run-with-cache.cs", "04-custom-sweep.cs", "05-generate.cs"], files);
        foreach (var f in files)
            Assert.StartsWith("#:project ../src/Sna.Research/Sna.Research.csproj\n", File.ReadAllText(Path.Combine(dir, f)).ReplaceLineEndings("\n"));
        string runAll = File.ReadAllText(Path.Combine(dir, "run-all.sh"));
        Assert.Contains("examples/[0-9][0-9]-*.cs", runAll);
        Assert.Contains("examples/run-all.sh", File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "test.sh")));
    }
}
