using System.Net;
using System.Text;

namespace Sna.Research.Reporting;

/// <summary>A block of a report document, rendered to both HTML and Markdown.</summary>
public abstract record ReportBlock;

/// <summary>Section heading; <paramref name="Id"/> is the HTML anchor.</summary>
public sealed record HeadingBlock(string Id, int Level, string Text) : ReportBlock;

/// <summary>Paragraph of plain text.</summary>
public sealed record ParagraphBlock(string Text, bool Note = false) : ReportBlock;

/// <summary>Bulleted list.</summary>
public sealed record ListBlock(IReadOnlyList<string> Items) : ReportBlock;

/// <summary>Table; <paramref name="Id"/> is the HTML id of the &lt;table&gt;.</summary>
public sealed record TableBlock(string Id, string Caption, IReadOnlyList<string> Headers, IReadOnlyList<IReadOnlyList<string>> Rows) : ReportBlock
{
    /// <summary>A two-column key/value table (provenance): text left-aligned and wrapping.</summary>
    public bool KeyValue { get; init; }
}

/// <summary>Figure (PNG embedded as base64 in HTML or inline SVG; linked file in Markdown).</summary>
public sealed record FigureBlock(FigureFile Figure) : ReportBlock;

/// <summary>An ordered list of blocks with renderers to self-contained HTML and to Markdown.</summary>
public sealed class ReportDocument
{
    private readonly List<ReportBlock> _blocks = [];

    /// <summary>Creates an empty document.</summary>
    public ReportDocument(string title) => Title = title;

    /// <summary>Document title.</summary>
    public string Title { get; }

    /// <summary>The blocks, in order.</summary>
    public IReadOnlyList<ReportBlock> Blocks => _blocks;

    /// <summary>Appends a heading.</summary>
    public ReportDocument H(string id, int level, string text) { _blocks.Add(new HeadingBlock(id, level, text)); return this; }

    /// <summary>Appends a paragraph.</summary>
    public ReportDocument P(string text, bool note = false) { _blocks.Add(new ParagraphBlock(text, note)); return this; }

    /// <summary>Appends a list.</summary>
    public ReportDocument List(IEnumerable<string> items) { _blocks.Add(new ListBlock(items.ToArray())); return this; }

    /// <summary>Appends a table.</summary>
    public ReportDocument Table(string id, string caption, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        _blocks.Add(new TableBlock(id, caption, headers, rows.ToArray()));
        return this;
    }

    /// <summary>Appends a two-column key/value table (e.g. provenance).</summary>
    public ReportDocument KeyValues(string id, string caption, IEnumerable<KeyValuePair<string, string>> rows)
    {
        _blocks.Add(new TableBlock(id, caption, ["item", "value"], rows.Select(kv => (IReadOnlyList<string>)[kv.Key, kv.Value]).ToArray()) { KeyValue = true });
        return this;
    }

    /// <summary>Appends a figure.</summary>
    public ReportDocument Figure(FigureFile f) { _blocks.Add(new FigureBlock(f)); return this; }

    /// <summary>
    /// Which columns hold text (left-aligned) rather than numbers (right-aligned): a column whose cells contain a word (three
    /// letters in a row: task names, methods, "not estimable …"); numbers, percentages, intervals and "L3 k10 x2" stay right.
    /// The first column (always left, pinned) and key-value tables (all left) are not marked.
    /// </summary>
    public static bool[] TextColumns(TableBlock t) =>
        t.Headers.Select((_, j) => j > 0 && !t.KeyValue && t.Rows.Any(r => j < r.Count && WordPattern.IsMatch(r[j]))).ToArray();

