using System.Text.Json.Nodes;
using Sna.Runtime.Hub;

namespace Sna.Web.Tests;

/// <summary>Hub models through the library's hub client: listing, a model in a (temporary) hub cache, downloads from a
/// fake hub on 127.0.0.1. Never the real hub or ~/.cache.</summary>
public sealed class HubModelTests
{
    private const string Commit = "0123456789abcdef0123456789abcdef01234567";
    private const string Prompt = "Q: What is 7 + 5? A:";
    private const string Token = "hf_SECRETtoken0123456789";
    private static readonly string[] TinyFiles = ["config.json", "model.safetensors", "vocab.json", "merges.txt"];
    private static readonly string[] HubIds = ["hub:gpt2", "hub:gpt2-medium", "hub:gpt2-large", "hub:gpt2-xl", "hub:pythia-160m"];

    private static Task<WebServer> StartAsync(string cache, string endpoint, string? token = null) =>
        WebServer.StartAsync(o => o with { Hub = new HubSettings(cache, endpoint, token) });

    private static async Task<JsonNode> Model(WebServer s, string id)
    {
        var (status, body, _) = await s.SendAsync(HttpMethod.Get, "/api/models");
        Assert.Equal(200, status);
        return body!.AsArray().Single(m => (string?)m!["id"] == id)!;
    }

