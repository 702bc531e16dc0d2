using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Sna.Runtime.Tokenization;

/// <summary>What <see cref="TokenizerFiles"/> reads from tokenizer files, before the BPE model is built.</summary>
internal sealed class TokenizerDefinition
{
    public required Dictionary<string, int> Vocab { get; init; }
    public required List<(string Left, string Right)> Merges { get; init; }
    public List<AddedToken> AddedTokens { get; init; } = [];
    public List<NormalizerStep> Normalizers { get; init; } = [];
    public PreTokenizerKind PreTokenizer { get; init; }
    public bool AddPrefixSpace { get; init; }
    public bool UseRegex { get; init; }
    public string MetaspaceReplacement { get; init; } = "";
    public PrependScheme Prepend { get; init; }
    public bool MetaspaceSplit { get; init; }
    public bool ByteFallback { get; init; }
    public string? UnkToken { get; init; }
    public bool FuseUnk { get; init; }
    public bool IgnoreMerges { get; init; }
    public List<DecoderStep> Decoder { get; init; } = [];
}

/// <summary>
/// Reads source files once and hashes them for run records: SHA-256 over, for each file in the order read, its file
/// name (UTF-8, without directory), a NUL byte, its length as a little-endian int64 and its bytes; lowercase hex.
/// </summary>
internal sealed class SourceReader : IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public byte[] Read(string path, string what)
    {
        TokenizerFiles.RequireFile(path, what);
        byte[] bytes = File.ReadAllBytes(path);
        _hash.AppendData(Encoding.UTF8.GetBytes(Path.GetFileName(path)));
        _hash.AppendData([0]);
        _hash.AppendData(BitConverter.GetBytes((long)bytes.Length));
        _hash.AppendData(bytes);
        return bytes;
    }

    public string Finish() => Convert.ToHexStringLower(_hash.GetHashAndReset());

    public void Dispose() => _hash.Dispose();
}

