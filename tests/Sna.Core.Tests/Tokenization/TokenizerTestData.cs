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

    /// <summary>
    /// The one golden-token comparison of a fixture's tokenizer: every prompt, discovery set, neutral text and extra string of
    /// prompts.json against <paramref name="tokensFile"/>'s ids (with a decode round trip when <paramref name="roundTrip"/>);
    /// <paramref name="onPrompt"/>(name, text, target, tokens root) adds each prompt's target checks. Returns how many texts
    /// were compared.
    /// </summary>
    public static int CheckFixtureGoldens(ModelTokenizer tok, string fixture, string tokensFile, bool roundTrip,
        Action<string, string, string, JsonElement> onPrompt)
    {
        using var prompts = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("prompts.json")));
        using var tokens = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture(tokensFile)));
        var p = prompts.RootElement;
        var t = tokens.RootElement;
        int checkedCount = 0;

        void Check(string text, JsonElement ids, string what)
        {
            int[] expected = Ids(ids);
            int[] actual = tok.Encode(text);
            Assert.True(expected.SequenceEqual(actual),
                $"{fixture} {what} {JsonSerializer.Serialize(text)}: expected [{string.Join(",", expected)}] got [{string.Join(",", actual)}]");
            if (roundTrip) Assert.Equal(text, tok.Decode(actual));
            checkedCount++;
        }

        foreach (var prompt in p.GetProperty("prompts").EnumerateObject())
        {
            string text = prompt.Value.GetProperty("text").GetString()!, target = prompt.Value.GetProperty("target").GetString()!;
            Check(text, t.GetProperty("prompts").GetProperty(prompt.Name), $"prompt {prompt.Name}");
            onPrompt(prompt.Name, text, target, t);
        }
        foreach (var set in p.GetProperty("sets").EnumerateObject())
        {
            var texts = set.Value.EnumerateArray().ToArray();
            var ids = t.GetProperty("sets").GetProperty(set.Name).GetProperty("task").EnumerateArray().ToArray();
            Assert.Equal(texts.Length, ids.Length);
            for (int i = 0; i < texts.Length; i++) Check(texts[i].GetString()!, ids[i], $"set {set.Name}[{i}]");
        }
        var neutral = p.GetProperty("neutral").EnumerateArray().ToArray();
        var neutralIds = t.GetProperty("neutral").EnumerateArray().ToArray();
        Assert.Equal(neutral.Length, neutralIds.Length);
        for (int i = 0; i < neutral.Length; i++) Check(neutral[i].GetString()!, neutralIds[i], $"neutral[{i}]");
        foreach (var s in t.GetProperty("strings").EnumerateObject()) Check(s.Name, s.Value, "string");
        return checkedCount;
    }
}
