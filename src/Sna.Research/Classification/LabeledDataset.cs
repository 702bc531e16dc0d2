using Sna.Runtime;
using System.Security.Cryptography;
using System.Text;

namespace Sna.Research.Classification;

/// <summary>One labelled example. <see cref="Row"/> is the 0-based data row (the header is not a row); <see cref="Line"/> is its 1-based line in the file.</summary>
public sealed record LabeledExample(int Row, int Line, string Text, string Label);

/// <summary>
/// A two-column (or wider) labelled text dataset in GLUE TSV format: a header line naming the columns (SST-2:
/// <c>sentence\tlabel</c>), then one example per line, tab-separated, no quoting. Every row must have the header's
/// number of columns, a non-empty text and a non-empty label; a malformed row is an <see cref="InvalidDataException"/>
/// naming the file and the line number.
/// </summary>
public sealed class LabeledDataset
{
    public IReadOnlyList<LabeledExample> Examples { get; }
    /// <summary>Where the data came from (a path, or the name given to <see cref="Parse"/>).</summary>
    public string Source { get; }
    /// <summary>SHA-256 of the file's bytes (lower-case hex), for run records; empty for parsed text.</summary>
    public string Sha256 { get; }
    public string TextColumn { get; }
    public string LabelColumn { get; }

    private LabeledDataset(IReadOnlyList<LabeledExample> examples, string source, string sha256, string textColumn, string labelColumn)
    {
        Examples = examples; Source = source; Sha256 = sha256; TextColumn = textColumn; LabelColumn = labelColumn;
    }

    public int Count => Examples.Count;
    public LabeledExample this[int row] => Examples[row];

    /// <summary>The distinct labels in order of first appearance.</summary>
    public IReadOnlyList<string> Labels => Examples.Select(e => e.Label).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>Reads a GLUE-format TSV file.</summary>
    public static LabeledDataset LoadTsv(string path, string textColumn = "sentence", string labelColumn = "label")
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"data file not found: {path}", path);
        byte[] bytes = File.ReadAllBytes(path);
        string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        using var reader = new StreamReader(new MemoryStream(bytes), new UTF8Encoding(false, true), detectEncodingFromByteOrderMarks: true);
        string text;
        try { text = reader.ReadToEnd(); }
        catch (DecoderFallbackException e) { throw new SnaInputException($"{path}: not valid UTF-8 ({e.Message})", e); }
        return Parse(new StringReader(text), path, textColumn, labelColumn, sha);
    }

    /// <summary>Parses GLUE-format TSV text; <paramref name="source"/> names it in error messages.</summary>
    public static LabeledDataset Parse(TextReader reader, string source, string textColumn = "sentence", string labelColumn = "label", string sha256 = "")
    {
        string? header = reader.ReadLine();
        if (header is null || header.Trim().Length == 0) throw new SnaInputException($"{source}: line 1: the file is empty; expected a header line such as 'sentence<TAB>label'");
        var cols = header.TrimEnd('\r').Split('\t').Select(c => c.Trim()).ToArray();
        int ti = Array.IndexOf(cols, textColumn), li = Array.IndexOf(cols, labelColumn);
        if (ti < 0 || li < 0)
            throw new SnaInputException($"{source}: line 1: the header must name the columns '{textColumn}' and '{labelColumn}' (tab-separated), got '{header.Replace("\t", "<TAB>")}'");
        if (cols.Distinct(StringComparer.Ordinal).Count() != cols.Length)
            throw new SnaInputException($"{source}: line 1: duplicate column names in the header");
        var list = new List<LabeledExample>();
        int lineNo = 1;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNo++;
            line = line.TrimEnd('\r');
            if (line.Length == 0) continue; // a trailing blank line is not a row
            var f = line.Split('\t');
            if (f.Length != cols.Length)
                throw new SnaInputException($"{source}: line {lineNo}: expected {cols.Length} tab-separated columns ({string.Join(", ", cols)}), found {f.Length}");
            string t = f[ti].Trim(), l = f[li].Trim();
            if (t.Length == 0) throw new SnaInputException($"{source}: line {lineNo}: the '{textColumn}' column is empty");
            if (l.Length == 0) throw new SnaInputException($"{source}: line {lineNo}: the '{labelColumn}' column is empty");
            list.Add(new LabeledExample(list.Count, lineNo, t, l));
        }
        if (list.Count == 0) throw new SnaInputException($"{source}: no data rows after the header");
        return new LabeledDataset(list, source, sha256, textColumn, labelColumn);
    }
}
