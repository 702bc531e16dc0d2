namespace Sna.Core.Tests.Tokenization;

/// <summary>300 random texts checked against two independent JavaScript encoders (see TokenizerFuzzCases.g.cs).</summary>
public class FuzzTokenTests
{
    public static TheoryData<int> Rows
    {
        get
        {
            var rows = new TheoryData<int>();
            for (int i = 0; i < TokenizerFuzzCases.All.Length; i++) rows.Add(i);
            return rows;
        }
    }

    [TokenizerDataTheory]
    [MemberData(nameof(Rows))]
    public void Gpt2_MatchesReferenceEncoder(int index)
    {
        var c = TokenizerFuzzCases.All[index];
        var tok = TokenizerTestData.Gpt2;
        Assert.Equal(c.Gpt2, tok.Encode(c.Text));
        Assert.Equal(c.Text, tok.Decode(c.Gpt2));
    }

    [TokenizerDataTheory]
    [MemberData(nameof(Rows))]
    public void Neox_MatchesReferenceEncoder(int index)
    {
        var c = TokenizerFuzzCases.All[index];
        Assert.Equal(c.Neox, TokenizerTestData.Neox.Encode(c.Text));
    }
}
