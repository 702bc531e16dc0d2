using Sna.Runtime;
using System.Globalization;
using System.Text;

namespace Sna.Research.Analysis;

/// <summary>
/// One measured (prompt, configuration) cell of a sweep: amplifying <paramref name="Count"/> neurons of
/// <c>blocks.{Layer}.mlp.hook_post</c> by <paramref name="Multiplier"/> at <paramref name="Positions"/>, neurons chosen by
/// <paramref name="NeuronSource"/> (task neurons, or a control such as random/bottom-k).
/// </summary>
/// <param name="Task">Task name, e.g. <c>math-easy</c>.</param>
/// <param name="Domain">Task type (e.g. <c>math</c>); parsed from the task name when the input has no domain column.</param>
/// <param name="Level">Difficulty (e.g. <c>easy</c>); empty when unknown.</param>
/// <param name="PromptIndex">Index of the prompt within the task.</param>
/// <param name="Layer">Transformer block.</param>
/// <param name="Count">Number of amplified neurons.</param>
/// <param name="Multiplier">Amplification factor m.</param>
/// <param name="Positions">Token positions amplified (e.g. <c>all</c>, <c>last</c>), kept verbatim.</param>
/// <param name="NeuronSource">How the neurons were chosen (e.g. <c>task</c>, <c>random:3</c>, <c>bottom</c>).</param>
/// <param name="PBase">P(target's first token) of the unmodified model.</param>
/// <param name="PPost">P(target's first token) with amplification.</param>
/// <param name="LogProbBase">ln PBase.</param>
/// <param name="LogProbPost">ln PPost.</param>
/// <param name="ImprovementPct">Per-prompt improvement, 100 (PPost - PBase) / PBase.</param>
public sealed record SweepRow(
    string Task, string Domain, string Level, int PromptIndex, int Layer, int Count, double Multiplier,
    string Positions, string NeuronSource, double PBase, double PPost, double LogProbBase, double LogProbPost,
    double ImprovementPct)
{
    /// <summary>The configuration this row belongs to.</summary>
    public SweepConfiguration Configuration => new(Layer, Count, Multiplier, Positions, NeuronSource);
}

/// <summary>An amplification configuration (the paper's unit over which improvements are averaged and maximised).</summary>
public sealed record SweepConfiguration(int Layer, int Count, double Multiplier, string Positions, string NeuronSource)
    : IComparable<SweepConfiguration>
{
    /// <summary>Ordering: layer, count, multiplier, positions, source (ordinal).</summary>
    public int CompareTo(SweepConfiguration? other)
    {
        if (other is null) return 1;
        int c = Layer.CompareTo(other.Layer);
        if (c == 0) c = Count.CompareTo(other.Count);
        if (c == 0) c = Multiplier.CompareTo(other.Multiplier);
        if (c == 0) c = string.CompareOrdinal(Positions, other.Positions);
        if (c == 0) c = string.CompareOrdinal(NeuronSource, other.NeuronSource);
        return c;
    }

    /// <summary>Compact text, e.g. <c>L12 k=64 m=5 pos=all src=task</c>.</summary>
    public override string ToString() =>
        $"L{Layer} k={Count} m={Multiplier.ToString("0.###", CultureInfo.InvariantCulture)} pos={Positions} src={NeuronSource}";
}

/// <summary>
/// All rows of one sweep plus its provenance. This is the report layer's input; it is deliberately independent of the
/// sweep engine's storage (the SQLite store is adapted to it at integration; <see cref="FromCsv"/> reads its CSV export).
/// </summary>
public sealed class SweepResultSet
{
    /// <summary>Columns the CSV must have (the sweep engine's CSV export).</summary>
    public static readonly IReadOnlyList<string> RequiredColumns =
    [
        "task", "prompt_index", "layer", "count", "multiplier", "positions", "neuron_source",
        "p_base", "p_post", "logprob_base", "logprob_post", "improvement_pct",
    ];

    /// <summary>Optional CSV columns: <c>domain</c>, <c>level</c> (else parsed from the task name), and per-file provenance.</summary>
    public static readonly IReadOnlyList<string> OptionalColumns = ["domain", "level", "model", "model_hash", "sweep"];

    /// <summary>Creates a result set.</summary>
    public SweepResultSet(IEnumerable<SweepRow> rows, string sweepName = "sweep", string modelName = "unknown", string? modelHash = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        Rows = rows.ToArray();
        SweepName = sweepName;
        ModelName = modelName;
        ModelHash = modelHash;
    }

    /// <summary>All rows.</summary>
    public IReadOnlyList<SweepRow> Rows { get; }

    /// <summary>
    /// Configurations the source held but that were left out because not every prompt had a result yet (a partial or
    /// running sweep); 0 for a CSV, which carries no task sizes.
    /// </summary>
    public int IncompleteConfigurations { get; init; }

    /// <summary>Sweep name.</summary>
    public string SweepName { get; }

    /// <summary>Model name (alias or directory).</summary>
    public string ModelName { get; }

