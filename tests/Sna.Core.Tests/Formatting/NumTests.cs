using System.Globalization;
using Sna.Research.Formatting;

namespace Sna.Core.Tests.Formatting;

/// <summary>The one number formatter: significant digits (%g rules), ASCII minus, % without a space, ± with unit and SD/SE.</summary>
public class NumTests
{
    [Theory]
    [InlineData(0.0482, 4, "0.0482")]
    [InlineData(0.049791, 4, "0.04979")]
    [InlineData(2.462e-7, 4, "2.462e-07")]
    [InlineData(-2.462e-7, 4, "-2.462e-07")]
    [InlineData(8.22e-170, 3, "8.22e-170")]
    [InlineData(0.20812, 4, "0.2081")]
    [InlineData(12345.6, 4, "1.235e+04")]
    [InlineData(9.99996, 4, "10")]
    [InlineData(1.0, 4, "1")]
    [InlineData(0.0001, 4, "0.0001")]
    [InlineData(0, 4, "0")]
    [InlineData(-0.0000001, 1, "-1e-07")]
    public void Sig_follows_percent_g(double v, int digits, string expected)
    {
        Assert.Equal(expected, Num.Sig(v, digits));
        // What we print parses back to the value rounded to those digits (pandas/spreadsheets read it).
        Assert.Equal(double.Parse(v.ToString("G" + digits, CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
                     double.Parse(expected, CultureInfo.InvariantCulture), 12);
    }

    [Fact]
    public void Never_prints_a_unicode_minus_or_a_space_before_percent()
    {
        var rnd = new Random(7);
        for (int i = 0; i < 2000; i++)
        {
            double v = (rnd.NextDouble() - 0.5) * Math.Pow(10, rnd.Next(-12, 8));
            foreach (var s in new[] { Num.Sig(v), Num.Pct(v), Num.F(v), Num.Prob(v), Num.Pp(v), Num.Machine(v), Num.PlusMinus(v, Math.Abs(v), Num.Spread.SD, "pp") })
            {
                Assert.DoesNotContain('\u2212', s);
                Assert.DoesNotContain(" %", s);
                Assert.DoesNotContain("E", s);
            }
            Assert.Equal(v, double.Parse(Num.Machine(v), CultureInfo.InvariantCulture));
        }
    }

    [Theory]
    [InlineData(12.26, "+12.3%")]
    [InlineData(-3.3712, "-3.37%")]
    [InlineData(0.1208, "+0.121%")]
    [InlineData(100, "+100.0%")]
    [InlineData(0, "0%")]
    public void Pct_is_signed_with_no_space(double v, string expected) => Assert.Equal(expected, Num.Pct(v));

    [Fact]
    public void Share_plus_minus_p_and_missing()
    {
        Assert.Equal("33%", Num.Share(0.33));
        Assert.Equal("8.3%", Num.Share(1 / 12.0));
        Assert.Equal("0.12 pp ± 0.089 pp (SD)", Num.PlusMinus(0.12, 0.0891, Num.Spread.SD, "pp"));
        Assert.Equal("4.1% ± 0.52% (SE)", Num.PlusMinus(4.1, 0.52, Num.Spread.SE, "%"));
        Assert.Equal("0.004", Num.P(0.004));
        Assert.Equal("3.1e-05", Num.P(3.1e-5));
        Assert.Equal("0.97", Num.P(0.97));
        Assert.Equal(Num.Missing, Num.Sig(double.NaN));
        Assert.Equal("NaN", Num.Machine(double.NaN));
        Assert.Equal("-inf", Num.Sig(double.NegativeInfinity));
        Assert.Equal("-0.5", Num.F(-0.5, 1));
        Assert.Equal("0.0", Num.F(-0.01, 1)); // no "-0.0"
    }
}
