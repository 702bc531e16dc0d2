using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Sna.Runtime.Tokenization;

/// <summary>What <see cref="TokenizerFiles"/> reads from tokenizer files, before the BPE model is built.</summary>
internal sealed class TokenizerDefinition
{
    public required Dictionary<string, int> Vocab { get; init; }
    public required List<string> Merges { get; init; }
    public List<AddedToken> AddedTokens { get; init; } = [];
    public bool NfcNormalizer { get; init; }
    public bool AddPrefixSpace { get; init; }
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

    public static List<string> ReadMergesTxt(SourceReader reader, string path)
    {
        byte[] bytes = reader.Read(path, "BPE merges");
        var merges = new List<string>(50_000);
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
            merges.Add(line);
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
            throw Invalid(path, $"model type \"{modelType}\" is not supported (only byte-level BPE)");
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
        foreach (string unsupported in new[] { "byte_fallback", "ignore_merges" })
        {
            if (model.TryGetProperty(unsupported, out var v) && v.ValueKind is JsonValueKind.True)
                throw Invalid(path, $"model.{unsupported} is true; only plain byte-level BPE is supported");
        }

        if (!model.TryGetProperty("vocab", out var vocabElement)) throw Invalid(path, "no model.vocab");
        var vocab = ParseVocab(vocabElement, path, "model.vocab");

        if (!model.TryGetProperty("merges", out var mergesElement) || mergesElement.ValueKind != JsonValueKind.Array)
            throw Invalid(path, "model.merges is missing or not an array");
        var merges = new List<string>(mergesElement.GetArrayLength());
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
                // Microsoft.ML.Tokenizers takes merges as "left right" strings.
                if (left.Length == 0 || right.Length == 0 || left.Contains(' ') || right.Contains(' '))
                    throw Invalid(path, $"model.merges[{index}] has an empty part or a part containing a space");
            }
            else
            {
                throw Invalid(path, $"model.merges[{index}] is neither a \"left right\" string nor a 2-element string array");
            }
            merges.Add(left + " " + right);
            index++;
        }

        bool nfc = false;
        if (root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind != JsonValueKind.Null)
        {
            string? type = normalizer.ValueKind == JsonValueKind.Object ? OptionalString(normalizer, "type", path) : null;
            if (type == "NFC") nfc = true;
            else throw Invalid(path, $"normalizer {DescribeType(normalizer)} is not supported (only none or NFC)");
        }

        bool addPrefixSpace = false;
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object
            || OptionalString(pre, "type", path) != "ByteLevel")
        {
            throw Invalid(path, $"pre_tokenizer {(pre.ValueKind == JsonValueKind.Undefined ? "(missing)" : DescribeType(pre))} is not supported (only ByteLevel)");
        }
        if (pre.TryGetProperty("add_prefix_space", out var aps)) addPrefixSpace = aps.ValueKind == JsonValueKind.True;
        if (pre.TryGetProperty("use_regex", out var useRegex) && useRegex.ValueKind == JsonValueKind.False)
            throw Invalid(path, "pre_tokenizer.use_regex = false is not supported");

        if (root.TryGetProperty("decoder", out var decoder) && decoder.ValueKind != JsonValueKind.Null
            && (decoder.ValueKind != JsonValueKind.Object || OptionalString(decoder, "type", path) != "ByteLevel"))
        {
            throw Invalid(path, $"decoder {DescribeType(decoder)} is not supported (only ByteLevel)");
        }

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

        return new TokenizerDefinition { Vocab = vocab, Merges = merges, AddedTokens = added, NfcNormalizer = nfc, AddPrefixSpace = addPrefixSpace };
    }

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
