using System.Globalization;
using ScottPlot;
using Sna.Research.Analysis;
using Sna.Research.Method;

namespace Sna.Research.Reporting;

/// <summary>A figure written to disk.</summary>
/// <param name="Name">File stem, e.g. <c>figure1_baseline_vs_improvement</c>.</param>
/// <param name="Title">Caption.</param>
/// <param name="PngPath">PNG file.</param>
/// <param name="SvgPath">SVG file (null when SVG output is off).</param>
/// <param name="Png">PNG bytes (embedded in the HTML).</param>
/// <param name="Svg">SVG text (null when SVG output is off).</param>
public sealed record FigureFile(string Name, string Title, string PngPath, string? SvgPath, byte[] Png, string? Svg);

/// <summary>The report's figures, built with ScottPlot 5 using the embedded font (<see cref="ReportFonts"/>).</summary>
public static class Figures
{
    private static readonly Color[] ZoneColors = [Color.FromHex("#2ca02c"), Color.FromHex("#ff7f0e"), Color.FromHex("#7f7f7f")];

    /// <summary>
    /// Figure 1: per-task baseline P_base (log-x) vs mean improvement, zones shaded, task labels, zero line, and the
    /// log-linear zone-calibration fit when available. Tasks with P_base ≤ 0 cannot be placed on a log axis and are left out.
    /// </summary>
    public static Plot BaselineVsImprovement(SweepAnalysisResult a)
    {
        ArgumentNullException.ThrowIfNull(a);
        var zones = a.Options.Zones;
        var tasks = a.Tasks.Where(t => t.Baseline > 0).ToArray();
        var plt = new Plot();
        double[] lx = tasks.Select(t => Math.Log10(t.Baseline)).ToArray();
        double[] y = tasks.Select(t => t.MeanImprovementPct).ToArray();
        double lo = Math.Min(lx.DefaultIfEmpty(-2).Min(), Math.Log10(zones.Low)) - 0.15;
        double hi = Math.Max(lx.DefaultIfEmpty(0).Max(), Math.Log10(zones.High)) + 0.15;

        var spans = new (double From, double To)[] { (lo, Math.Log10(zones.Low)), (Math.Log10(zones.Low), Math.Log10(zones.High)), (Math.Log10(zones.High), hi) };
        for (int z = 0; z < 3; z++)
        {
            var span = plt.Add.HorizontalSpan(spans[z].From, spans[z].To, ZoneColors[z].WithAlpha(0.13));
            span.LineWidth = 0;
            span.LegendText = CrossTaskStatistics.ZoneLabel(z + 1, zones);
        }
        // Solid lines only: Skia's SVG backend cannot draw dash patterns (and says so on stderr).
        var zero = plt.Add.HorizontalLine(0, 1, Colors.Black.WithAlpha(0.45));
        zero.LegendText = "";

        if (a.Calibration is { Succeeded: true } cal)
        {
            var fx = Enumerable.Range(0, 101).Select(i => lo + (hi - lo) * i / 100.0).ToArray();
            var fy = fx.Select(v => cal.Intercept + cal.Slope * Math.Log(Math.Pow(10, v))).ToArray();
            var fit = plt.Add.ScatterLine(fx, fy, Colors.SteelBlue);
            fit.LineWidth = 1.5f;
            fit.LegendText = $"fit {Sna.Research.Formatting.Num.Sig(cal.Intercept, 3)} {(cal.Slope < 0 ? "-" : "+")} {Sna.Research.Formatting.Num.Sig(Math.Abs(cal.Slope), 3)}·ln P_base (slope p = {Sna.Research.Formatting.Num.P(cal.SlopePValue)})";
        }

        if (tasks.Length > 0)
        {
            var pts = plt.Add.Markers(lx, y, MarkerShape.FilledCircle, 8, Colors.Black);
            pts.LegendText = "task (mean over configurations)";
            for (int i = 0; i < tasks.Length; i++)
            {
                var label = plt.Add.Text(tasks[i].Task, lx[i], y[i]);
                label.LabelFontSize = 11;
                label.LabelFontName = ReportFonts.Family;
                label.LabelFontColor = Colors.Black;
                // Right of the point, or left of it in the right quarter of the axis, so that no label is cut at the edge.
                bool left = lx[i] > lo + 0.75 * (hi - lo);
                label.OffsetX = left ? -6 : 6;
                label.OffsetY = -4;
                label.LabelAlignment = left ? Alignment.LowerRight : Alignment.LowerLeft;
            }
        }

        LogTicks(plt, lo, hi);
        plt.Axes.SetLimitsX(lo, hi);
        double ymin = Math.Min(0, y.DefaultIfEmpty(0).Min()), ymax = Math.Max(0, y.DefaultIfEmpty(1).Max());
        double pad = Math.Max(1, (ymax - ymin) * 0.12);
        plt.Axes.SetLimitsY(ymin - pad, ymax + pad);
        var s = a.Statistics.Spearman;
        string stat = s is null ? a.Statistics.NotEstimable ?? "" :
            $"Spearman ρ = {s.Rho:0.000}, p = {Fmt.P(a.Statistics.SpearmanPPreferred)} ({a.Statistics.SpearmanPPreferredKind}), n = {s.N}";
        plt.Title($"Baseline confidence vs mean SNA improvement\n{stat}", 13);
        plt.XLabel("baseline P(target first token), log scale");
        plt.YLabel("mean improvement over configurations (%)");
        plt.ShowLegend(Alignment.UpperRight);
        ReportFonts.Apply(plt);
        return plt;
    }

