using System.Text;
using Microsoft.ML.Tokenizers;

namespace Sna.Runtime.Tokenization;

/// <summary>
/// A BPE tokenizer reproducing Hugging Face tokenizers' ids exactly for GPT-2, GPT-NeoX (Pythia), Llama 2 / TinyLlama /
/// Mistral (SentencePiece-style BPE with byte fallback) and Llama 3.
/// </summary>
/// <remarks>
/// <para>Two sources are supported:</para>
/// <list type="bullet">
/// <item><see cref="KindGpt2Bpe"/> (<c>vocab.json</c> + <c>merges.txt</c>): OpenAI's GPT-2 encoder. The text is
/// always encoded as plain text: "&lt;|endoftext|&gt;" inside the text is <em>not</em> turned into id 50256 but
/// encoded like any other characters (GPT-2: 27, 91, 437, 1659, 5239, 91, 29), as OpenAI's encoder.py and the
/// golden encoder do. (Hugging Face's GPT2Tokenizer would map it to 50256.)</item>
/// <item><see cref="KindTokenizerJson"/> (Hugging Face <c>tokenizer.json</c> with a BPE model): Hugging Face
/// tokenizers' pipeline with <c>add_special_tokens=false</c>: the text is split on <c>added_tokens</c>
/// (leftmost-longest, with their <c>lstrip</c>/<c>rstrip</c>/<c>single_word</c>/<c>normalized</c> flags), the
/// other pieces are normalized (NFC, Prepend, Replace), pre-tokenized (ByteLevel, Metaspace, or Llama 3's Split +
/// ByteLevel) and BPE-encoded (byte-level through Microsoft.ML.Tokenizers, or character-level with byte fallback
/// through <see cref="CharBpe"/>). As in Hugging Face, added tokens are matched <em>also</em> when special:
/// "&lt;|endoftext|&gt;" in the text becomes its id, and with the Pythia file shipped here even the word
/// "assistant" (added token 50279, no <c>single_word</c>) becomes one token wherever it occurs, e.g. inside
/// "assistants". What is not reproduced exactly is refused at load (<see cref="InvalidDataException"/>).</item>
/// </list>
/// <para>Encoding never adds BOS/EOS unless asked through <see cref="Encode(string, BosPolicy)"/>. Instances are
/// immutable and thread-safe (Microsoft.ML.Tokenizers' BPE word cache is lock-protected).</para>
/// </remarks>
public sealed partial class ModelTokenizer
{
    /// <summary><see cref="Kind"/> of a tokenizer read from <c>vocab.json</c> + <c>merges.txt</c>.</summary>
    public const string KindGpt2Bpe = "gpt2-bpe";

    /// <summary><see cref="Kind"/> of a tokenizer read from a Hugging Face <c>tokenizer.json</c>.</summary>
    public const string KindTokenizerJson = "tokenizer.json";

    private const string EndOfText = "<|endoftext|>";

    private readonly BpeTokenizer? _bpe;                    // byte-level models
    private readonly CharBpe? _charBpe;                     // SentencePiece-style models
    private readonly AddedTokenMatcher? _rawMatcher;         // added tokens matched on the input text
    private readonly AddedTokenMatcher? _normalizedMatcher;  // added tokens matched after normalization
    private readonly NormalizerStep[] _normalizers;
    private readonly PreTokenizerKind _pre;
    private readonly bool _addPrefixSpace;
    private readonly bool _useRegex;
    private readonly bool _ignoreMerges;
    private readonly string _metaspace;
    private readonly PrependScheme _prepend;
    private readonly bool _metaspaceSplit;
    private readonly DecoderStep[] _decoder;
    private readonly bool _byteLevel;
    private readonly byte[]?[] _idToBytes;   // byte-level: the bytes each id stands for
    private readonly string?[] _idToToken;   // the token string of each id (vocabulary or added token)
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int> _addedByContent;

    /// <summary>Id prepended by <see cref="BosPolicy.Prepend"/>; -1 when the tokenizer has none.</summary>
    public int BosId { get; }

    /// <summary>One more than the largest token id (model vocabulary and added tokens). GPT-2: 50257; GPT-NeoX-20B
    /// as shipped: 50281; Llama 2: 32000; Llama 3: 128256. A model's embedding matrix may be larger (Pythia pads it to 50304).</summary>
    public int VocabSize { get; }

