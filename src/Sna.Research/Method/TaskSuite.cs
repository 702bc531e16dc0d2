using System.Text;
using System.Text.Json;

namespace Sna.Research.Method;

/// <summary>
/// One prompt of a task: the text the model sees and the continuation it should produce. The SNA paper scores only the
/// target's first token, so write targets whose first token is the answer (<c>"What is 3 + 4? Answer:"</c> → <c>" 7"</c>,
/// with the leading space GPT-2 tokens carry). <see cref="Label"/> names the class of the prompt in classification suites.
/// </summary>
public sealed record TaskPrompt(string Text, string Target, string? Label = null);

/// <summary>
/// A task: named, graded prompts plus the texts neuron discovery compares. It is data (JSON, see <see cref="TaskSuiteJson"/>
/// and docs/cli.md): the 12 built-in suites of the paper's design ship as embedded JSON, and users add their own files.
/// </summary>
public sealed record TaskSuite
{
    /// <summary>The name used on the command line, e.g. <c>math-easy</c>.</summary>
    public required string Name { get; init; }
    /// <summary>The domain (math, poetry, code, logic, ... free text).</summary>
    public string Domain { get; init; } = "";
    /// <summary>The difficulty level (easy, medium, hard, ... free text).</summary>
    public string Level { get; init; } = "";
    public string? Description { get; init; }
    public required IReadOnlyList<TaskPrompt> Prompts { get; init; }
    /// <summary>Neutral reference texts for discovery; null means the built-in neutral corpus.</summary>
    public IReadOnlyList<string>? Neutral { get; init; }
    /// <summary>Explicit discovery texts; null means the prompt texts without their targets.</summary>
    public IReadOnlyList<string>? Texts { get; init; }
    /// <summary>
    /// Classification suites: label → the continuation scored for that class (e.g. <c>{"a": " positive", "b": " negative"}</c>).
    /// Exactly two classes; every prompt carries one of the labels. Null for ordinary tasks.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Classes { get; init; }
    /// <summary>Where the suite came from (a path, or <c>builtin:NAME</c>).</summary>
    public string Source { get; init; } = "(in memory)";

    public bool IsClassification => Classes is { Count: > 0 };

    /// <summary>The texts discovery runs on: <see cref="Texts"/> if given, else the prompt texts (targets not appended).</summary>
    public IReadOnlyList<string> DiscoveryTexts => Texts ?? Prompts.Select(p => p.Text).ToArray();

    /// <summary>The class labels in file order (classification suites).</summary>
    public IReadOnlyList<string> ClassLabels => Classes?.Keys.ToArray() ?? [];

    /// <summary>Discovery texts of one class: the texts of the prompts carrying <paramref name="label"/>.</summary>
    public IReadOnlyList<string> ClassTexts(string label) =>
        Classes is null || !Classes.ContainsKey(label)
            ? throw new ArgumentException($"task '{Name}' has no class '{label}'")
            : Prompts.Where(p => p.Label == label).Select(p => p.Text).ToArray();

    /// <summary>Serialises to the documented JSON format (indented, UTF-8, keys in a fixed order).</summary>
    public string ToJson() => TaskSuiteJson.Write(this);

    /// <summary>Checks the rules the loader enforces, for suites built in code.</summary>
    public void Validate()
    {
        // Round-trip through the loader: one set of rules.
        TaskSuiteJson.Parse(ToJson(), Source);
    }
}

/// <summary>A task file that cannot be used: which file, which line (1-based, 0 when unknown) and why.</summary>
public sealed class TaskSuiteException(string file, int line, string reason)
    : Sna.Runtime.SnaInputException(line > 0 ? $"{file}:{line}: {reason}" : $"{file}: {reason}")
{
    public string File { get; } = file;
    public int Line { get; } = line;
    public string Reason { get; } = reason;
}

/// <summary>
/// Reads and writes task suites. The format (UTF-8 JSON; comments and trailing commas are tolerated):
/// <code>
/// {
///   "name": "math-easy",                 // required, no whitespace
///   "domain": "math", "level": "easy",   // optional strings
///   "description": "...",                // optional
///   "prompts": [                         // required, at least one
///     {"text": "What is 3 + 4? Answer:", "target": " 7"},
///     {"text": "...", "target": "...", "label": "a"}   // label: classification suites
///   ],
///   "neutral": ["..."],                  // optional: neutral texts for discovery (default: built-in corpus)
///   "texts": ["..."],                    // optional: explicit discovery texts (default: the prompt texts)
///   "classes": {"a": " positive", "b": " negative"}   // optional: two labels → scored continuations
/// }
/// </code>
/// Errors name the file and line: malformed JSON, a missing name or prompts, an empty text or target, a duplicate prompt,
/// an unknown field (typos would otherwise be silently ignored; fields starting with <c>x-</c> or <c>_</c> are free), a
/// label that is not a class. In a classification suite a prompt's target may be omitted: it is then its class's continuation.
/// </summary>
public static class TaskSuiteJson
{
    private static readonly string[] RootKeys = ["name", "domain", "level", "description", "prompts", "neutral", "texts", "classes"];
    private static readonly string[] PromptKeys = ["text", "target", "label"];