    /// <summary>Content hash of the model weights (sha256), when known.</summary>
    public string? ModelHash { get; }

    /// <summary>Distinct task names, in order of first appearance.</summary>
    public IReadOnlyList<string> Tasks => Rows.Select(r => r.Task).Distinct().ToArray();

    /// <summary>A copy restricted to the rows matching <paramref name="predicate"/>.</summary>
    public SweepResultSet Where(Func<SweepRow, bool> predicate) =>
        new(Rows.Where(predicate), SweepName, ModelName, ModelHash) { IncompleteConfigurations = IncompleteConfigurations };

    /// <summary>
    /// Splits a task name into domain and difficulty level: the part after the last '-' or '_' is the level when it is
    /// a difficulty word (easy, medium, med, hard, simple, moderate, difficult, basic, intermediate, advanced) or of the form
    /// l3 / level3 / 3; otherwise the whole name is the domain and the level is empty.
    /// <c>math-easy</c> → (math, easy); <c>factual-recall-hard</c> → (factual-recall, hard); <c>sentiment</c> → (sentiment, "").
    /// </summary>
    public static (string Domain, string Level) ParseTaskName(string task)
    {
        ArgumentNullException.ThrowIfNull(task);
        int cut = task.LastIndexOfAny(['-', '_']);
        if (cut > 0 && cut < task.Length - 1)
        {
            string suffix = task[(cut + 1)..];
            if (DifficultyLevels.Ordinal(suffix) is not null) return (task[..cut], suffix);
        }
        return (task, "");
    }

    /// <summary>
    /// Reads the sweep engine's CSV export (header-driven: columns may come in any order, extra columns are ignored;
    /// RFC 4180 quoting; numbers in invariant culture). Required: <see cref="RequiredColumns"/>. Optional: <c>domain</c>
    /// and <c>level</c> (when absent or empty, parsed from the task name with <see cref="ParseTaskName"/>), <c>model</c>,
    /// <c>model_hash</c>, <c>sweep</c> (the first non-empty value is used; the arguments override them).
    /// </summary>
    /// <param name="path">CSV file.</param>
    /// <param name="sweepName">Sweep name; default: the <c>sweep</c> column or else the file name without extension.</param>
    /// <param name="modelName">Model name; default: the <c>model</c> column or else "unknown".</param>
    /// <param name="modelHash">Model hash; default: the <c>model_hash</c> column or else null.</param>
    /// <exception cref="SnaInputException">Missing column, wrong field count or unparsable number (with line number).</exception>
    public static SweepResultSet FromCsv(string path, string? sweepName = null, string? modelName = null, string? modelHash = null)
    {
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return FromCsv(reader, sweepName ?? Path.GetFileNameWithoutExtension(path), modelName, modelHash, path);
    }

    /// <summary>Reads CSV text (see <see cref="FromCsv(string, string?, string?, string?)"/>).</summary>
    public static SweepResultSet FromCsv(TextReader reader, string? sweepName = null, string? modelName = null, string? modelHash = null,
        string source = "CSV")
    {
        var records = Csv.Read(reader).GetEnumerator();
        if (!records.MoveNext()) throw new SnaInputException($"{source}: empty file (no header line).");
        var (headerLine, header) = records.Current;
        var index = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < header.Count; i++)
        {
            string name = header[i].Trim();
            if (name.Length > 0 && !index.TryAdd(name, i))
                throw new SnaInputException($"{source}: duplicate column '{name}' in the header (line {headerLine}).");
        }
        var missing = RequiredColumns.Where(c => !index.ContainsKey(c)).ToArray();
        if (missing.Length > 0)
            throw new SnaInputException($"{source}: missing required column(s) {string.Join(", ", missing)}; header has {string.Join(", ", header)}.");

