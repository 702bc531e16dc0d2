using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Sna.Cli.Output;

/// <summary>How a command prints its tables.</summary>
public enum OutputFormat
{
    /// <summary>A boxed table on a terminal; <see cref="Plain"/> when stdout is redirected.</summary>
    Auto,
    /// <summary>A boxed table (Spectre.Console); never wraps a value when stdout is redirected.</summary>
    Table,
    /// <summary>Aligned columns separated by two spaces, one row per line, nothing wrapped or truncated (the piped default).</summary>
    Plain,
    /// <summary>Tab-separated values with a header row; tabs and newlines in values are escaped as \t and \n.</summary>
    Tsv,
    /// <summary>RFC 4180 comma-separated values with a header row.</summary>
    Csv,
    /// <summary>The command's JSON (its documented contract, as <c>--json</c>).</summary>
    Json,
}

/// <summary>A table of already-formatted cells (see <see cref="Sna.Research.Formatting.Num"/>), rendered by <see cref="TableOutput"/>.</summary>
public sealed class TextTable(string name, params string[] headers)
{
    /// <summary>Machine name of the table (a JSON key; the title line of multi-table TSV/CSV output).</summary>
    public string Name { get; } = name;

    /// <summary>Optional human title shown above the table on a terminal.</summary>
    public string? Title { get; init; }

    /// <summary>Column headers.</summary>
    public IReadOnlyList<string> Headers { get; } = headers;

    /// <summary>Rows; each has <see cref="Headers"/>.Count cells.</summary>
    public List<string[]> Rows { get; } = [];

    /// <summary>Appends a row (exactly one cell per header).</summary>
    public TextTable Add(params string[] cells)
    {
        if (cells.Length != Headers.Count) throw new ArgumentException($"table {Name}: {cells.Length} cells for {Headers.Count} columns");
        Rows.Add(cells);
        return this;
    }
}

/// <summary>
/// Renders <see cref="TextTable"/>s so that they fit where they go: a boxed table on a terminal (width from <c>COLUMNS</c> when
/// set, else the terminal's), and when piped or with <c>--format plain|tsv|csv</c> output that never wraps or truncates a value.
/// </summary>
public static class TableOutput
{
    /// <summary>The <c>--format</c> option every table-printing command shares.</summary>
    public static Option<string?> FormatOption() => new("--format")
    {
        Description = "Output format: table (a boxed table), plain (aligned columns, the default when piped), tsv, csv or json. "
            + "Nothing is wrapped or truncated except in a table on a terminal (width from COLUMNS, else the terminal).",
    };

    /// <summary>Parses <c>--format</c>, folding in <c>--json</c> (a conflict is a user error).</summary>
    public static OutputFormat Resolve(string? format, bool json = false)
    {
        var f = format?.Trim().ToLowerInvariant() switch
        {
            null or "" or "auto" => OutputFormat.Auto,
            "table" => OutputFormat.Table,
            "plain" or "text" => OutputFormat.Plain,
            "tsv" => OutputFormat.Tsv,
            "csv" => OutputFormat.Csv,
            "json" => OutputFormat.Json,
            _ => throw new Sna.Runtime.SnaInputException("--format", $"--format must be table, plain, tsv, csv or json, got '{format}'"),
        };
        if (json && f is not (OutputFormat.Auto or OutputFormat.Json)) throw new Sna.Runtime.SnaInputException("--format", $"--json and --format {format} are mutually exclusive");
        if (json) return OutputFormat.Json;
        if (f == OutputFormat.Auto) return IsTerminal ? OutputFormat.Table : OutputFormat.Plain;
        return f;
    }

    /// <summary>True when stdout is an interactive terminal (not a pipe or a file). <c>SNA_OUTPUT_TERMINAL=1|0</c> overrides (tests).</summary>
    public static bool IsTerminal => Environment.GetEnvironmentVariable("SNA_OUTPUT_TERMINAL") switch
    {
        "1" => true,
        "0" => false,
        _ => !Console.IsOutputRedirected,
    };

    /// <summary>The console width used when output is piped: wide enough that no line of ours is ever wrapped.</summary>
    public const int UnwrappedWidth = 1 << 15;