    /// <summary>The task-name rule (a name is used on the command line and in result databases): not empty, no whitespace.
    /// Returns what is wrong with <paramref name="name"/>, or null when it is valid.</summary>
    public static string? NameProblem(string name) =>
        name.Length == 0 ? "a task name must not be empty"
        : name.Any(char.IsWhiteSpace) ? $"the name \"{name}\" contains whitespace; use e.g. my-task" : null;

    /// <summary>A valid task name from a file name (<c>zone 1.json</c> → <c>zone-1</c>): the name without extension, each run of
    /// whitespace replaced by '-'; null when nothing is left.</summary>
    public static string? NameFromFile(string path)
    {
        string stem = System.IO.Path.GetFileNameWithoutExtension(path);
        string name = string.Join('-', stem.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return name.Length == 0 ? null : name;
    }

    public static TaskSuite Load(string path)
    {
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"task file not found: {path}", path);
        return Parse(System.IO.File.ReadAllText(path), path);
    }

    public static TaskSuite Parse(string json, string source)
    {
        var doc = PositionedJson.Parse(json, source);
        var lines = new LineIndex(json);
        TaskSuiteException Err(PositionedJson.Node n, string reason) => new(source, lines.LineOf(n.Offset), reason);

        if (doc.Kind != JsonValueKind.Object) throw Err(doc, "a task file must be a JSON object with \"name\" and \"prompts\"");
        foreach (var (key, node) in doc.Props!)
            if (!RootKeys.Contains(key) && !IsFree(key))
                throw Err(node, $"unknown field \"{key}\" (expected one of {string.Join(", ", RootKeys)})");

        string name = RequiredString(doc, "name", Err, "the task has no \"name\"");
        if (NameProblem(name) is { } bad) throw Err(doc.Get("name")!, bad);
        string domain = OptionalString(doc, "domain", Err) ?? "";
        string level = OptionalString(doc, "level", Err) ?? "";
        string? description = OptionalString(doc, "description", Err);

        Dictionary<string, string>? classes = null;
        if (doc.Get("classes") is { } cn)
        {
            if (cn.Kind != JsonValueKind.Object) throw Err(cn, "\"classes\" must be an object mapping labels to continuations, e.g. {\"a\": \" positive\", \"b\": \" negative\"}");
            classes = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (label, v) in cn.Props!)
            {
                if (v.Kind != JsonValueKind.String || string.IsNullOrEmpty(v.Str)) throw Err(v, $"class \"{label}\" must map to a non-empty continuation string");
                if (label.Length == 0) throw Err(v, "a class label is empty");
                classes[label] = v.Str!;
            }
            if (classes.Count != 2) throw Err(cn, $"\"classes\" must have exactly two labels, found {classes.Count}");
            if (classes.Values.Distinct().Count() != 2) throw Err(cn, "the two classes have the same continuation");
        }

