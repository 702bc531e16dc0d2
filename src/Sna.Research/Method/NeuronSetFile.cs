using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Sna.Runtime;

namespace Sna.Research.Method;

/// <summary>One layer of a neuron set: its neurons in order (best first) with the score each was chosen by.</summary>
/// <param name="Layer">Layer whose <c>blocks.{L}.mlp.hook_post</c> the neurons belong to.</param>
/// <param name="Neurons">Neurons, in the order discovery ranked them (largest score first for every built-in method).</param>
/// <param name="ContrastNeurons">Two-class methods: class B's list, likewise ordered; null otherwise.</param>
public sealed record NeuronSetLayer(int Layer, IReadOnlyList<NeuronScore> Neurons, IReadOnlyList<NeuronScore>? ContrastNeurons = null)
{
    /// <summary>The first <paramref name="count"/> neuron indices (all when null).</summary>
    public int[] Indices(int? count = null) => Neurons.Take(count ?? Neurons.Count).Select(n => n.Index).ToArray();
}

/// <summary>
/// A found neuron set as a file (<c>sna neurons --out set.json</c>), with what it was found on: model id and content hash,
/// method, BOS policy, discovery positions, a hash of the discovery texts, tool version and date. Read by
/// <c>amplify --neurons</c>, <c>sweep --neurons-file</c>, <c>controls --neurons</c> and the web page. The JSON schema is
/// documented in docs/cli.md ("Neuron set files"); <see cref="Read(string)"/> is strict (an <see cref="SnaInputException"/>
/// naming the field), <see cref="Write"/> is atomic (<see cref="AtomicFile"/>).
/// </summary>
public sealed record NeuronSetFile
{
    /// <summary>The value of the <c>format</c> field.</summary>
    public const string FormatName = "sna-neuron-set";
    /// <summary>The schema version this code writes and reads.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Model id as loaded (directory, alias or hub id).</summary>
    public required string ModelId { get; init; }
    /// <summary>SHA-256 (hex) of the model's weights, as every run record states it.</summary>
    public required string ModelSha256 { get; init; }
    /// <summary>Discovery method (<see cref="DiscoveryMethods.Names"/>).</summary>
    public required string Method { get; init; }
    /// <summary>Per layer, the ordered neurons; layers ascending, no repeats.</summary>
    public required IReadOnlyList<NeuronSetLayer> Layers { get; init; }
    /// <summary>Which token positions discovery averaged over (<see cref="DiscoveryMeanOptions.PositionNames"/>: <c>all</c>, <c>all-but-bos</c>, <c>last</c>).</summary>
    public string Positions { get; init; } = "all";
    /// <summary>How positions were weighted (<see cref="DiscoveryMeanOptions.WeightingNames"/>: <c>per-text</c>, <c>per-token</c>).</summary>
    public string Weighting { get; init; } = "per-text";
    /// <summary><see cref="TextsHash"/> of the discovery texts.</summary>
    public required string TextsSha256 { get; init; }
    /// <summary><c>prepend</c> or <c>none</c>.</summary>
    public required string Bos { get; init; }
    /// <summary>Version of the tool that wrote the file (<c>0.2.0+commit</c>).</summary>
    public required string ToolVersion { get; init; }
    /// <summary>When the file was written (UTC, ISO 8601).</summary>
    public required DateTimeOffset Created { get; init; }
    /// <summary>The task the set was found for, when there was one (name only; informational).</summary>
    public string? Task { get; init; }
    /// <summary>Number of texts per role (<c>task</c>, <c>neutral</c>, <c>contrast</c>), informational.</summary>
    public IReadOnlyDictionary<string, int>? TextCounts { get; init; }

    /// <summary>The set's single layer; an <see cref="SnaInputException"/> when it has several and none was chosen.</summary>
    public NeuronSetLayer Layer(int? layer, string source, string option = "--layer")
    {
        if (layer is { } l)
            return Layers.FirstOrDefault(x => x.Layer == l)
                ?? throw new SnaInputException(option, $"{source} has no layer {l} (it has {string.Join(", ", Layers.Select(x => x.Layer))})");
        if (Layers.Count == 1) return Layers[0];
        throw new SnaInputException(option, $"{source} holds {Layers.Count} layers ({string.Join(", ", Layers.Select(x => x.Layer))}): choose one with {option}");
    }

