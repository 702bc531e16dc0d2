using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Tokenization;

public sealed class TokenizerErrorTests : IDisposable
{
    private readonly TempDir _tmp = new();
    private readonly string _dir;

    public TokenizerErrorTests() => _dir = _tmp.Path;

    public void Dispose() => _tmp.Dispose();

    private string Write(string name, string content) => _tmp.Write(name, content);

    private const string TinyVocab = """{"a": 0, "b": 1, "ab": 2, "Ġ": 3, "<|endoftext|>": 4}""";

    [Fact]
    public void MalformedTokenizerJson_IsInvalidData_NamingTheFile()
    {
        string path = Write("tokenizer.json", "{ \"model\": { \"type\": \"BPE\", ");
        var e = Assert.Throws<InvalidDataException>(() => ModelTokenizer.FromTokenizerJson(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("malformed JSON", e.Message);
        e = Assert.Throws<InvalidDataException>(() => ModelTokenizer.FromDirectory(_dir));
        Assert.Contains(path, e.Message);
    }

    [Theory]
    [InlineData("""{"model": {"type": "WordPiece", "vocab": {"a": 0}}}""", "WordPiece")]
    [InlineData("""{"pre_tokenizer": {"type": "ByteLevel"}}""", "model")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}, "pre_tokenizer": {"type": "ByteLevel"}}""", "merges[0]")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}}""", "model.vocab")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}, "pre_tokenizer": {"type": "ByteLevel"}}""", "not in the vocabulary")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Whitespace"}}""", "Whitespace")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}, "normalizer": {"type": "Lowercase"}}""", "Lowercase")]
    [InlineData("""{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}, "added_tokens": [{"content": "x"}]}""", "added_tokens[0]")]
    public void UnsupportedOrBrokenTokenizerJson_IsInvalidData(string json, string expectedInMessage)
    {
        string path = Write("tokenizer.json", json);
        var e = Assert.Throws<InvalidDataException>(() => ModelTokenizer.FromTokenizerJson(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expectedInMessage, e.Message);
    }

    [Fact]
    public void MinimalTokenizerJson_Loads_WithArrayMerges()
    {
        string path = Write("tokenizer.json", $$"""
            {"model": {"type": "BPE", "vocab": {{TinyVocab}}, "merges": [["a", "b"]]},
             "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "decoder": {"type": "ByteLevel"},
             "added_tokens": [{"id": 4, "content": "<|endoftext|>", "special": true, "normalized": false}]}
            """);
        var tok = ModelTokenizer.FromTokenizerJson(path);
        Assert.Equal([2, 0, 4, 1], tok.Encode("aba<|endoftext|>b"));
        Assert.Equal(4, tok.BosId);
        Assert.Equal(5, tok.VocabSize);
    }

    [Fact]
    public void MissingMerges_IsFileNotFound_NamingTheFile()
    {
        string vocab = Write("vocab.json", TinyVocab);
        string merges = Path.Combine(_dir, "merges.txt");
        var e = Assert.Throws<FileNotFoundException>(() => ModelTokenizer.FromDirectory(_dir));
        Assert.Equal(merges, e.FileName);
        Assert.Contains(merges, e.Message);
        e = Assert.Throws<FileNotFoundException>(() => ModelTokenizer.FromVocabAndMerges(vocab, merges));
        Assert.Equal(merges, e.FileName);
    }

    [Fact]
    public void MalformedMergesOrVocab_IsInvalidData()
    {
        string vocab = Write("vocab.json", TinyVocab);
        string merges = Write("merges.txt", "#version: 0.2\na b c\n");
        var e = Assert.Throws<InvalidDataException>(() => ModelTokenizer.FromVocabAndMerges(vocab, merges));
        Assert.Contains(merges, e.Message);
        Assert.Contains("line 2", e.Message);

        Write("merges.txt", "#version: 0.2\na b\n");
        string badVocab = Write("vocab.json", "[1, 2]");
        e = Assert.Throws<InvalidDataException>(() => ModelTokenizer.FromDirectory(_dir));
        Assert.Contains(badVocab, e.Message);
    }

    [Fact]
    public void TinyVocabAndMerges_LoadWithConfigBos()
    {
        Write("vocab.json", TinyVocab);
        Write("merges.txt", "#version: 0.2\na b\n");
        Write("config.json", """{"bos_token_id": 3}""");
        var tok = ModelTokenizer.FromDirectory(_dir);
        Assert.Equal(3, tok.BosId);
        Assert.Equal([3, 2, 0], tok.Encode("aba", BosPolicy.Prepend));
        Assert.Equal("<|endoftext|>", tok.TokenText(4));

        Write("tokenizer_config.json", """{"bos_token": {"content": "<|endoftext|>"}}""");
        Assert.Equal(4, ModelTokenizer.FromDirectory(_dir).BosId);

        Write("tokenizer_config.json", """{"bos_token": "<s>"}""");
        var e = Assert.Throws<InvalidDataException>(() => ModelTokenizer.FromDirectory(_dir));
        Assert.Contains("tokenizer_config.json", e.Message);
    }

    [Fact]
    public void NoTokenizerFiles_OrNoDirectory()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ModelTokenizer.FromDirectory(_dir));
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Contains("vocab.json", e.Message);
        Assert.Throws<DirectoryNotFoundException>(() => ModelTokenizer.FromDirectory(Path.Combine(_dir, "nope")));
        Assert.Throws<FileNotFoundException>(() => ModelTokenizer.FromTokenizerJson(Path.Combine(_dir, "tokenizer.json")));
    }
}
