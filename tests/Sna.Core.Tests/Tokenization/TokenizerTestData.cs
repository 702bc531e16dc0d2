using System.Text.Json;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Tokenization;

/// <summary>Shared tokenizers and golden cases, loaded once.</summary>
internal static class TokenizerTestData
{
    private static readonly Lazy<ModelTokenizer> Gpt2Lazy = new(() => ModelTokenizer.FromVocabAndMerges(
        TestPaths.Data("tokenizers", "gpt2", "vocab.json"), TestPaths.Data("tokenizers", "gpt2", "merges.txt")));

    private static readonly Lazy<ModelTokenizer> NeoxLazy = new(() =>
        ModelTokenizer.FromTokenizerJson(TestPaths.Data("tokenizers", "gpt-neox-20b", "tokenizer.json")));

    public static ModelTokenizer Gpt2 => Gpt2Lazy.Value;
    public static ModelTokenizer Neox => NeoxLazy.Value;

    public static IReadOnlyList<(string Text, int[] Ids)> GoldenCases(string tokenizer)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestPaths.Data("tokenizers", tokenizer, "golden_tokens.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => (c.GetProperty("text").GetString()!, Ids(c.GetProperty("ids"))))
            .ToList();
    }

    /// <summary>Theory rows (tokenizer folder, case index); empty when ../shared is absent (the theory is skipped).</summary>
    public static TheoryData<string, int> GoldenRows(string tokenizer)
    {
        var rows = new TheoryData<string, int>();
        if (!TestPaths.DataAvailable) return rows;
        for (int i = 0; i < GoldenCases(tokenizer).Count; i++) rows.Add(tokenizer, i);
        return rows;
    }

    public static int[] Ids(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    public static ModelTokenizer FixtureTokenizer(string fixture) =>
        ModelTokenizer.FromDirectory(TestPaths.Fixture(fixture));
}