    /// <summary><see cref="KindGpt2Bpe"/> or <see cref="KindTokenizerJson"/>.</summary>
    public string Kind { get; }

    /// <summary>The pipeline in words, for run records and <c>inspect</c>: "byte-level BPE", "byte-level BPE, Llama 3
    /// split, ignore_merges", "SentencePiece-style BPE, byte fallback", with the normalizer when there is one.</summary>
    public string Pipeline { get; }

    /// <summary>
    /// SHA-256 (lowercase hex) over the files read, in order: for each, its file name (UTF-8, no directory), a NUL
    /// byte, its length as a little-endian int64, and its bytes. Covers the config files consulted for the BOS token.
    /// </summary>
    public string SourceHash { get; }

    private ModelTokenizer(TokenizerDefinition definition, string kind, string source, Func<Func<string, int?>, int?> readBos, SourceReader reader)
    {
        Kind = kind;
        _vocab = definition.Vocab;
        _normalizers = [.. definition.Normalizers];
        _pre = definition.PreTokenizer;
        _addPrefixSpace = definition.AddPrefixSpace;
        _useRegex = definition.UseRegex;
        _ignoreMerges = definition.IgnoreMerges;
        _metaspace = definition.MetaspaceReplacement;
        _prepend = definition.Prepend;
        _metaspaceSplit = definition.MetaspaceSplit;
        _decoder = [.. definition.Decoder];
        _byteLevel = definition.PreTokenizer is PreTokenizerKind.ByteLevel or PreTokenizerKind.Llama3Split;

        ValidateMerges(definition, source, _byteLevel);
        if (_byteLevel)
        {
            try
            {
                _bpe = BpeTokenizer.Create(new BpeOptions(definition.Vocab)
                {
                    Merges = definition.Merges.Select(m => m.Left + " " + m.Right),
                    ByteLevel = true,
                    PreTokenizer = Gpt2PreTokenizer.Instance,
                });
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"{source}: cannot build the BPE model ({e.Message}).", e);
            }
        }
        else
        {
            _charBpe = new CharBpe(definition.Vocab, definition.Merges, definition.ByteFallback, definition.UnkToken,
                definition.FuseUnk, definition.IgnoreMerges, source);
        }