    /// <summary>Layer × task heatmap of mean improvement (%); null when there are no layers.</summary>
    public static Plot? LayerTaskHeatmap(LayerSpecializationResult l)
    {
        ArgumentNullException.ThrowIfNull(l);
        if (l.Layers.Count == 0 || l.Tasks.Count == 0) return null;
        // ScottPlot draws heatmap row 0 at the top, cell centres at integer coordinates (row r at y = rows - 1 - r):
        // put the highest layer in row 0 so that layer i sits at y = i.
        int nl = l.Layers.Count, nt = l.Tasks.Count;
        var data = new double[nl, nt];
        for (int i = 0; i < nl; i++) for (int j = 0; j < nt; j++) data[nl - 1 - i, j] = l.Matrix[i, j];
        var plt = new Plot();
        var hm = plt.Add.Heatmap(data);
        // Signed values: a diverging map centred on zero (white = no change), symmetric range.
        double maxAbs = 0;
        foreach (var v in l.Matrix) if (double.IsFinite(v)) maxAbs = Math.Max(maxAbs, Math.Abs(v));
        hm.Colormap = new ScottPlot.Colormaps.Balance();
        hm.ManualRange = new ScottPlot.Range(-(maxAbs > 0 ? maxAbs : 1), maxAbs > 0 ? maxAbs : 1);
        hm.NaNCellColor = Colors.LightGray;
        var bar = plt.Add.ColorBar(hm);
        bar.Label = "mean improvement (%), 0 = white";
        for (int j = 0; j < nt; j++)
        {
            int best = l.OptimalLayerByTask[j];
            int row = Array.IndexOf(l.Layers.ToArray(), best);
            if (row < 0) continue;
            plt.Add.Marker(j, row, MarkerShape.OpenSquare, 14, Colors.Red);
        }
        CategoryTicks(plt.Axes.Bottom, l.Tasks, rotate: true);
        CategoryTicks(plt.Axes.Left, l.Layers.Select(v => v.ToString(CultureInfo.InvariantCulture)).ToArray(), rotate: false);
        plt.Axes.SetLimits(-0.5, nt - 0.5, -0.5, nl - 0.5);
        plt.Title("Layer specialization: mean improvement per layer and task", 13);
        plt.YLabel("layer");
        // No legend: inside the axes it covers a cell; the figure's caption says what the red squares are.
        plt.HideLegend();
        ReportFonts.Apply(plt);
        return plt;
    }