    /// <summary>
    /// SHA-256 (lower-case hex) of the discovery texts: for each role in order (<c>task</c>, <c>neutral</c>, then <c>contrast</c>
    /// when there is one) the UTF-8 bytes of the role name and a line feed, then each text followed by a NUL byte.
    /// Python: <c>sha256(b"".join(r.encode()+b"\n"+b"".join(t.encode()+b"\0" for t in ts) for r, ts in roles))</c>.
    /// </summary>
    public static string TextsHash(IReadOnlyList<string> task, IReadOnlyList<string> neutral, IReadOnlyList<string>? contrast = null)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Role(string name, IReadOnlyList<string> texts)
        {
            h.AppendData(Encoding.UTF8.GetBytes(name + "\n"));
            foreach (var t in texts) { h.AppendData(Encoding.UTF8.GetBytes(t)); h.AppendData([0]); }
        }
        Role("task", task);
        Role("neutral", neutral);
        if (contrast is not null) Role("contrast", contrast);
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    /// <summary>SHA-256 (lower-case hex) of a file's bytes: what a sweep records to refuse a resume with a changed set.</summary>
    public static string FileHash(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    /// <summary>A set found on <paramref name="model"/> now: model id and hash, texts hash, tool version and date filled in.</summary>
    public static NeuronSetFile FromDiscovery(Sna.Runtime.Models.TransformerModel model, DiscoveryMethod method, Sna.Runtime.Tokenization.BosPolicy bos,
        IReadOnlyList<NeuronSetLayer> layers, IReadOnlyList<string> task, IReadOnlyList<string> neutral, IReadOnlyList<string>? contrast = null, string? taskName = null,
        DiscoveryMeanOptions? means = null)
    {
        means ??= DiscoveryMeanOptions.Default;
        var counts = new Dictionary<string, int> { ["task"] = task.Count, ["neutral"] = neutral.Count };
        if (contrast is not null) counts["contrast"] = contrast.Count;
        return new NeuronSetFile
        {
            ModelId = model.Provenance.Source, ModelSha256 = model.Provenance.ContentHash, Method = DiscoveryMethods.Name(method),
            Bos = Sna.Runtime.Tokenization.ModelTokenizer.BosText(bos), Layers = layers,
            TextsSha256 = TextsHash(task, neutral, contrast), TextCounts = counts, Task = taskName,
            Positions = means.PositionsName, Weighting = means.WeightingName,
            ToolVersion = Provenance.SnaVersion.Text, Created = DateTimeOffset.UtcNow,
        };
    }

    /// <summary>A one-line warning when the set was found on another model than <paramref name="model"/>, else null.</summary>
    public string? ModelMismatch(Sna.Runtime.Models.TransformerModel model, string source) =>
        string.Equals(ModelSha256, model.Provenance.ContentHash, StringComparison.OrdinalIgnoreCase) ? null
            : $"{source} was found on model {ModelId} (sha256 {ModelSha256[..12]}…), not on the loaded model {model.Provenance.Source} (sha256 {(model.Provenance.ContentHash is { Length: >= 12 } h ? h[..12] : "?")}…)";

    // ------------------------------------------------------------------------------------------------------------
    // Writing

    /// <summary>The file's JSON text (indented, UTF-8, stable field order).</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("format", FormatName);
            w.WriteNumber("format_version", CurrentVersion);
            w.WriteStartObject("model");
            w.WriteString("id", ModelId);
            w.WriteString("sha256", ModelSha256);
            w.WriteEndObject();
            w.WriteString("method", Method);
            w.WriteString("positions", Positions);
            w.WriteString("weighting", Weighting);
            w.WriteString("bos", Bos);
            w.WriteString("texts_sha256", TextsSha256);
            if (TextCounts is not null)
            {
                w.WriteStartObject("texts");
                foreach (var (k, v) in TextCounts) w.WriteNumber(k, v);
                w.WriteEndObject();
            }
            if (Task is not null) w.WriteString("task", Task);
            w.WriteStartArray("layers");
            foreach (var l in Layers)
            {
                w.WriteStartObject();
                w.WriteNumber("layer", l.Layer);
                WriteNeurons(w, "neurons", l.Neurons);
                if (l.ContrastNeurons is not null) WriteNeurons(w, "contrast_neurons", l.ContrastNeurons);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("tool_version", ToolVersion);
            w.WriteString("created", Created.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    private static void WriteNeurons(Utf8JsonWriter w, string name, IReadOnlyList<NeuronScore> list)
    {
        w.WriteStartArray(name);
        foreach (var n in list)
        {
            w.WriteStartObject();
            w.WriteNumber("index", n.Index);
            w.WriteNumber("score", n.Difference);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>Writes the file atomically (temporary file, then rename); refuses to overwrite one of <paramref name="inputs"/>.</summary>
    public void Write(string path, IEnumerable<string?>? inputs = null, string option = "--out")
    {
        Check(this, path);
        string json = ToJson();
        AtomicFile.Write(path, tmp => { File.WriteAllText(tmp, json, new UTF8Encoding(false)); return 0; }, inputs, option);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Reading

    private static readonly string[] TopFields =
        ["format", "format_version", "model", "method", "positions", "weighting", "bos", "texts_sha256", "texts", "task", "layers", "tool_version", "created"];

    /// <summary>Reads and checks a neuron set file; every problem is an <see cref="SnaInputException"/> naming the file and field.</summary>
    public static NeuronSetFile Read(string path)
    {
        if (!File.Exists(path)) throw new SnaInputException($"neuron set file not found: {path}");
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException e) { throw new SnaInputException($"{path}: cannot read the neuron set file: {e.Message}", e); }
        return Parse(text, path);
    }

    /// <summary>Parses a neuron set's JSON text (<paramref name="source"/> names it in errors: a path, or "the pasted set").</summary>
    public static NeuronSetFile Parse(string json, string source)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow }); }
        catch (JsonException e) { throw new SnaInputException($"{source}: not valid JSON ({e.Message.Split(" Path:")[0].Split(" LineNumber:")[0].TrimEnd('.')}, line {(e.LineNumber ?? 0) + 1})", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Error(source, "(root)", "a neuron set file is a JSON object");
            foreach (var p in root.EnumerateObject())
                if (!TopFields.Contains(p.Name)) throw Error(source, p.Name, $"unknown field (format_version {CurrentVersion} has: {string.Join(", ", TopFields)})");
            string format = Str(root, "format", source);
            if (format != FormatName) throw Error(source, "format", $"must be \"{FormatName}\", got \"{format}\"");
            var ver = Req(root, "format_version", source);
            if (ver.ValueKind != JsonValueKind.Number || !ver.TryGetInt32(out int v)) throw Error(source, "format_version", "must be an integer");
            if (v != CurrentVersion) throw Error(source, "format_version", $"is {v}; this sna reads version {CurrentVersion}");
            var model = Req(root, "model", source);
            if (model.ValueKind != JsonValueKind.Object) throw Error(source, "model", "must be an object {\"id\", \"sha256\"}");
            foreach (var p in model.EnumerateObject())
                if (p.Name is not ("id" or "sha256")) throw Error(source, "model." + p.Name, "unknown field (model has: id, sha256)");
            string modelId = Str(model, "id", source, "model.id");
            string modelSha = Str(model, "sha256", source, "model.sha256");
            if (!IsHex64(modelSha)) throw Error(source, "model.sha256", "must be 64 hex digits");
            string method = Str(root, "method", source);
            if (!DiscoveryMethods.Names.Contains(method) && method != "explicit")
                throw Error(source, "method", $"must be one of {string.Join(", ", DiscoveryMethods.Names)}, explicit; got \"{method}\"");
            string positions = Str(root, "positions", source);
            if (!DiscoveryMeanOptions.PositionNames.Contains(positions))
                throw Error(source, "positions", $"must be one of {string.Join(", ", DiscoveryMeanOptions.PositionNames)}; got \"{positions}\"");
            string weighting = "per-text";
            if (root.TryGetProperty("weighting", out _))
            {
                weighting = Str(root, "weighting", source);
                if (!DiscoveryMeanOptions.WeightingNames.Contains(weighting))
                    throw Error(source, "weighting", $"must be one of {string.Join(", ", DiscoveryMeanOptions.WeightingNames)}; got \"{weighting}\"");
            }
            string bos = Str(root, "bos", source);
            if (bos is not ("prepend" or "none")) throw Error(source, "bos", $"must be \"prepend\" or \"none\"; got \"{bos}\"");
            string textsSha = Str(root, "texts_sha256", source);
            if (!IsHex64(textsSha)) throw Error(source, "texts_sha256", "must be 64 hex digits");
            Dictionary<string, int>? counts = null;
            if (root.TryGetProperty("texts", out var tc))
            {
                if (tc.ValueKind != JsonValueKind.Object) throw Error(source, "texts", "must be an object of counts {\"task\": n, \"neutral\": n}");
                counts = new();
                foreach (var p in tc.EnumerateObject())
                {
                    if (p.Name is not ("task" or "neutral" or "contrast")) throw Error(source, "texts." + p.Name, "unknown role (task, neutral, contrast)");
                    if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int c) || c < 1) throw Error(source, "texts." + p.Name, "must be a positive integer");
                    counts[p.Name] = c;
                }
            }
            string? task = null;
            if (root.TryGetProperty("task", out var tk))
            {
                if (tk.ValueKind != JsonValueKind.String) throw Error(source, "task", "must be a string");
                task = tk.GetString();
            }
            var layersEl = Req(root, "layers", source);
            if (layersEl.ValueKind != JsonValueKind.Array || layersEl.GetArrayLength() == 0) throw Error(source, "layers", "must be a non-empty array of {\"layer\", \"neurons\"}");
            var layers = new List<NeuronSetLayer>();
            int li = 0;
            foreach (var le in layersEl.EnumerateArray())
            {
                string at = $"layers[{li}]";
                if (le.ValueKind != JsonValueKind.Object) throw Error(source, at, "must be an object {\"layer\", \"neurons\"}");
                foreach (var p in le.EnumerateObject())
                    if (p.Name is not ("layer" or "neurons" or "contrast_neurons")) throw Error(source, $"{at}.{p.Name}", "unknown field (a layer has: layer, neurons, contrast_neurons)");
                var lv = Req(le, "layer", source, at + ".layer");
                if (lv.ValueKind != JsonValueKind.Number || !lv.TryGetInt32(out int layer) || layer < 0 || layer > InputParsing.MaxLayerIndex)
                    throw Error(source, at + ".layer", $"must be an integer 0..{InputParsing.MaxLayerIndex}");
                if (layers.Any(x => x.Layer == layer)) throw Error(source, at + ".layer", $"layer {layer} appears twice");
                var neurons = Neurons(le, "neurons", source, at, required: true)!;
                var contrast = Neurons(le, "contrast_neurons", source, at, required: false);
                layers.Add(new NeuronSetLayer(layer, neurons, contrast));
                li++;
            }
            string tool = Str(root, "tool_version", source);
            string createdText = Str(root, "created", source);
            if (!DateTimeOffset.TryParse(createdText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var created))
                throw Error(source, "created", $"must be an ISO 8601 date-time; got \"{createdText}\"");
            return new NeuronSetFile
            {
                ModelId = modelId, ModelSha256 = modelSha.ToLowerInvariant(), Method = method, Positions = positions, Weighting = weighting, Bos = bos,
                TextsSha256 = textsSha.ToLowerInvariant(), TextCounts = counts, Task = task, Layers = layers, ToolVersion = tool, Created = created,
            };
        }
    }

