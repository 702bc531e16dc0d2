using Sna.Runtime.Hub;

namespace Sna.Core.Tests.Hub;

public sealed class HubSettingsTests
{
    private static readonly string Home = Path.Combine(Path.GetTempPath(), "fake-home");

    private static HubSettings From(params (string Key, string? Value)[] vars) =>
        HubSettings.FromEnvironment(vars.ToDictionary(v => v.Key, v => v.Value), Home);

    [Fact]
    public void Default_IsHomeCacheHuggingfaceHub()
    {
        var s = From();
        Assert.Equal(Path.Combine(Home, ".cache", "huggingface", "hub"), s.CacheDir);
        Assert.Equal("https://huggingface.co", s.Endpoint);
        Assert.Null(s.Token);
        Assert.False(s.Offline);
    }

    [Fact]
    public void HfHome_GivesHubSubfolder() =>
        Assert.Equal(Path.GetFullPath("/data/hf/hub"), From(("HF_HOME", "/data/hf")).CacheDir);

    [Fact]
    public void XdgCacheHome_IsUsedWithoutHfHome() =>
        Assert.Equal(Path.GetFullPath("/xdg/huggingface/hub"), From(("XDG_CACHE_HOME", "/xdg")).CacheDir);

    [Fact]
    public void HfHubCache_WinsOverHfHomeAndLegacy() =>
        Assert.Equal(Path.GetFullPath("/c/hub2"),
            From(("HF_HOME", "/data/hf"), ("HUGGINGFACE_HUB_CACHE", "/legacy"), ("HF_HUB_CACHE", "/c/hub2")).CacheDir);

    [Fact]
    public void LegacyHuggingfaceHubCache_WinsOverHfHome() =>
        Assert.Equal(Path.GetFullPath("/legacy"), From(("HF_HOME", "/data/hf"), ("HUGGINGFACE_HUB_CACHE", "/legacy")).CacheDir);

    [Fact]
    public void Tilde_IsExpanded() =>
        Assert.Equal(Path.Combine(Home, "models", "hub"), From(("HF_HOME", "~/models")).CacheDir);

    [Fact]
    public void EmptyValues_AreIgnored() =>
        Assert.Equal(Path.Combine(Home, ".cache", "huggingface", "hub"), From(("HF_HOME", ""), ("HF_HUB_CACHE", "")).CacheDir);

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("YES", true)]
    [InlineData("on", true)]
    [InlineData("0", false)]
    [InlineData("false", false)]
    [InlineData("", false)]
    public void HfHubOffline_Truthiness(string value, bool expected) =>
        Assert.Equal(expected, From(("HF_HUB_OFFLINE", value)).Offline);

    [Fact]
    public void TransformersOffline_AlsoCounts() => Assert.True(From(("TRANSFORMERS_OFFLINE", "1")).Offline);

    [Fact]
    public void Endpoint_TrailingSlashTrimmed() =>
        Assert.Equal("http://127.0.0.1:5000", From(("HF_ENDPOINT", "http://127.0.0.1:5000/")).Endpoint);

    [Fact]
    public void Token_FromHfToken_ThenLegacy()
    {
        Assert.Equal("hf_a", From(("HF_TOKEN", "hf_a"), ("HUGGING_FACE_HUB_TOKEN", "hf_b")).Token);
        Assert.Equal("hf_b", From(("HUGGING_FACE_HUB_TOKEN", "hf_b")).Token);
    }

    [Fact]
    public void Token_FromTokenFile_OnlyWhenAsked()
    {
        using var tmp = new TempDir();
        File.WriteAllText(Path.Combine(tmp.Path, "token"), "hf_fromfile\n");
        var env = new Dictionary<string, string?> { ["HF_HOME"] = tmp.Path };
        Assert.Equal("hf_fromfile", HubSettings.FromEnvironment(env, Home, readTokenFile: true).Token);
        Assert.Null(HubSettings.FromEnvironment(env, Home).Token);
        env["HF_TOKEN"] = "hf_env";
        Assert.Equal("hf_env", HubSettings.FromEnvironment(env, Home, readTokenFile: true).Token);
    }

    [Fact]
    public void ToString_NeverShowsToken()
    {
        var s = new HubSettings("/tmp/x", token: "hf_verysecret");
        Assert.DoesNotContain("hf_verysecret", s.ToString());
        Assert.Contains("(set)", s.ToString());
    }
}

