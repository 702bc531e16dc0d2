using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Tokenization;

/// <summary><see cref="ModelTokenizer.EncodeTarget"/>: the in-context rule, the standalone fallback and the hygiene warnings.</summary>
public class TargetTokensTests
{
    [TokenizerDataFact]
    public void Gpt2_InContext_EqualsStandalone_WithoutWarnings()
    {
        var tok = TokenizerTestData.Gpt2;
        var t = tok.EncodeTarget("The capital of France is", " Paris");
        Assert.Equal(TargetTokens.InContext, t.Rule);
        Assert.Equal(tok.Encode(" Paris"), t.Ids);
        Assert.Empty(t.Warnings);
        Assert.Null(t.Warning);
    }

    [TokenizerDataFact]
    public void PromptEndingInASpace_FallsBackToStandalone_WithAWarning()
    {
        var tok = TokenizerTestData.Gpt2;
        var t = tok.EncodeTarget("The capital of France is ", "Paris");
        Assert.Equal(TargetTokens.Standalone, t.Rule);
        Assert.Equal(tok.Encode("Paris"), t.Ids);
        Assert.Contains("ends in whitespace", t.Warning);
    }

    [TokenizerDataFact]
    public void MissingLeadingSpace_IsFlagged()
    {
        var tok = TokenizerTestData.Gpt2;
        var t = tok.EncodeTarget("The capital of France is", "Paris");
        Assert.Contains("no leading space", t.Warning);
        Assert.Contains("\" Paris\"", t.Warning);
        // Not for text written without spaces, nor after punctuation.
        Assert.DoesNotContain(tok.EncodeTarget("東京は", "日本").Warnings, w => w.Contains("leading space"));
        Assert.DoesNotContain(tok.EncodeTarget("What is 2+2=", "4").Warnings, w => w.Contains("leading space"));
    }

    [TokenizerDataFact]
    public void MultiTokenTarget_SaysOnlyTheFirstIsScored_UnderFirstTokenScoring()
    {
        var tok = TokenizerTestData.Gpt2;
        var t = tok.EncodeTarget("The capital of Greece is", " Athensxyz");
        Assert.True(t.Ids.Length > 1);
        Assert.Equal(tok.Encode(" Athens")[0], t.FirstId);
        Assert.Contains("only the first, \" Athens\", is scored", t.Warning);
        Assert.Empty(tok.EncodeTarget("The capital of Greece is", " Athensxyz", firstTokenScoring: false).Warnings);
    }

    [TokenizerDataFact]
    public void EmptyTarget_IsAnInputError()
    {
        var e = Assert.Throws<Sna.Runtime.SnaInputException>(() => TokenizerTestData.Gpt2.EncodeTarget("a", ""));
        Assert.StartsWith("the target is empty", e.Message);
        Assert.DoesNotContain("(Parameter", e.Message);
        Assert.Equal("target", e.Option);
    }

    [TokenizerDataFact]
    public void Llama2_InContext_DiffersFromStandalone()
    {
        var tok = LlamaTokenizerTests.For("llama2");
        var t = tok.EncodeTarget("The moon above gives silver", " light");
        Assert.Equal(TargetTokens.InContext, t.Rule);
        Assert.Equal([3578], t.Ids);                       // "▁light"
        Assert.Equal([29871, 3578], tok.Encode(" light")); // standalone: a bare "▁" first
        Assert.Empty(t.Warnings);
    }

    [Fact]
    public void AggregateRule_IsMixedWhenRulesDiffer()
    {
        var a = new TargetTokens([1], TargetTokens.InContext, []);
        var b = new TargetTokens([2], TargetTokens.Standalone, ["w"]);
        Assert.Equal("in_context", TargetTokens.AggregateRule([a, a]));
        Assert.Equal("standalone", TargetTokens.AggregateRule([b]));
        Assert.Equal("mixed", TargetTokens.AggregateRule([a, b]));
    }

    /// <summary>
    /// Warnings quote the text as JSON without reflection-based serialization (off in .NET 10 file-based programs, where the
    /// reflection path threw): the same literal as <c>JsonSerializer</c> with the relaxed encoder, for quotes, escapes,
    /// control characters, non-ASCII text and a lone surrogate.
    /// </summary>
    [Theory]
    [InlineData(" xylophone")]
    [InlineData("say \"hi\"\\ now")]
    [InlineData("tab\tnew\nline\u0001")]
    [InlineData("café — 東京 🙂")]
    [InlineData("\ud800 lone")]
    [InlineData("")]
    public void Warning_quotes_equal_the_serializer_literal(string s)
    {
        var relaxed = new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(s, relaxed), Sna.Runtime.JsonString.Quote(s));
    }
}
