using Sna.Research.Method;
using Sna.Runtime.Caching;

namespace Sna.Core.Tests.Caching;

/// <summary><see cref="SnaCacheDir"/>: the one resolver of SNA's cache root, and the test assemblies' redirection of it.</summary>
public class SnaCacheDirTests
{
    private const string Home = "/home/researcher";

    private static string Resolve(params (string Name, string? Value)[] vars)
    {
        var d = vars.ToDictionary(v => v.Name, v => v.Value);
        return SnaCacheDir.Resolve(n => d.TryGetValue(n, out var v) ? v : null, Home);
    }

    [Fact]
    public void Default_is_dot_cache_sna_under_home() => Assert.Equal("/home/researcher/.cache/sna", Resolve());

    [Fact]
    public void XDG_cache_home_is_used_when_SNA_CACHE_DIR_is_unset() =>
        Assert.Equal("/xdg/sna", Resolve(("XDG_CACHE_HOME", "/xdg")));

    [Fact]
    public void SNA_CACHE_DIR_wins_and_empty_or_blank_counts_as_unset()
    {
        Assert.Equal("/data/snacache", Resolve(("SNA_CACHE_DIR", "/data/snacache"), ("XDG_CACHE_HOME", "/xdg")));
        Assert.Equal("/xdg/sna", Resolve(("SNA_CACHE_DIR", ""), ("XDG_CACHE_HOME", "/xdg")));
        Assert.Equal("/home/researcher/.cache/sna", Resolve(("SNA_CACHE_DIR", "   ")));
    }

    [Fact]
    public void Tilde_and_variables_are_expanded()
    {
        Assert.Equal("/home/researcher/c", Resolve(("SNA_CACHE_DIR", "~/c")));
        Assert.Equal("/home/researcher", Resolve(("SNA_CACHE_DIR", "~")));
        Assert.Equal("/scratch/u1/sna", Resolve(("SNA_CACHE_DIR", "$SCRATCH/sna"), ("SCRATCH", "/scratch/u1")));
        Assert.Equal("/scratch/u1/job7/sna", Resolve(("SNA_CACHE_DIR", "${SCRATCH}/job${JOB}/sna"), ("SCRATCH", "/scratch/u1"), ("JOB", "7")));
        Assert.Equal("/scratch/u1/sna", Resolve(("XDG_CACHE_HOME", "$SCRATCH"), ("SCRATCH", "/scratch/u1")));
    }

    [Fact]
    public void Expand_follows_the_shell_for_unset_names_and_keeps_a_lone_dollar()
    {
        string E(string p) => SnaCacheDir.Expand(p, n => n == "A" ? "x" : null, Home);
        Assert.Equal("/a//b", E("/a/$UNSET/b"));      // unset → empty, as sh does
        Assert.Equal("/a/$/b", E("/a/$/b"));
        Assert.Equal("/a/${/b", E("/a/${/b"));       // unterminated: kept
        Assert.Equal("/a/$1x", E("/a/$1$A"));        // $1 is not a name here; $A is
        Assert.Equal("/p/x_y", E("/p/${A}_y"));
        Assert.Equal("/p/~/q", E("/p/~/q"));          // only a leading ~ is the home
    }

    [Fact]
    public void For_names_a_subfolder_of_the_root() =>
        Assert.Equal(Path.Combine(SnaCacheDir.Root, "neurons"), SnaCacheDir.For("neurons"));

    [Fact]
    public void Test_processes_never_use_the_users_cache()
    {
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string root = Path.GetFullPath(TestEnvironment.SnaCacheDir);
        Assert.Equal(root, SnaCacheDir.Root);
        Assert.StartsWith(Path.GetFullPath(Path.GetTempPath()), root, StringComparison.Ordinal);
        Assert.Equal(Path.Combine(root, "neurons"), DiscoveryCache.DefaultDirectory);
        foreach (var v in new[] { "SNA_CACHE_DIR", "XDG_CACHE_HOME", "HF_HOME", "HF_HUB_CACHE" })
        {
            var value = Environment.GetEnvironmentVariable(v);
            Assert.False(string.IsNullOrEmpty(value), $"{v} is not set by the test environment");
            Assert.False(Path.GetFullPath(value!).StartsWith(Path.Combine(home, ".cache"), StringComparison.Ordinal), $"{v} = {value} is under ~/.cache");
        }
        Assert.StartsWith(TestEnvironment.Root, Sna.Runtime.Hub.HubSettings.FromEnvironment().CacheDir, StringComparison.Ordinal);
        Assert.StartsWith("http://127.0.0.1", Sna.Runtime.Hub.HubSettings.FromEnvironment().Endpoint, StringComparison.Ordinal);
    }
}