public sealed class ModelResolverParseTests
{
    [Fact]
    public void ExistingLocalDirectory_Wins()
    {
        using var tmp = new TempDir();
        var spec = ModelResolver.Parse(tmp.Path);
        Assert.Equal(ModelSpecKind.LocalDirectory, spec.Kind);
        Assert.Equal(tmp.Path, spec.LocalPath);
        Assert.Equal(tmp.Path, ModelResolver.Resolve(tmp.Path, new ResolveOptions { Settings = new HubSettings(tmp.Path, offline: true) }));
    }

    [Fact]
    public void Alias_MapsToRepoId()
    {
        var spec = ModelResolver.Parse("gpt2-medium");
        Assert.Equal(("gpt2-medium", "main"), (spec.RepoId, spec.Revision));
        Assert.Equal("gpt2", ModelResolver.Parse("gpt2-small").RepoId);
        Assert.Equal("EleutherAI/pythia-160m", ModelResolver.Parse("pythia-160m").RepoId);
        Assert.NotNull(ModelResolver.Parse("EleutherAI/pythia-160m").Alias);
    }

    [Fact]
    public void HubId_WithRevisionSuffix()
    {
        var spec = ModelResolver.Parse("EleutherAI/pythia-160m@step3000");
        Assert.Equal(ModelSpecKind.Hub, spec.Kind);
        Assert.Equal("EleutherAI/pythia-160m", spec.RepoId);
        Assert.Equal("step3000", spec.Revision);
        Assert.Equal("v1.0", ModelResolver.Parse("someone/model", "v1.0").Revision);
        Assert.Equal("abc", ModelResolver.Parse("someone/model@abc", "abc").Revision);
    }

    [Theory]
    [InlineData("gpt2@a", "b")]
    [InlineData("gpt2@", null)]
    [InlineData("./no/such/dir", null)]
    [InlineData("a/b/c", null)]
    [InlineData("bad name", null)]
    [InlineData("a--b", null)]
    public void Invalid_IsInvalidModel(string model, string? revision)
    {
        var e = Assert.Throws<HubException>(() => ModelResolver.Parse(model, revision));
        Assert.Equal(HubErrorKind.InvalidModel, e.Kind);
    }

    [Fact]
    public void RepoFolderName_MatchesHuggingfaceHub()
    {
        Assert.Equal("models--gpt2", HubCache.RepoFolderName("gpt2"));
        Assert.Equal("models--EleutherAI--pythia-160m", HubCache.RepoFolderName("EleutherAI/pythia-160m"));
        Assert.Equal("EleutherAI/pythia-160m", HubCache.RepoIdFromFolderName("models--EleutherAI--pythia-160m"));
    }

    [Fact]
    public void Aliases_HaveSizesAndArchitectures()
    {
        foreach (var a in ModelAliases.All)
        {
            Assert.True(a.Parameters > 0 && a.SafetensorsBytes > a.Parameters, a.Alias);
            Assert.False(string.IsNullOrEmpty(a.Architecture));
        }
        Assert.Equal("548.11 MB", ModelAliases.FormatBytes(ModelAliases.Find("gpt2")!.SafetensorsBytes));
        Assert.Equal("124.4M", ModelAliases.FormatParameters(124_439_808));
    }

    [Fact]
    public void ParseShardIndex_RejectsTraversal()
    {
        Assert.Throws<FormatException>(() => ModelFiles.ParseShardIndex("{\"weight_map\":{\"a\":\"../../etc/passwd\"}}"));
        Assert.Equal(["x.safetensors"], ModelFiles.ParseShardIndex("{\"weight_map\":{\"a\":\"x.safetensors\",\"b\":\"x.safetensors\"}}"));
    }

    [Fact]
    public void NormalizeEtag_StripsWeakPrefixAndQuotes()
    {
        Assert.Equal("abc", HubClient.NormalizeEtag("W/\"abc\""));
        Assert.Equal("abc", HubClient.NormalizeEtag("\"abc\""));
    }
}

