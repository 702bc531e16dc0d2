using Sna.Tests;

namespace Sna.Cli.Tests;

/// <summary>
/// Done means: `sna download` then `sna baseline --model ID` against the fake hub serving the real repos' file sets
/// (<see cref="FakeHubRepos"/>), for every GPT-2 size id, Pythia and its .bin-only revision, and offline from a cache laid out
/// by hand as huggingface_hub writes it. Each baseline must equal the same command on the fixture directory.
/// </summary>
[Collection("cli")]
public sealed class HubCliTests
{
    private const string Prompt = "The capital of France is";
    private const string Target = " Paris";

    private static readonly string[] HubVars = ["HF_ENDPOINT", "HF_HUB_CACHE", "HF_HUB_OFFLINE"];

    private static T WithHubEnv<T>(string endpoint, string cache, bool offline, Func<T> body)
    {
        var saved = HubVars.ToDictionary(v => v, Environment.GetEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable("HF_ENDPOINT", endpoint);
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", cache);
            Environment.SetEnvironmentVariable("HF_HUB_OFFLINE", offline ? "1" : null);
            return body();
        }
        finally
        {
            foreach (var (k, v) in saved) Environment.SetEnvironmentVariable(k, v);
        }
    }

    private static double Probability(string model)
    {
        var j = CliHarness.Json("baseline", "--model", model, "--prompt", Prompt, "--target", Target, "--json");
        return j.GetProperty("probability").GetDouble();
    }

    [SkippableTheory]
    [InlineData("openai-community/gpt2-medium", "gpt2-tiny-f16", "models--openai-community--gpt2-medium")]
    [InlineData("gpt2", "gpt2-tiny-f32", "models--gpt2")]
    [InlineData("gpt2-xl", "gpt2-tiny-f32", "models--gpt2-xl")]
    [InlineData("openai-community/gpt2-xl", "gpt2-tiny-f32", "models--openai-community--gpt2-xl")]
    [InlineData("EleutherAI/pythia-160m", "pythia-tiny-f16", "models--EleutherAI--pythia-160m")]
    [InlineData("EleutherAI/pythia-160m@step1000", "pythia-tiny-f16", "models--EleutherAI--pythia-160m")]
    public async Task Download_ThenBaseline_EqualsTheFixture(string id, string fixture, string folder)
    {
        SharedData.Require();
        TestPaths.Need("fixtures", fixture);
        using var work = new TempDir();
        using var cache = new TempDir();
        var (hub, cdn) = await FakeHubRepos.StartAsync(work.Path);
        await using var _ = hub;
        await using var __ = cdn;

        var (code, output, err) = WithHubEnv(hub.Url, cache.Path, false, () => CliHarness.Run("download", id));
        Assert.True(code == 0, $"download {id}: exit {code}: {err}");
        string snapshot = output.Trim();
        Assert.StartsWith(Path.Combine(cache.Path, folder, "snapshots"), snapshot);
        Assert.Equal(id.EndsWith("@step1000", StringComparison.Ordinal), File.Exists(Path.Combine(snapshot, "pytorch_model.bin")));

        double expected = Probability(TestPaths.Fixture(fixture));
        double online = WithHubEnv(hub.Url, cache.Path, false, () => Probability(id));
        Assert.Equal(expected, online);
        hub.ResetRequests();
        double offline = WithHubEnv(FakeHub.UnreachableUrl(), cache.Path, true, () => Probability(id));
        Assert.Equal(expected, offline);
        Assert.Empty(hub.Requests);
    }

    [SkippableFact]
    public void Offline_FromAPythonLayoutCache_Baseline()
    {
        SharedData.Require();
        using var cache = new TempDir();
        const string commit = "6dcaa7a952f72f9298047fd5137cd6e4f05f41da";
        string repo = Path.Combine(cache.Path, "models--openai-community--gpt2-medium");
        string snap = Path.Combine(repo, "snapshots", commit);
        Directory.CreateDirectory(Path.Combine(repo, "blobs"));
        Directory.CreateDirectory(snap);
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), commit);
        foreach (var (name, src, lfs) in new[]
        {
            ("config.json", Path.Combine(TestPaths.Fixture("gpt2-tiny-f16"), "config.json"), false),
            ("model.safetensors", Path.Combine(TestPaths.Fixture("gpt2-tiny-f16"), "model.safetensors"), true),
            ("tokenizer.json", TestPaths.Data("tokenizers", "gpt2", "tokenizer.json"), false),
            ("vocab.json", TestPaths.Data("tokenizers", "gpt2", "vocab.json"), false),
            ("merges.txt", TestPaths.Data("tokenizers", "gpt2", "merges.txt"), false),
        })
        {
            var f = new FakeFile(File.ReadAllBytes(src), lfs);
            File.WriteAllBytes(Path.Combine(repo, "blobs", f.Etag), f.Content);
            File.CreateSymbolicLink(Path.Combine(snap, name), Path.Combine("..", "..", "blobs", f.Etag));
        }
        double expected = Probability(TestPaths.Fixture("gpt2-tiny-f16"));
        // Asked as the canonical id and as the legacy id: both find the folder Python wrote.
        foreach (var id in new[] { "openai-community/gpt2-medium", "gpt2-medium" })
            Assert.Equal(expected, WithHubEnv(FakeHub.UnreachableUrl(), cache.Path, true, () => Probability(id)));
        var (code, output, err) = WithHubEnv(FakeHub.UnreachableUrl(), cache.Path, true, () => CliHarness.Run("download", "openai-community/gpt2-medium"));
        Assert.True(code == 0, err);
        Assert.Equal(snap, output.Trim());
    }
}
