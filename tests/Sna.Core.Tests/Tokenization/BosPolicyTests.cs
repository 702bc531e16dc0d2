using Sna.Runtime;
using Sna.Runtime.Tokenization;
using Sna.Tests;

namespace Sna.Core.Tests.Tokenization;

/// <summary><see cref="ModelTokenizer.BosPolicyFor"/>: the one BOS rule of the CLI, the web API and <see cref="LanguageModel"/>.</summary>
public class BosPolicyTests
{
    [TokenizerDataFact]
    public void A_tokenizer_with_a_bos_prepends_by_default()
    {
        var tok = TokenizerTestData.Gpt2;
        Assert.Equal(50256, tok.BosId);
        Assert.Equal(BosPolicy.Prepend, tok.BosPolicyFor(null));
        Assert.Equal(BosPolicy.Prepend, tok.BosPolicyFor(true));
        Assert.Equal(BosPolicy.None, tok.BosPolicyFor(false));
        Assert.Equal("prepend", ModelTokenizer.BosText(tok.BosPolicyFor(null)));
    }

    [Fact]
    public void A_tokenizer_without_a_bos_prepends_nothing_and_refuses_an_explicit_bos()
    {
        using var dir = new TempDir();
        string vocab = dir.Write("vocab.json", """{"a": 0, "b": 1, "\u0120": 2}""");
        string merges = dir.Write("merges.txt", "#version: 0.2\n");
        var tok = ModelTokenizer.FromVocabAndMerges(vocab, merges);
        Assert.True(tok.BosId < 0);
        Assert.Equal(BosPolicy.None, tok.BosPolicyFor(null));
        Assert.Equal(BosPolicy.None, tok.BosPolicyFor(false));
        var e = Assert.Throws<SnaInputException>(() => tok.BosPolicyFor(true));
        Assert.Equal("bos", e.Option);
        Assert.Equal("none", ModelTokenizer.BosText(tok.BosPolicyFor(null)));
    }
}
