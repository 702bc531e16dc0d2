using Microsoft.Playwright;
using Sna.Research.Analysis;
using Sna.Research.Reporting;

namespace Sna.Web.Tests;

/// <summary>
/// The sweep report in headless Chromium (#16): at 1200 px every column of the per-task table is visible without scrolling and
/// the provenance block is on the first screen; at phone width the table scrolls inside its box with the task column pinned.
/// Screenshots go to a temp dir, or to <c>SNA_SCREENSHOT_DIR</c> when set.
/// </summary>
public sealed class ReportBrowserTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sna-report-browser-").FullName;
    private IPlaywright? _pw;
    private IBrowser? _browser;

    public async Task InitializeAsync()
    {
        if (!File.Exists(BrowserFactAttribute.Chromium)) return;
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _pw = await Playwright.CreateAsync();
        _browser = await _pw.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = BrowserFactAttribute.Chromium, Headless = true,
            Args = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.CloseAsync();
        _pw?.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    /// <summary>12 tasks named like the built-in ones (long names), 6 layers × 3 counts × 3 multipliers, 6 prompts each.</summary>
    private static SweepResultSet Synthetic()
    {
        var rows = new List<SweepRow>();
        var rnd = new Random(16);
        string[] domains = ["math", "poetry", "code", "logic"], levels = ["easy", "medium", "hard"];
        int t = 0;
        foreach (var d in domains)
            foreach (var l in levels)
            {
                double pBase = Math.Pow(10, -0.3 - 0.35 * t++);
                for (int layer = 0; layer < 6; layer++)
                    foreach (int k in new[] { 3, 8, 25 })
                        foreach (double m in new[] { 1.5, 2, 3 })
                            for (int p = 0; p < 6; p++)
                            {
                                double imp = (rnd.NextDouble() - 0.4) * 20 * (m - 1) * (1 - Math.Log10(pBase) / 6);
                                double post = pBase * (1 + imp / 100);
                                rows.Add(new SweepRow($"{d}-{l}", d, l, p, layer, k, m, "all", "differential", pBase, post, Math.Log(pBase), Math.Log(post), imp));
                            }
            }
        return new SweepResultSet(rows, "browser-test", "/models/sna-demo-gpt2", new string('a', 64));
    }

    private string Shot(string name) =>
        Path.Combine(Environment.GetEnvironmentVariable("SNA_SCREENSHOT_DIR") is { Length: > 0 } d ? d : _dir, name);

    [BrowserFact]
    public async Task At_1200px_every_column_of_the_per_task_table_is_visible_and_provenance_is_on_the_first_screen()
    {
        var out_ = ReportWriter.Write(Synthetic(), new ReportOptions
        {
            WriteSvg = false,
            Provenance = [new("command", "sna report --db sweep.db --out report"), new("version", "0.1.0+test"), new("BOS", "prepended")],
        }, Path.Combine(_dir, "report"));
        var page = await _browser!.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
        await page.GotoAsync(new Uri(out_.HtmlPath).AbsoluteUri);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("report-1200.png") });

        // Provenance on the first screen: the command line and the version with its commit are visible without scrolling.
        foreach (var text in new[] { "sna report --db sweep.db --out report", "0.1.0+test" })
        {
            var box = await page.Locator("#table-provenance td", new() { HasTextString = text }).First.BoundingBoxAsync();
            Assert.NotNull(box);
            Assert.True(box!.Y + box.Height <= 900, $"'{text}' is below the first screen (y = {box.Y})");
        }

        var table = page.Locator("#table-tasks");
        await table.ScrollIntoViewIfNeededAsync();
        var headers = await table.Locator("thead th").AllAsync();
        Assert.Equal(14, headers.Count);
        var firstRow = await table.Locator("tbody tr").First.Locator("td").AllAsync();
        Assert.Equal(headers.Count, firstRow.Count);
        foreach (var cell in headers.Concat(firstRow))
        {
            var b = await cell.BoundingBoxAsync();
            Assert.NotNull(b);
            Assert.True(b!.X >= 0 && b.X + b.Width <= 1200, $"cell '{await cell.InnerTextAsync()}' spans x = {b.X}..{b.X + b.Width}, outside 0..1200");
        }
        // Nothing hidden behind a horizontal scroll at this width, and the best configuration is whole.
        Assert.True(await page.EvalOnSelectorAsync<bool>("#table-tasks", "t => t.parentElement.scrollWidth <= t.parentElement.clientWidth"));
        Assert.Matches(@"^L\d k\d+ x[\d.]+$", await firstRow[^1].InnerTextAsync());
        // Every task's best configuration and its best gain (the key cells) are on screen and not clipped by their cell.
        var rows = await table.Locator("tbody tr").AllAsync();
        Assert.Equal(12, rows.Count);
        foreach (var row in rows)
        {
            var cells = await row.Locator("td").AllAsync();
            foreach (var cell in new[] { cells[0], cells[8], cells[^1] })   // task, max impr. (in-sample), best configuration
            {
                var b = await cell.BoundingBoxAsync();
                Assert.True(b is not null && b.X >= 0 && b.X + b.Width <= 1200, $"key cell '{await cell.InnerTextAsync()}' is off screen");
                Assert.True(await cell.EvaluateAsync<bool>("c => c.scrollWidth <= c.clientWidth"), $"key cell '{await cell.InnerTextAsync()}' is clipped");
            }
        }
        // Task names are text: left-aligned; numbers right-aligned.
        Assert.Equal("left", await firstRow[0].EvaluateAsync<string>("c => getComputedStyle(c).textAlign"));
        Assert.Equal("right", await firstRow[1].EvaluateAsync<string>("c => getComputedStyle(c).textAlign"));
        Assert.DoesNotContain("PValueT", await page.ContentAsync());
        Assert.DoesNotContain("\u2212", await table.InnerTextAsync());
    }

    [BrowserFact]
    public async Task At_phone_width_the_table_scrolls_in_its_box_with_the_task_column_pinned()
    {
        var out_ = ReportWriter.Write(Synthetic(), new ReportOptions { WriteSvg = false }, Path.Combine(_dir, "phone"));
        var page = await _browser!.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 390, Height = 844 } });
        await page.GotoAsync(new Uri(out_.HtmlPath).AbsoluteUri);
        // The page itself does not scroll sideways; the table's box does.
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth + 1"));
        Assert.True(await page.EvalOnSelectorAsync<bool>("#table-tasks", "t => t.parentElement.scrollWidth > t.parentElement.clientWidth"));
        var first = page.Locator("#table-tasks tbody tr").First.Locator("td").First;
        await first.ScrollIntoViewIfNeededAsync();
        var before = await first.BoundingBoxAsync();
        await page.EvalOnSelectorAsync("#table-tasks", "t => { t.parentElement.scrollLeft = 300; }");
        var after = await first.BoundingBoxAsync();
        Assert.Equal(before!.X, after!.X, 1.0); // pinned
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("report-390.png") });
    }
}
