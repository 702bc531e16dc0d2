using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Sna.Core.Tests;

/// <summary>
/// The test data vendored in <c>tests/fixtures/</c> (see its README.md): every file is listed in the README's table with its
/// size and sha256 and matches it (this runs on a bare clone too), and, when <c>../shared</c> is present, every vendored file
/// and the repository's copies of the SST-2 set and the demo model are byte-identical to their counterparts there.
/// </summary>
public sealed partial class VendoredFixturesTests
{
    private static string Readme => Path.Combine(TestPaths.VendoredDir, "README.md");

    /// <summary>The vendored files, relative to tests/fixtures with '/' separators (the README, .gitattributes and refresh.sh are not data).</summary>
    private static SortedSet<string> VendoredFiles() =>
        new(new[] { "fixtures", "tokenizers" }
            .SelectMany(d => Directory.GetFiles(Path.Combine(TestPaths.VendoredDir, d), "*", SearchOption.AllDirectories))
            .Select(f => Path.GetRelativePath(TestPaths.VendoredDir, f).Replace('\\', '/')), StringComparer.Ordinal);

    /// <summary>The README's table: path → (bytes, sha256).</summary>
    private static Dictionary<string, (long Bytes, string Sha256)> Recorded()
    {
        var rows = new Dictionary<string, (long, string)>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Readme))
            if (Row().Match(line) is { Success: true } m)
                Assert.True(rows.TryAdd(m.Groups[1].Value, (long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), m.Groups[3].Value)),
                    $"listed twice: {m.Groups[1].Value}");
        return rows;
    }

    [GeneratedRegex(@"^\| `([^`]+)` \| ([0-9]+) \| `([0-9a-f]{64})` \|$")]
    private static partial Regex Row();

    private static string Sha256(string file)
    {
        using var s = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    [Fact]
    public void Every_vendored_file_is_listed_in_the_README_with_its_size_and_sha256()
    {
        var recorded = Recorded();
        var files = VendoredFiles();
        // The families the tests read on a bare clone are all there (one 16-bit checkpoint each, the tokenizers).
        foreach (var must in new[] { "fixtures/gpt2-tiny-f16/model.safetensors", "fixtures/pythia-tiny-f16/golden.safetensors",
                     "fixtures/Llama-3-tiny-bf16/model.safetensors", "fixtures/prompts.json", "tokenizers/llama2/tokenizer.json" })
            Assert.Contains(must, files);
        Assert.Equal(files, new SortedSet<string>(recorded.Keys, StringComparer.Ordinal));
        foreach (var f in files)
        {
            string path = Path.Combine(TestPaths.VendoredDir, f);
            var (bytes, sha) = recorded[f];
            Assert.True(new FileInfo(path).Length == bytes, $"{f}: {new FileInfo(path).Length} bytes, README says {bytes}");
            Assert.True(Sha256(path) == sha, $"{f}: sha256 differs from tests/fixtures/README.md (refresh with tests/fixtures/refresh.sh)");
        }
        // Nothing is vendored that is not tracked as data: no float32 checkpoint (tests skip for those, see TestPaths.Need).
        Assert.DoesNotContain(files, f => f.Contains("-f32/", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void Every_vendored_file_is_byte_identical_to_its_counterpart_in_shared()
    {
        Skip.IfNot(TestPaths.SharedAvailable,
            $"{TestPaths.SharedDir} is absent: the vendored files were checked against the sha256s recorded in tests/fixtures/README.md instead");
        var files = VendoredFiles();
        Assert.NotEmpty(files);
        foreach (var f in files)
        {
            string shared = Path.Combine(TestPaths.SharedDir, f);
            Assert.True(File.Exists(shared), $"{f} is vendored but not in {TestPaths.SharedDir}");
            Assert.True(Sha256(Path.Combine(TestPaths.VendoredDir, f)) == Sha256(shared), $"{f} differs from {shared} (refresh with tests/fixtures/refresh.sh)");
        }
        // The repository's own copies of shared data: the SST-2 set and the bundled demo model.
        var inRepo = new[] { "data/sst2/dev.tsv" }
            .Concat(Directory.GetFiles(Path.Combine(TestPaths.SharedDir, "models", "sna-demo-gpt2")).Select(p => "models/sna-demo-gpt2/" + Path.GetFileName(p)));
        foreach (var f in inRepo)
            Assert.True(Sha256(Path.Combine(TestPaths.RepoRoot, f)) == Sha256(Path.Combine(TestPaths.SharedDir, f)), $"{f} differs from ../shared/{f}");
    }

    [Fact]
    public void Tests_read_the_vendored_copy_and_fall_back_to_shared_for_the_rest()
    {
        string vendored = TestPaths.VendoredDir + Path.DirectorySeparatorChar;
        Assert.StartsWith(vendored, TestPaths.Fixture("gpt2-tiny-f16"));
        Assert.StartsWith(vendored, TestPaths.Data("tokenizers", "llama3", "tokenizer.json"));
        Assert.StartsWith(vendored, TestPaths.Fixture("prompt_tokens_neox.json"));
        // gpt2-tiny-f32 is not vendored: the path is ../shared's (when present), and without it a test skips with the reason.
        Assert.StartsWith(TestPaths.SharedDir, TestPaths.Data("fixtures", "gpt2-tiny-f32"));
        if (TestPaths.SharedAvailable) Assert.Null(TestPaths.MissingReason("fixtures", "gpt2-tiny-f32"));
        else Assert.Contains("gpt2-tiny-f32 is not vendored", TestPaths.MissingReason("fixtures", "gpt2-tiny-f32"));
        Assert.Throws<SkipException>(() => TestPaths.Need("fixtures", "no-such-fixture"));
    }
}
