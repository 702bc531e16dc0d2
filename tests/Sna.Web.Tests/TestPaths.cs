namespace Sna.Web.Tests;

/// <summary>Finds the repository (the directory holding Sna.sln) and ../shared beside it, from the test binaries.</summary>
public static class TestPaths
{
    private static readonly Lazy<string?> s_root = new(() =>
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Sna.sln"))) return d.FullName;
        return null;
    });

    public static string RepoRoot => s_root.Value ?? throw new InvalidOperationException("no Sna.sln above the test binaries");
    public static string SharedDir => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));
    public static string FixturesDir => Path.Combine(SharedDir, "fixtures");
    public static string Fixture(string name) => Path.Combine(FixturesDir, name);
    public static string TinyDir => Fixture("gpt2-tiny-f32");
    public static bool TinyAvailable => s_root.Value is not null && Directory.Exists(TinyDir);
    public const string TinyId = "fixture:gpt2-tiny-f32";

    /// <summary>artifacts/ at the repository root (gitignored).</summary>
    public static string Artifacts
    {
        get { var p = Path.Combine(RepoRoot, "artifacts"); Directory.CreateDirectory(p); return p; }
    }
}
