namespace Sna.Tests;

/// <summary>
/// Locates the repository (the nearest directory at or above <see cref="AppContext.BaseDirectory"/> holding
/// <c>Sna.sln</c>) and the shared data folder <c>../shared</c> beside it, so tests never depend on the working directory.
/// Compiled into every test project (tests/Shared).
/// </summary>
public static class TestPaths
{
    private static readonly Lazy<string?> s_repoRoot = new(FindRepoRoot);

    /// <summary>The directory holding <c>Sna.sln</c>.</summary>
    public static string RepoRoot =>
        s_repoRoot.Value ?? throw new InvalidOperationException($"no directory containing Sna.sln above '{AppContext.BaseDirectory}'");

    /// <summary>Absolute path of <c>../shared</c> relative to <see cref="RepoRoot"/>.</summary>
    public static string SharedDir => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    /// <summary>True when the repository root was found and <see cref="SharedDir"/> exists.</summary>
    public static bool SharedAvailable => s_repoRoot.Value is not null && Directory.Exists(SharedDir);

    /// <summary>A path inside <see cref="SharedDir"/>, e.g. <c>InShared("tokenizers", "gpt2", "vocab.json")</c>.</summary>
    public static string InShared(params string[] parts) => Path.Combine([SharedDir, .. parts]);

    /// <summary><c>shared/fixtures</c>.</summary>
    public static string FixturesDir => InShared("fixtures");

    /// <summary><c>shared/fixtures/&lt;name&gt;</c> (a fixture model directory or data file).</summary>
    public static string Fixture(string name) => Path.Combine(FixturesDir, name);

    /// <summary>The tiny GPT-2 fixture model (3 layers, d_mlp 128, float32).</summary>
    public static string TinyDir => Fixture("gpt2-tiny-f32");

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