    /// <summary>The width a terminal table may use: <c>COLUMNS</c> when it is a positive integer, else the console's width, else 80.</summary>
    public static int TerminalWidth()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out int c) && c > 0) return c;
        try { if (!Console.IsOutputRedirected && Console.WindowWidth > 0) return Console.WindowWidth; }
        catch (IOException) { }
        return 80;
    }

    /// <summary>Writes the tables in format <paramref name="f"/> (not <see cref="OutputFormat.Json"/>: commands print their own contract) to stdout.</summary>
    public static void Write(OutputFormat f, params TextTable[] tables)
    {
        var o = Console.Out;
        switch (f)
        {
            case OutputFormat.Table or OutputFormat.Auto:
                WriteBoxed(tables);
                break;
            case OutputFormat.Plain:
                for (int i = 0; i < tables.Length; i++)
                {
                    if (i > 0) o.WriteLine();
                    if (tables[i].Title is { } title) o.WriteLine(title);
                    o.Write(Plain(tables[i]));
                }
                break;
            case OutputFormat.Tsv or OutputFormat.Csv:
                for (int i = 0; i < tables.Length; i++)
                {
                    if (tables.Length > 1) { if (i > 0) o.WriteLine(); o.WriteLine("# " + tables[i].Name); }
                    o.Write(f == OutputFormat.Tsv ? Tsv(tables[i]) : Csv(tables[i]));
                }
                break;
            case OutputFormat.Json:
                Sna.Cli.Commands.Common.PrintJson(ToJson(tables));
                break;
        }
    }

    /// <summary>Writes a line of prose (a note under a table): to stdout for table/plain, to stderr for machine formats so the data stays parseable.</summary>
    public static void Note(OutputFormat f, string text)
    {
        if (f is OutputFormat.Tsv or OutputFormat.Csv or OutputFormat.Json) Console.Error.WriteLine(text);
        else Console.Out.WriteLine(text);
    }

    /// <summary>The tables as JSON: <c>{"NAME":[{header: cell, ...}, ...], ...}</c>.</summary>
    public static JsonObject ToJson(IEnumerable<TextTable> tables)
    {
        var root = new JsonObject();
        foreach (var t in tables)
            root[t.Name] = new JsonArray(t.Rows.Select(r =>
            {
                var o = new JsonObject();
                for (int i = 0; i < r.Length; i++) o[t.Headers[i]] = r[i];
                return (JsonNode)o;
            }).ToArray());
        return root;
    }

    /// <summary>Aligned columns, two spaces apart; numeric-looking columns right-aligned; no wrapping, no truncation.</summary>
    public static string Plain(TextTable t)
    {
        int n = t.Headers.Count;
        var width = new int[n];
        var right = new bool[n];
        for (int c = 0; c < n; c++)
        {
            width[c] = t.Headers[c].Length;
            right[c] = t.Rows.Count > 0 && t.Rows.All(r => LooksNumeric(r[c]));
            foreach (var r in t.Rows) width[c] = Math.Max(width[c], OneLine(r[c]).Length);
        }
        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> cells)
        {
            var line = new StringBuilder();
            for (int c = 0; c < n; c++)
            {
                string s = OneLine(cells[c]);
                if (c > 0) line.Append("  ");
                line.Append(right[c] ? s.PadLeft(width[c]) : c == n - 1 ? s : s.PadRight(width[c]));
            }
            sb.Append(line.ToString().TrimEnd()).Append('\n');
        }
        Line(t.Headers);
        foreach (var r in t.Rows) Line(r);
        return sb.ToString();
    }

    /// <summary>Tab-separated, header first.</summary>
    public static string Tsv(TextTable t)
    {
        static string Cell(string s) => s.Replace("\\", "\\\\").Replace("\t", "\\t").Replace("\r", "\\r").Replace("\n", "\\n");
        var sb = new StringBuilder();
        sb.Append(string.Join('\t', t.Headers.Select(Cell))).Append('\n');
        foreach (var r in t.Rows) sb.Append(string.Join('\t', r.Select(Cell))).Append('\n');
        return sb.ToString();
    }

    /// <summary>RFC 4180 CSV, header first; a cell with a comma, quote or newline is quoted.</summary>
    public static string Csv(TextTable t)
    {
        var sb = new StringBuilder();
        sb.Append(string.Join(',', t.Headers.Select(CsvCell))).Append('\n');
        foreach (var r in t.Rows) sb.Append(string.Join(',', r.Select(CsvCell))).Append('\n');
        return sb.ToString();
    }

    /// <summary>One CSV cell, quoted when needed.</summary>
    public static string CsvCell(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    private static void WriteBoxed(TextTable[] tables)
    {
        var console = AnsiConsole.Console;
        int old = console.Profile.Width;
        // On a terminal: COLUMNS, else the terminal. Redirected (--format table | cat): wide enough that nothing wraps.
        console.Profile.Width = IsTerminal ? TerminalWidth() : Math.Max(old, tables.Max(NeededWidth));
        try
        {
            foreach (var t in tables)
            {
                var st = new Table();
                if (t.Title is { } title) st.Title(Markup.Escape(title));
                foreach (var h in t.Headers) st.AddColumn(Markup.Escape(h));
                for (int c = 0; c < t.Headers.Count; c++)
                    if (t.Rows.Count > 0 && t.Rows.All(r => LooksNumeric(r[c]))) st.Columns[c].RightAligned();
                foreach (var r in t.Rows) st.AddRow(r.Select(x => Markup.Escape(x)).ToArray());
                console.Write(st);
            }
        }
        finally { console.Profile.Width = old; }
    }

    private static int NeededWidth(TextTable t)
    {
        int w = 1;
        for (int c = 0; c < t.Headers.Count; c++)
            w += 3 + Math.Max(t.Headers[c].Length, t.Rows.Count == 0 ? 0 : t.Rows.Max(r => OneLine(r[c]).Length));
        return Math.Max(w, (t.Title?.Length ?? 0) + 4);
    }

    private static string OneLine(string s) => s.Replace("\r", "\\r").Replace("\n", "\\n").Replace("\t", "\\t");

    private static bool LooksNumeric(string s)
    {
        if (s.Length == 0 || s == Sna.Research.Formatting.Num.Missing) return true;
        char c = s[0];
        return (char.IsDigit(c) || c is '-' or '+' or '.') && s.Any(char.IsDigit) && !s.Contains(' ');
    }
}
