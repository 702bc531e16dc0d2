using System.Globalization;
using Microsoft.Playwright;

namespace Sna.Web.Tests;

/// <summary>A [Fact] that skips, with the reason, when Debian's Chromium is not installed (CI installs it).</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";
    public BrowserFactAttribute()
    {
        if (!File.Exists(Chromium)) Skip = $"{Chromium} is not installed (apt-get install chromium); the browser tests need it";
        else if (SharedData.SkipReasonFor([TestPaths.TinyFixture]) is { } why) Skip = why;   // the page is driven against the tiny fixture model
    }
}

/// <summary>The server (its hub: a fake one on 127.0.0.1 holding the tiny fixture as <c>gpt2</c>, and an empty temporary
/// cache), Playwright's driver and one headless Chromium with a fresh profile, shared by the browser tests.</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public WebServer Server { get; private set; } = null!;
    public IBrowserContext Context { get; private set; } = null!;
    private IPlaywright? _pw;
    private string? _profile;
    private FakeHub? _hub;
    private string? _hubCache;

    public async Task InitializeAsync()
    {
        // Without the tiny fixture every browser test is skipped ([BrowserFact] says why): start nothing.
        if (!TestPaths.Has("fixtures", TestPaths.TinyFixture)) return;
        _hub = await FakeHub.StartAsync();
        _hub.Store.AddRepo("gpt2", "0123456789abcdef0123456789abcdef01234567",
            new[] { "config.json", "model.safetensors", "vocab.json", "merges.txt" }.ToDictionary(f => f,
                f => new FakeFile(File.ReadAllBytes(Path.Combine(TestPaths.TinyDir, f)), Lfs: f.EndsWith(".safetensors"))), "main");
        _hubCache = Directory.CreateTempSubdirectory("sna-browser-hub-").FullName;
        Server = await WebServer.StartAsync(o => o with { Hub = new Sna.Runtime.Hub.HubSettings(_hubCache, _hub.Url) });
        if (!File.Exists(BrowserFactAttribute.Chromium)) return;
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _pw = await Playwright.CreateAsync();
        _profile = Directory.CreateTempSubdirectory("sna-chromium-").FullName;
        Context = await _pw.Chromium.LaunchPersistentContextAsync(_profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = BrowserFactAttribute.Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync"],
            ViewportSize = new ViewportSize { Width = 1360, Height = 900 },
            Timeout = 60_000,
        });
        Context.SetDefaultTimeout(30_000);
        // Nothing but the test server: any other request fails the page load.
        await Context.RouteAsync("**/*", route =>
            new Uri(route.Request.Url).Host == Server.BaseAddress.Host && new Uri(route.Request.Url).Port == Server.BaseAddress.Port
                ? route.ContinueAsync() : route.AbortAsync());
    }

    public async Task DisposeAsync()
    {
        if (_pw is not null) { await Context.CloseAsync(); _pw.Dispose(); }
        if (Server is not null) await Server.DisposeAsync();
        if (_hub is not null) await _hub.DisposeAsync();
        foreach (var dir in new[] { _profile, _hubCache })
            if (dir is not null) try { Directory.Delete(dir, true); } catch (IOException) { }
    }
}

public sealed class BrowserTests(BrowserFixture fx) : IClassFixture<BrowserFixture>
{
    private const string Prompt = "Q: What is 7 + 5? A:";

