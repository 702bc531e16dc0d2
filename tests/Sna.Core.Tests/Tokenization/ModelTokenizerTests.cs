using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Tokenization;

public class ModelTokenizerTests
{
    [TokenizerDataFact]
    public void Gpt2_Properties()
    {
        var tok = TokenizerTestData.Gpt2;
        Assert.Equal("gpt2-bpe", tok.Kind);
        Assert.Equal(50257, tok.VocabSize);
        Assert.Equal(50256, tok.BosId);
        Assert.Matches("^[0-9a-f]{64}$", tok.SourceHash);
    }

    [TokenizerDataFact]
    public void Neox_Properties()
    {
        var tok = TokenizerTestData.Neox;
        Assert.Equal("tokenizer.json", tok.Kind);
        Assert.Equal(50281, tok.VocabSize); // 50254 model tokens + added tokens up to id 50280
        Assert.Equal(0, tok.BosId);
        Assert.Matches("^[0-9a-f]{64}$", tok.SourceHash);
        Assert.NotEqual(TokenizerTestData.Gpt2.SourceHash, tok.SourceHash);
    }

    [TokenizerDataFact]
    public void FromDirectory_ReadsBosFromConfigs_AndHashesThem()
    {
        var pythia = TokenizerTestData.FixtureTokenizer("pythia-tiny-f32");
        Assert.Equal("tokenizer.json", pythia.Kind);
        Assert.Equal(0, pythia.BosId);
        // tokenizer_config.json and config.json are part of the hash, so it differs from the bare tokenizer.json's.
        Assert.NotEqual(TokenizerTestData.Neox.SourceHash, pythia.SourceHash);
        Assert.Equal(pythia.SourceHash, TokenizerTestData.FixtureTokenizer("pythia-tiny-f32").SourceHash);

        var gpt2 = TokenizerTestData.FixtureTokenizer("gpt2-tiny-f32");
        Assert.Equal("gpt2-bpe", gpt2.Kind);
        Assert.Equal(50256, gpt2.BosId);
    }

    [TokenizerDataFact]
    public void DemoModelDirectory_Loads()
    {
        var tok = ModelTokenizer.FromDirectory(TestPaths.BundledModelDir);
        Assert.Equal("gpt2-bpe", tok.Kind);
        Assert.Equal(50257, tok.VocabSize);
        Assert.Equal(50256, tok.BosId);
        Assert.Equal([15496, 995], tok.Encode("Hello world"));
    }

    [TokenizerDataTheory]
    [InlineData("gpt2")]
    [InlineData("neox")]
    public void BosPolicy_PrependsExactlyOneBos(string which)
    {
        var tok = which == "gpt2" ? TokenizerTestData.Gpt2 : TokenizerTestData.Neox;
        const string text = "The stars at night are shining bright";
        int[] plain = tok.Encode(text);
        Assert.DoesNotContain(tok.BosId, plain);
        Assert.Equal(plain, tok.Encode(text, BosPolicy.None));
        Assert.Equal([tok.BosId, .. plain], tok.Encode(text, BosPolicy.Prepend));
        Assert.Equal([tok.BosId], tok.Encode("", BosPolicy.Prepend));
        Assert.Empty(tok.Encode(""));
    }

    [TokenizerDataFact]
    public void Gpt2_EndOfTextInText_IsPlainText()
    {
        // No special-token parsing for GPT-2 (as OpenAI's encoder and the golden encoder).
        var tok = TokenizerTestData.Gpt2;
        Assert.Equal([27, 91, 437, 1659, 5239, 91, 29], tok.Encode("<|endoftext|>"));
        Assert.Equal("<|endoftext|>", tok.TokenText(50256));
        Assert.Equal("a<|endoftext|>", tok.Decode([64, 50256]));
    }

    [TokenizerDataFact]
    public void Neox_AddedTokensAreMatched_AsHuggingFaceDoes()
    {
        var tok = TokenizerTestData.Neox;
        Assert.Equal([0], tok.Encode("<|endoftext|>"));
        Assert.Equal([66, 0, 67], tok.Encode("a<|endoftext|>b"));
        // The shipped tokenizer.json has "assistant" as a special added token without single_word.
        Assert.Equal([50279], tok.Encode("assistant"));
        Assert.Equal(50279, tok.Encode("assistants")[0]);
        // Runs of spaces: leftmost-longest (24 + 6 for 30 spaces).
        Assert.Equal([89, 50254, 50272, 90], tok.Encode("x" + new string(' ', 30) + "y"));
        Assert.Equal("  ", tok.TokenText(50276));
    }

