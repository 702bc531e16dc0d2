using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Web.Tests;

public sealed class ApiTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    private WebServer S => fx.Server;
    private const string Prompt = "Q: What is 7 + 5? A:";
    private const string Target = " 12";

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task Models_ListsFixturesBundledAndDisabledHubModels()
    {
        var (status, body, _) = await S.SendAsync(HttpMethod.Get, "/api/models");
        Assert.Equal(200, status);
        var models = body!.AsArray();
        var tiny = models.Single(m => (string?)m!["id"] == WebServer.TinyId)!;
        Assert.True((bool)tiny["available"]!);
        Assert.Equal(3, (int)tiny["layers"]!);
        Assert.Equal(128, (int)tiny["dMlp"]!);
        Assert.Contains(models, m => (string?)m!["id"] == "sna-demo-gpt2" && (bool)m["available"]!);
        foreach (var hub in new[] { "hub:gpt2", "hub:gpt2-medium", "hub:gpt2-large", "hub:gpt2-xl", "hub:pythia-160m" })
        {
            var m = models.Single(x => (string?)x!["id"] == hub)!;
            Assert.False((bool)m["available"]!);
            Assert.False((bool)m["cached"]!);
            Assert.Contains("hub cache", (string?)m["note"]);
        }
        Assert.DoesNotContain("/", models.Select(m => (string?)m!["name"]).Where(n => n is not null && !n.Contains("Pythia")).Aggregate("", (a, b) => a + b));
        Assert.All(models, m => Assert.Null(m!["directory"]));   // paths never leave the server in the listing
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task Baseline_EqualsTheLibrary()
    {
        var (status, body, _) = await S.PostAsync("/api/baseline", new { model = WebServer.TinyId, prompt = Prompt, target = Target, top = 10 });
        Assert.Equal(200, status);

        using var model = ModelLoader.Load(TestPaths.TinyDir);
        var tok = ModelTokenizer.FromDirectory(TestPaths.TinyDir);
        var ids = tok.Encode(Prompt, BosPolicy.Prepend);
        int target = tok.Encode(Target)[0];
        var logits = model.ForwardLast(ids);
        var s = Scoring.Score(logits, target);
        var top = Scoring.Top(logits, 10);

        Assert.Equal(target, (int)body!["targetId"]!);
        Assert.Equal(s.Probability, (double)body["probability"]!);
        Assert.Equal(s.LogProb, (double)body["logprob"]!);
        Assert.Equal(s.Rank, (int)body["rank"]!);
        Assert.Equal(ZoneThresholds.Paper.Zone(s.Probability), (int)body["zone"]!["zone"]!);
        Assert.Equal(ids, body["promptTokens"]!.AsArray().Select(t => (int)t!["id"]!).ToArray());
        var apiTop = body["top"]!.AsArray();
        Assert.Equal(10, apiTop.Count);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(top[i].Id, (int)apiTop[i]!["id"]!);
            Assert.Equal(top[i].Probability, (double)apiTop[i]!["probability"]!);
        }
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task Baseline_EqualsTheCliJson_AndTheCommandReproducesIt()
    {
        var (_, body, _) = await S.PostAsync("/api/baseline", new { model = WebServer.TinyId, prompt = Prompt, target = Target });
        string command = (string)body!["command"]!;
        Assert.StartsWith("sna baseline --model ", command);
        var args = Cli.SplitShell(command);
        Assert.Equal("sna", args[0]);
        var cli = Cli.Run(args[1..]);
        Assert.Equal((double)cli["probability"]!, (double)body["probability"]!);
        Assert.Equal((double)cli["logprob"]!, (double)body["logprob"]!);
        Assert.Equal((int)cli["rank"]!, (int)body["rank"]!);
        Assert.Equal((int)cli["zone"]!, (int)body["zone"]!["zone"]!);
        Assert.Equal((int)cli["target_id"]!, (int)body["targetId"]!);
        var cliTop = cli["top"]!.AsArray(); var apiTop = body["top"]!.AsArray();
        for (int i = 0; i < cliTop.Count; i++) Assert.Equal((double)cliTop[i]!["probability"]!, (double)apiTop[i]!["probability"]!);
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task Amplify_EqualsTheLibraryAndTheCli()
    {
        var req = new { model = WebServer.TinyId, prompt = "it's a 'quoted' prompt", target = Target, layer = 1, neurons = new[] { 3, 17, 42 }, multiplier = 2.5, positions = "last", bos = false, generate = 6 };
        var (status, body, _) = await S.PostAsync("/api/amplify", req);
        Assert.Equal(200, status);

        using var model = ModelLoader.Load(TestPaths.TinyDir);
        var tok = ModelTokenizer.FromDirectory(TestPaths.TinyDir);
        var ids = tok.Encode(req.prompt, BosPolicy.None);
        int target = tok.Encode(Target)[0];
        var amp = Amplification.Single(1, [3, 17, 42], 2.5f, PositionsMode.Last);
        var before = Scoring.Score(model.ForwardLast(ids), target);
        var after = Scoring.Score(model.ForwardLast(ids, amp.ToHooks(model.Config)), target);
        Assert.Equal(before.Probability, (double)body!["baseline"]!["probability"]!);
        Assert.Equal(after.Probability, (double)body["amplified"]!["probability"]!);
        Assert.Equal(Scoring.ImprovementPct(before.Probability, after.Probability), (double)body["improvementPct"]!);
        Assert.Equal(6, body["continuation"]!["baselineTokens"]!.AsArray().Count);
        Assert.Equal(6, body["continuation"]!["amplifiedTokens"]!.AsArray().Count);

        string command = (string)body["command"]!;
        Assert.Contains("--prompt 'it'\\''s a '\\''quoted'\\'' prompt'", command);
        Assert.Contains("--layer 1 --neurons 3,17,42 --multiplier 2.5 --positions last --no-bos --json", command);
        var cli = Cli.Run(Cli.SplitShell(command)[1..]);
        Assert.Equal((double)cli["baseline"]!["probability"]!, before.Probability);
        Assert.Equal((double)cli["amplified"]!["probability"]!, after.Probability);
        Assert.Equal((double)cli["improvement_pct"]!, (double)body["improvementPct"]!);
    }

    /// <summary>
    /// issue #13: the page's "does the answer change?" panel. POST /api/exact-match equals the library's GenerationEvaluator and
    /// the CLI line it returns (`sna amplify --task T --generate N --json`), on the bundled model where the answer does change
    /// for one prompt of logic-easy (7/22 → 6/22).
    /// </summary>
    [Fact]
    public async Task ExactMatch_EqualsTheLibraryAndTheCli()
    {
        var (status, body, _) = await S.PostAsync("/api/exact-match", new { model = "sna-demo-gpt2", task = "logic-easy", layer = 0, count = 3, multiplier = 3, generate = 8 });
        Assert.True(status == 200, body?.ToJsonString());
        using var model = ModelLoader.Load(TestPaths.BundledModelDir);
        var tok = ModelTokenizer.FromDirectory(TestPaths.BundledModelDir);
        var suite = TaskLibrary.BuiltIn("logic-easy");
        var neurons = new NeuronDiscovery(model, tok).ForTask(suite).TopIndices(0, 3);
        Assert.Equal(neurons, body!["neurons"]!.AsArray().Select(n => (int)n!).ToArray());
        var g = Sna.Research.Experiments.GenerationEvaluator.Evaluate(model, tok, suite, Amplification.Single(0, neurons, 3f), BosPolicy.Prepend, 0, 8);
        var em = g.ExactMatch;
        Assert.Equal(em.N, (int)body["n"]!);
        Assert.Equal(em.CorrectBefore, (int)body["correctBefore"]!);
        Assert.Equal(em.CorrectAfter, (int)body["correctAfter"]!);
        Assert.Equal(em.McNemar.PValue, (double)body["mcNemarP"]!);
        var rows = body["prompts"]!.AsArray();
        for (int i = 0; i < g.Prompts.Count; i++)
        {
            Assert.Equal(tok.Decode(g.Prompts[i].After), (string)rows[i]!["amplified"]!);
            Assert.Equal(g.Prompts[i].CorrectBefore, (bool)rows[i]!["correctBefore"]!);
        }
        Assert.NotEqual(em.CorrectBefore, em.CorrectAfter);   // this configuration changes an answer: the panel has something to show

        string command = (string)body["command"]!;
        Assert.Contains("amplify --task logic-easy --layer 0 --neurons ", command);
        Assert.EndsWith("--multiplier 3 --positions all --generate 8 --json", command);
        var cli = Cli.Run(Cli.SplitShell(command)[1..])["exact_match"]!;
        Assert.Equal((int)cli["correct_before"]!, (int)body["correctBefore"]!);
        Assert.Equal((int)cli["correct_after"]!, (int)body["correctAfter"]!);
        Assert.Equal((double)cli["mcnemar_p"]!, (double)body["mcNemarP"]!);

        var bad = await S.PostAsync("/api/exact-match", new { model = "sna-demo-gpt2", layer = 0, count = 3, multiplier = 3 });
        Assert.Equal(400, bad.Status);
        Assert.Contains("task", bad.Body!["errors"]!.AsObject().Select(kv => kv.Key));
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task Amplify_WithCount_UsesDiscoveredNeurons()
    {
        var d = await S.PostAsync("/api/discover", new { model = WebServer.TinyId, prompt = Prompt, layer = 2, topK = 5 });
        Assert.Equal(200, d.Status);
        var neurons = d.Body!["neurons"]!.AsArray().Select(n => (int)n!["neuron"]!).ToArray();
        Assert.Equal(5, neurons.Length);
        var diffs = d.Body["neurons"]!.AsArray().Select(n => (double)n!["difference"]!).ToArray();
        Assert.Equal(diffs.OrderByDescending(x => x), diffs);

        var a = await S.PostAsync("/api/amplify", new { model = WebServer.TinyId, prompt = Prompt, target = Target, layer = 2, count = 5, multiplier = 3, generate = 0 });
        Assert.Equal(200, a.Status);
        Assert.Equal(neurons, a.Body!["neurons"]!.AsArray().Select(n => (int)n!).ToArray());
        Assert.Null(a.Body["continuation"]);
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task Discover_OnATask()
    {
        var (status, body, _) = await S.PostAsync("/api/discover", new { model = WebServer.TinyId, task = "math-easy", layer = 0, topK = 3 });
        Assert.Equal(200, status);
        var suite = TaskLibrary.BuiltIn("math-easy");
        Assert.Equal(suite.DiscoveryTexts.Count, (int)body!["taskTexts"]!);
        Assert.Equal(TaskLibrary.NeutralCorpus.Count, (int)body["neutralTexts"]!);
        // the library's one discovery (what `sna neurons --task math-easy` runs), not a web variant
        using var model = ModelLoader.Load(TestPaths.TinyDir);
        var d = new NeuronDiscovery(model, ModelTokenizer.FromDirectory(TestPaths.TinyDir)).ForTask(suite);
        var want = d.Top(0, 3);
        var got = body["neurons"]!.AsArray();
        Assert.Equal(want.Select(n => n.Index), got.Select(n => (int)n!["neuron"]!));
        Assert.Equal(want.Select(n => n.Difference), got.Select(n => (double)n!["difference"]!));
        Assert.Equal(want.Select(n => d.Task.Layer(0)[n.Index]), got.Select(n => (double)n!["taskMean"]!));
    }

    /// <summary>
    /// The zone advice is the library's wording: " 12" ranks beyond 1,000 on the tiny fixture (P in Zone 1), so it is
    /// "Below Zone 1" with <c>sna advise</c>'s advice; " logos", the fixture's most likely next token (P ≈ 0.004), is Zone 1.
    /// </summary>
    [SharedTheory(Needs = TestPaths.TinyFixture)]
    [InlineData(" 12", true)]
    [InlineData(" logos", false)]
    public async Task Baseline_zone_advice_is_the_library_s_wording(string target, bool below)
    {
        var (status, body, _) = await S.PostAsync("/api/baseline", new { model = WebServer.TinyId, prompt = Prompt, target });
        Assert.Equal(200, status);
        int zone = (int)body!["zone"]!["zone"]!, rank = (int)body["rank"]!;
        Assert.Equal(1, zone);
        Assert.Equal(below, rank > Advisor.KnowledgeRank);   // the premise of each case
        Assert.Equal(below, (bool)body["zone"]!["belowZone1"]!);
        if (below)
        {
            Assert.Equal($"Below Zone 1 (rank {rank:N0} > 1,000)", (string?)body["zone"]!["label"]);
            Assert.Equal(ZoneAdvice.BelowZone1Advice(), (string?)body["zone"]!["advice"]);
            // The same verdict and advice as sna advise on this one prompt (the library's rule).
            var one = Advisor.Report("prompt", false, ScoreKind.FirstToken,
                [new PromptConfidence(0, Prompt, target, (int)body["targetId"]!, (double)body["probability"]!, (double)body["logprob"]!, rank, zone)],
                ZoneThresholds.Paper, MarginZones.Paper);
            Assert.True(one.BelowZone1);
            Assert.Contains((string)body["zone"]!["advice"]!, one.Advice);
        }
        else
        {
            Assert.Equal(ZoneAdvice.Label(zone, ZoneThresholds.Paper), (string?)body["zone"]!["label"]);
            Assert.Equal(ZoneAdvice.Advice(zone, ZoneThresholds.Paper), (string?)body["zone"]!["advice"]);
        }
    }

    public static TheoryData<string, string> InvalidBodies => new()
    {
        { """{"model":"fixture:gpt2-tiny-f32","prompt":"","target":" 12"}""", "prompt" },
        { """{"model":"fixture:gpt2-tiny-f32","prompt":"x","target":""}""", "target" },
        { """{"model":"fixture:gpt2-tiny-f32","prompt":"x"}""", "target" },
        { """{"prompt":"x","target":" 1"}""", "model" },
        { """{"model":"fixture:gpt2-tiny-f32","prompt":"x","target":" 1","top":0}""", "top" },
        { """{"model":"fixture:gpt2-tiny-f32","prompt":"x","target":" 1","top":101}""", "top" },
    };

    [SharedTheory(Needs = TestPaths.TinyFixture), MemberData(nameof(InvalidBodies))]
    public async Task Baseline_InvalidInput_Is400ProblemNamingTheField(string json, string field)
    {
        using var r = await S.Client.PostAsync("/api/baseline", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(await r.Content.ReadAsStringAsync())!;
        Assert.Equal(400, (int)body["status"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)body["errors"]![field]![0]));
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task Prompt_OverTheLengthLimit_Is400()
    {
        var (status, body, type) = await S.PostAsync("/api/baseline", new { model = WebServer.TinyId, prompt = new string('a', 2001), target = Target });
        Assert.Equal(400, status);
        Assert.Equal("application/problem+json", type);
        Assert.Contains("limit is 2000", (string)body!["errors"]!["prompt"]![0]!);
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task Prompt_LongerThanTheContext_Is400WithTheTokenCount()
    {
        var prompt = string.Concat(Enumerable.Repeat(" word", 100));
        var (status, body, _) = await S.PostAsync("/api/baseline", new { model = WebServer.TinyId, prompt, target = Target });
        Assert.Equal(400, status);
        Assert.Contains("the model's context is 64", (string)body!["errors"]!["prompt"]![0]!);
    }

    [SharedTheory(Needs = TestPaths.TinyFixture)]
    [InlineData("""{"layer":3,"neurons":[1],"multiplier":2}""", "layer", "out of range: the model has 3 layers")]
    [InlineData("""{"layer":-1,"neurons":[1],"multiplier":2}""", "layer", "out of range")]
    [InlineData("""{"layer":0,"neurons":[128],"multiplier":2}""", "neurons", "128 MLP neurons")]
    [InlineData("""{"layer":0,"neurons":[-4],"multiplier":2}""", "neurons", "out of range")]
    [InlineData("""{"layer":0,"neurons":[1],"multiplier":101}""", "multiplier", "between 0 and 100")]
    [InlineData("""{"layer":0,"neurons":[1],"multiplier":-1}""", "multiplier", "between 0 and 100")]
    [InlineData("""{"layer":0,"neurons":[1]}""", "multiplier", "required")]
    [InlineData("""{"layer":0,"multiplier":2}""", "neurons", "give neurons")]
    [InlineData("""{"layer":0,"count":0,"multiplier":2}""", "count", "between 1 and 128")]
    [InlineData("""{"layer":0,"neurons":[1],"multiplier":2,"positions":"first"}""", "positions", "positions must be all or last, got 'first'")]
    [InlineData("""{"layer":0,"neurons":[1],"multiplier":2,"generate":99}""", "generate", "between 0 and 32")]
    public async Task Amplify_InvalidInput_Is400NamingTheField(string extra, string field, string message)
    {
        var node = JsonNode.Parse(extra)!.AsObject();
        node["model"] = WebServer.TinyId; node["prompt"] = Prompt; node["target"] = Target;
        using var r = await S.Client.PostAsync("/api/amplify", new StringContent(node.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(await r.Content.ReadAsStringAsync())!;
        Assert.Contains(message, (string)body["errors"]![field]![0]!);
    }

    [Fact]
    public async Task MalformedJson_Is400ProblemWithAMessage()
    {
        using var r = await S.Client.PostAsync("/api/amplify", new StringContent("""{"model":"x","layer":"two"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        var text = await r.Content.ReadAsStringAsync();
        Assert.Contains("not valid JSON", text);
        Assert.DoesNotContain("   at ", text);   // no stack trace
    }

    [Fact]
    public async Task UnknownModelId_Is404Problem()
    {
        var (status, body, type) = await S.PostAsync("/api/baseline", new { model = "fixture:nope", prompt = "x", target = " y" });
        Assert.Equal(404, status);
        Assert.Equal("application/problem+json", type);
        Assert.Contains("GET /api/models", (string)body!["detail"]!);
    }

    [Fact]
    public async Task UnavailableHubModel_Is400WithTheNote()
    {
        var (status, body, _) = await S.PostAsync("/api/baseline", new { model = "hub:gpt2", prompt = "x", target = " y" });
        Assert.Equal(400, status);
        Assert.Contains("hub cache", (string)body!["errors"]!["model"]![0]!);
    }

    [Theory]
    [InlineData("../../../etc")]
    [InlineData("/work/shared/fixtures/gpt2-tiny-f32")]
    [InlineData("fixture:../gpt2-tiny-f32")]
    [InlineData("..\\..\\models")]
    [InlineData("~/models")]
    public async Task PathsAsModelIds_AreRejected(string id)
    {
        var (status, body, type) = await S.PostAsync("/api/baseline", new { model = id, prompt = "x", target = " y" });
        Assert.Equal(400, status);
        Assert.Equal("application/problem+json", type);
        Assert.Contains("paths are not accepted", (string)body!["errors"]!["model"]![0]!);
    }

    [Theory]
    [InlineData("/../../../../etc/passwd")]
    [InlineData("/%2e%2e/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("/..%2f..%2f..%2fetc%2fpasswd")]
    [InlineData("/app.js/../../../etc/passwd")]
    [InlineData("/ui/../Sna.Web.dll")]
    public async Task TraversalInUrls_ServesNothingFromDisk(string path)
    {
        using var r = await S.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(S.BaseAddress, path)) );
        var text = await r.Content.ReadAsStringAsync();
        Assert.DoesNotContain("root:", text);
        Assert.True(r.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest || text.Contains("<title>SNA"), $"{path}: {(int)r.StatusCode}");
    }

    [Fact]
    public async Task Page_IsServedWithASecurityPolicy_AndNoExternalResources()
    {
        using var r = await S.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains("default-src 'none'", r.Headers.GetValues("Content-Security-Policy").Single());
        var html = await r.Content.ReadAsStringAsync();
        Assert.Contains("<title>SNA", html);
        foreach (var file in new[] { "/", "/app.js", "/app.css" })
        {
            var text = await S.Client.GetStringAsync(file);
            Assert.DoesNotContain("http://", text.Replace("http://www.w3.org/2000/svg", ""));
            Assert.DoesNotMatch(@"(src|href)=""https?:", text);
        }
    }

    [Fact]
    public async Task UnknownApiRoute_Is404Problem()
    {
        var (status, _, type) = await S.SendAsync(HttpMethod.Get, "/api/nothing-here");
        Assert.Equal(404, status);
        Assert.Equal("application/problem+json", type);
    }

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task TheSameModelIsSharedSafelyAcrossConcurrentRequests()
    {
        var prompts = Enumerable.Range(0, 16).Select(i => $"{i} + {i} =").ToArray();
        var results = await Task.WhenAll(prompts.Select(p => S.PostAsync("/api/baseline", new { model = WebServer.TinyId, prompt = p, target = Target })));
        using var model = ModelLoader.Load(TestPaths.TinyDir);
        var tok = ModelTokenizer.FromDirectory(TestPaths.TinyDir);
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(200, results[i].Status);
            var s = Scoring.Score(model.ForwardLast(tok.Encode(prompts[i], BosPolicy.Prepend)), tok.Encode(Target)[0]);
            Assert.Equal(s.Probability, (double)results[i].Body!["probability"]!);
        }
    }
}
