using Sna.Runtime.Hub;
using static Sna.Core.Tests.Hub.HubTestUtil;

namespace Sna.Core.Tests.Hub;

public sealed class HubClientTests
{
    private static async Task<(FakeHub Hub, Dictionary<string, FakeFile> Files)> StartGpt2Async(int weightBytes = 300_000)
    {
        var hub = await FakeHub.StartAsync();
        var files = Gpt2Files(weightBytes);
        hub.Store.AddRepo("gpt2", Commit1, files, "main");
        return (hub, files);
    }

    [Fact]
    public async Task FirstDownload_WritesHuggingFaceCacheLayout()
    {
        using var tmp = new TempDir();
        var (hub, files) = await StartGpt2Async();
        await using var _ = hub;
        var progress = new ListProgress();

        var r = await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub), Progress = progress });

        string repoDir = Path.Combine(tmp.Path, "models--gpt2");
        Assert.Equal(Path.Combine(repoDir, "snapshots", Commit1), r.Directory);
        Assert.Equal(ModelSource.Downloaded, r.Source);
        Assert.Equal(Commit1, r.Commit);
        Assert.Equal(Commit1, File.ReadAllText(Path.Combine(repoDir, "refs", "main")));

        var weights = files["model.safetensors"];
        string blob = Path.Combine(repoDir, "blobs", weights.Sha256);
        Assert.Equal(weights.Content, File.ReadAllBytes(blob));
        var link = new FileInfo(Path.Combine(r.Directory, "model.safetensors"));
        Assert.Equal(Path.Combine("..", "..", "blobs", weights.Sha256), link.LinkTarget);
        Assert.Equal(weights.Content, File.ReadAllBytes(link.FullName));

        var config = files["config.json"];
        Assert.Equal(Path.Combine("..", "..", "blobs", config.GitOid), new FileInfo(Path.Combine(r.Directory, "config.json")).LinkTarget);
        foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt" })
            Assert.Equal(files[f].Content, File.ReadAllBytes(Path.Combine(r.Directory, f)));
        Assert.False(File.Exists(Path.Combine(r.Directory, "README.md")));
        Assert.False(File.Exists(Path.Combine(r.Directory, "special_tokens_map.json")));
        Assert.True(File.Exists(Path.Combine(repoDir, ".no_exist", Commit1, "special_tokens_map.json")));
        Assert.Empty(Directory.GetFiles(Path.Combine(repoDir, "blobs"), "*.incomplete"));

        var last = progress.Reports.Last(p => p.File == "model.safetensors");
        Assert.True(last.Completed);
        Assert.Equal(weights.Content.Length, last.BytesDone);
        Assert.Equal(weights.Content.Length, last.TotalBytes);
        // The LFS file was fetched through the redirect ("CDN").
        Assert.Contains(hub.Requests, q => q.Method == "GET" && q.Target.StartsWith("/cdn/" + weights.Sha256, StringComparison.Ordinal));
    }

    [Fact]
    public async Task OrgRepo_AliasAndRevision_UseNestedFolderNameAndRef()
    {
        using var tmp = new TempDir();
        await using var hub = await FakeHub.StartAsync();
        hub.Store.AddRepo("EleutherAI/pythia-160m", Commit2, Gpt2Files(1000, seed: 7), "step1000");

        var r = await ModelResolver.ResolveAsync("pythia-160m@step1000", new ResolveOptions { Settings = Settings(tmp.Path, hub) });

        string repoDir = Path.Combine(tmp.Path, "models--EleutherAI--pythia-160m");
        Assert.Equal(Path.Combine(repoDir, "snapshots", Commit2), r.Directory);
        Assert.Equal(Commit2, File.ReadAllText(Path.Combine(repoDir, "refs", "step1000")));
        Assert.Contains(hub.Requests, q => q.Target == "/api/models/EleutherAI/pythia-160m/revision/step1000?blobs=true");
    }

    [Fact]
    public async Task CacheHit_Offline_MakesNoRequest()
    {
        using var tmp = new TempDir();
        var (hub, _) = await StartGpt2Async();
        await using var __ = hub;
        var first = await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub) });
        hub.ResetRequests();

        var again = await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub), Offline = true });

        Assert.Equal(first.Directory, again.Directory);
        Assert.Equal(ModelSource.Cache, again.Source);
        Assert.Empty(hub.Requests);
    }

    [Fact]
    public async Task CacheHit_PinnedCommit_Online_MakesNoRequest()
    {
        using var tmp = new TempDir();
        var (hub, _) = await StartGpt2Async();
        await using var __ = hub;
        await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub) });
        hub.ResetRequests();

        using var client = new HubClient(Settings(tmp.Path, hub));
        var snap = await client.DownloadModelAsync("gpt2", Commit1);

        Assert.Equal(0, snap.RequestsMade);
        Assert.Equal(0, snap.BytesDownloaded);
        Assert.Empty(hub.Requests);
    }

    [Fact]
    public async Task CacheHit_Branch_Online_MakesOneListingRequest()
    {
        using var tmp = new TempDir();
        var (hub, _) = await StartGpt2Async();
        await using var __ = hub;
        await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub) });
        hub.ResetRequests();

        var again = await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub) });

        Assert.Equal(ModelSource.Cache, again.Source);
        var q = Assert.Single(hub.Requests);
        Assert.Equal("GET", q.Method);
        Assert.Equal("/api/models/gpt2/revision/main?blobs=true", q.Target);
    }

    [Fact]
    public async Task NewCommitOnBranch_DownloadsOnlyChangedBlobs_AndMovesRef()
    {
        using var tmp = new TempDir();
        var (hub, files) = await StartGpt2Async();
        await using var __ = hub;
        await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub) });
        var files2 = new Dictionary<string, FakeFile>(files) { ["config.json"] = Text("{\"n_layer\":3}") };
        hub.Store.AddRepo("gpt2", Commit2, files2, "main");
        hub.ResetRequests();

        var r = await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub) });

        Assert.EndsWith(Commit2, r.Directory, StringComparison.Ordinal);
        Assert.Equal(Commit2, File.ReadAllText(Path.Combine(tmp.Path, "models--gpt2", "refs", "main")));
        Assert.DoesNotContain(hub.Requests, q => q.Target.StartsWith("/cdn/", StringComparison.Ordinal)); // weights blob reused
        Assert.Equal("{\"n_layer\":3}", File.ReadAllText(Path.Combine(r.Directory, "config.json")));
    }

    [Fact]
    public async Task PartialDownload_IsResumedWithRange()
    {
        using var tmp = new TempDir();
        var (hub, files) = await StartGpt2Async(weightBytes: 1_000_000);
        await using var __ = hub;
        var weights = files["model.safetensors"];
        string blobs = Path.Combine(tmp.Path, "models--gpt2", "blobs");
        Directory.CreateDirectory(blobs);
        int half = weights.Content.Length / 2;
        File.WriteAllBytes(Path.Combine(blobs, weights.Sha256 + ".incomplete"), weights.Content[..half]);

        var progress = new ListProgress();
        var r = await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub), Progress = progress });

        var cdn = Assert.Single(hub.Requests, q => q.Target.StartsWith("/cdn/", StringComparison.Ordinal));
        Assert.Equal($"bytes={half}-", cdn.Range);
        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(r.Directory, "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(blobs, weights.Sha256 + ".incomplete")));
        Assert.Equal(half, progress.Reports.First(p => p.File == "model.safetensors").BytesDone);
        Assert.Equal(weights.Content.Length - half, r.BytesDownloaded - files.Where(f => !f.Value.Lfs && f.Key != "README.md").Sum(f => f.Value.Content.Length));
    }

    [Fact]
    public async Task PartialDownload_ServerIgnoringRange_RestartsFromZero()
    {
        using var tmp = new TempDir();
        var (hub, files) = await StartGpt2Async();
        await using var __ = hub;
        hub.IgnoreRange = true;
        var weights = files["model.safetensors"];
        string blobs = Path.Combine(tmp.Path, "models--gpt2", "blobs");
        Directory.CreateDirectory(blobs);
        File.WriteAllBytes(Path.Combine(blobs, weights.Sha256 + ".incomplete"), weights.Content[..1000]);

        var r = await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub) });

        Assert.Contains(hub.Requests, q => q.Target.StartsWith("/cdn/", StringComparison.Ordinal) && q.Range == "bytes=1000-");
        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(r.Directory, "model.safetensors")));
    }

    [Fact]
    public async Task CorruptDownload_IsRejectedByChecksum_AndNothingIsLeftBehind()
    {
        using var tmp = new TempDir();
        var (hub, files) = await StartGpt2Async();
        await using var __ = hub;
        hub.CorruptLfs = true;

        var e = await Assert.ThrowsAsync<HubException>(() =>
            ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub) }));

        Assert.Equal(HubErrorKind.Integrity, e.Kind);
        Assert.Contains("checksum mismatch for gpt2/model.safetensors", e.Message);
        Assert.Contains(files["model.safetensors"].Sha256, e.Message);
        string blobs = Path.Combine(tmp.Path, "models--gpt2", "blobs");
        Assert.False(File.Exists(Path.Combine(blobs, files["model.safetensors"].Sha256)));
        Assert.Empty(Directory.GetFiles(blobs, "*.incomplete"));
        Assert.False(HubCache.FileUsable(Path.Combine(tmp.Path, "models--gpt2", "snapshots", Commit1, "model.safetensors")));
    }

    [Fact]
    public async Task CorruptPartialPrefix_IsRejectedAndDeleted()
    {
        using var tmp = new TempDir();
        var (hub, files) = await StartGpt2Async();
        await using var __ = hub;
        var weights = files["model.safetensors"];
        string partial = Path.Combine(tmp.Path, "models--gpt2", "blobs", weights.Sha256 + ".incomplete");
        Directory.CreateDirectory(Path.GetDirectoryName(partial)!);
        File.WriteAllBytes(partial, new byte[1000]); // wrong bytes

        var e = await Assert.ThrowsAsync<HubException>(() =>
            ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub) }));
        Assert.Equal(HubErrorKind.Integrity, e.Kind);
        Assert.False(File.Exists(partial));

        // A second run starts clean and succeeds.
        var r = await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub) });
        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(r.Directory, "model.safetensors")));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("hf_wrongTOKEN_abc123")]
    public async Task Unauthorized_SaysSetHfToken_AndNeverShowsToken(string? token)
    {
        using var tmp = new TempDir();
        var (hub, _) = await StartGpt2Async();
        await using var __ = hub;
        hub.RequiredToken = "hf_theRealToken_xyz789";

        var e = await Assert.ThrowsAsync<HubException>(() =>
            ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub, token) }));

        if (token is null)
        {
            // Anonymous 401 RepoNotFound: huggingface_hub's RepositoryNotFoundError (missing, or private/gated).
            Assert.Equal(HubErrorKind.NotFound, e.Kind);
            Assert.StartsWith("repo not found: gpt2", e.Message);
            Assert.Contains("if it is private or gated, set HF_TOKEN", e.Message);
            return;
        }
        Assert.Equal(HubErrorKind.Authentication, e.Kind);
        Assert.StartsWith("authentication required for gpt2: set HF_TOKEN", e.Message);
        if (token is not null)
        {
            Assert.DoesNotContain(token, e.Message);
            Assert.DoesNotContain(token, e.ToString());
            Assert.Contains(hub.Requests, q => q.Authorization == "Bearer " + token);
        }
    }

    [Fact]
    public async Task Token_IsSentToHub_ButNotToCrossOriginCdn()
    {
        using var tmp = new TempDir();
        var store = new FakeHubStore();
        store.AddRepo("gpt2", Commit1, Gpt2Files(), "main");
        await using var hub = await FakeHub.StartAsync(store);
        await using var cdn = await FakeHub.StartAsync(store);
        hub.RequiredToken = "hf_goodToken_123";
        hub.CdnBaseUrl = cdn.Url;

        var r = await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub, "hf_goodToken_123") });

        Assert.Equal(ModelSource.Downloaded, r.Source);
        Assert.All(hub.Requests, q => Assert.Equal("Bearer hf_goodToken_123", q.Authorization));
        var cdnReq = Assert.Single(cdn.Requests);
        Assert.Null(cdnReq.Authorization);
    }

    [Fact]
    public async Task SameOriginCdnRedirect_KeepsToken()
    {
        using var tmp = new TempDir();
        var (hub, _) = await StartGpt2Async();
        await using var __ = hub;
        await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub, "hf_tok") });
        Assert.All(hub.Requests, q => Assert.Equal("Bearer hf_tok", q.Authorization));
    }

    [Fact]
    public void SameOrigin_ComparesSchemeHostAndPort()
    {
        var ep = new Uri("https://huggingface.co/");
        Assert.True(HubClient.SameOrigin(ep, new Uri("https://huggingface.co/gpt2/resolve/main/x")));
        Assert.True(HubClient.SameOrigin(ep, new Uri("https://HuggingFace.co:443/x")));
        Assert.False(HubClient.SameOrigin(ep, new Uri("https://cdn-lfs.huggingface.co/x")));
        Assert.False(HubClient.SameOrigin(ep, new Uri("http://huggingface.co/x")));
        Assert.False(HubClient.SameOrigin(ep, new Uri("https://huggingface.co:8443/x")));
    }

    [Fact]
    public async Task UnknownRepo_IsNotFound_WithRepoFileAndRevision()
    {
        using var tmp = new TempDir();
        var (hub, _) = await StartGpt2Async();
        await using var __ = hub;

        var e = await Assert.ThrowsAsync<HubException>(() =>
            ModelResolver.ResolveAsync("nobody/nothing", new ResolveOptions { Settings = Settings(tmp.Path, hub, "hf_secret_tok") }));

        Assert.Equal(HubErrorKind.NotFound, e.Kind);
        Assert.StartsWith("repo or file not found: nobody/nothing/(file list)@main (repo not found)", e.Message);
        Assert.DoesNotContain("hf_secret_tok", e.Message);
    }

    [Fact]
    public async Task UnknownRevision_IsNotFound()
    {
        using var tmp = new TempDir();
        var (hub, _) = await StartGpt2Async();
        await using var __ = hub;
        var e = await Assert.ThrowsAsync<HubException>(() =>
            ModelResolver.ResolveAsync("gpt2@step999", new ResolveOptions { Settings = Settings(tmp.Path, hub) }));
        Assert.Equal(HubErrorKind.NotFound, e.Kind);
        Assert.Contains("gpt2/(file list)@step999", e.Message);
        Assert.Contains("revision 'step999' not found", e.Message);
    }

    [Fact]
    public async Task PytorchBinOnlyRepo_DownloadsTheBin_NotTheOtherFormats()
    {
        using var tmp = new TempDir();
        await using var hub = await FakeHub.StartAsync();
        var files = Gpt2Files();
        files.Remove("model.safetensors");
        files["pytorch_model.bin"] = new FakeFile(RandomBytes(5000, 3), Lfs: true);
        files["tf_model.h5"] = new FakeFile(RandomBytes(3000, 4), Lfs: true);
        hub.Store.AddRepo("EleutherAI/pythia-160m", Commit1, files, "step1000");

        var r = await ModelResolver.ResolveAsync("EleutherAI/pythia-160m@step1000", new ResolveOptions { Settings = Settings(tmp.Path, hub) });

        Assert.Equal(files["pytorch_model.bin"].Content, File.ReadAllBytes(Path.Combine(r.Directory, "pytorch_model.bin")));
        Assert.False(File.Exists(Path.Combine(r.Directory, "tf_model.h5")));
        Assert.DoesNotContain(hub.Requests, q => q.Target.Contains("tf_model", StringComparison.Ordinal) || q.Target.Contains("model.safetensors", StringComparison.Ordinal));
        Assert.Empty(ModelFiles.FindMissing(r.Directory));
    }

    [Fact]
    public async Task ShardedSafetensors_DownloadsIndexAndAllShards()
    {
        using var tmp = new TempDir();
        await using var hub = await FakeHub.StartAsync();
        var files = Gpt2Files();
        files.Remove("model.safetensors");
        files["model.safetensors.index.json"] = Text(
            "{\"metadata\":{\"total_size\":3000},\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\",\"c\":\"model-00001-of-00002.safetensors\"}}");
        files["model-00001-of-00002.safetensors"] = new FakeFile(RandomBytes(2000, 11), Lfs: true);
        files["model-00002-of-00002.safetensors"] = new FakeFile(RandomBytes(1000, 12), Lfs: true);
        hub.Store.AddRepo("org/sharded", Commit1, files, "main");

        var r = await ModelResolver.ResolveAsync("org/sharded", new ResolveOptions { Settings = Settings(tmp.Path, hub) });

        Assert.Empty(ModelFiles.FindMissing(r.Directory));
        Assert.Equal(files["model-00002-of-00002.safetensors"].Content,
            File.ReadAllBytes(Path.Combine(r.Directory, "model-00002-of-00002.safetensors")));

        // And offline afterwards, it is complete.
        var off = await ModelResolver.ResolveAsync("org/sharded", new ResolveOptions { Settings = Settings(tmp.Path, hub), Offline = true });
        Assert.Equal(r.Directory, off.Directory);
    }

    [Fact]
    public async Task RenamedRepo_RelativeRedirectIsFollowed_CacheKeepsRequestedId()
    {
        using var tmp = new TempDir();
        await using var hub = await FakeHub.StartAsync();
        hub.Store.AddRepo("openai-community/gpt2", Commit1, Gpt2Files(), "main");
        hub.Store.Renamed["gpt2"] = "openai-community/gpt2";

        var r = await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub) });

        Assert.Equal(Path.Combine(tmp.Path, "models--gpt2", "snapshots", Commit1), r.Directory);
        Assert.Contains(hub.Requests, q => q.Target == "/api/models/openai-community/gpt2/revision/main?blobs=true");
        Assert.Contains(hub.Requests, q => q.Target == $"/openai-community/gpt2/resolve/{Commit1}/config.json");
    }

    [Fact]
    public void Offline_EmptyCache_ListsMissingFilesAndHowToGetThem()
    {
        using var tmp = new TempDir();
        using var client = new HubClient(Settings(tmp.Path, null, offline: true));

        var e = Assert.Throws<HubException>(() => client.GetCachedModel("gpt2"));

        Assert.Equal(HubErrorKind.Offline, e.Kind);
        Assert.Contains("config.json", e.MissingFiles);
        Assert.Contains(e.MissingFiles, m => m.StartsWith("model.safetensors", StringComparison.Ordinal));
        Assert.Contains("gpt2 is not in the Hugging Face cache", e.Message);
        Assert.Contains("sna download gpt2", e.Message);
        Assert.Contains("models--gpt2", e.Message);
    }

    [Fact]
    public async Task Offline_PartialSnapshot_NamesOnlyTheMissingFiles()
    {
        using var tmp = new TempDir();
        string snap = Path.Combine(tmp.Path, "models--gpt2", "snapshots", Commit1);
        Directory.CreateDirectory(snap);
        File.WriteAllText(Path.Combine(snap, "config.json"), "{}");
        File.WriteAllText(Path.Combine(snap, "tokenizer.json"), "{}");
        Directory.CreateDirectory(Path.Combine(tmp.Path, "models--gpt2", "refs"));
        File.WriteAllText(Path.Combine(tmp.Path, "models--gpt2", "refs", "main"), Commit1);

        var e = await Assert.ThrowsAsync<HubException>(() =>
            ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, null), Offline = true }));

        Assert.Equal(HubErrorKind.Offline, e.Kind);
        Assert.Equal([ModelFiles.MissingWeightsDescription], e.MissingFiles);
        Assert.Contains("incomplete", e.Message);
    }

    [Fact]
    public async Task Offline_FromSettings_MakesNoRequestEvenWhenCacheEmpty()
    {
        using var tmp = new TempDir();
        var (hub, _) = await StartGpt2Async();
        await using var __ = hub;
        var e = await Assert.ThrowsAsync<HubException>(() =>
            ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub, offline: true) }));
        Assert.Equal(HubErrorKind.Offline, e.Kind);
        Assert.Empty(hub.Requests);
    }

    [Fact]
    public async Task Unreachable_WithoutCache_IsClearNetworkError()
    {
        using var tmp = new TempDir();
        var settings = new HubSettings(tmp.Path, FakeHub.UnreachableUrl(), "hf_net_secret");

        var e = await Assert.ThrowsAsync<HubException>(() =>
            ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = settings }));

        Assert.Equal(HubErrorKind.Network, e.Kind);
        Assert.StartsWith("network error: cannot reach http://127.0.0.1:", e.Message);
        Assert.Contains("no complete copy", e.Message);
        Assert.DoesNotContain("hf_net_secret", e.Message);
    }

    [Fact]
    public async Task Unreachable_WithCompleteCache_FallsBackWithWarning()
    {
        using var tmp = new TempDir();
        var (hub, _) = await StartGpt2Async();
        string dir;
        await using (hub)
            dir = (await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub) })).Directory;

        var settings = new HubSettings(tmp.Path, FakeHub.UnreachableUrl());
        var r = await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = settings });

        Assert.Equal(dir, r.Directory);
        Assert.Equal(ModelSource.Cache, r.Source);
        Assert.NotNull(r.Warning);
        Assert.Contains("using the cached snapshot", r.Warning);
    }

    [Fact]
    public async Task BrokenSymlink_IsRepaired()
    {
        using var tmp = new TempDir();
        var (hub, files) = await StartGpt2Async();
        await using var __ = hub;
        var r = await ModelResolver.ResolveAsync("gpt2", new ResolveOptions { Settings = Settings(tmp.Path, hub) });
        File.Delete(Path.Combine(tmp.Path, "models--gpt2", "blobs", files["model.safetensors"].Sha256));

        using var client = new HubClient(Settings(tmp.Path, hub));
        var snap = await client.DownloadModelAsync("gpt2", Commit1);

        Assert.Equal(files["model.safetensors"].Content.Length, snap.BytesDownloaded);
        Assert.Equal(files["model.safetensors"].Content, File.ReadAllBytes(Path.Combine(r.Directory, "model.safetensors")));
    }

    [Fact]
    public async Task PullRequestRevision_IsEscapedInUrl_AndStoredAsNestedRef()
    {
        using var tmp = new TempDir();
        await using var hub = await FakeHub.StartAsync();
        hub.Store.AddRepo("gpt2", Commit2, Gpt2Files(100), "refs/pr/1");

        var r = await ModelResolver.ResolveAsync("gpt2@refs/pr/1", new ResolveOptions { Settings = Settings(tmp.Path, hub) });

        Assert.EndsWith(Commit2, r.Directory, StringComparison.Ordinal);
        Assert.Contains(hub.Requests, q => q.Target == "/api/models/gpt2/revision/refs%2Fpr%2F1?blobs=true");
        Assert.Equal(Commit2, File.ReadAllText(Path.Combine(tmp.Path, "models--gpt2", "refs", "refs", "pr", "1")));
        Assert.Equal(Commit2, Assert.Single(new HubCache(tmp.Path).ListRepos()).Refs["refs/pr/1"]);
    }
}