        int Col(string name) => index.TryGetValue(name, out int i) ? i : -1;
        int cDomain = Col("domain"), cLevel = Col("level"), cModel = Col("model"), cHash = Col("model_hash"), cSweep = Col("sweep");
        string? fileModel = null, fileHash = null, fileSweep = null;
        var rows = new List<SweepRow>();
        while (records.MoveNext())
        {
            var (line, f) = records.Current;
            if (f.Count == 1 && f[0].Length == 0) continue;                    // blank line
            if (f.Count != header.Count)
                throw new SnaInputException($"{source}: line {line} has {f.Count} fields, the header has {header.Count}.");
            string Get(string name) => f[index[name]];
            string Opt(int c) => c >= 0 ? f[c].Trim() : "";
            int Int(string name)
            {
                string s = Get(name).Trim();
                return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v
                    : throw new SnaInputException($"{source}: line {line}, column '{name}': '{s}' is not an integer.");
            }
            double Dbl(string name)
            {
                string s = Get(name).Trim();
                return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
                    : throw new SnaInputException($"{source}: line {line}, column '{name}': '{s}' is not a number.");
            }
            string task = Get("task").Trim();
            if (task.Length == 0) throw new SnaInputException($"{source}: line {line}: empty task name.");
            var (pd, pl) = ParseTaskName(task);
            string domain = Opt(cDomain), level = Opt(cLevel);
            if (domain.Length == 0) domain = pd;
            if (level.Length == 0) level = pl;
            fileModel ??= NullIfEmpty(Opt(cModel));
            fileHash ??= NullIfEmpty(Opt(cHash));
            fileSweep ??= NullIfEmpty(Opt(cSweep));
            rows.Add(new SweepRow(task, domain, level, Int("prompt_index"), Int("layer"), Int("count"), Dbl("multiplier"),
                Get("positions").Trim(), Get("neuron_source").Trim(), Dbl("p_base"), Dbl("p_post"),
                Dbl("logprob_base"), Dbl("logprob_post"), Dbl("improvement_pct")));
        }
        return new SweepResultSet(rows, fileSweep ?? sweepName ?? "sweep", modelName ?? fileModel ?? "unknown", modelHash ?? fileHash);
    }

    /// <summary>
    /// Writes the rows as CSV: the required columns in <see cref="RequiredColumns"/> order, then <c>domain</c>, <c>level</c>
    /// (round-trips through <see cref="FromCsv(string, string?, string?, string?)"/>; doubles written with "R").
    /// </summary>
    public void ToCsv(string path)
    {
        using var w = new StreamWriter(path, false, new UTF8Encoding(false));
        ToCsv(w);
    }

    /// <summary>Writes the rows as CSV text (see <see cref="ToCsv(string)"/>).</summary>
    public void ToCsv(TextWriter w)
    {
        w.Write(string.Join(",", RequiredColumns));
        w.Write(",domain,level\n");
        static string D(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        foreach (var r in Rows)
        {
            w.Write(string.Join(",", Csv.Escape(r.Task), r.PromptIndex.ToString(CultureInfo.InvariantCulture),
                r.Layer.ToString(CultureInfo.InvariantCulture), r.Count.ToString(CultureInfo.InvariantCulture), D(r.Multiplier),
                Csv.Escape(r.Positions), Csv.Escape(r.NeuronSource), D(r.PBase), D(r.PPost), D(r.LogProbBase), D(r.LogProbPost),
                D(r.ImprovementPct), Csv.Escape(r.Domain), Csv.Escape(r.Level)));
            w.Write('\n');
        }
    }

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
}

/// <summary>Ordinal codes of difficulty levels (used for "does difficulty shift the optimal layer").</summary>
public static class DifficultyLevels
{
    private static readonly Dictionary<string, int> Words = new(StringComparer.OrdinalIgnoreCase)
    {
        ["easy"] = 1, ["simple"] = 1, ["basic"] = 1,
        ["medium"] = 2, ["med"] = 2, ["moderate"] = 2, ["intermediate"] = 2,
        ["hard"] = 3, ["difficult"] = 3, ["advanced"] = 3,
    };

    /// <summary>easy/simple/basic = 1, medium/med/moderate/intermediate = 2, hard/difficult/advanced = 3; l4/level4/4 = 4; else null.</summary>
    public static int? Ordinal(string level)
    {
        if (string.IsNullOrWhiteSpace(level)) return null;
        string s = level.Trim();
        if (Words.TryGetValue(s, out int v)) return v;
        if (s.StartsWith("level", StringComparison.OrdinalIgnoreCase)) s = s[5..];
        else if (s.StartsWith('l') || s.StartsWith('L')) s = s[1..];
        return s.Length > 0 && s.All(char.IsAsciiDigit) && int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : null;
    }
}

/// <summary>Minimal RFC 4180 CSV reading/writing (quoted fields may contain commas, quotes and newlines).</summary>
internal static class Csv
{
    /// <summary>Records with the (1-based) line number where each starts.</summary>
    public static IEnumerable<(int Line, List<string> Fields)> Read(TextReader reader)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        int line = 1, start = 1;
        bool inQuotes = false, any = false;
        int c;
        while ((c = reader.Read()) >= 0)
        {
            any = true;
            char ch = (char)c;
            if (inQuotes)
            {
                if (ch == '"')
                {
                    if (reader.Peek() == '"') { reader.Read(); sb.Append('"'); }
                    else inQuotes = false;
                }
                else
                {
                    if (ch == '\n') line++;
                    sb.Append(ch);
                }
                continue;
            }
            switch (ch)
            {
                case '"' when sb.Length == 0:
                    inQuotes = true;
                    break;
                case ',':
                    fields.Add(sb.ToString());
                    sb.Clear();
                    break;
                case '\r':
                    break;
                case '\n':
                    fields.Add(sb.ToString());
                    sb.Clear();
                    yield return (start, fields);
                    fields = [];
                    any = false;
                    start = ++line;
                    break;
                default:
                    sb.Append(ch);
                    break;
            }
        }
        if (inQuotes) throw new SnaInputException($"CSV: unterminated quoted field starting on line {start}.");
        if (any)
        {
            fields.Add(sb.ToString());
            yield return (start, fields);
        }
    }

    public static string Escape(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) >= 0 || s != s.Trim() ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