        var pn = doc.Get("prompts") ?? throw Err(doc, "the task has no \"prompts\"");
        if (pn.Kind != JsonValueKind.Array) throw Err(pn, "\"prompts\" must be an array of {\"text\", \"target\"} objects");
        if (pn.Items!.Count == 0) throw Err(pn, "\"prompts\" is empty");
        var prompts = new List<TaskPrompt>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < pn.Items.Count; i++)
        {
            var p = pn.Items[i];
            if (p.Kind != JsonValueKind.Object) throw Err(p, $"prompt {i} must be an object with \"text\" and \"target\"");
            foreach (var (key, node) in p.Props!)
                if (!PromptKeys.Contains(key) && !IsFree(key))
                    throw Err(node, $"prompt {i}: unknown field \"{key}\" (expected text, target, label)");
            string text = RequiredString(p, "text", Err, $"prompt {i} has no \"text\"", $"prompt {i}: ");
            string? label = OptionalString(p, "label", Err, $"prompt {i}: ");
            string? target = OptionalString(p, "target", Err, $"prompt {i}: ");
            if (label is not null)
            {
                if (classes is null) throw Err(p.Get("label")!, $"prompt {i} has label \"{label}\" but the task has no \"classes\"");
                if (!classes.TryGetValue(label, out var cont)) throw Err(p.Get("label")!, $"prompt {i}: label \"{label}\" is not one of the classes ({string.Join(", ", classes.Keys)})");
                target ??= cont;
            }
            else if (classes is not null) throw Err(p, $"prompt {i} has no \"label\"; every prompt of a classification task needs one of {string.Join(", ", classes.Keys)}");
            if (target is null) throw Err(p, $"prompt {i} has no \"target\"");
            if (target.Length == 0) throw Err(p.Get("target")!, $"prompt {i}: the target is empty; give the continuation the model should produce, e.g. \" 12\"");
            if (seen.TryGetValue(text, out int first)) throw Err(p, $"prompt {i} duplicates prompt {first} (same text)");
            seen[text] = i;
            prompts.Add(new TaskPrompt(text, target, label));
        }
        if (classes is not null)
            foreach (var label in classes.Keys)
                if (!prompts.Any(p => p.Label == label)) throw Err(pn, $"no prompt carries class \"{label}\"");

        return new TaskSuite
        {
            Name = name, Domain = domain, Level = level, Description = description, Prompts = prompts,
            Neutral = StringList(doc, "neutral", Err), Texts = StringList(doc, "texts", Err), Classes = classes, Source = source,
        };
    }

    /// <summary>
    /// A pool of candidate prompts: a task-suite file, or a bare JSON array of <c>{"text", "target"}</c> objects.
    /// </summary>
    public static (IReadOnlyList<TaskPrompt> Prompts, TaskSuite? Suite) LoadPool(string path)
    {
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"pool file not found: {path}", path);
        string json = System.IO.File.ReadAllText(path);
        string trimmed = json.TrimStart();
        if (trimmed.StartsWith('['))
        {
            var suite = Parse("{\"name\":\"pool\",\"prompts\":" + json + "\n}", path);
            return (suite.Prompts, null);
        }
        var s = Parse(json, path);
        return (s.Prompts, s);
    }

    /// <summary>A JSON file holding an array of strings (the <c>--task-texts</c>/<c>--neutral-texts</c> format).</summary>
    public static IReadOnlyList<string> LoadTextList(string path)
    {
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"text file not found: {path}", path);
        string json = System.IO.File.ReadAllText(path);
        var doc = PositionedJson.Parse(json, path);
        var lines = new LineIndex(json);
        if (doc.Kind != JsonValueKind.Array) throw new TaskSuiteException(path, lines.LineOf(doc.Offset), "expected a JSON array of strings");
        var list = new List<string>();
        foreach (var it in doc.Items!)
        {
            if (it.Kind != JsonValueKind.String || string.IsNullOrEmpty(it.Str))
                throw new TaskSuiteException(path, lines.LineOf(it.Offset), "every entry must be a non-empty string");
            list.Add(it.Str!);
        }
        if (list.Count == 0) throw new TaskSuiteException(path, lines.LineOf(doc.Offset), "the list is empty");
        return list;
    }

    public static string Write(TaskSuite s)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("name", s.Name);
            w.WriteString("domain", s.Domain);
            w.WriteString("level", s.Level);
            if (s.Description is not null) w.WriteString("description", s.Description);
            if (s.Classes is not null)
            {
                w.WriteStartObject("classes");
                foreach (var (k, v) in s.Classes) w.WriteString(k, v);
                w.WriteEndObject();
            }
            w.WriteStartArray("prompts");
            foreach (var p in s.Prompts)
            {
                w.WriteStartObject();
                w.WriteString("text", p.Text);
                w.WriteString("target", p.Target);
                if (p.Label is not null) w.WriteString("label", p.Label);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (s.Texts is not null) { w.WriteStartArray("texts"); foreach (var t in s.Texts) w.WriteStringValue(t); w.WriteEndArray(); }
            if (s.Neutral is not null) { w.WriteStartArray("neutral"); foreach (var t in s.Neutral) w.WriteStringValue(t); w.WriteEndArray(); }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    private static bool IsFree(string key) => key.StartsWith("x-", StringComparison.Ordinal) || key.StartsWith('_');

    private delegate TaskSuiteException ErrFn(PositionedJson.Node n, string reason);

    private static string RequiredString(PositionedJson.Node o, string key, ErrFn err, string missing, string prefix = "")
    {
        var n = o.Get(key) ?? throw err(o, missing);
        if (n.Kind != JsonValueKind.String) throw err(n, $"{prefix}\"{key}\" must be a string");
        if (string.IsNullOrWhiteSpace(n.Str)) throw err(n, $"{prefix}\"{key}\" is empty");
        return n.Str!;
    }

    private static string? OptionalString(PositionedJson.Node o, string key, ErrFn err, string prefix = "")
    {
        var n = o.Get(key);
        if (n is null || n.Kind == JsonValueKind.Null) return null;
        if (n.Kind != JsonValueKind.String) throw err(n, $"{prefix}\"{key}\" must be a string");
        return n.Str;
    }

    private static IReadOnlyList<string>? StringList(PositionedJson.Node o, string key, ErrFn err)
    {
        var n = o.Get(key);
        if (n is null || n.Kind == JsonValueKind.Null) return null;
        if (n.Kind != JsonValueKind.Array) throw err(n, $"\"{key}\" must be an array of strings");
        if (n.Items!.Count == 0) throw err(n, $"\"{key}\" is empty; leave it out to use the default");
        var list = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < n.Items.Count; i++)
        {
            var it = n.Items[i];
            if (it.Kind != JsonValueKind.String || string.IsNullOrWhiteSpace(it.Str)) throw err(it, $"\"{key}\"[{i}] must be a non-empty string");
            if (!seen.Add(it.Str!)) throw err(it, $"\"{key}\"[{i}] duplicates an earlier entry");
            list.Add(it.Str!);
        }
        return list;
    }
}

