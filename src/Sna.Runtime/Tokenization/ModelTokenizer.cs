using System.Text;
using Microsoft.ML.Tokenizers;

namespace Sna.Runtime.Tokenization;

/// <summary>
/// A byte-level BPE tokenizer reproducing GPT-2's and GPT-NeoX's (Pythia's) token ids exactly.
/// </summary>
/// <remarks>
/// <para>Two sources are supported:</para>
/// <list type="bullet">
/// <item><see cref="KindGpt2Bpe"/> (<c>vocab.json</c> + <c>merges.txt</c>): OpenAI's GPT-2 encoder. The text is
/// always encoded as plain text: "&lt;|endoftext|&gt;" inside the text is <em>not</em> turned into id 50256 but
/// encoded like any other characters (GPT-2: 27, 91, 437, 1659, 5239, 91, 29), as OpenAI's encoder.py and the
/// golden encoder do. (Hugging Face's GPT2Tokenizer would map it to 50256.)</item>
/// <item><see cref="KindTokenizerJson"/> (Hugging Face <c>tokenizer.json</c> with a byte-level BPE model): Hugging
/// Face tokenizers' pipeline with <c>add_special_tokens=false</c>: the text is split on <c>added_tokens</c>
/// (leftmost-longest, with their <c>lstrip</c>/<c>rstrip</c>/<c>single_word</c>/<c>normalized</c> flags), the
/// other pieces are NFC-normalized if the normalizer says so, then byte-level pre-tokenized and BPE-encoded. As in
/// Hugging Face, added tokens are matched <em>also</em> when special: "&lt;|endoftext|&gt;" in the text becomes
/// its id, and with the Pythia file shipped here even the word "assistant" (added token 50279, no
/// <c>single_word</c>) becomes one token wherever it occurs, e.g. inside "assistants".</item>
/// </list>
/// <para>Encoding never adds BOS/EOS unless asked through <see cref="Encode(string, BosPolicy)"/>. Instances are
/// immutable and thread-safe (Microsoft.ML.Tokenizers' BPE word cache is lock-protected).</para>
/// </remarks>
public sealed class ModelTokenizer
{
    /// <summary><see cref="Kind"/> of a tokenizer read from <c>vocab.json</c> + <c>merges.txt</c>.</summary>
    public const string KindGpt2Bpe = "gpt2-bpe";

    /// <summary><see cref="Kind"/> of a tokenizer read from a Hugging Face <c>tokenizer.json</c>.</summary>
    public const string KindTokenizerJson = "tokenizer.json";

    private const string EndOfText = "<|endoftext|>";

    private readonly BpeTokenizer _bpe;
    private readonly AddedTokenMatcher? _rawMatcher;         // added tokens matched on the input text
    private readonly AddedTokenMatcher? _normalizedMatcher;  // added tokens matched after normalization
    private readonly bool _nfc;
    private readonly bool _addPrefixSpace;
    private readonly byte[]?[] _idToBytes;
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int> _addedByContent;

    /// <summary>Id prepended by <see cref="BosPolicy.Prepend"/>; -1 when the tokenizer has none.</summary>
    public int BosId { get; }

    /// <summary>One more than the largest token id (model vocabulary and added tokens). GPT-2: 50257; GPT-NeoX-20B
    /// as shipped: 50281. A model's embedding matrix may be larger (Pythia pads it to 50304).</summary>
    public int VocabSize { get; }

    /// <summary><see cref="KindGpt2Bpe"/> or <see cref="KindTokenizerJson"/>.</summary>
    public string Kind { get; }

    /// <summary>
    /// SHA-256 (lowercase hex) over the files read, in order: for each, its file name (UTF-8, no directory), a NUL
    /// byte, its length as a little-endian int64, and its bytes. Covers the config files consulted for the BOS token.
    /// </summary>
    public string SourceHash { get; }

    private ModelTokenizer(TokenizerDefinition definition, string kind, string source, Func<Func<string, int?>, int?> readBos, SourceReader reader)
    {
        Kind = kind;
        _vocab = definition.Vocab;
        _nfc = definition.NfcNormalizer;
        _addPrefixSpace = definition.AddPrefixSpace;

        ValidateMerges(definition, source);
        try
        {
            _bpe = BpeTokenizer.Create(new BpeOptions(definition.Vocab)
            {
                Merges = definition.Merges,
                ByteLevel = true,
                PreTokenizer = Gpt2PreTokenizer.Instance,
            });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{source}: cannot build the BPE model ({e.Message}).", e);
        }

        _addedByContent = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in definition.AddedTokens) _addedByContent.TryAdd(t.Content, t.Id);
        if (definition.AddedTokens.Count > 0)
        {
            // Two passes as in Hugging Face: tokens with normalized=false on the input, then (after normalizing the
            // pieces in between) tokens with normalized=true, matched by their normalized content.
            var raw = new AddedTokenMatcher(definition.AddedTokens.Where(t => !t.Normalized).Select(t => (t.Content, t)));
            var normalized = new AddedTokenMatcher(definition.AddedTokens.Where(t => t.Normalized)
                .Select(t => (_nfc ? Nfc.Normalize(t.Content) : t.Content, t)));
            _rawMatcher = raw.IsEmpty ? null : raw;
            _normalizedMatcher = normalized.IsEmpty ? null : normalized;
        }