    private async Task<IPage> OpenAsync(string hash = "")
    {
        var page = await fx.Context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };
        await page.GotoAsync(new Uri(fx.Server.BaseAddress, "/" + hash).ToString());
        await page.WaitForSelectorAsync("body[data-ready=true]");
        Assert.Empty(errors);   // no CSP violations, no script errors
        return page;
    }

    private static async Task<double> ValueOf(IPage page, string selector) =>
        double.Parse((await page.GetAttributeAsync(selector, "data-value"))!, CultureInfo.InvariantCulture);

    /// <summary>issue #13: the "does the answer change?" panel shows exact match before → after with the CLI's numbers.</summary>
    [BrowserFact]
    public async Task ExactMatchPanel_ShowsTheTaskAnswersBeforeAndAfter()
    {
        var page = await OpenAsync();
        await page.SelectOptionAsync("#model", "sna-demo-gpt2");
        await page.SelectOptionAsync("#task", "logic-easy");
        await page.SelectOptionAsync("#amp-layer", "0");
        await page.FillAsync("#amp-count", "3");
        await page.FillAsync("#amp-neurons", "");
        await page.FillAsync("#amp-mult", "3");
        await page.ClickAsync("#em-box summary");
        await page.FillAsync("#em-generate", "8");
        await page.ClickAsync("#btn-exact-match");
        await page.WaitForSelectorAsync("#em-summary[data-after]");
        string command = (await page.TextContentAsync("#command"))!;
        Assert.StartsWith("sna amplify --task logic-easy --layer 0 --neurons ", command);
        var cli = Cli.Run(Cli.SplitShell(command)[1..])["exact_match"]!;
        Assert.Equal(((int)cli["correct_before"]!).ToString(CultureInfo.InvariantCulture), await page.GetAttributeAsync("#em-summary", "data-before"));
        Assert.Equal(((int)cli["correct_after"]!).ToString(CultureInfo.InvariantCulture), await page.GetAttributeAsync("#em-summary", "data-after"));
        Assert.Equal((int)cli["n"]!, await page.Locator("#em-table tbody tr").CountAsync());
        Assert.Contains("McNemar p", await page.TextContentAsync("#em-summary"));
        Assert.True(await page.Locator("#em-table").IsVisibleAsync());
        await page.CloseAsync();
    }

    [BrowserFact]
    public async Task Workflow_ShowsTheCliNumbers_AndSavesAScreenshot()
    {
        var page = await OpenAsync();
        Assert.Equal("SNA · Selective Neuron Amplification", await page.TitleAsync());
        // Hub models are listed but disabled.
        Assert.NotNull(await page.GetAttributeAsync("#model option[value='hub:gpt2-medium']", "disabled"));

        await page.SelectOptionAsync("#model", WebServer.TinyId);
        await page.FillAsync("#prompt", Prompt);
        await page.FillAsync("#target", " 12");
        await page.ClickAsync("#btn-baseline");
        await page.WaitForSelectorAsync("#p-base[data-value]");

        var cli = Cli.Run("baseline", "--model", TestPaths.TinyDir, "--prompt", Prompt, "--target", " 12", "--json");
        double p = (double)cli["probability"]!;
        Assert.Equal(p, await ValueOf(page, "#p-base"));
        Assert.Equal(p.ToString("E3", CultureInfo.InvariantCulture).Replace("E-00", "e-").Replace("E-0", "e-"), await page.TextContentAsync("#p-base"));
        Assert.Equal(((int)cli["rank"]!).ToString(CultureInfo.InvariantCulture), await page.TextContentAsync("#rank"));
        Assert.Equal(((int)cli["zone"]!).ToString(CultureInfo.InvariantCulture), await page.GetAttributeAsync("#zone", "data-zone"));
        // " 12" ranks beyond 1,000 on the fixture: the page shows sna advise's "Below Zone 1" verdict, not Zone 1's promise.
        Assert.True((int)cli["rank"]! > Sna.Research.Method.Advisor.KnowledgeRank);
        Assert.Equal("true", await page.GetAttributeAsync("#zone", "data-below-zone1"));
        Assert.StartsWith("Below Zone 1", await page.TextContentAsync("#zone b"));
        Assert.Contains(Sna.Research.Method.ZoneAdvice.BelowZone1Advice(), await page.TextContentAsync("#zone"));
        Assert.DoesNotContain("+27.85%", await page.TextContentAsync("#zone"));
        Assert.True(await page.IsVisibleAsync("#zone"));
        Assert.Equal(10, await page.Locator("#top-chart svg g").CountAsync());

        // Discover at layer 1, then amplify the top 5 at ×3.
        await page.SelectOptionAsync("#disc-layer", "1");
        await page.FillAsync("#disc-topk", "12");
        await page.ClickAsync("#btn-discover");
        await page.WaitForSelectorAsync("#disc-chart svg");
        Assert.Equal(12, await page.Locator("#disc-chart svg g").CountAsync());
        await page.FillAsync("#amp-mult", "3");
        await page.ClickAsync("#btn-amplify");
        await page.WaitForSelectorAsync("#p-after[data-value]");
        string command = (await page.TextContentAsync("#command"))!;
        Assert.StartsWith("sna amplify --model ", command);
        Assert.Contains("--layer 1 --neurons ", command);
        var amp = Cli.Run(Cli.SplitShell(command)[1..]);
        Assert.Equal((double)amp["baseline"]!["probability"]!, await ValueOf(page, "#p-before"));
        Assert.Equal((double)amp["amplified"]!["probability"]!, await ValueOf(page, "#p-after"));
        Assert.Equal((double)amp["improvement_pct"]!, await ValueOf(page, "#improvement"));
        Assert.False(string.IsNullOrWhiteSpace(await page.TextContentAsync("#cont-amp")));

        // Heat map: 3 layers × 3 multipliers.
        await page.FillAsync("#hm-mults", "0.5, 2, 5");
        await page.FillAsync("#hm-count", "5");
        await page.ClickAsync("#btn-heatmap");
        await page.WaitForSelectorAsync("#hm-progress[data-state=completed]");
        Assert.Equal(9, await page.Locator("#hm-chart svg g[data-layer]").CountAsync());

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(TestPaths.Artifacts, "web-screenshot.png"), FullPage = true });

        // The shareable link carries the configuration.
        await page.ClickAsync("#btn-link");
        Assert.Contains("prompt=", page.Url);
        Assert.Contains("neurons=", page.Url);
        await page.CloseAsync();
    }

    [BrowserFact]
    public async Task HubModels_DownloadButton_MakesTheModelSelectable_AndShowsHubErrors()
    {
        var page = await OpenAsync();
        var gpt2 = page.Locator(".hub-row[data-model='hub:gpt2']");
        Assert.Contains("548 MB", await gpt2.TextContentAsync());   // the alias's size, before downloading
        Assert.NotNull(await page.GetAttributeAsync("#model option[value='hub:gpt2']", "disabled"));

        // The fake hub has gpt2 (the tiny fixture): it downloads, the list refreshes and the model becomes selectable.
        await gpt2.Locator("button.download").ClickAsync();
        await page.WaitForSelectorAsync(".hub-row[data-model='hub:gpt2'] .cached");
        Assert.Null(await page.GetAttributeAsync("#model option[value='hub:gpt2']", "disabled"));
        await page.SelectOptionAsync("#model", "hub:gpt2");
        await page.ClickAsync("#btn-baseline");
        await page.WaitForSelectorAsync("#p-base[data-value]");

        // It does not have gpt2-medium: the hub client's message is shown under the row, and the button is back.
        var medium = page.Locator(".hub-row[data-model='hub:gpt2-medium']");
        await medium.Locator("button.download").ClickAsync();
        await page.WaitForSelectorAsync(".hub-row[data-model='hub:gpt2-medium'] .error");
        // (The fake hub answers an anonymous request for a repo it lacks with 401 RepoNotFound, as the real hub does.)
        Assert.Contains("repo not found: gpt2-medium", await medium.Locator(".error").TextContentAsync());
        Assert.Equal(1, await medium.Locator("button.download").CountAsync());
        await page.CloseAsync();
    }

    /// <summary>A target the model ranks in its top 1,000 (" logos", the fixture's most likely next token, P ≈ 0.004) is
    /// plain Zone 1 with the paper's promise; " 12" (rank beyond 1,000) is Below Zone 1 (see the workflow test).</summary>
    [BrowserFact]
    public async Task Zone1_target_the_model_knows_is_not_below_zone_1()
    {
        var page = await OpenAsync();
        await page.SelectOptionAsync("#model", WebServer.TinyId);
        await page.FillAsync("#prompt", Prompt);
        await page.FillAsync("#target", " logos");
        await page.ClickAsync("#btn-baseline");
        await page.WaitForSelectorAsync("#p-base[data-value]");
        Assert.True(int.Parse((await page.TextContentAsync("#rank"))!, CultureInfo.InvariantCulture) <= Sna.Research.Method.Advisor.KnowledgeRank);
        Assert.Equal("1", await page.GetAttributeAsync("#zone", "data-zone"));
        Assert.Equal("false", await page.GetAttributeAsync("#zone", "data-below-zone1"));
        Assert.StartsWith("Zone 1", await page.TextContentAsync("#zone b"));
        Assert.Contains("+27.85%", await page.TextContentAsync("#zone"));
        await page.CloseAsync();
    }

    [BrowserFact]
    public async Task InvalidInput_ShowsTheProblem()
    {
        var page = await OpenAsync();
        await page.SelectOptionAsync("#model", WebServer.TinyId);
        await page.FillAsync("#target", "");
        await page.ClickAsync("#btn-baseline");
        await page.WaitForSelectorAsync("#err-baseline:not([hidden])");
        Assert.Contains("target is required", await page.TextContentAsync("#err-baseline"));
        Assert.Equal("true", await page.GetAttributeAsync("#target", "aria-invalid"));

        await page.FillAsync("#target", " 12");
        await page.FillAsync("#amp-neurons", "1, 2");
        await page.FillAsync("#amp-mult", "500");
        await page.ClickAsync("#btn-amplify");
        await page.WaitForSelectorAsync("#err-amplify:not([hidden])");
        Assert.Contains("multiplier must be between 0 and 100, got 500", await page.TextContentAsync("#err-amplify"));

        await page.FillAsync("#amp-mult", "2");
        await page.FillAsync("#amp-neurons", "1, 999");
        await page.ClickAsync("#btn-amplify");
        await page.WaitForSelectorAsync("#err-amplify li[data-field=neurons]");
        Assert.Contains("neuron 999 is out of range: the model has 128 MLP neurons", await page.TextContentAsync("#err-amplify"));
        await page.CloseAsync();
    }

    [BrowserFact]
    public async Task SharedLink_RestoresTheConfigurationAndMeasures()
    {
        var q = $"#model={Uri.EscapeDataString(WebServer.TinyId)}&prompt={Uri.EscapeDataString(Prompt)}&target=%2012&layer=2&neurons=4,5&mult=7&pos=last";
        var page = await OpenAsync(q);
        await page.WaitForSelectorAsync("#p-base[data-value]");
        Assert.Equal(WebServer.TinyId, await page.InputValueAsync("#model"));
        Assert.Equal("4, 5", await page.InputValueAsync("#amp-neurons"));
        Assert.Equal("last", await page.InputValueAsync("#amp-positions"));
        var api = await fx.Server.PostAsync("/api/baseline", new { model = WebServer.TinyId, prompt = Prompt, target = " 12" });
        Assert.Equal((double)api.Body!["probability"]!, await ValueOf(page, "#p-base"));
        await page.CloseAsync();
    }
}