/// <summary>Readers for vocab.json + merges.txt, tokenizer.json and the config files that name a BOS token.</summary>
internal static class TokenizerFiles
{
    public static void RequireFile(string path, string what)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Tokenizer file not found: {path} ({what}).", path);
    }

    public static Dictionary<string, int> ReadVocabJson(SourceReader reader, string path)
    {
        using var doc = ParseJson(reader.Read(path, "BPE vocabulary"), path);
        return ParseVocab(doc.RootElement, path, "the root");
    }

    public static List<(string Left, string Right)> ReadMergesTxt(SourceReader reader, string path)
    {
        byte[] bytes = reader.Read(path, "BPE merges");
        var merges = new List<(string, string)>(50_000);
        int lineNumber = 0;
        using var text = new StreamReader(new MemoryStream(bytes), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        while (text.ReadLine() is string raw)
        {
            lineNumber++;
            string line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith("#version", StringComparison.Ordinal)) continue;
            int space = line.IndexOf(' ');
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
                throw new InvalidDataException($"{path}: line {lineNumber} is not a merge of the form 'left right': '{line}'.");
            merges.Add((line[..space], line[(space + 1)..]));
        }
        return merges;
    }

    public static TokenizerDefinition ReadTokenizerJson(SourceReader reader, string path)
    {
        using var doc = ParseJson(reader.Read(path, "Hugging Face tokenizer.json"), path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw Invalid(path, "the root is not a JSON object");

        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw Invalid(path, "no \"model\" object");
        string? modelType = OptionalString(model, "type", path);
        if (modelType is not null && modelType != "BPE")
            throw Invalid(path, $"model type \"{modelType}\" is not supported (only BPE)");
        if (modelType is null && model.TryGetProperty("vocab", out var untyped) && untyped.ValueKind == JsonValueKind.Array)
            throw Invalid(path, "model has no \"type\" and an array vocab (a Unigram model), which is not supported (only BPE)");
        if (modelType is null && !model.TryGetProperty("merges", out _))
            throw Invalid(path, "model has no \"type\" and no merges (a WordPiece or WordLevel model), which is not supported (only BPE)");
        // transformers writes "" for GPT-2 (GPT2Converter): an empty prefix/suffix is no prefix/suffix, as in Hugging Face.
        foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (model.TryGetProperty(affix, out var v) && v.ValueKind is not JsonValueKind.Null
                && (v.ValueKind != JsonValueKind.String || v.GetString()!.Length > 0))
                throw Invalid(path, $"model.{affix} is {v.GetRawText()}; only BPE without a subword prefix or suffix is supported");
        }
        // dropout null or 0 means none (Hugging Face skips dropout for both).
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind is not JsonValueKind.Null
            && !(dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() == 0))
            throw Invalid(path, $"model.dropout is {dropout.GetRawText()}; BPE dropout (random segmentation) is not supported");

        if (!model.TryGetProperty("vocab", out var vocabElement)) throw Invalid(path, "no model.vocab");
        var vocab = ParseVocab(vocabElement, path, "model.vocab");

        if (!model.TryGetProperty("merges", out var mergesElement) || mergesElement.ValueKind != JsonValueKind.Array)
            throw Invalid(path, "model.merges is missing or not an array");
        var merges = new List<(string, string)>(mergesElement.GetArrayLength());
        int index = 0;
        foreach (var m in mergesElement.EnumerateArray())
        {
            string left, right;
            if (m.ValueKind == JsonValueKind.String)
            {
                string s = m.GetString()!;
                int space = s.IndexOf(' ');
                if (space <= 0 || space == s.Length - 1 || s.IndexOf(' ', space + 1) >= 0)
                    throw Invalid(path, $"model.merges[{index}] \"{s}\" is not of the form \"left right\"");
                left = s[..space];
                right = s[(space + 1)..];
            }
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2
                     && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
            {
                left = m[0].GetString()!;
                right = m[1].GetString()!;
                if (left.Length == 0 || right.Length == 0)
                    throw Invalid(path, $"model.merges[{index}] has an empty part");
            }
            else
            {
                throw Invalid(path, $"model.merges[{index}] is neither a \"left right\" string nor a 2-element string array");
            }
            merges.Add((left, right));
            index++;
        }

        var normalizers = new List<NormalizerStep>();
        if (root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind != JsonValueKind.Null)
            ReadNormalizer(normalizer, path, normalizers);

        var pre = ReadPreTokenizer(root, path);

        bool byteLevel = pre.Kind is PreTokenizerKind.ByteLevel or PreTokenizerKind.Llama3Split;
        bool byteFallback = Flag(model, "byte_fallback", false);
        if (byteLevel && byteFallback)
            throw Invalid(path, "model.byte_fallback is true with a ByteLevel pre-tokenizer; that combination is not supported");

        var decoder = new List<DecoderStep>();
        bool byteLevelDecoder = false;
        if (root.TryGetProperty("decoder", out var decoderElement) && decoderElement.ValueKind != JsonValueKind.Null)
            byteLevelDecoder = ReadDecoder(decoderElement, path, decoder, top: true);
        else if (byteLevel) byteLevelDecoder = true; // no decoder: bytes are still the byte alphabet
        else throw Invalid(path, "no decoder for a non-byte-level BPE model; not supported");
        if (byteLevel != byteLevelDecoder)
            throw Invalid(path, $"decoder {DescribeType(decoderElement)} does not match the pre-tokenizer {(byteLevel ? "(byte-level)" : "(not byte-level)")}; not supported");

        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var addedElement) && addedElement.ValueKind != JsonValueKind.Null)
        {
            if (addedElement.ValueKind != JsonValueKind.Array) throw Invalid(path, "added_tokens is not an array");
            int i = 0;
            foreach (var t in addedElement.EnumerateArray())
            {
                if (t.ValueKind != JsonValueKind.Object
                    || !t.TryGetProperty("id", out var idElement) || idElement.ValueKind != JsonValueKind.Number || !idElement.TryGetInt32(out int id) || id < 0
                    || !t.TryGetProperty("content", out var contentElement) || contentElement.ValueKind != JsonValueKind.String)
                {
                    throw Invalid(path, $"added_tokens[{i}] needs a non-negative integer \"id\" and a string \"content\"");
                }
                bool special = Flag(t, "special", false);
                added.Add(new AddedToken(id, contentElement.GetString()!, special,
                    SingleWord: Flag(t, "single_word", false), LStrip: Flag(t, "lstrip", false),
                    RStrip: Flag(t, "rstrip", false), Normalized: Flag(t, "normalized", !special)));
                i++;
            }
        }

        string? unk = OptionalString(model, "unk_token", path);
        return new TokenizerDefinition
        {
            Vocab = vocab, Merges = merges, AddedTokens = added, Normalizers = normalizers,
            PreTokenizer = pre.Kind, AddPrefixSpace = pre.AddPrefixSpace, UseRegex = pre.UseRegex,
            MetaspaceReplacement = pre.Replacement, Prepend = pre.Prepend, MetaspaceSplit = pre.Split,
            ByteFallback = byteFallback, UnkToken = unk, FuseUnk = Flag(model, "fuse_unk", false),
            IgnoreMerges = Flag(model, "ignore_merges", false), Decoder = decoder,
        };
    }

    private static void ReadNormalizer(JsonElement n, string path, List<NormalizerStep> steps)
    {
        string? type = n.ValueKind == JsonValueKind.Object ? OptionalString(n, "type", path) : null;
        switch (type)
        {
            case "NFC":
                steps.Add(new NormalizerStep.NfcStep());
                return;
            case "Prepend":
                steps.Add(new NormalizerStep.PrependStep(RequiredString(n, "prepend", path, "normalizer Prepend")));
                return;
            case "Replace":
                var (pattern, content) = ReadReplace(n, path, "normalizer Replace");
                steps.Add(new NormalizerStep.ReplaceStep(pattern, content));
                return;
            case "Sequence":
                if (!n.TryGetProperty("normalizers", out var list) || list.ValueKind != JsonValueKind.Array)
                    throw Invalid(path, "normalizer Sequence has no \"normalizers\" array");
                foreach (var item in list.EnumerateArray()) ReadNormalizer(item, path, steps);
                return;
            default:
                throw Invalid(path, $"normalizer {DescribeType(n)} is not supported (only NFC, Prepend, Replace with a string pattern, and a Sequence of them)");
        }
    }

    private readonly record struct PreTokenizerSpec(PreTokenizerKind Kind, bool AddPrefixSpace, bool UseRegex, string Replacement, PrependScheme Prepend, bool Split);

    private static PreTokenizerSpec ReadPreTokenizer(JsonElement root, string path)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind == JsonValueKind.Null)
            return new PreTokenizerSpec(PreTokenizerKind.None, false, false, "", PrependScheme.Never, false);
        string? type = pre.ValueKind == JsonValueKind.Object ? OptionalString(pre, "type", path) : null;
        switch (type)
        {
            case "ByteLevel":
                return new PreTokenizerSpec(PreTokenizerKind.ByteLevel, Flag(pre, "add_prefix_space", false), Flag(pre, "use_regex", true), "", PrependScheme.Never, false);
            case "Metaspace":
            {
                string replacement = RequiredString(pre, "replacement", path, "pre_tokenizer Metaspace");
                if (replacement.Length == 0) throw Invalid(path, "pre_tokenizer Metaspace has an empty replacement");
                PrependScheme scheme;
                string? s = OptionalString(pre, "prepend_scheme", path);
                if (s is null) scheme = Flag(pre, "add_prefix_space", true) ? PrependScheme.Always : PrependScheme.Never; // pre-0.15 files
                else scheme = s switch
                {
                    "always" => PrependScheme.Always,
                    "first" => PrependScheme.First,
                    "never" => PrependScheme.Never,
                    _ => throw Invalid(path, $"pre_tokenizer Metaspace prepend_scheme \"{s}\" is unknown"),
                };
                return new PreTokenizerSpec(PreTokenizerKind.Metaspace, false, false, replacement, scheme, Flag(pre, "split", true));
            }
            case "Sequence":
            {
                // Llama 3: Split(the Llama 3 regex, Isolated, invert false) then ByteLevel(add_prefix_space false, use_regex false).
                if (pre.TryGetProperty("pretokenizers", out var list) && list.ValueKind == JsonValueKind.Array && list.GetArrayLength() == 2
                    && list[0].ValueKind == JsonValueKind.Object && OptionalString(list[0], "type", path) == "Split"
                    && list[1].ValueKind == JsonValueKind.Object && OptionalString(list[1], "type", path) == "ByteLevel")
                {
                    var split = list[0];
                    string? regex = split.TryGetProperty("pattern", out var p) && p.ValueKind == JsonValueKind.Object
                        && p.TryGetProperty("Regex", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
                    if (regex != Llama3Split.Pattern)
                        throw Invalid(path, $"pre_tokenizer Split pattern {(regex is null ? "(not a regex)" : JsonString.Quote(regex))} is not supported (only the Llama 3 regex)");
                    if (OptionalString(split, "behavior", path) != "Isolated" || Flag(split, "invert", false))
                        throw Invalid(path, "pre_tokenizer Split must have behavior Isolated and invert false");
                    if (Flag(list[1], "add_prefix_space", false) || Flag(list[1], "use_regex", true))
                        throw Invalid(path, "pre_tokenizer ByteLevel after Split must have add_prefix_space false and use_regex false");
                    return new PreTokenizerSpec(PreTokenizerKind.Llama3Split, false, false, "", PrependScheme.Never, false);
                }
                throw Invalid(path, "pre_tokenizer Sequence is not supported (only Split with the Llama 3 regex followed by ByteLevel)");
            }
            default:
                throw Invalid(path, $"pre_tokenizer {DescribeType(pre)} is not supported (only ByteLevel, Metaspace, the Llama 3 Split + ByteLevel sequence, or none)");
        }
    }

    /// <summary>Reads a decoder; returns true for a byte-level decoder.</summary>
    private static bool ReadDecoder(JsonElement d, string path, List<DecoderStep> steps, bool top)
    {
        string? type = d.ValueKind == JsonValueKind.Object ? OptionalString(d, "type", path) : null;
        switch (type)
        {
            case "ByteLevel" when top:
                return true;
            case "Metaspace" when top:
            {
                string replacement = RequiredString(d, "replacement", path, "decoder Metaspace");
                string? s = OptionalString(d, "prepend_scheme", path);
                bool prepends = s is null ? Flag(d, "add_prefix_space", true) : s != "never";
                steps.Add(new DecoderStep.MetaspaceStep(replacement, prepends));
                return false;
            }
            case "Replace":
                var (pattern, content) = ReadReplace(d, path, "decoder Replace");
                steps.Add(new DecoderStep.ReplaceStep(pattern, content));
                return false;
            case "ByteFallback":
                steps.Add(new DecoderStep.ByteFallbackStep());
                return false;
            case "Fuse":
                steps.Add(new DecoderStep.FuseStep());
                return false;
            case "Strip":
            {
                string c = RequiredString(d, "content", path, "decoder Strip");
                if (c.Length != 1) throw Invalid(path, "decoder Strip content is not one character");
                int start = d.TryGetProperty("start", out var a) && a.TryGetInt32(out int av) ? av : 0;
                int stop = d.TryGetProperty("stop", out var b) && b.TryGetInt32(out int bv) ? bv : 0;
                steps.Add(new DecoderStep.StripStep(c[0], start, stop));
                return false;
            }
            case "Sequence" when top:
                if (!d.TryGetProperty("decoders", out var list) || list.ValueKind != JsonValueKind.Array)
                    throw Invalid(path, "decoder Sequence has no \"decoders\" array");
                foreach (var item in list.EnumerateArray()) ReadDecoder(item, path, steps, top: false);
                return false;
            default:
                throw Invalid(path, $"decoder {DescribeType(d)} is not supported (only ByteLevel, Metaspace, or a Sequence of Replace, ByteFallback, Fuse and Strip)");
        }
    }

    private static (string Pattern, string Content) ReadReplace(JsonElement e, string path, string what)
    {
        if (!e.TryGetProperty("pattern", out var p) || p.ValueKind != JsonValueKind.Object
            || !p.TryGetProperty("String", out var s) || s.ValueKind != JsonValueKind.String || s.GetString()!.Length == 0)
            throw Invalid(path, $"{what} needs a non-empty literal \"String\" pattern (regex patterns are not supported)");
        return (s.GetString()!, RequiredString(e, "content", path, what));
    }

    private static string RequiredString(JsonElement obj, string name, string path, string what) =>
        OptionalString(obj, name, path) ?? throw Invalid(path, $"{what} has no \"{name}\"");

    /// <summary>
    /// The BOS token id named by <c>tokenizer_config.json</c> (<c>bos_token</c>, a string or an object with
    /// <c>content</c>) or else by <c>config.json</c> (<c>bos_token_id</c>); null when neither names one.
    /// </summary>
    public static int? ReadBosId(SourceReader reader, string directory, Func<string, int?> tokenToId)
    {
        string tokenizerConfig = Path.Combine(directory, "tokenizer_config.json");
        if (File.Exists(tokenizerConfig))
        {
            using var doc = ParseJson(reader.Read(tokenizerConfig, "tokenizer config"), tokenizerConfig);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("bos_token", out var bos))
            {
                string? content = bos.ValueKind switch
                {
                    JsonValueKind.String => bos.GetString(),
                    JsonValueKind.Object when bos.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
                    JsonValueKind.Null => null,
                    _ => throw Invalid(tokenizerConfig, "bos_token is neither a string nor an object with \"content\""),
                };
                if (content is not null)
                {
                    return tokenToId(content)
                        ?? throw Invalid(tokenizerConfig, $"bos_token \"{content}\" is not a token of the tokenizer");
                }
            }
        }

        string config = Path.Combine(directory, "config.json");
        if (File.Exists(config))
        {
            using var doc = ParseJson(reader.Read(config, "model config"), config);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("bos_token_id", out var id)
                && id.ValueKind != JsonValueKind.Null)
            {
                if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out int value) || value < 0)
                    throw Invalid(config, "bos_token_id is not a non-negative integer");
                return value;
            }
        }
        return null;
    }

    private static JsonDocument ParseJson(byte[] utf8, string path)
    {
        try
        {
            var json = new ReadOnlyMemory<byte>(utf8);
            if (json.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) json = json[3..]; // UTF-8 BOM
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: malformed JSON ({e.Message}).", e);
        }
    }

    private static Dictionary<string, int> ParseVocab(JsonElement element, string path, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw Invalid(path, $"{where} is not a JSON object of token → id");
        var vocab = new Dictionary<string, int>(60_000, StringComparer.Ordinal);
        foreach (var p in element.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
                throw Invalid(path, $"{where}: the id of token \"{p.Name}\" is not a non-negative integer");
            vocab[p.Name] = id;
        }
        if (vocab.Count == 0) throw Invalid(path, $"{where} is empty");
        return vocab;
    }

    private static string? OptionalString(JsonElement obj, string name, string path)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw Invalid(path, $"\"{name}\" is not a string");
        return v.GetString();
    }

    private static string DescribeType(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty("type", out var t) ? $"\"{t}\"" : $"({e.ValueKind})";

    private static bool Flag(JsonElement obj, string name, bool fallback) =>
        obj.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.True : fallback;

    private static InvalidDataException Invalid(string path, string message) => new($"{path}: {message}.");
}
