using System.Text.Json.Nodes;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Tokenization;

/// <summary>
/// GPT-2's tokenizer.json exactly as the hub serves it for gpt2 … gpt2-xl (transformers' GPT2Converter:
/// <c>"continuing_subword_prefix": ""</c>, <c>"end_of_word_suffix": ""</c>, merges as "a b" strings), and the other
/// serializations in use (merges as ["a", "b"] pairs, a model object without "type"), must give the ids of
/// vocab.json + merges.txt.
/// </summary>
public sealed class Gpt2TokenizerJsonTests : IDisposable
{
    private static readonly Lazy<ModelTokenizer> HubJson = new(() =>
        ModelTokenizer.FromTokenizerJson(TestPaths.Data("tokenizers", "gpt2", "tokenizer.json")));

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sna-gpt2json-" + Guid.NewGuid().ToString("N"));

    public Gpt2TokenizerJsonTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string, int> Rows => TokenizerTestData.GoldenRows("gpt2");

    [TokenizerDataTheory]
    [MemberData(nameof(Rows))]
    public void HubTokenizerJson_MatchesGoldenIds_AndVocabMerges(string tokenizer, int index)
    {
        var (text, expected) = TokenizerTestData.GoldenCases(tokenizer)[index];
        Assert.Equal(expected, HubJson.Value.Encode(text));
        Assert.Equal(TokenizerTestData.Gpt2.Encode(text), HubJson.Value.Encode(text));
        Assert.Equal(text, HubJson.Value.Decode(expected));
    }

    [TokenizerDataFact]
    public void HubTokenizerJson_MatchesVocabMerges_OnFuzzCases()
    {
        // The fuzz ids come from OpenAI's encoder, which has no special tokens: tokenizer.json (as Hugging Face) turns
        // a literal "<|endoftext|>" into 50256, so those cases are compared after that one difference is checked.
        int compared = 0;
        foreach (var c in TokenizerFuzzCases.All)
        {
            if (c.Text.Contains("<|endoftext|>", StringComparison.Ordinal)) continue;
            Assert.Equal(c.Gpt2, HubJson.Value.Encode(c.Text));
            compared++;
        }
        Assert.True(compared >= 100, $"only {compared} fuzz cases compared");
        Assert.Equal([64, 50256, 65], HubJson.Value.Encode("a<|endoftext|>b"));
    }

    [TokenizerDataFact]
    public void HubTokenizerJson_Properties()
    {
        var tok = HubJson.Value;
        Assert.Equal(ModelTokenizer.KindTokenizerJson, tok.Kind);
        Assert.Equal(50257, tok.VocabSize);
        Assert.Equal(50256, tok.BosId);
    }

    [TokenizerDataFact]
    public void HubRepoLayout_PrefersTokenizerJson_AndLoads()
    {
        // A gpt2 hub snapshot holds tokenizer.json next to vocab.json + merges.txt; tokenizer.json wins.
        foreach (string f in new[] { "tokenizer.json", "vocab.json", "merges.txt" })
            File.Copy(TestPaths.Data("tokenizers", "gpt2", f), Path.Combine(_dir, f));
        File.WriteAllText(Path.Combine(_dir, "config.json"), """{"model_type": "gpt2", "bos_token_id": 50256}""");
        var tok = ModelTokenizer.FromDirectory(_dir);
        Assert.Equal(ModelTokenizer.KindTokenizerJson, tok.Kind);
        Assert.Equal(50256, tok.BosId);
        Assert.Equal([50256, 15496, 995], tok.Encode("Hello world", BosPolicy.Prepend));
    }

    [TokenizerDataTheory]
    [InlineData("pairs", true)]
    [InlineData("pairs", false)]
    [InlineData("strings", false)]
    [InlineData("null-affixes", true)]
    public void OtherSerializations_GiveTheSameIds(string merges, bool withType)
    {
        var root = JsonNode.Parse(File.ReadAllText(TestPaths.Data("tokenizers", "gpt2", "tokenizer.json")))!;
        var model = root["model"]!.AsObject();
        Assert.Equal("", (string?)model["continuing_subword_prefix"]); // the hub's file really has the empty strings
        if (merges == "pairs")
        {
            var pairs = new JsonArray();
            foreach (var m in model["merges"]!.AsArray())
            {
                string[] parts = ((string)m!).Split(' ');
                pairs.Add(new JsonArray(parts[0], parts[1]));
            }
            model["merges"] = pairs;
        }
        if (merges == "null-affixes")
        {
            model["continuing_subword_prefix"] = null;
            model["end_of_word_suffix"] = null;
            model["dropout"] = 0.0;
        }
        if (!withType) model.Remove("type");
        string path = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(path, root.ToJsonString());
        var tok = ModelTokenizer.FromTokenizerJson(path);
        foreach (var (text, ids) in TokenizerTestData.GoldenCases("gpt2"))
            Assert.Equal(ids, tok.Encode(text));
    }

    [TokenizerDataTheory]
    [InlineData("continuing_subword_prefix", "\"##\"", "continuing_subword_prefix")]
    [InlineData("end_of_word_suffix", "\"</w>\"", "end_of_word_suffix")]
    [InlineData("dropout", "0.1", "dropout")]
    public void RealAffixesOrDropout_AreRefused(string key, string value, string expected)
    {
        var root = JsonNode.Parse(File.ReadAllText(TestPaths.Data("tokenizers", "gpt2", "tokenizer.json")))!;
        root["model"]![key] = JsonNode.Parse(value);
        string path = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(path, root.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => ModelTokenizer.FromTokenizerJson(path));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
