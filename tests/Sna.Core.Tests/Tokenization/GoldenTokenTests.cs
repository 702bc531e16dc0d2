using System.Text.Json;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Tokenization;

public class GoldenTokenTests
{
    public static TheoryData<string, int> Gpt2Rows => TokenizerTestData.GoldenRows("gpt2");
    public static TheoryData<string, int> NeoxRows => TokenizerTestData.GoldenRows("gpt-neox-20b");

    private static ModelTokenizer For(string tokenizer) => tokenizer == "gpt2" ? TokenizerTestData.Gpt2 : TokenizerTestData.Neox;

    [TokenizerDataTheory]
    [MemberData(nameof(Gpt2Rows))]
    [MemberData(nameof(NeoxRows))]
    public void Encode_MatchesGoldenIds(string tokenizer, int index)
    {
        var (text, expected) = TokenizerTestData.GoldenCases(tokenizer)[index];
        Assert.Equal(expected, For(tokenizer).Encode(text));
    }

    [TokenizerDataTheory]
    [MemberData(nameof(Gpt2Rows))]
    [MemberData(nameof(NeoxRows))]
    public void Decode_RoundTripsGoldenText(string tokenizer, int index)
    {
        var (text, expected) = TokenizerTestData.GoldenCases(tokenizer)[index];
        var tok = For(tokenizer);
        Assert.Equal(text, tok.Decode(expected));
        Assert.Equal(text, tok.Decode(tok.Encode(text)));
    }

    [TokenizerDataFact]
    public void GoldenFiles_HaveTheExpectedCases()
    {
        Assert.Equal(16, TokenizerTestData.GoldenCases("gpt2").Count);
        Assert.Equal(20, TokenizerTestData.GoldenCases("gpt-neox-20b").Count);
    }

    [TokenizerDataTheory]
    [InlineData("gpt2-tiny-f32", "prompt_tokens.json")]
    [InlineData("gpt2-tiny-f16", "prompt_tokens.json")]
    [InlineData("pythia-tiny-f32", "prompt_tokens_neox.json")]
    [InlineData("pythia-tiny-f16", "prompt_tokens_neox.json")]
    public void FixtureTokenizer_ReproducesPromptTokens(string fixture, string tokensFile)
    {
        var tok = TokenizerTestData.FixtureTokenizer(fixture);
        using var prompts = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("prompts.json")));
        using var tokens = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture(tokensFile)));
        var p = prompts.RootElement;
        var t = tokens.RootElement;
        int checkedCount = 0;

        void Check(string text, JsonElement ids, string what)
        {
            int[] expected = TokenizerTestData.Ids(ids);
            int[] actual = tok.Encode(text);
            Assert.True(expected.SequenceEqual(actual),
                $"{fixture} {what} {JsonSerializer.Serialize(text)}: expected [{string.Join(",", expected)}] got [{string.Join(",", actual)}]");
            Assert.Equal(text, tok.Decode(actual));
            checkedCount++;
        }

        foreach (var prompt in p.GetProperty("prompts").EnumerateObject())
        {
            Check(prompt.Value.GetProperty("text").GetString()!, t.GetProperty("prompts").GetProperty(prompt.Name), $"prompt {prompt.Name}");
            int target = t.GetProperty("targets").GetProperty(prompt.Name).GetInt32();
            Assert.Equal([target], tok.Encode(prompt.Value.GetProperty("target").GetString()!));
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

        Assert.True(checkedCount >= 6 + 8 + 4 + 16, $"only {checkedCount} texts checked");
    }
}
