namespace Sna.Tests;

/// <summary>
/// Locates the repository (the nearest directory at or above <see cref="AppContext.BaseDirectory"/> holding
/// <c>Sna.sln</c>) and the test data: the copies vendored in <c>tests/fixtures/</c> (same layout as <c>../shared</c>:
/// <c>fixtures/</c>, <c>tokenizers/</c>; see tests/fixtures/README.md), else the shared data folder <c>../shared</c> beside
/// the repository (which also holds what is not vendored: the float32 checkpoints). Tests never depend on the working
/// directory. Compiled into every test project (tests/Shared).
/// </summary>
public static class TestPaths
{
    private static readonly Lazy<string?> s_repoRoot = new(FindRepoRoot);

    /// <summary>The directory holding <c>Sna.sln</c>.</summary>
    public static string RepoRoot =>
        s_repoRoot.Value ?? throw new InvalidOperationException($"no directory containing Sna.sln above '{AppContext.BaseDirectory}'");

    /// <summary>
    /// Absolute path of <c>../shared</c> relative to <see cref="RepoRoot"/>, or of <c>SNA_TEST_SHARED_DIR</c> when set
    /// (a path that does not exist there runs the tests as on a bare clone, e.g. <c>SNA_TEST_SHARED_DIR=/nonexistent</c>).
    /// </summary>
    public static string SharedDir =>
        Environment.GetEnvironmentVariable("SNA_TEST_SHARED_DIR") is { Length: > 0 } d
            ? Path.GetFullPath(d)
            : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    /// <summary>True when the repository root was found and <see cref="SharedDir"/> exists.</summary>
    public static bool SharedAvailable => s_repoRoot.Value is not null && Directory.Exists(SharedDir);

    /// <summary><c>tests/fixtures</c>: the test data vendored in the repository (a subset of <c>../shared</c>, same layout).</summary>
    public static string VendoredDir => Path.Combine(RepoRoot, "tests", "fixtures");

    /// <summary>True when the vendored copies (<see cref="VendoredDir"/>) or <c>../shared</c> are there.</summary>
    public static bool DataAvailable =>
        s_repoRoot.Value is not null && (Directory.Exists(Path.Combine(VendoredDir, "fixtures")) || SharedAvailable);

    /// <summary>
    /// A test data path given as in <c>../shared</c>, e.g. <c>Data("tokenizers", "gpt2", "vocab.json")</c>: the vendored copy
    /// under <see cref="VendoredDir"/> when it exists, else the one in <see cref="SharedDir"/> (which may not exist either:
    /// see <see cref="Has"/> and <see cref="Need"/>).
    /// </summary>
    public static string Data(params string[] parts)
    {
        string vendored = Path.Combine([VendoredDir, .. parts]);
        return File.Exists(vendored) || Directory.Exists(vendored) ? vendored : Path.Combine([SharedDir, .. parts]);
    }

    /// <summary>True when <see cref="Data"/> names an existing file or directory (vendored or in ../shared).</summary>
    public static bool Has(params string[] parts)
    {
        string p = Data(parts);
        return File.Exists(p) || Directory.Exists(p);
    }

    /// <summary>The skip reason when the data path is neither vendored nor in ../shared, else null.</summary>
    public static string? MissingReason(params string[] parts) =>
        Has(parts) ? null
        : $"needs ../shared: {string.Join('/', parts)} is not vendored (tests/fixtures/README.md) and {SharedDir} "
          + (SharedAvailable ? "does not have it" : "is absent");

    /// <summary>
    /// Skips the running test (a <c>[SkippableFact]</c>, <c>[SharedFact]</c> or their theories) with the reason when the data
    /// path is neither vendored nor in ../shared (e.g. the float32 checkpoints on a bare clone); else returns the path.
    /// </summary>
    public static string Need(params string[] parts)
    {
        if (MissingReason(parts) is { } why) throw new SkipException(why);
        return Data(parts);
    }

    /// <summary>
    /// The fixtures folder whose model subdirectories the web tool lists: <c>../shared/fixtures</c> when present (all of
    /// them), else the vendored <c>tests/fixtures/fixtures</c>.
    /// </summary>
    public static string FixturesDir =>
        SharedAvailable ? Path.Combine(SharedDir, "fixtures") : Path.Combine(VendoredDir, "fixtures");

    /// <summary>
    /// <c>fixtures/&lt;name&gt;</c> (a fixture model directory or data file), vendored or in ../shared (<see cref="Data"/>).
    /// When it is in neither (a float32 checkpoint on a bare clone) the running test is skipped with the reason
    /// (<see cref="Need"/>): call it inside a skippable test, not in theory data.
    /// </summary>
    public static string Fixture(string name) => Need("fixtures", name);

    /// <summary>The name of the tiny GPT-2 fixture model (3 layers, d_mlp 128, float32; not vendored).</summary>
    public const string TinyFixture = "gpt2-tiny-f32";

    /// <summary>The tiny GPT-2 fixture model (<see cref="TinyFixture"/>).</summary>
    public static string TinyDir => Fixture(TinyFixture);

    /// <summary>The bundled demo model, <c>models/sna-demo-gpt2</c> in the repository.</summary>
    public static string BundledModelDir => Path.Combine(RepoRoot, "models", "sna-demo-gpt2");

    /// <summary><c>artifacts/</c> at the repository root (gitignored); created on first use.</summary>
    public static string Artifacts
    {
        get { var p = Path.Combine(RepoRoot, "artifacts"); Directory.CreateDirectory(p); return p; }
    }

    private static string? FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Sna.sln"))) return dir.FullName;
        return null;
    }
}