    /// <summary>Mean improvement vs multiplier, one line per zone; null when there is no curve.</summary>
    public static Plot? MultiplierCurves(IReadOnlyList<MultiplierCurve> curves)
    {
        ArgumentNullException.ThrowIfNull(curves);
        if (curves.Count == 0) return null;
        var plt = new Plot();
        foreach (var c in curves)
        {
            var line = plt.Add.ScatterLine(c.Multipliers.ToArray(), c.MeanImprovementPct.ToArray(), ZoneColors[c.Zone - 1]);
            line.LineWidth = 2;
            line.MarkerSize = 7;
            line.MarkerShape = MarkerShape.FilledCircle;
            line.LegendText = $"{c.Label}, {c.Tasks.Count} task(s)";
        }
        plt.Add.HorizontalLine(0, 1, Colors.Black.WithAlpha(0.45));
        plt.Title("Improvement vs amplification multiplier, by baseline zone", 13);
        plt.XLabel("multiplier m");
        plt.YLabel("mean improvement (%)");
        plt.ShowLegend(Alignment.UpperLeft);
        ReportFonts.Apply(plt);
        return plt;
    }

    /// <summary>
    /// The paper's Figure 2: accuracy change (percentage points) against the multiplier, one line per margin zone, at the
    /// classification run's best layer.
    /// </summary>
    public static Plot ClassificationZones(Sna.Research.Classification.ClassifyReportData r)
    {
        ArgumentNullException.ThrowIfNull(r);
        int layer = r.BestLayer;
        var plt = new Plot();
        for (int zone = 1; zone <= 3; zone++)
        {
            var cells = r.Grid.Where(c => c.Layer == layer && c.Zone == zone && c.N > 0 && c.DeltaPp is not null).OrderBy(c => c.Multiplier).ToArray();
            if (cells.Length == 0) continue;
            var line = plt.Add.ScatterLine(cells.Select(c => c.Multiplier).ToArray(), cells.Select(c => c.DeltaPp!.Value).ToArray(), ZoneColors[zone - 1]);
            line.LineWidth = 2;
            line.MarkerSize = 7;
            line.MarkerShape = MarkerShape.FilledCircle;
            line.LegendText = $"margin Zone {zone} (n = {cells[0].N})";
        }
        plt.Add.HorizontalLine(0, 1, Colors.Black.WithAlpha(0.45));
        plt.Title($"Accuracy change by margin zone, layer {layer}", 13);
        plt.XLabel("multiplier m");
        plt.YLabel("accuracy change (pp)");
        plt.ShowLegend(Alignment.UpperLeft);
        ReportFonts.Apply(plt);
        return plt;
    }