public sealed class HubCacheTests
{
    [Fact]
    public async Task ListRepos_ReportsSnapshotsRefsAndSizes()
    {
        using var tmp = new TempDir();
        await using var hub = await FakeHub.StartAsync();
        var files = HubTestUtil.Gpt2Files(5000);
        hub.Store.AddRepo("gpt2", HubTestUtil.Commit1, files, "main");
        hub.Store.AddRepo("EleutherAI/pythia-70m", HubTestUtil.Commit2, HubTestUtil.Gpt2Files(100, 5), "main");
        var settings = HubTestUtil.Settings(tmp.Path, hub);
        await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = settings });
        await ModelResolver.ResolveAsync("pythia-70m", new ResolveOptions { Settings = settings });
        Directory.CreateDirectory(Path.Combine(tmp.Path, "datasets--x--y")); // ignored
        Directory.CreateDirectory(Path.Combine(tmp.Path, ".locks"));

        var repos = new HubCache(tmp.Path).ListRepos();

        Assert.Equal(["EleutherAI/pythia-70m", "gpt2"], repos.Select(r => r.RepoId));
        var gpt2 = repos[1];
        var snap = Assert.Single(gpt2.Snapshots);
        Assert.Equal(HubTestUtil.Commit1, snap.Commit);
        Assert.True(snap.IsCompleteModel);
        Assert.Equal(["main"], snap.Refs);
        Assert.Contains("model.safetensors", snap.Files);
        long expected = files.Where(f => f.Key != "README.md").Sum(f => (long)f.Value.Content.Length);
        Assert.Equal(expected, snap.SizeBytes);
        Assert.Equal(expected, gpt2.SizeOnDiskBytes);
        Assert.Same(snap, gpt2.Find("main"));
        Assert.Same(snap, gpt2.BestComplete());
    }

    [Fact]
    public void ListRepos_MissingCacheDir_IsEmpty() =>
        Assert.Empty(new HubCache(Path.Combine(Path.GetTempPath(), "sna-none-" + Guid.NewGuid().ToString("N"))).ListRepos());
}

public sealed class HubSettingsExpansionTests
{
    private static readonly string Home = Path.Combine(Path.GetTempPath(), "fake-home");

    private static HubSettings From(params (string Key, string? Value)[] vars) =>
        HubSettings.FromEnvironment(vars.ToDictionary(v => v.Key, v => v.Value), Home);

    [Fact]
    public void HfHome_ExpandsVariables_AsPythonExpandvars() =>
        Assert.Equal(Path.GetFullPath("/scratch/alice/hf/hub"), From(("HF_HOME", "$SCRATCH/${USER}/hf"), ("SCRATCH", "/scratch"), ("USER", "alice")).CacheDir);

    [Fact]
    public void HfHubCache_TildeThenVariables() =>
        Assert.Equal(Path.Combine(Home, "x", "y"), From(("HF_HUB_CACHE", "~/$SUB/y"), ("SUB", "x")).CacheDir);

    [Fact]
    public void UnsetVariable_IsLeftAsWritten() =>
        Assert.Equal(Path.GetFullPath("/d/$NOPE/hub"), From(("HF_HOME", "/d/$NOPE")).CacheDir);

    [Fact]
    public void DisableImplicitToken_SendsNoToken()
    {
        Assert.Equal("hf_x", From(("HF_TOKEN", "hf_x")).Token);
        Assert.Null(From(("HF_TOKEN", "hf_x"), ("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")).Token);
    }

    [Fact]
    public void TokenFile_IsRead_UnlessImplicitTokenDisabled()
    {
        using var tmp = new Sna.Tests.TempDir();
        File.WriteAllText(Path.Combine(tmp.Path, "token"), "hf_fromfile\n");
        var env = new Dictionary<string, string?> { ["HF_HOME"] = tmp.Path };
        Assert.Equal("hf_fromfile", HubSettings.FromEnvironment(env, Home, readTokenFile: true).Token);
        env["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "true";
        Assert.Null(HubSettings.FromEnvironment(env, Home, readTokenFile: true).Token);
    }
}