        int maxId = Math.Max(definition.Vocab.Values.Max(), definition.AddedTokens.Count > 0 ? definition.AddedTokens.Max(t => t.Id) : -1);
        _idToBytes = new byte[]?[maxId + 1];
        var buffer = new List<byte>(64);
        foreach (var (token, id) in definition.Vocab) _idToBytes[id] = TokenBytes(token, buffer);
        foreach (var t in definition.AddedTokens) _idToBytes[t.Id] = TokenBytes(t.Content, buffer); // HF: added vocabulary first
        VocabSize = maxId + 1;

        int? bos = readBos(TokenToId) ?? TokenToId(EndOfText);
        if (bos is int b && (b >= VocabSize || _idToBytes[b] is null))
            throw new InvalidDataException($"{source}: the BOS token id {b} is not a token of the tokenizer.");
        BosId = bos ?? -1;
        SourceHash = reader.Finish();
    }

    /// <summary>
    /// Loads the tokenizer of a model directory: <c>tokenizer.json</c> if present, else <c>vocab.json</c> +
    /// <c>merges.txt</c>. The BOS token is <c>bos_token</c> of <c>tokenizer_config.json</c>, else
    /// <c>bos_token_id</c> of <c>config.json</c>, else "&lt;|endoftext|&gt;" if the tokenizer has it.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="FileNotFoundException">No tokenizer files, or <c>merges.txt</c> missing next to <c>vocab.json</c>.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or describes an unsupported tokenizer; the message names the file.</exception>
    public static ModelTokenizer FromDirectory(string dir)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Model directory not found: {dir}");
        string tokenizerJson = Path.Combine(dir, "tokenizer.json");
        string vocabJson = Path.Combine(dir, "vocab.json");
        string mergesTxt = Path.Combine(dir, "merges.txt");
        if (File.Exists(tokenizerJson)) return LoadTokenizerJson(tokenizerJson, dir);
        if (File.Exists(vocabJson)) return LoadVocabAndMerges(vocabJson, mergesTxt, dir);
        throw new FileNotFoundException(
            $"No tokenizer in {dir}: expected tokenizer.json, or vocab.json + merges.txt.", tokenizerJson);
    }

    /// <summary>Loads a GPT-2 style <c>vocab.json</c> + <c>merges.txt</c> pair (<see cref="KindGpt2Bpe"/>). BOS is
    /// "&lt;|endoftext|&gt;" if present (GPT-2: 50256).</summary>
    public static ModelTokenizer FromVocabAndMerges(string vocabPath, string mergesPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(vocabPath);
        ArgumentException.ThrowIfNullOrEmpty(mergesPath);
        return LoadVocabAndMerges(vocabPath, mergesPath, configDirectory: null);
    }

    /// <summary>Loads a Hugging Face <c>tokenizer.json</c> with a byte-level BPE model (<see cref="KindTokenizerJson"/>).
    /// BOS is "&lt;|endoftext|&gt;" if present (GPT-NeoX: 0); use <see cref="FromDirectory"/> to honour config files.</summary>
    public static ModelTokenizer FromTokenizerJson(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return LoadTokenizerJson(path, configDirectory: null);
    }

    private static ModelTokenizer LoadVocabAndMerges(string vocabPath, string mergesPath, string? configDirectory)
    {
        using var reader = new SourceReader();
        TokenizerFiles.RequireFile(vocabPath, "BPE vocabulary");
        TokenizerFiles.RequireFile(mergesPath, "BPE merges; vocab.json needs it");
        var definition = new TokenizerDefinition
        {
            Vocab = TokenizerFiles.ReadVocabJson(reader, vocabPath),
            Merges = TokenizerFiles.ReadMergesTxt(reader, mergesPath),
        };
        return new ModelTokenizer(definition, KindGpt2Bpe, mergesPath, ReadBos(reader, configDirectory), reader);
    }

    private static ModelTokenizer LoadTokenizerJson(string path, string? configDirectory)
    {
        using var reader = new SourceReader();
        var definition = TokenizerFiles.ReadTokenizerJson(reader, path);
        return new ModelTokenizer(definition, KindTokenizerJson, path, ReadBos(reader, configDirectory), reader);
    }

    private static Func<Func<string, int?>, int?> ReadBos(SourceReader reader, string? configDirectory) =>
        tokenToId => configDirectory is null ? null : TokenizerFiles.ReadBosId(reader, configDirectory, tokenToId);

    /// <summary>Encodes <paramref name="text"/> without adding any BOS/EOS token. Lone surrogates are encoded as U+FFFD.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) return [];
        text = ReplaceLoneSurrogates(text);
        if (_rawMatcher is null && _normalizedMatcher is null && !_nfc && !_addPrefixSpace)
            return [.. _bpe.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false)];

        var ids = new List<int>(text.Length / 3 + 4);
        EncodeAddedTokensThen(text, _rawMatcher, ids, (piece, output) =>
        {
            string normalized = _nfc ? Nfc.Normalize(piece) : piece;
            EncodeAddedTokensThen(normalized, _normalizedMatcher, output, EncodeBpePiece);
        });
        return [.. ids];
    }

    /// <summary>Encodes <paramref name="text"/>; with <see cref="BosPolicy.Prepend"/>, <see cref="BosId"/> comes first.</summary>
    /// <exception cref="InvalidOperationException">Prepend was asked but the tokenizer has no BOS token.</exception>
    public int[] Encode(string text, BosPolicy policy)
    {
        int[] ids = Encode(text);
        if (policy == BosPolicy.None) return ids;
        if (policy != BosPolicy.Prepend) throw new ArgumentOutOfRangeException(nameof(policy), policy, null);
        if (BosId < 0) throw new InvalidOperationException("This tokenizer has no BOS token; use BosPolicy.None.");
        var result = new int[ids.Length + 1];
        result[0] = BosId;
        ids.CopyTo(result, 1);
        return result;
    }

    /// <summary>
    /// Decodes ids to text (Hugging Face ByteLevel decoding; BOS and other special tokens are kept as text). Byte
    /// sequences that are not valid UTF-8 become U+FFFD. Ids without a token are skipped, as Hugging Face does.
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        int total = 0;
        foreach (int id in ids) total += TokenBytesOrNull(id)?.Length ?? 0;
        byte[] buffer = new byte[total];
        int offset = 0;
        foreach (int id in ids)
        {
            if (TokenBytesOrNull(id) is byte[] bytes)
            {
                bytes.CopyTo(buffer, offset);
                offset += bytes.Length;
            }
        }
        return Encoding.UTF8.GetString(buffer);
    }

    /// <summary>The decoded text of one token, for display (a partial UTF-8 sequence shows as U+FFFD); "" for an id
    /// without a token.</summary>
    public string TokenText(int id) => TokenBytesOrNull(id) is byte[] bytes ? Encoding.UTF8.GetString(bytes) : "";

    /// <summary>Whether <paramref name="id"/> is a token of this tokenizer.</summary>
    public bool ContainsId(int id) => TokenBytesOrNull(id) is not null;

    private byte[]? TokenBytesOrNull(int id) => (uint)id < (uint)_idToBytes.Length ? _idToBytes[id] : null;

    private int? TokenToId(string content) =>
        _addedByContent.TryGetValue(content, out int id) || _vocab.TryGetValue(content, out id) ? id : null;

    private void EncodeBpePiece(string piece, List<int> output)
    {
        if (_addPrefixSpace && !piece.StartsWith(' ')) piece = " " + piece;
        output.AddRange(_bpe.EncodeToIds(piece, considerPreTokenization: true, considerNormalization: false));
    }

    private static void EncodeAddedTokensThen(string text, AddedTokenMatcher? matcher, List<int> output, Action<string, List<int>> encodePlain)
    {
        if (text.Length == 0) return;
        if (matcher is null)
        {
            encodePlain(text, output);
            return;
        }
        var segments = new List<(int Start, int Length, int? Id)>();
        matcher.Split(text, segments);
        foreach (var (start, length, id) in segments)
        {
            if (id is int tokenId) output.Add(tokenId);
            else encodePlain(text.Substring(start, length), output);
        }
    }

    /// <summary>Lone UTF-16 surrogates become U+FFFD (as UTF-8 encoders such as JavaScript's TextEncoder do);
    /// otherwise the BPE would see their invalid 3-byte encodings.</summary>
    private static string ReplaceLoneSurrogates(string text)
    {
        int i = 0;
        for (; i < text.Length; i++)
        {
            if (char.IsSurrogate(text[i]) && !IsPairAt(text, i)) break;
            if (char.IsHighSurrogate(text[i])) i++;
        }
        if (i == text.Length) return text;
        var chars = text.ToCharArray();
        for (; i < chars.Length; i++)
        {
            if (!char.IsSurrogate(chars[i])) continue;
            if (IsPairAt(text, i)) { i++; continue; }
            chars[i] = '\uFFFD';
        }
        return new string(chars);
    }

    private static bool IsPairAt(string text, int i) =>
        char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);

    private static void ValidateMerges(TokenizerDefinition definition, string source)
    {
        int rank = 0;
        foreach (string merge in definition.Merges)
        {
            int space = merge.IndexOf(' ');
            string left = merge[..space], right = merge[(space + 1)..];
            if (!definition.Vocab.ContainsKey(left) || !definition.Vocab.ContainsKey(right) || !definition.Vocab.ContainsKey(left + right))
                throw new InvalidDataException($"{source}: merge #{rank + 1} '{merge}' uses a token that is not in the vocabulary.");
            rank++;
        }
    }

    private static byte[] TokenBytes(string token, List<byte> buffer)
    {
        buffer.Clear();
        ByteLevel.AppendTokenBytes(token, buffer);
        return [.. buffer];
    }
}