    private static readonly System.Text.RegularExpressions.Regex WordPattern = new(@"\p{L}{3}", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>Self-contained HTML5: inline CSS, figures as base64 PNG (or inline SVG), no external resources.</summary>
    public string ToHtml(bool inlineSvg = false)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        sb.Append("<title>").Append(E(Title)).Append("</title>\n<style>\n");
        sb.Append("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1160px;margin:1.5em auto;padding:0 1em;color:#222;line-height:1.45}\n");
        // Tables fit or scroll inside their own box, with the first column pinned; numbers never wrap.
        sb.Append(".table-wrap{max-width:100%;overflow-x:auto;margin:.6em 0 1.4em}\n");
        sb.Append("table{border-collapse:separate;border-spacing:0;font-size:.86em}th,td{border:1px solid #ccc;border-width:0 1px 1px 0;padding:.2em .45em;text-align:right;white-space:nowrap}\n");
        sb.Append("tr>:first-child{border-left-width:1px}thead th{border-top-width:1px}\n");
        sb.Append("th{background:#f2f2f2;white-space:normal}td:first-child,th:first-child{text-align:left;position:sticky;left:0;z-index:1}td:first-child{background:#fff}\n");
        sb.Append("caption{caption-side:top;text-align:left;font-weight:600;padding:.3em 0;position:sticky;left:0}td.wrap{white-space:normal;text-align:left;min-width:14em}th.t,td.t{text-align:left}\n");
        sb.Append("table.kv th,table.kv td{text-align:left;white-space:normal}table.kv td:first-child{font-weight:600;white-space:nowrap}\n");
        sb.Append("h1{font-size:1.7em;overflow-wrap:anywhere}@media (max-width:600px){h1{font-size:1.35em}h2{font-size:1.2em}}\n");
        sb.Append("h1,h2,p,li,td.wrap,table.kv td,figcaption{overflow-wrap:anywhere}\n");
        sb.Append("figure{margin:1em 0}figure img,figure svg{max-width:100%;height:auto;border:1px solid #eee}figcaption{color:#555;font-size:.9em}\n");
        sb.Append(".note{color:#555;font-style:italic}nav ul{columns:2}code{background:#f6f6f6;padding:0 .2em}\n");
        sb.Append("</style>\n</head>\n<body>\n<h1>").Append(E(Title)).Append("</h1>\n");
        var toc = _blocks.OfType<HeadingBlock>().Where(h => h.Level == 2).ToArray();
        if (toc.Length > 0)
        {
            sb.Append("<nav><ul>\n");
            foreach (var h in toc) sb.Append("<li><a href=\"#").Append(E(h.Id)).Append("\">").Append(E(h.Text)).Append("</a></li>\n");
            sb.Append("</ul></nav>\n");
        }
        foreach (var b in _blocks)
        {
            switch (b)
            {
                case HeadingBlock h:
                    sb.Append($"<h{h.Level} id=\"{E(h.Id)}\">").Append(E(h.Text)).Append($"</h{h.Level}>\n");
                    break;
                case ParagraphBlock p:
                    sb.Append(p.Note ? "<p class=\"note\">" : "<p>").Append(E(p.Text)).Append("</p>\n");
                    break;
                case ListBlock l:
                    sb.Append("<ul>\n");
                    foreach (var i in l.Items) sb.Append("<li>").Append(E(i)).Append("</li>\n");
                    sb.Append("</ul>\n");
                    break;
                case TableBlock t:
                    sb.Append("<div class=\"table-wrap\">\n");
                    sb.Append($"<table id=\"{E(t.Id)}\"{(t.KeyValue ? " class=\"kv\"" : "")}>\n<caption>").Append(E(t.Caption)).Append("</caption>\n<thead><tr>");
                    var text = TextColumns(t);
                    for (int j = 0; j < t.Headers.Count; j++) sb.Append(text[j] ? "<th class=\"t\">" : "<th>").Append(E(t.Headers[j])).Append("</th>");
                    sb.Append("</tr></thead>\n<tbody>\n");
                    foreach (var row in t.Rows)
                    {
                        sb.Append("<tr>");
                        for (int j = 0; j < row.Count; j++)
                        {
                            string c = row[j];
                            sb.Append(c.Length > 40 ? "<td class=\"wrap\">" : j < text.Length && text[j] ? "<td class=\"t\">" : "<td>").Append(E(c)).Append("</td>");
                        }
                        sb.Append("</tr>\n");
                    }
                    sb.Append("</tbody>\n</table>\n</div>\n");
                    break;
                case FigureBlock f:
                    sb.Append($"<figure id=\"fig-{E(f.Figure.Name)}\">\n");
                    if (inlineSvg && f.Figure.Svg is { } svg)
                    {
                        int start = svg.IndexOf("<svg", StringComparison.Ordinal);
                        sb.Append(start >= 0 ? svg[start..] : svg).Append('\n');
                    }
                    else
                        sb.Append("<img alt=\"").Append(E(f.Figure.Title)).Append("\" src=\"data:image/png;base64,")
                          .Append(Convert.ToBase64String(f.Figure.Png)).Append("\">\n");
                    sb.Append("<figcaption>").Append(E(f.Figure.Title)).Append("</figcaption>\n</figure>\n");
                    break;
            }
        }
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>GitHub-flavoured Markdown; figures link to the PNG files beside the report.</summary>
    public string ToMarkdown()
    {
        static string Cell(string s) => s.Replace("|", "\\|").Replace("\n", " ");
        var sb = new StringBuilder();
        sb.Append("# ").Append(Title).Append("\n\n");
        foreach (var b in _blocks)
        {
            switch (b)
            {
                case HeadingBlock h:
                    sb.Append(new string('#', h.Level)).Append(' ').Append(h.Text).Append(" <a id=\"").Append(h.Id).Append("\"></a>\n\n");
                    break;
                case ParagraphBlock p:
                    sb.Append(p.Note ? "_" + p.Text.Replace("_", "\\_") + "_" : p.Text).Append("\n\n");
                    break;
                case ListBlock l:
                    foreach (var i in l.Items) sb.Append("- ").Append(i).Append('\n');
                    sb.Append('\n');
                    break;
                case TableBlock t:
                    sb.Append("**").Append(t.Caption).Append("**\n\n");
                    sb.Append("| ").Append(string.Join(" | ", t.Headers.Select(Cell))).Append(" |\n");
                    var text = TextColumns(t);
                    sb.Append('|').Append(string.Join("|", t.Headers.Select((_, i) => i == 0 ? " --- " : text[i] ? " :--- " : " ---: "))).Append("|\n");
                    foreach (var row in t.Rows) sb.Append("| ").Append(string.Join(" | ", row.Select(Cell))).Append(" |\n");
                    sb.Append('\n');
                    break;
                case FigureBlock f:
                    sb.Append("![").Append(f.Figure.Title).Append("](").Append(Path.GetFileName(f.Figure.PngPath)).Append(")\n\n");
                    if (f.Figure.SvgPath is { } sp) sb.Append("_").Append(f.Figure.Title).Append(" — also as [SVG](").Append(Path.GetFileName(sp)).Append(")._\n\n");
                    break;
            }
        }
        return sb.ToString();
    }
}
