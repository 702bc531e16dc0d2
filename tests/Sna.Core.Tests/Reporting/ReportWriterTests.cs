using System.Text.Json;
using System.Xml.Linq;
using Sna.Research.Analysis;
using Sna.Research.Reporting;

namespace Sna.Core.Tests.Reporting;

public sealed class ReportWriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sna-report-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly byte[] PngMagic = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static ReportOptions FullOptions(SweepResultSet set)
    {
        var tasks = set.Tasks.Take(4).ToArray();
        var values = new double[4, 4];
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) values[i, j] = i == j ? 20 - 3 * i : (i - j) * 1.5 + 0.5 * i;
        var cfg = new SweepConfiguration(3, 64, 5, "all", "task");
        return new ReportOptions
        {
            Analysis = new AnalysisOptions { Resamples = 2000 },
            Interference = new InterferenceMatrix(tasks, values),
            Controls = [new ControlComparison("extra-task", cfg, 12, Enumerable.Range(0, 20).Select(i => i * 0.3 - 2.0).ToArray(), -1)],
            Collateral = [new CollateralCost(tasks[0], cfg, 512, 0.0123, 31.2, 31.9), new CollateralCost(tasks[1], null, 512, 0.002, 31.2, 31.25)],
        };
    }

    private static ReportOutput WriteFull(string dir)
    {
        var set = SyntheticSweep.Create(randomControlSets: 20, controlTasks: 2);
        return ReportWriter.Write(set, FullOptions(set), dir);
    }

    [Fact]
    public void Figures_are_valid_png_and_svg()
    {
        var o = WriteFull(_dir);
        Assert.Equal(4, o.Figures.Count);
        Assert.Equal([ReportWriter.Figure1, ReportWriter.LayerHeatmap, ReportWriter.MultiplierFigure, ReportWriter.InterferenceFigure],
            o.Figures.Select(f => f.Name).ToArray());
        foreach (var f in o.Figures)
        {
            var png = File.ReadAllBytes(f.PngPath);
            Assert.True(png.Length > 5000, $"{f.Name}.png is only {png.Length} bytes");
            Assert.Equal(PngMagic, png[..8]);
            Assert.Equal(png, f.Png);
            Assert.NotNull(f.SvgPath);
            var svg = XDocument.Load(f.SvgPath!);
            Assert.Equal("svg", svg.Root!.Name.LocalName);
            Assert.Equal("http://www.w3.org/2000/svg", svg.Root.Name.NamespaceName);
            Assert.True(svg.Descendants().Count() > 20);
        }
    }

    [Fact]
    public void Figure_text_uses_the_embedded_font()
    {
        var o = WriteFull(_dir);
        string svg = File.ReadAllText(o.Figures[0].SvgPath!);
        Assert.Contains(ReportFonts.Family, svg);
        foreach (var f in o.Figures)                                   // no text falls back to a system font
            Assert.All(System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(f.SvgPath!), "font-family=\"([^\"]*)\""),
                m => Assert.Equal(ReportFonts.Family, m.Groups[1].Value));
        Assert.Contains("math-easy", svg);                             // task labels are drawn
        ReportFonts.EnsureRegistered();
        using var tf = ScottPlot.Fonts.GetTypeface(ReportFonts.Family, false, false);
        Assert.Equal(ReportFonts.Family, tf.FamilyName);
    }

    [Fact]
    public void Html_is_self_contained_and_has_every_table()
    {
        var o = WriteFull(_dir);
        string html = File.ReadAllText(o.HtmlPath);
        foreach (string id in new[] { "table-tasks", "table-statistics", "table-zones", "table-calibration", "table-decomposition",
                     "table-layer-tasks", "table-layer-domains", "table-layer-levels", "table-layer-matrix", "table-interference",
                     "table-interference-asymmetry", "table-controls", "table-collateral" })
            Assert.Contains($"<table id=\"{id}\">", html);
        foreach (string id in new[] { "overview", "caveats", "tasks", "statistics", "zones", "calibration", "decomposition", "layers",
                     "interference", "controls", "collateral", "method" })
            Assert.Contains($"id=\"{id}\"", html);
        Assert.Equal(4, CountOf(html, "src=\"data:image/png;base64,"));
        Assert.DoesNotContain("src=\"http", html);
        Assert.DoesNotContain("<link", html);
        Assert.Contains("n = 12 task(s)", html);
        Assert.Contains("exact permutation", html);
        Assert.Contains("-0.762", html);                                // paper reference shown next to ours (ASCII minus)
        Assert.StartsWith("<!DOCTYPE html>", html);
        // Well-formed enough to parse as XML after the doctype (all tags closed).
        var body = html[html.IndexOf("<html", StringComparison.Ordinal)..].Replace("<meta charset=\"utf-8\">", "<meta charset=\"utf-8\"/>")
            .Replace("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">", "<meta/>");
        body = System.Text.RegularExpressions.Regex.Replace(body, "<img ([^>]*)>", "<img $1/>");
        XDocument.Parse(body);

        string md = File.ReadAllText(o.MarkdownPath);
        Assert.Contains("**Per-task summary**", md);
        Assert.Contains($"]({ReportWriter.Figure1}.png)", md);
        Assert.Contains("| task | domain |", md);
    }

    [Fact]
    public void Report_names_definitions_adjusts_p_across_tasks_and_shows_rho_squared_beside_58()
    {
        var o = WriteFull(_dir);
        using var doc = JsonDocument.Parse(File.ReadAllText(o.JsonPath));
        var root = doc.RootElement;
        var defs = root.GetProperty("definitions");
        Assert.Equal(["improvement_pct", "improvement_of_means_pct", "median_improvement_pct"], defs.EnumerateArray().Select(d => d.GetProperty("quantity").GetString()));
        Assert.Equal(o.Analysis.Statistics.Spearman!.Rho, defs[0].GetProperty("spearman_rho").GetDouble(), 12);
        var t0 = root.GetProperty("tasks")[0];
        Assert.Equal(o.Analysis.Tasks[0].MeanImprovementOfMeansPct, t0.GetProperty("mean_improvement_of_means_pct").GetDouble());
        Assert.Equal(o.Analysis.Tasks[0].MeanMedianImprovementPct, t0.GetProperty("mean_median_improvement_pct").GetDouble());

        var rho2 = root.GetProperty("baseline_rho_squared");
        Assert.Equal(0.58, rho2.GetProperty("paper").GetDouble());
        Assert.Equal(o.Analysis.Statistics.Spearman.RhoSquared, rho2.GetProperty("value").GetDouble(), 12);
        Assert.StartsWith("held out", rho2.GetProperty("localization").GetString());

        var ho = root.GetProperty("held_out");
        Assert.False(ho.GetProperty("in_sample").GetBoolean());
        Assert.Equal(12, ho.GetProperty("tasks").GetArrayLength());

        // controls from the sweep's rows are in-sample; the supplied one is in-sample too (ControlsHeldOut not set); each family adjusted on its own
        var adj = root.GetProperty("controls_adjusted").EnumerateArray().ToArray();
        Assert.Equal(3, adj.Length);
        Assert.All(adj, a => Assert.Equal("in-sample", a.GetProperty("design").GetString()));
        var ps = adj.Select(a => a.GetProperty("p").GetDouble()).ToArray();
        // family 1: the two comparisons found in the sweep's control rows; family 2: the supplied one
        var holm = Sna.Research.Analysis.MultipleTesting.Holm(ps[..2]).Append(ps[2]).ToArray();
        var bh = Sna.Research.Analysis.MultipleTesting.BenjaminiHochberg(ps[..2]).Append(ps[2]).ToArray();
        for (int i = 0; i < adj.Length; i++)
        {
            Assert.Equal(holm[i], adj[i].GetProperty("p_holm").GetDouble(), 12);
            Assert.Equal(bh[i], adj[i].GetProperty("p_bh").GetDouble(), 12);
            Assert.Equal(holm[i] < 0.05, adj[i].GetProperty("survives_holm").GetBoolean());
            Assert.True(adj[i].GetProperty("p_holm").GetDouble() >= adj[i].GetProperty("p").GetDouble());
        }

        string html = File.ReadAllText(o.HtmlPath);
        foreach (string id in new[] { "table-definitions", "table-held-out", "table-rho-squared" })
            Assert.Contains($"<table id=\"{id}\">", html);
        Assert.Contains("Holm p", html);
        Assert.Contains("IN-SAMPLE rows", html);
        Assert.Contains("own decomposition", html);
    }

    [Fact]
    public void Held_out_supplied_controls_are_labelled_and_in_sample_analysis_is_marked()
    {
        var set = SyntheticSweep.Create();
        var cfg = new SweepConfiguration(3, 64, 5, "all", "task");
        var o = ReportWriter.Write(set, new ReportOptions
        {
            Analysis = new AnalysisOptions { Resamples = 200, HeldOutSeed = null },
            Controls = [new ControlComparison("a", cfg, 12, Enumerable.Range(0, 499).Select(i => i * 0.01 - 2.0).ToArray(), null),
                        new ControlComparison("b", cfg, 0.1, Enumerable.Range(0, 499).Select(i => i * 0.01 - 2.0).ToArray(), null)],
            ControlsHeldOut = true,
            WriteSvg = false,
        }, _dir);
        using var doc = JsonDocument.Parse(File.ReadAllText(o.JsonPath));
        var adj = doc.RootElement.GetProperty("controls_adjusted").EnumerateArray().ToArray();
        Assert.All(adj, a => Assert.Equal("held-out", a.GetProperty("design").GetString()));
        Assert.Equal(2.0 / 500, adj[0].GetProperty("p_holm").GetDouble(), 12);     // p = 1/500, Holm × 2
        Assert.True(adj[0].GetProperty("survives_holm").GetBoolean());
        Assert.False(adj[1].GetProperty("survives_holm").GetBoolean());
        Assert.True(doc.RootElement.GetProperty("held_out").GetProperty("in_sample").GetBoolean());
        Assert.Contains(o.Analysis.Caveats, c => c.StartsWith("In-sample"));
    }

    [Fact]
    public void Inline_svg_html_variant()
    {
        var set = SyntheticSweep.Create();
        var o = ReportWriter.Write(set, new ReportOptions { Analysis = new AnalysisOptions { Resamples = 200 }, InlineSvgInHtml = true }, _dir);
        string html = File.ReadAllText(o.HtmlPath);
        Assert.Equal(o.Figures.Count, CountOf(html, "<svg "));
        Assert.DoesNotContain("<img ", html);                          // (heatmaps embed their raster inside the SVG)
        Assert.Contains("Not measured in this report", html);           // interference and collateral absent
    }

    [Fact]
    public void Summary_json_schema()
    {
        var o = WriteFull(_dir);
        using var doc = JsonDocument.Parse(File.ReadAllText(o.JsonPath));
        var root = doc.RootElement;
        Assert.Equal(ReportWriter.SchemaVersion, root.GetProperty("schema").GetString());
        var tasks = root.GetProperty("tasks");
        Assert.Equal(12, tasks.GetArrayLength());
        foreach (var t in tasks.EnumerateArray())
        {
            Assert.Equal(JsonValueKind.String, t.GetProperty("task").ValueKind);
            foreach (var k in new[] { "baseline", "mean_improvement_pct", "max_improvement_pct", "success_rate" })
                Assert.Equal(JsonValueKind.Number, t.GetProperty(k).ValueKind);
            foreach (var k in new[] { "golden_zone_count", "zone", "best_layer" })
                Assert.True(t.GetProperty(k).TryGetInt32(out _), k);
            Assert.InRange(t.GetProperty("zone").GetInt32(), 1, 3);
        }
        var t0 = tasks[0];
        var s0 = o.Analysis.Tasks[0];
        Assert.Equal(s0.Baseline, t0.GetProperty("baseline").GetDouble());
        Assert.Equal(s0.MeanImprovementPct, t0.GetProperty("mean_improvement_pct").GetDouble());

        var st = root.GetProperty("stats");
        Assert.Equal(12, st.GetProperty("n").GetInt32());
        foreach (var k in new[] { "pearson_r", "pearson_p", "spearman_rho", "spearman_p", "spearman_p_exact" })
            Assert.Equal(JsonValueKind.Number, st.GetProperty(k).ValueKind);
        var ci = st.GetProperty("spearman_ci95");
        Assert.Equal(2, ci.GetArrayLength());
        Assert.True(ci[0].GetDouble() <= st.GetProperty("spearman_rho").GetDouble() || ci[1].GetDouble() >= ci[0].GetDouble());
        Assert.Equal(o.Analysis.Statistics.Spearman!.Rho, st.GetProperty("spearman_rho").GetDouble());

        var sh = root.GetProperty("shapley");
        Assert.True(sh.GetProperty("estimable").GetBoolean());
        Assert.Equal(sh.GetProperty("r_squared").GetDouble(), sh.GetProperty("shares").EnumerateArray().Sum(s => s.GetProperty("share").GetDouble()), 1e-9);
        Assert.Equal(3, root.GetProperty("zones").GetArrayLength());
        Assert.Equal(4, root.GetProperty("interference").GetProperty("tasks").GetArrayLength());
        Assert.Equal(3, root.GetProperty("controls").GetArrayLength());   // two from the sweep, one supplied
        Assert.Equal(2, root.GetProperty("collateral").GetArrayLength());
        Assert.Equal(4, root.GetProperty("figures").GetArrayLength());
        Assert.Equal(6, root.GetProperty("layers").GetProperty("matrix_mean_improvement_pct").GetArrayLength());
    }

    [Fact]
    public void Small_sweeps_write_a_report_with_not_estimable_notes_and_nulls()
    {
        var rows = new[]
        {
            new SweepRow("a-easy", "a", "easy", 0, 0, 1, 2, "all", "task", 0.05, 0.06, -3, -2.8, 20),
            new SweepRow("b-hard", "b", "hard", 0, 1, 1, 2, "all", "task", 0.2, 0.21, -1.6, -1.56, 5),
        };
        var o = ReportWriter.Write(new SweepResultSet(rows, "two"), new ReportOptions { WriteSvg = false }, _dir);
        using var doc = JsonDocument.Parse(File.ReadAllText(o.JsonPath));
        var st = doc.RootElement.GetProperty("stats");
        Assert.Equal(2, st.GetProperty("n").GetInt32());
        Assert.Equal(JsonValueKind.Null, st.GetProperty("spearman_rho").ValueKind);
        Assert.Equal(JsonValueKind.Null, st.GetProperty("spearman_ci95").ValueKind);
        Assert.StartsWith("not estimable", st.GetProperty("not_estimable").GetString());
        Assert.False(doc.RootElement.GetProperty("shapley").GetProperty("estimable").GetBoolean());
        string html = File.ReadAllText(o.HtmlPath);
        Assert.Contains("not estimable", html);
        Assert.All(o.Figures, f => Assert.Null(f.SvgPath));
        Assert.False(File.Exists(Path.Combine(_dir, ReportWriter.Figure1 + ".svg")));
        Assert.True(File.Exists(Path.Combine(_dir, ReportWriter.Figure1 + ".png")));
    }

    [Fact]
    public void Empty_or_all_control_sweeps_are_rejected_clearly()
    {
        Assert.Throws<ArgumentException>(() => ReportWriter.Write(new SweepResultSet([]), new ReportOptions(), _dir));
        var onlyControls = new SweepResultSet([new SweepRow("a", "a", "", 0, 0, 1, 2, "all", "random:0", 0.1, 0.1, -2.3, -2.3, 0)]);
        var e = Assert.Throws<ArgumentException>(() => ReportWriter.Write(onlyControls, new ReportOptions(), _dir));
        Assert.Contains("controls", e.Message);
    }

    private static int CountOf(string s, string what)
    {
        int n = 0;
        for (int i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    /// <summary>What a reviewer sees (#16): text columns (task names, methods, "not estimable …") are left-aligned, numbers right;
    /// the title names the model directory, not its whole path (the path and hash are in the provenance block).</summary>
    [Fact]
    public void Text_columns_are_left_aligned_numbers_right_and_the_title_names_the_model()
    {
        var t = new TableBlock("t", "c", ["task", "zone", "tasks", "best configuration", "fitted"],
            [["math-easy", "1", "math-easy, code-easy", "L3 k10 x2", "0.07"], ["poetry-hard", "3", "", "L0 k5 x1.5", "not estimable (slope -0.19)"]]);
        Assert.Equal([false, false, true, false, true], ReportDocument.TextColumns(t));   // the first column is left by CSS (pinned)
        var d = new ReportDocument("r");
        d.Table("t", "c", t.Headers, t.Rows);
        string html = d.ToHtml();
        Assert.Contains("<th class=\"t\">tasks</th>", html);
        Assert.Contains("<td class=\"t\">math-easy, code-easy</td>", html);
        Assert.Contains("<td>L3 k10 x2</td>", html);
        Assert.Contains("<td>1</td>", html);
        Assert.Contains("<td>math-easy</td>", html);
        Assert.Contains("| --- | ---: | :--- | ---: | :--- |", d.ToMarkdown());

        Assert.Equal("sna-demo-gpt2", ReportWriter.ShortModelName("/work/x/models/sna-demo-gpt2/"));
        Assert.Equal("openai-community/gpt2-medium", ReportWriter.ShortModelName("openai-community/gpt2-medium"));
        var set = new SweepResultSet(SyntheticSweep.Create().Rows, "s", "/very/long/path/to/models/sna-demo-gpt2", new string('a', 64));
        string page = File.ReadAllText(ReportWriter.Write(set, new ReportOptions { WriteSvg = false }, Path.Combine(_dir, "title")).HtmlPath);
        Assert.Contains("<h1>SNA sweep report: s (sna-demo-gpt2)</h1>", page);
        Assert.Contains("/very/long/path/to/models/sna-demo-gpt2", page);   // still in the provenance block
    }
}
