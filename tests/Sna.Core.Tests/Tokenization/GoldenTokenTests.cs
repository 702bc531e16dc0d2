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
        int checkedCount = TokenizerTestData.CheckFixtureGoldens(tok, fixture, tokensFile, roundTrip: true, (name, _, target, t) =>
            Assert.Equal([t.GetProperty("targets").GetProperty(name).GetInt32()], tok.Encode(target)));

        Assert.True(checkedCount >= 6 + 8 + 4 + 16, $"only {checkedCount} texts checked");
    }
}