    private static async Task<JsonNode> WaitFor(WebServer s, string id, int seconds = 60)
    {
        var end = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var (status, body, _) = await s.SendAsync(HttpMethod.Get, $"/api/downloads/{id}");
            Assert.Equal(200, status);
            if ((string?)body!["state"] is "completed" or "failed" or "cancelled") return body;
            if (DateTime.UtcNow > end) throw new TimeoutException($"download {id}: {body.ToJsonString()}");
            await Task.Delay(50);
        }
    }

    private static async Task<double> BaselineProbability(WebServer s, string model)
    {
        var (status, body, _) = await s.PostAsync("/api/baseline", new { model, prompt = Prompt, target = " 12" });
        Assert.True(status == 200, body?.ToJsonString());
        return (double)body!["probability"]!;
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task EmptyCache_ListsThePapersHubModels_NotCached_WithTheirSizes()
    {
        using var cache = new TempDir();
        await using var s = await StartAsync(cache.Path, FakeHub.UnreachableUrl());
        foreach (var id in HubIds)
        {
            var m = await Model(s, id);
            var alias = ModelAliases.Find(id["hub:".Length..])!;
            Assert.Equal("hub", (string?)m["kind"]);
            Assert.False((bool)m["cached"]!);
            Assert.False((bool)m["available"]!);
            Assert.Equal(alias.RepoId, (string?)m["repo"]);
            Assert.Equal(alias.Parameters, (long)m["parameters"]!);
            Assert.Equal(alias.SafetensorsBytes, (long)m["sizeBytes"]!);
        }
        var fixture = await Model(s, WebServer.TinyId);
        Assert.Null(fixture["cached"]);
        Assert.Empty(Directory.EnumerateFileSystemEntries(cache.Path));   // listing never writes to the cache
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task ModelInTheHubCache_IsSelectable_AndServesTheBaseline()
    {
        using var cache = new TempDir();
        var repo = Path.Combine(cache.Path, "models--gpt2");
        var snapshot = Directory.CreateDirectory(Path.Combine(repo, "snapshots", Commit)).FullName;
        foreach (var f in TinyFiles) File.Copy(Path.Combine(TestPaths.TinyDir, f), Path.Combine(snapshot, f));
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), Commit);

        await using var s = await StartAsync(cache.Path, FakeHub.UnreachableUrl());
        var m = await Model(s, "hub:gpt2");
        Assert.True((bool)m["cached"]!);
        Assert.True((bool)m["available"]!);
        Assert.Equal(3, (int)m["layers"]!);
        Assert.False((bool)(await Model(s, "hub:gpt2-medium"))["cached"]!);
        Assert.Equal(await BaselineProbability(s, WebServer.TinyId), await BaselineProbability(s, "hub:gpt2"));
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task Download_FromTheHub_MakesTheModelSelectable()
    {
        await using var hub = await FakeHub.StartAsync();
        var files = TinyFiles.ToDictionary(f => f, f => new FakeFile(File.ReadAllBytes(Path.Combine(TestPaths.TinyDir, f)), Lfs: f.EndsWith(".safetensors")));
        hub.Store.AddRepo("gpt2", Commit, files, "main");
        using var cache = new TempDir();
        await using var s = await StartAsync(cache.Path, hub.Url, Token);
        Assert.False((bool)(await Model(s, "hub:gpt2"))["cached"]!);

        using var resp = await s.Client.PostAsync("/api/models/hub%3Agpt2/download", null);
        Assert.Equal(202, (int)resp.StatusCode);
        var started = JsonNode.Parse(await resp.Content.ReadAsStringAsync())!;
        string id = (string)started["id"]!;
        Assert.Equal($"/api/downloads/{id}", resp.Headers.Location?.ToString());
        Assert.Equal("hub:gpt2", (string?)started["model"]);
        Assert.Equal("gpt2", (string?)started["repo"]);

        var done = await WaitFor(s, id);
        Assert.True((string?)done["state"] == "completed", done.ToJsonString());
        Assert.Equal(Commit, (string?)done["commit"]);
        Assert.Equal(files.Values.Sum(f => (long)f.Content.Length), (long)done["bytesDone"]!);
        Assert.Null(done["problem"]);
        Assert.True(File.Exists(Path.Combine(cache.Path, "models--gpt2", "snapshots", Commit, "model.safetensors")));

        var m = await Model(s, "hub:gpt2");
        Assert.True((bool)m["cached"]!);
        Assert.True((bool)m["available"]!);
        Assert.Equal(await BaselineProbability(s, WebServer.TinyId), await BaselineProbability(s, "hub:gpt2"));
    }

    [Fact]
    public async Task Download_WhenTheHubIsUnreachable_FailsWithTheHubClientsMessage_AndNoToken()
    {
        using var cache = new TempDir();
        await using var s = await StartAsync(cache.Path, FakeHub.UnreachableUrl(), Token);
        var (status, body, _) = await s.PostAsync("/api/models/hub:gpt2-medium/download", new { });
        Assert.Equal(202, status);
        var done = await WaitFor(s, (string)body!["id"]!);
        Assert.Equal("failed", (string?)done["state"]);
        var problem = done["problem"]!;
        Assert.Equal(502, (int)problem["status"]!);
        Assert.Equal("The model could not be downloaded.", (string?)problem["title"]);
        Assert.Contains("cannot reach http://127.0.0.1:", (string?)problem["detail"]);
        Assert.Contains("gpt2-medium", (string?)problem["detail"]);
        Assert.DoesNotContain(Token, done.ToJsonString());
        Assert.DoesNotContain(cache.Path, done.ToJsonString());

        // The event stream ends with the same failed status.
        var events = await s.Client.GetStringAsync($"/api/downloads/{(string)body["id"]!}/events");
        Assert.Contains("event: done", events);
        Assert.Contains("cannot reach", events);
        Assert.DoesNotContain(Token, events);
        Assert.False((bool)(await Model(s, "hub:gpt2-medium"))["cached"]!);
    }

    [Fact]
    public async Task Download_IsCancellable()
    {
        await using var hub = await FakeHub.StartAsync();
        hub.ResponseDelay = TimeSpan.FromSeconds(20);
        using var cache = new TempDir();
        await using var s = await StartAsync(cache.Path, hub.Url);
        var (_, body, _) = await s.PostAsync("/api/models/hub:gpt2/download", new { });
        string id = (string)body!["id"]!;
        // A second request for the same model joins the running download.
        var (_, again, _) = await s.PostAsync("/api/models/hub:gpt2/download", new { });
        Assert.Equal(id, (string?)again!["id"]);

        var (delStatus, _, _) = await s.SendAsync(HttpMethod.Delete, $"/api/downloads/{id}");
        Assert.Equal(202, delStatus);
        var done = await WaitFor(s, id, seconds: 15);
        Assert.Equal("cancelled", (string?)done["state"]);
        Assert.False((bool)(await Model(s, "hub:gpt2"))["cached"]!);
    }

    [SharedTheory(Needs = TestPaths.TinyFixture)]
    [InlineData("fixture:gpt2-tiny-f32", 400)]
    [InlineData("sna-demo-gpt2", 400)]
    [InlineData("hub:nope", 404)]
    [InlineData("EleutherAI%2Fpythia-70m", 404)]
    [InlineData("hub:EleutherAI%2Fpythia-160m", 404)]
    [InlineData("..%2F..%2Fetc", 404)]
    public async Task OnlyTheListedHubModels_AreDownloadable(string id, int expected)
    {
        using var cache = new TempDir();
        await using var s = await StartAsync(cache.Path, FakeHub.UnreachableUrl());
        var (status, body, type) = await s.PostAsync($"/api/models/{id}/download", new { });
        Assert.Equal(expected, status);
        Assert.Equal("application/problem+json", type);
        Assert.NotNull(body!["detail"]);
        Assert.Empty(Directory.EnumerateFileSystemEntries(cache.Path));
    }

    [Fact]
    public async Task UnknownDownloadJob_Is404()
    {
        await using var s = await WebServer.StartAsync();
        var (status, _, type) = await s.SendAsync(HttpMethod.Get, "/api/downloads/nope");
        Assert.Equal(404, status);
        Assert.Equal("application/problem+json", type);
    }
}
