using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Tokenization;

public class NfcTests
{
    [Theory]
    [InlineData("plain ASCII", "plain ASCII")]
    [InlineData("Cafe\u0301", "Caf\u00e9")]
    [InlineData("Caf\u00e9", "Caf\u00e9")]
    [InlineData("\u212B", "\u00C5")]                        // ANGSTROM SIGN: singleton decomposition
    [InlineData("A\u030A", "\u00C5")]
    [InlineData("\u1100\u1161\u11A8", "\uAC01")]            // Hangul L V T → LVT
    [InlineData("\uAC00\u11A8", "\uAC01")]                  // LV + T
    [InlineData("a\u0307\u0323", "\u1EA1\u0307")]           // reordering: dot below (220) before dot above (230)
    [InlineData("\u1E0B\u0323", "\u1E0D\u0307")]
    [InlineData("e\u0301\u0301", "\u00e9\u0301")]           // second acute is blocked
    [InlineData("\u0344", "\u0308\u0301")]                  // non-starter decomposition, excluded from composition
    [InlineData("\u0958", "\u0915\u093C")]                  // composition exclusion
    [InlineData("\U0001D15E", "\U0001D157\U0001D165")]      // astral exclusion
    [InlineData("\U00011099\U000110BA", "\U0001109A")]      // astral composition (Kaithi)
    [InlineData("\u0301abc", "\u0301abc")]                  // leading non-starter
    [InlineData("x\uD800y", "x\uD800y")]                    // lone surrogate passes through
    public void Normalize_MatchesUnicodeNfc(string input, string expected) => Assert.Equal(expected, Nfc.Normalize(input));
}
