using Microsoft.Playwright;
using Sna.Research.Method;
using Sna.Runtime.Models;

namespace Sna.Web.Tests;

/// <summary>Importing a neuron set file into the amplify form (issue #16): POST /api/neuron-set and the page.</summary>
public sealed class NeuronSetImportTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    internal static NeuronSetFile TinySet(string? sha = null)
    {
        string hash = sha ?? TinyHash();
        return new NeuronSetFile
        {
            ModelId = TestPaths.TinyDir, ModelSha256 = hash, Method = "differential", Bos = "prepend",
            TextsSha256 = NeuronSetFile.TextsHash(["Q: What is 7 + 5? A:"], ["The sky is blue."]), Task = "arith",
            Layers = [new NeuronSetLayer(1, [new(12, 0.9), new(40, 0.5), new(7, 0.25)]), new NeuronSetLayer(2, [new(3, 0.1)])],
            ToolVersion = "test", Created = new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero),
        };
    }

    private static string TinyHash()
    {
        using var m = ModelLoader.Load(TestPaths.TinyDir);
        return m.Provenance.ContentHash;
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task A_set_for_this_model_imports_its_layers_in_order()
    {
        var (status, body, _) = await fx.Server.PostAsync("/api/neuron-set", new { model = WebServer.TinyId, set = TinySet().ToJson() });
        Assert.Equal(200, status);
        Assert.True((bool)body!["sameModel"]!);
        Assert.Null(body["warning"]);
        Assert.Equal("differential", (string?)body["method"]);
        var layers = body["layers"]!.AsArray();
        Assert.Equal([1, 2], layers.Select(l => (int)l!["layer"]!));
        Assert.Equal([12, 40, 7], layers[0]!["neurons"]!.AsArray().Select(n => (int)n!));
        Assert.Equal([0.9, 0.5, 0.25], layers[0]!["scores"]!.AsArray().Select(n => (double)n!));
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task A_set_from_another_model_imports_with_a_warning()
    {
        var (status, body, _) = await fx.Server.PostAsync("/api/neuron-set", new { model = WebServer.TinyId, set = TinySet(new string('0', 64)).ToJson() });
        Assert.Equal(200, status);
        Assert.False((bool)body!["sameModel"]!);
        Assert.Contains("not on the loaded model", (string?)body["warning"]);
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task A_malformed_or_misfitting_set_is_a_400_naming_the_field()
    {
        string json = TinySet().ToJson();
        var (s1, b1, t1) = await fx.Server.PostAsync("/api/neuron-set", new { model = WebServer.TinyId, set = json.Replace("\"index\": 40", "\"index\": \"forty\"") });
        Assert.Equal(400, s1);
        Assert.Equal("application/problem+json", t1);
        Assert.Contains("layers[0].neurons[1].index", (string?)b1!["errors"]!["set"]![0]);
        var (s2, b2, _) = await fx.Server.PostAsync("/api/neuron-set", new { model = WebServer.TinyId, set = json.Replace("\"layer\": 2", "\"layer\": 7") });
        Assert.Equal(400, s2);
        Assert.Contains("layer 7", (string?)b2!["errors"]!["set"]![0]);
        var (s3, b3, _) = await fx.Server.PostAsync("/api/neuron-set", new { model = WebServer.TinyId, set = json.Replace("\"index\": 12", "\"index\": 500") });
        Assert.Equal(400, s3);
        Assert.Contains("neuron 500", (string?)b3!["errors"]!["set"]![0]);
        var (s4, _, _) = await fx.Server.PostAsync("/api/neuron-set", new { model = WebServer.TinyId, set = "" });
        Assert.Equal(400, s4);
    }
}

/// <summary>The page: a set file chosen in the amplify card fills layer and neurons; the amplification then uses them.</summary>
public sealed class NeuronSetImportBrowserTests(BrowserFixture fx) : IClassFixture<BrowserFixture>
{
    [BrowserFact]
    public async Task Uploading_a_set_file_fills_the_amplify_form_and_amplifies_those_neurons()
    {
        var page = await fx.Context.NewPageAsync();
        await page.GotoAsync(new Uri(fx.Server.BaseAddress, "/").ToString());
        await page.WaitForSelectorAsync("body[data-ready=true]");
        await page.SelectOptionAsync("#model", WebServer.TinyId);
        await page.FillAsync("#prompt", "Q: What is 7 + 5? A:");
        await page.FillAsync("#target", " 12");
        string path = Path.Combine(Path.GetTempPath(), $"sna-set-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, NeuronSetImportTests.TinySet().ToJson());
            await page.ClickAsync("#set-import summary");
            await page.SetInputFilesAsync("#set-file", path);
            await page.WaitForSelectorAsync("#set-note:has-text('Imported')");
            Assert.Equal("12, 40, 7", await page.InputValueAsync("#amp-neurons"));
            Assert.Equal("1", await page.InputValueAsync("#amp-layer"));
            Assert.Contains("also has layer 2", await page.TextContentAsync("#set-note"));
            await page.ClickAsync("#btn-amplify");
            await page.WaitForSelectorAsync("#p-after[data-value]");
            Assert.Contains("--layer 1 --neurons 12,40,7", await page.TextContentAsync("#command"));

            // A pasted broken set shows the problem, naming the field.
            await page.FillAsync("#set-text", NeuronSetImportTests.TinySet().ToJson().Replace("\"bos\": \"prepend\"", "\"bos\": \"maybe\""));
            await page.ClickAsync("#btn-set-import");
            await page.WaitForSelectorAsync("#err-set:not([hidden])");
            Assert.Contains("'bos'", await page.TextContentAsync("#err-set"));
        }
        finally { File.Delete(path); await page.CloseAsync(); }
    }
}