    private static IReadOnlyList<NeuronScore>? Neurons(JsonElement layer, string name, string source, string at, bool required)
    {
        if (!layer.TryGetProperty(name, out var arr))
        {
            if (required) throw Error(source, $"{at}.{name}", "is missing");
            return null;
        }
        if (arr.ValueKind != JsonValueKind.Array || (required && arr.GetArrayLength() == 0))
            throw Error(source, $"{at}.{name}", "must be a non-empty array of {\"index\", \"score\"}");
        var list = new List<NeuronScore>();
        var seen = new HashSet<int>();
        int i = 0;
        foreach (var n in arr.EnumerateArray())
        {
            string f = $"{at}.{name}[{i}]";
            if (n.ValueKind != JsonValueKind.Object) throw Error(source, f, "must be an object {\"index\", \"score\"}");
            foreach (var p in n.EnumerateObject())
                if (p.Name is not ("index" or "score")) throw Error(source, $"{f}.{p.Name}", "unknown field (a neuron has: index, score)");
            var ie = Req(n, "index", source, f + ".index");
            if (ie.ValueKind != JsonValueKind.Number || !ie.TryGetInt32(out int idx) || idx < 0 || idx >= InputParsing.MaxNeurons)
                throw Error(source, f + ".index", $"must be an integer 0..{InputParsing.MaxNeurons - 1}");
            if (!seen.Add(idx)) throw Error(source, f + ".index", $"neuron {idx} appears twice");
            var se = Req(n, "score", source, f + ".score");
            if (se.ValueKind != JsonValueKind.Number || !se.TryGetDouble(out double score) || !double.IsFinite(score))
                throw Error(source, f + ".score", "must be a finite number");
            list.Add(new NeuronScore(idx, score));
            i++;
        }
        return list;
    }

    private static void Check(NeuronSetFile s, string path)
    {
        if (s.Layers.Count == 0) throw new ArgumentException("a neuron set needs at least one layer");
        if (s.Layers.Select(l => l.Layer).Distinct().Count() != s.Layers.Count) throw new ArgumentException("a layer appears twice in the neuron set");
        foreach (var l in s.Layers)
            if (l.Neurons.Count == 0) throw new SnaInputException($"{path}: layer {l.Layer} has no neurons to save");
    }

    private static JsonElement Req(JsonElement o, string name, string source, string? field = null) =>
        o.TryGetProperty(name, out var v) ? v : throw Error(source, field ?? name, "is missing");

    private static string Str(JsonElement o, string name, string source, string? field = null)
    {
        var v = Req(o, name, source, field);
        if (v.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(v.GetString())) throw Error(source, field ?? name, "must be a non-empty string");
        return v.GetString()!;
    }

    private static bool IsHex64(string s) => s.Length == 64 && s.All(Uri.IsHexDigit);

    private static SnaInputException Error(string source, string field, string what) => new(field, $"{source}: neuron set field '{field}' {what}");
}
