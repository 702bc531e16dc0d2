namespace Sna.Core.Tests;

/// <summary>
/// Locates the repository and the shared data folder (<c>../shared</c> beside the repository root) from the test
/// binaries, so tests never depend on the working directory.
/// </summary>
public static class TestPaths
{
    private static readonly Lazy<string?> s_repoRoot = new(FindRepoRoot);

    /// <summary>The nearest directory at or above <see cref="AppContext.BaseDirectory"/> that contains <c>Sna.sln</c>.</summary>
    public static string RepoRoot =>
        s_repoRoot.Value ?? throw new InvalidOperationException($"no directory containing Sna.sln above '{AppContext.BaseDirectory}'");

    /// <summary>Absolute path of <c>../shared</c> relative to <see cref="RepoRoot"/>.</summary>
    public static string SharedDir => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    /// <summary>True when the repository root was found and <see cref="SharedDir"/> exists.</summary>
    public static bool SharedAvailable => s_repoRoot.Value is not null && Directory.Exists(SharedDir);

    /// <summary>Path of <c>shared/fixtures/&lt;name&gt;</c>.</summary>
    public static string Fixture(string name) => Path.Combine(SharedDir, "fixtures", name);

    private static string? FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sna.sln"))) return dir.FullName;
        }
        return null;
    }
}
