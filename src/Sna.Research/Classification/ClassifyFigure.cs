using System.Globalization;
using System.Security;
using System.Text;

namespace Sna.Research.Classification;

/// <summary>
/// The paper's Figure 2 for a run: change in accuracy (percentage points) against the multiplier, one line per
/// baseline-margin zone (and all examples), at one layer. A hand-written SVG with no dependency.
/// </summary>
// INTEGRATION: may move to ScottPlot once the plotting branch lands; the SVG stays as the dependency-free fallback.
public static class ClassifyFigure
{
    private static readonly (int Zone, string Name, string Color, string Dash)[] Series =
    [
        (1, "Zone 1 (uncertain)", "#d62728", ""),
        (2, "Zone 2", "#ff7f0e", ""),
        (3, "Zone 3 (confident)", "#1f77b4", ""),
        (0, "all", "#555555", "6,4"),
    ];

    /// <summary>The SVG for <paramref name="layer"/> (default: the result's best layer).</summary>
    public static string Svg(ClassifyResult r, int? layer = null)
    {
        int L = layer ?? r.BestLayer;
        var cells = r.Grid.Where(c => c.Layer == L).OrderBy(c => c.Multiplier).ToArray();
        if (cells.Length == 0) throw new ArgumentException($"layer {L} is not in the grid");
        static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

        const double W = 720, H = 420, left = 70, right = 250, top = 50, bottom = 60;
        double pw = W - left - right, ph = H - top - bottom;
        double xMin = cells.Min(c => c.Multiplier), xMax = cells.Max(c => c.Multiplier);
        if (xMax == xMin) { xMin -= 1; xMax += 1; }
        var ys = cells.SelectMany(c => c.DeltaPp).Where(d => d is not null).Select(d => d!.Value).Append(0).ToArray();
        double yMin = ys.Min(), yMax = ys.Max();
        double span = Math.Max(yMax - yMin, 1.0);
        double step = NiceStep(span / 6);
        yMin = Math.Floor(yMin / step) * step; yMax = Math.Ceiling(yMax / step) * step;
        if (ys.Max() > 0 && ys.Max() >= yMax - step / 4) yMax += step;      // headroom above the top point
        if (ys.Min() < 0 && ys.Min() <= yMin + step / 4) yMin -= step;
        if (yMax == yMin) yMax = yMin + step;
        double X(double v) => left + (v - xMin) / (xMax - xMin) * pw;
        double Y(double v) => top + (yMax - v) / (yMax - yMin) * ph;

        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{F(W)}\" height=\"{F(H)}\" viewBox=\"0 0 {F(W)} {F(H)}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append($"<rect width=\"{F(W)}\" height=\"{F(H)}\" fill=\"white\"/>\n");
        string title = $"Accuracy change by margin zone vs multiplier (layer {L}, {r.Options.Method.ToString().ToLowerInvariant()}, k={r.Options.K}, n={r.Examples.Length})";
        sb.Append($"<text x=\"{F(W / 2)}\" y=\"24\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">{Esc(title)}</text>\n");
        // grid lines and y ticks
        for (double v = yMin; v <= yMax + step / 2; v += step)
        {
            sb.Append($"<line x1=\"{F(left)}\" y1=\"{F(Y(v))}\" x2=\"{F(left + pw)}\" y2=\"{F(Y(v))}\" stroke=\"{(Math.Abs(v) < step / 1000 ? "#000" : "#ddd")}\" stroke-width=\"1\"/>\n");
            sb.Append($"<text x=\"{F(left - 8)}\" y=\"{F(Y(v) + 4)}\" text-anchor=\"end\">{F(v)}</text>\n");
        }
        foreach (var c in cells)
        {
            double x = X(c.Multiplier);
            sb.Append($"<line x1=\"{F(x)}\" y1=\"{F(top + ph)}\" x2=\"{F(x)}\" y2=\"{F(top + ph + 5)}\" stroke=\"#000\"/>\n");
            sb.Append($"<text x=\"{F(x)}\" y=\"{F(top + ph + 20)}\" text-anchor=\"middle\">{F(c.Multiplier)}</text>\n");
        }
        sb.Append($"<rect x=\"{F(left)}\" y=\"{F(top)}\" width=\"{F(pw)}\" height=\"{F(ph)}\" fill=\"none\" stroke=\"#000\"/>\n");
        sb.Append($"<text x=\"{F(left + pw / 2)}\" y=\"{F(H - 18)}\" text-anchor=\"middle\">multiplier</text>\n");
        sb.Append($"<text transform=\"translate(18,{F(top + ph / 2)}) rotate(-90)\" text-anchor=\"middle\">accuracy change (pp)</text>\n");
        int li = 0;
        foreach (var (zone, name, color, dash) in Series)
        {
            var pts = cells.Where(c => c.DeltaPp[zone] is not null).Select(c => (X: X(c.Multiplier), Y: Y(c.DeltaPp[zone]!.Value))).ToArray();
            int n = r.Before[zone].N;
            string label = $"{name}, n={n}";
            double ly = top + 10 + li * 20;
            sb.Append($"<line x1=\"{F(left + pw + 12)}\" y1=\"{F(ly)}\" x2=\"{F(left + pw + 36)}\" y2=\"{F(ly)}\" stroke=\"{color}\" stroke-width=\"2\"{(dash.Length > 0 ? $" stroke-dasharray=\"{dash}\"" : "")}/>\n");
            sb.Append($"<text x=\"{F(left + pw + 42)}\" y=\"{F(ly + 4)}\">{Esc(pts.Length == 0 ? $"{name.Split(' ')[0]} {zone}: empty" : label)}</text>\n");
            li++;
            if (pts.Length == 0) continue;
            sb.Append($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{(dash.Length > 0 ? $" stroke-dasharray=\"{dash}\"" : "")} points=\"{string.Join(' ', pts.Select(p => $"{F(p.X)},{F(p.Y)}"))}\"/>\n");
            foreach (var p in pts) sb.Append($"<circle cx=\"{F(p.X)}\" cy=\"{F(p.Y)}\" r=\"3\" fill=\"{color}\"/>\n");
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static double NiceStep(double raw)
    {
        double p = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double f = raw / p;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
    }

    private static string Esc(string s) => SecurityElement.Escape(s) ?? "";
}