        _addedByContent = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in definition.AddedTokens) _addedByContent.TryAdd(t.Content, t.Id);
        if (definition.AddedTokens.Count > 0)
        {
            // Two passes as in Hugging Face: tokens with normalized=false on the input, then (after normalizing the
            // pieces in between) tokens with normalized=true, matched by their normalized content.
            var raw = new AddedTokenMatcher(definition.AddedTokens.Where(t => !t.Normalized).Select(t => (t.Content, t)));
            var normalized = new AddedTokenMatcher(definition.AddedTokens.Where(t => t.Normalized)
                .Select(t => (Normalize(t.Content), t)));
            _rawMatcher = raw.IsEmpty ? null : raw;
            _normalizedMatcher = normalized.IsEmpty ? null : normalized;
        }

        int maxId = Math.Max(definition.Vocab.Values.Max(), definition.AddedTokens.Count > 0 ? definition.AddedTokens.Max(t => t.Id) : -1);
        _idToToken = new string?[maxId + 1];
        foreach (var (token, id) in definition.Vocab) _idToToken[id] = token;
        foreach (var t in definition.AddedTokens) _idToToken[t.Id] = t.Content; // HF: added vocabulary first
        _idToBytes = new byte[]?[_byteLevel ? maxId + 1 : 0];
        if (_byteLevel)
        {
            var buffer = new List<byte>(64);
            for (int id = 0; id <= maxId; id++)
                if (_idToToken[id] is string token) _idToBytes[id] = TokenBytes(token, buffer);
        }
        VocabSize = maxId + 1;

        Pipeline = DescribePipeline(definition);
        int? bos = readBos(TokenToId) ?? TokenToId(EndOfText) ?? TokenToId("<|begin_of_text|>") ?? TokenToId("<s>");
        if (bos is int b && (b >= VocabSize || _idToToken[b] is null))
            throw new InvalidDataException($"{source}: the BOS token id {b} is not a token of the tokenizer.");
        BosId = bos ?? -1;
        SourceHash = reader.Finish();
    }

    private static string DescribePipeline(TokenizerDefinition d)
    {
        var parts = new List<string>();
        parts.Add(d.PreTokenizer switch
        {
            PreTokenizerKind.ByteLevel => d.UseRegex ? "byte-level BPE" : "byte-level BPE, no regex split",
            PreTokenizerKind.Llama3Split => "byte-level BPE, Llama 3 split",
            PreTokenizerKind.Metaspace => $"SentencePiece-style BPE, Metaspace (prepend {d.Prepend.ToString().ToLowerInvariant()}{(d.MetaspaceSplit ? ", split" : "")})",
            _ => "SentencePiece-style BPE",
        });
        if (d.ByteFallback) parts.Add("byte fallback");
        if (d.IgnoreMerges) parts.Add("ignore_merges");
        foreach (var n in d.Normalizers)
        {
            parts.Add(n switch
            {
                NormalizerStep.NfcStep => "NFC",
                NormalizerStep.PrependStep p => $"Prepend \"{p.Prefix}\"",
                NormalizerStep.ReplaceStep r => $"Replace \"{r.Pattern}\"→\"{r.Content}\"",
                _ => n.GetType().Name,
            });
        }
        return string.Join(", ", parts);
    }

    /// <summary>
    /// Loads the tokenizer of a model directory: <c>tokenizer.json</c> if present, else <c>vocab.json</c> +
    /// <c>merges.txt</c>. The BOS token is <c>bos_token</c> of <c>tokenizer_config.json</c>, else
    /// <c>bos_token_id</c> of <c>config.json</c>, else the first of "&lt;|endoftext|&gt;", "&lt;|begin_of_text|&gt;",
    /// "&lt;s&gt;" that the tokenizer has.
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

    /// <summary>Loads a Hugging Face <c>tokenizer.json</c> with a BPE model (<see cref="KindTokenizerJson"/>).
    /// BOS is the first of "&lt;|endoftext|&gt;", "&lt;|begin_of_text|&gt;", "&lt;s&gt;" present (GPT-NeoX: 0); use
    /// <see cref="FromDirectory"/> to honour config files.</summary>
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
            PreTokenizer = PreTokenizerKind.ByteLevel,
            UseRegex = true,
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
        if (_byteLevel && _useRegex && !_ignoreMerges && _rawMatcher is null && _normalizedMatcher is null
            && _normalizers.Length == 0 && !_addPrefixSpace && _pre == PreTokenizerKind.ByteLevel)
            return [.. _bpe!.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false)];

        var ids = new List<int>(text.Length / 3 + 4);
        EncodeAddedTokensThen(text, _rawMatcher, ids, (piece, rawStart, output) =>
        {
            string normalized = Normalize(piece);
            EncodeAddedTokensThen(normalized, _normalizedMatcher, output,
                (p, start, o) => EncodePiece(p, atTextStart: rawStart == 0 && start == 0, o));
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
    /// Decodes ids to text as Hugging Face's decoder does (ByteLevel; or Replace ▁→" ", ByteFallback, Fuse and Strip
    /// for SentencePiece-style files, which drop the space the encoder prepended); BOS and other special tokens are
    /// kept as text. Byte sequences that are not valid UTF-8 become U+FFFD. Ids without a token are skipped, as
    /// Hugging Face does.
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        if (!_byteLevel) return DecodeTokens(ids, display: false);
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
    /// without a token. A SentencePiece word-start token keeps its space: Llama 2's "▁Paris" shows as " Paris".</summary>
    public string TokenText(int id)
    {
        if (!ContainsId(id)) return "";
        if (!_byteLevel) return DecodeTokens([id], display: true);
        return Encoding.UTF8.GetString(_idToBytes[id]!);
    }

    /// <summary>Whether <paramref name="id"/> is a token of this tokenizer.</summary>
    public bool ContainsId(int id) => (uint)id < (uint)_idToToken.Length && _idToToken[id] is not null;

    private byte[]? TokenBytesOrNull(int id) => (uint)id < (uint)_idToBytes.Length ? _idToBytes[id] : null;

    private string DecodeTokens(ReadOnlySpan<int> ids, bool display)
    {
        var tokens = new List<string>(ids.Length);
        foreach (int id in ids)
            if ((uint)id < (uint)_idToToken.Length && _idToToken[id] is string t) tokens.Add(t);
        foreach (var step in _decoder) step.Apply(tokens, display);
        return string.Concat(tokens);
    }

    private int? TokenToId(string content) =>
        _addedByContent.TryGetValue(content, out int id) || _vocab.TryGetValue(content, out id) ? id : null;

    private string Normalize(string text)
    {
        foreach (var step in _normalizers) text = step.Apply(text);
        return text;
    }

    /// <summary>Pre-tokenizes one normalized piece (no added tokens in it) and appends the model's ids.</summary>
    private void EncodePiece(string piece, bool atTextStart, List<int> output)
    {
        switch (_pre)
        {
            case PreTokenizerKind.ByteLevel:
                if (_addPrefixSpace && !piece.StartsWith(' ')) piece = " " + piece;
                if (_useRegex && !_ignoreMerges)
                    output.AddRange(_bpe!.EncodeToIds(piece, considerPreTokenization: true, considerNormalization: false));
                else if (_useRegex)
                    EncodeByteLevelWords(piece, ByteLevel.Split, output);
                else
                    EncodeByteLevelWord(piece, output);
                break;
            case PreTokenizerKind.Llama3Split:
                EncodeByteLevelWords(piece, Llama3Split.Split, output);
                break;
            case PreTokenizerKind.Metaspace:
                piece = piece.Replace(" ", _metaspace, StringComparison.Ordinal);
                bool prepend = _prepend == PrependScheme.Always || (_prepend == PrependScheme.First && atTextStart);
                if (prepend && !piece.StartsWith(_metaspace, StringComparison.Ordinal)) piece = _metaspace + piece;
                if (!_metaspaceSplit)
                {
                    _charBpe!.Encode(piece, output);
                    break;
                }
                // Split before each replacement (MergedWithNext): "▁Hey▁▁you" → "▁Hey", "▁", "▁you".
                int start = 0;
                for (int i = piece.IndexOf(_metaspace, 1, StringComparison.Ordinal); i > 0; i = piece.IndexOf(_metaspace, i + 1, StringComparison.Ordinal))
                {
                    _charBpe!.Encode(piece[start..i], output);
                    start = i;
                }
                _charBpe!.Encode(piece[start..], output);
                break;
            default:
                _charBpe!.Encode(piece, output);
                break;
        }
    }

    private delegate void Splitter(ReadOnlySpan<char> text, List<(int Offset, int Length)> result);

    private void EncodeByteLevelWords(string piece, Splitter split, List<int> output)
    {
        var words = new List<(int Offset, int Length)>();
        split(piece, words);
        foreach (var (offset, length) in words) EncodeByteLevelWord(piece.Substring(offset, length), output);
    }

    /// <summary>One pre-token of a byte-level model: whole if <c>ignore_merges</c> and in the vocabulary, else BPE.</summary>
    private void EncodeByteLevelWord(string word, List<int> output)
    {
        if (word.Length == 0) return;
        if (_ignoreMerges && _vocab.TryGetValue(ByteLevel.ToByteAlphabet(word), out int id))
        {
            output.Add(id);
            return;
        }
        output.AddRange(_bpe!.EncodeToIds(word, considerPreTokenization: false, considerNormalization: false));
    }

    private static void EncodeAddedTokensThen(string text, AddedTokenMatcher? matcher, List<int> output, Action<string, int, List<int>> encodePlain)
    {
        if (text.Length == 0) return;
        if (matcher is null)
        {
            encodePlain(text, 0, output);
            return;
        }
        var segments = new List<(int Start, int Length, int? Id)>();
        matcher.Split(text, segments);
        foreach (var (start, length, id) in segments)
        {
            if (id is int tokenId) output.Add(tokenId);
            else encodePlain(text.Substring(start, length), start, output);
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

    private static void ValidateMerges(TokenizerDefinition definition, string source, bool byteLevel)
    {
        int rank = 0;
        foreach (var (left, right) in definition.Merges)
        {
            if (!definition.Vocab.ContainsKey(left) || !definition.Vocab.ContainsKey(right) || !definition.Vocab.ContainsKey(left + right))
                throw new InvalidDataException($"{source}: merge #{rank + 1} '{left} {right}' uses a token that is not in the vocabulary.");
            if (byteLevel && (left.Contains(' ') || right.Contains(' ')))
                throw new InvalidDataException($"{source}: merge #{rank + 1} of a byte-level BPE has a part containing a space, which is not supported.");
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