    [TokenizerDataFact]
    public void Neox_AppliesNfc()
    {
        var tok = TokenizerTestData.Neox;
        Assert.Equal(tok.Encode("Caf\u00e9 na\u00efve"), tok.Encode("Cafe\u0301 nai\u0308ve"));
        // GPT-2 has no normalizer: the decomposed form is encoded as is.
        Assert.NotEqual(TokenizerTestData.Gpt2.Encode("Caf\u00e9"), TokenizerTestData.Gpt2.Encode("Cafe\u0301"));
    }

    [TokenizerDataFact]
    public void TokenText_And_Decode()
    {
        var gpt2 = TokenizerTestData.Gpt2;
        Assert.Equal(" world", gpt2.TokenText(995));
        Assert.Equal("\n", gpt2.TokenText(198));
        Assert.Equal("\uFFFD", gpt2.TokenText(172)); // a lone UTF-8 lead byte
        Assert.Equal("", gpt2.TokenText(50257));
        Assert.Equal("", gpt2.TokenText(-1));
        Assert.False(gpt2.ContainsId(50257));
        Assert.True(gpt2.ContainsId(0));
        // Bytes split across tokens are reassembled by Decode.
        int[] ids = gpt2.Encode("emoji \U0001F642");
        Assert.Equal("emoji \U0001F642", gpt2.Decode(ids));
        Assert.Equal("", TokenizerTestData.Neox.TokenText(50290)); // Pythia's padded embedding rows have no token
    }

    [TokenizerDataFact]
    public void LoneSurrogates_AreEncodedAsReplacementChar()
    {
        foreach (var tok in new[] { TokenizerTestData.Gpt2, TokenizerTestData.Neox })
        {
            Assert.Equal(tok.Encode("a\uFFFDb"), tok.Encode("a\uD800b"));
            Assert.Equal(tok.Encode("\uFFFD x \uFFFD"), tok.Encode("\uDC00 x \uD83D"));
            Assert.Equal(tok.Encode("\U0001F642\uFFFD"), tok.Encode("\U0001F642\uD83D"));
        }
    }

    [TokenizerDataFact]
    public void AstralLetters_AreLetters()
    {
        // U+1D400 MATHEMATICAL BOLD CAPITAL A is a letter: "a𝐀b" is one pre-token (a UTF-16 Regex would split it).
        var pieces = new List<(int, int)>();
        ByteLevel.Split("a\U0001D400b 𝐀,", pieces);
        Assert.Equal([(0, 4), (4, 3), (7, 1)], pieces);
        var tok = TokenizerTestData.Gpt2;
        Assert.Equal("a\U0001D400b", tok.Decode(tok.Encode("a\U0001D400b")));
    }

    [Fact]
    public void Whitespace_IsUnicodeWhiteSpace_AsInPythonRegex()
    {
        // As OpenAI's encoder.py (Python regex): U+0085 is whitespace, U+FEFF and U+001F are not. (JavaScript's \s
        // differs on U+0085 and U+FEFF, so JS ports split "a \u0085b" as "a", " \u0085", "b".)
        static string[] Split(string s)
        {
            var pieces = new List<(int Offset, int Length)>();
            ByteLevel.Split(s, pieces);
            return pieces.Select(p => s.Substring(p.Offset, p.Length)).ToArray();
        }
        Assert.Equal(["a", " ", "\u0085", "b"], Split("a \u0085b"));
        Assert.Equal(["a", " \ufeff", " b"], Split("a \ufeff b"));
        Assert.Equal(["a", " \u001f", " b"], Split("a \u001f b"));
        Assert.Equal(["x", "\u3000\u3000", " y", "  "], Split("x\u3000\u3000 y  "));
    }

    [TokenizerDataFact]
    public void ConcurrentEncode_IsConsistent()
    {
        var texts = TokenizerTestData.GoldenCases("gpt-neox-20b").Select(c => c.Text)
            .Concat(Enumerable.Range(0, 200).Select(i => $"Sample {i}: the quick brown fox {i * 7919} jumps  over\tthe lazy dog {i}"))
            .ToArray();
        foreach (var tok in new[] { TokenizerTestData.Gpt2, TokenizerTestData.Neox })
        {
            var expected = texts.Select(tok.Encode).ToArray();
            Parallel.For(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            {
                int k = i % texts.Length;
                Assert.Equal(expected[k], tok.Encode(texts[k]));
            });
        }
    }
}