    /// <summary>Source × target interference heatmap (improvement_pct: mean relative % change), diverging colours centred at 0, values annotated.</summary>
    public static Plot InterferenceHeatmap(InterferenceMatrix m)
    {
        ArgumentNullException.ThrowIfNull(m);
        int n = m.Size;
        var data = new double[n, n];
        double maxAbs = 0;
        for (int s = 0; s < n; s++)
            for (int t = 0; t < n; t++)
            {
                data[s, t] = m[s, t];                                           // row 0 (first source) drawn at the top, y = n - 1
                if (!double.IsNaN(m[s, t])) maxAbs = Math.Max(maxAbs, Math.Abs(m[s, t]));
            }
        if (maxAbs == 0) maxAbs = 1;
        var plt = new Plot();
        var hm = plt.Add.Heatmap(data);
        hm.Colormap = new ScottPlot.Colormaps.Balance();
        hm.ManualRange = new ScottPlot.Range(-maxAbs, maxAbs);
        hm.NaNCellColor = Colors.LightGray;
        var bar = plt.Add.ColorBar(hm);
        bar.Label = "mean relative change of P(target) (%)";
        if (n <= 20)
            for (int s = 0; s < n; s++)
                for (int t = 0; t < n; t++)
                {
                    double v = m[s, t];
                    var txt = plt.Add.Text(double.IsNaN(v) ? "—" : v.ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture), t, n - 1 - s);
                    txt.LabelAlignment = Alignment.MiddleCenter;
                    txt.LabelFontName = ReportFonts.Family;
                    txt.LabelFontSize = n <= 8 ? 11 : 8;
                    txt.LabelFontColor = !double.IsNaN(v) && Math.Abs(v) > 0.6 * maxAbs ? Colors.White : Colors.Black;
                }
        CategoryTicks(plt.Axes.Bottom, m.Tasks, rotate: true);
        CategoryTicks(plt.Axes.Left, m.Tasks.Reverse().ToArray(), rotate: false);
        plt.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        plt.Title("Cross-task interference (row: amplified source, column: target)", 13);
        plt.YLabel("source task (neurons amplified)");
        ReportFonts.Apply(plt);
        return plt;
    }

    /// <summary>Renders <paramref name="plot"/> to <c>{name}.png</c> (and <c>{name}.svg</c>) in <paramref name="outDir"/>.</summary>
    public static FigureFile Save(Plot plot, string outDir, string name, string title, int width = 900, int height = 600, bool svg = true)
    {
        ArgumentNullException.ThrowIfNull(plot);
        Directory.CreateDirectory(outDir);
        string png = Path.Combine(outDir, name + ".png");
        byte[] bytes = plot.GetImageBytes(width, height, ImageFormat.Png);
        File.WriteAllBytes(png, bytes);
        string? svgPath = null, svgText = null;
        if (svg)
        {
            svgPath = Path.Combine(outDir, name + ".svg");
            svgText = plot.GetSvgXml(width, height);
            File.WriteAllText(svgPath, svgText);
        }
        return new FigureFile(name, title, png, svgPath, bytes, svgText);
    }

    private static void LogTicks(Plot plt, double lo, double hi)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int e = (int)Math.Floor(lo) - 1; e <= (int)Math.Ceiling(hi); e++)
            for (int k = 1; k <= 9; k++)
            {
                double v = Math.Log10(k * Math.Pow(10, e));
                if (v < lo || v > hi) continue;
                if (k is 1 or 2 or 5)
                    ticks.AddMajor(v, (k * Math.Pow(10, e)).ToString("0.#####", CultureInfo.InvariantCulture));
                else ticks.AddMinor(v);
            }
        plt.Axes.Bottom.TickGenerator = ticks;
    }

    private static void CategoryTicks(IAxis axis, IReadOnlyList<string> labels, bool rotate)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int i = 0; i < labels.Count; i++) ticks.AddMajor(i, labels[i]);
        axis.TickGenerator = ticks;
        if (rotate)
        {
            axis.TickLabelStyle.Rotation = 45;
            axis.TickLabelStyle.Alignment = Alignment.MiddleLeft;
            axis.MinimumSize = 24 + 9 * labels.Max(s => s.Length); // rotated labels need about 0.7 × 12 px per character plus the tick
        }
    }
}

/// <summary>Number formatting of figures and documents, on the one formatter <see cref="Sna.Research.Formatting.Num"/> ("—" when missing, ASCII minus).</summary>
public static class Fmt
{
    /// <summary>Fixed decimals, "—" when not finite.</summary>
    public static string F(double v, int decimals = 3) => Sna.Research.Formatting.Num.F(v, decimals);

    /// <summary>Nullable variant of <see cref="F(double, int)"/>.</summary>
    public static string F(double? v, int decimals = 3) => Sna.Research.Formatting.Num.F(v, decimals);

    /// <summary>Percent with sign and 3 significant digits (at least <paramref name="decimals"/> decimals), e.g. +12.3%.</summary>
    public static string Pct(double v, int decimals = 1) => Sna.Research.Formatting.Num.Pct(v, 3, decimals);

    /// <summary>p-value.</summary>
    public static string P(double p) => Sna.Research.Formatting.Num.P(p);

    /// <summary>Probability, 4 significant digits.</summary>
    public static string Prob(double p) => Sna.Research.Formatting.Num.Prob(p);

    /// <summary>Zone label.</summary>
    public static string Zone(int zone, ZoneThresholds z) => CrossTaskStatistics.ZoneLabel(zone, z);
}