/// <summary>Maps character offsets to 1-based line numbers.</summary>
internal sealed class LineIndex
{
    private readonly List<int> _starts = [0];
    public LineIndex(string text)
    {
        for (int i = 0; i < text.Length; i++) if (text[i] == '\n') _starts.Add(i + 1);
    }
    public int LineOf(long charOffset)
    {
        int i = _starts.BinarySearch((int)Math.Min(charOffset, int.MaxValue));
        return (i >= 0 ? i : ~i - 1) + 1;
    }
}

/// <summary>
/// A small JSON tree that remembers where each value starts (as a character offset), so semantic errors can name a line.
/// Syntax errors come from <see cref="Utf8JsonReader"/> and carry its line number. Duplicate keys are an error.
/// </summary>
internal static class PositionedJson
{
    internal sealed class Node
    {
        public JsonValueKind Kind;
        public long Offset;                 // character offset of the value's first character
        public string? Str;
        public List<(string Key, Node Value)>? Props;
        public List<Node>? Items;
        public Node? Get(string key) => Props?.FirstOrDefault(p => p.Key == key).Value;
    }

    public static Node Parse(string json, string source)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(json);
        // byte offset → char offset (only needed for non-ASCII text)
        int[]? charAt = null;
        if (utf8.Length != json.Length)
        {
            charAt = new int[utf8.Length + 1];
            int c = 0;
            for (int b = 0; b < utf8.Length; b++)
            {
                charAt[b] = c;
                byte x = utf8[b];
                if ((x & 0xC0) != 0x80) c += (x >= 0xF0) ? 2 : 1;  // lead byte: one UTF-16 unit, or a surrogate pair for 4-byte sequences
            }
            charAt[utf8.Length] = c;
        }
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        try
        {
            if (!reader.Read()) throw new TaskSuiteException(source, 1, "the file is empty");
            var root = ReadValue(ref reader, charAt, source, json);
            if (reader.Read()) throw new TaskSuiteException(source, new LineIndex(json).LineOf(Char(charAt, reader.TokenStartIndex)), "unexpected content after the JSON value");
            return root;
        }
        catch (JsonException e)
        {
            throw new TaskSuiteException(source, (int)(e.LineNumber ?? -1) + 1, $"invalid JSON: {FirstSentence(e.Message)}");
        }
    }

    private static string FirstSentence(string m)
    {
        int i = m.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (i > 0 ? m[..i] : m).TrimEnd(' ', '.');
    }

    private static long Char(int[]? map, long b) => map is null ? b : map[b];

    private static Node ReadValue(ref Utf8JsonReader r, int[]? map, string source, string json)
    {
        var n = new Node { Offset = Char(map, r.TokenStartIndex) };
        switch (r.TokenType)
        {
            case JsonTokenType.StartObject:
                n.Kind = JsonValueKind.Object; n.Props = new();
                while (r.Read() && r.TokenType != JsonTokenType.EndObject)
                {
                    string key = r.GetString()!;
                    long keyAt = Char(map, r.TokenStartIndex);
                    if (n.Props.Any(p => p.Key == key))
                        throw new TaskSuiteException(source, new LineIndex(json).LineOf(keyAt), $"duplicate field \"{key}\"");
                    r.Read();
                    n.Props.Add((key, ReadValue(ref r, map, source, json)));
                }
                break;
            case JsonTokenType.StartArray:
                n.Kind = JsonValueKind.Array; n.Items = new();
                while (r.Read() && r.TokenType != JsonTokenType.EndArray) n.Items.Add(ReadValue(ref r, map, source, json));
                break;
            case JsonTokenType.String: n.Kind = JsonValueKind.String; n.Str = r.GetString(); break;
            case JsonTokenType.Number: n.Kind = JsonValueKind.Number; break;
            case JsonTokenType.True: n.Kind = JsonValueKind.True; break;
            case JsonTokenType.False: n.Kind = JsonValueKind.False; break;
            default: n.Kind = JsonValueKind.Null; break;
        }
        return n;
    }
}
