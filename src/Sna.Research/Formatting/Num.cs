using System.Globalization;

namespace Sna.Research.Formatting;

/// <summary>
/// The one number formatter of the toolkit (CLI tables, piped output, reports).
/// <list type="bullet">
/// <item>Significant digits, like C's/Python's <c>%.Ng</c>: fixed notation for 1e-4 ≤ |v| &lt; 10^N, otherwise <c>1.234e-07</c>;
/// trailing zeros dropped. Parses back with <c>double.Parse</c>, pandas and spreadsheets.</item>
/// <item>Always the ASCII minus <c>-</c> (never U+2212), invariant culture.</item>
/// <item>Percentages with a <c>%</c> and no space: <c>+12.3%</c>.</item>
/// <item>A ± always states its unit and whether it is an SD or an SE: <c>0.12 ± 0.089 pp (SD)</c>.</item>
/// <item>Non-finite values: <see cref="Missing"/> ("—") in displays; <c>NaN</c>, <c>inf</c>, <c>-inf</c> from <see cref="Machine"/>.</item>
/// </list>
/// </summary>
public static class Num
{
    /// <summary>What displays print for a value that does not exist or is not finite.</summary>
    public const string Missing = "—";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary><paramref name="v"/> to <paramref name="digits"/> significant digits (<c>%g</c> rules); <see cref="Missing"/> when not finite.</summary>
    public static string Sig(double v, int digits = 4) => double.IsFinite(v) ? G(v, digits) : NonFinite(v);

    /// <inheritdoc cref="Sig(double, int)"/>
    public static string Sig(double? v, int digits = 4) => v is double d ? Sig(d, digits) : Missing;

    /// <summary>Round-trip form for machine-readable output (CSV/TSV/JSON-in-text): shortest exact representation, <c>NaN</c>/<c>inf</c>/<c>-inf</c> when not finite.</summary>
    public static string Machine(double v) =>
        double.IsNaN(v) ? "NaN" : double.IsPositiveInfinity(v) ? "inf" : double.IsNegativeInfinity(v) ? "-inf" : v.ToString("R", Inv).Replace("E", "e", StringComparison.Ordinal);

    /// <summary>A probability: 4 significant digits (<c>0.04816</c>, <c>2.462e-07</c>).</summary>
    public static string Prob(double p) => Sig(p, 4);

    /// <summary>A p-value: 2 significant digits below 0.001 in scientific form, else 3 decimals (<c>0.004</c>, <c>3.1e-05</c>); <c>1</c> stays <c>1</c>.</summary>
    public static string P(double p)
    {
        if (!double.IsFinite(p)) return NonFinite(p);
        if (p == 0) return "0";
        if (p < 1e-3) return G(p, 2);
        return Trim(p.ToString("F3", Inv));
    }

    /// <summary>Fixed decimals with an ASCII minus; <see cref="Missing"/> when not finite.</summary>
    public static string F(double v, int decimals = 3) =>
        double.IsFinite(v) ? Minus(v.ToString("F" + decimals.ToString(Inv), Inv)) : NonFinite(v);

    /// <inheritdoc cref="F(double, int)"/>
    public static string F(double? v, int decimals = 3) => v is double d ? F(d, decimals) : Missing;

    /// <summary>An integer with thousands separators (<c>1,000</c>) for prose; never use this in machine-readable output.</summary>
    public static string Count(long n) => n.ToString("N0", Inv);

    /// <summary>
    /// A percentage given in percent (12.3 → <c>+12.3%</c>): signed, <paramref name="digits"/> significant digits but never fewer
    /// than <paramref name="minDecimals"/> decimals for |v| ≥ 1, and no space before the <c>%</c>.
    /// </summary>
    public static string Pct(double percent, int digits = 3, int minDecimals = 1, bool signed = true)
    {
        if (!double.IsFinite(percent)) return NonFinite(percent);
        string body = Math.Abs(percent) >= 1 || percent == 0
            ? Math.Abs(percent).ToString("F" + Math.Max(minDecimals, digits - 1 - (int)Math.Floor(Math.Log10(Math.Max(1, Math.Abs(percent))))).ToString(Inv), Inv)
            : G(Math.Abs(percent), digits);
        if (percent == 0) return "0%";
        string sign = percent < 0 ? "-" : signed ? "+" : "";
        return sign + body + "%";
    }

    /// <inheritdoc cref="Pct(double, int, int, bool)"/>
    public static string Pct(double? percent, int digits = 3, int minDecimals = 1, bool signed = true) =>
        percent is double d ? Pct(d, digits, minDecimals, signed) : Missing;

    /// <summary>A fraction (0.33) as a percentage (<c>33%</c>), unsigned, 3 significant digits at most.</summary>
    public static string Share(double fraction) => double.IsFinite(fraction) ? Trim((fraction * 100).ToString(fraction * 100 >= 10 || fraction == 0 ? "F0" : "F1", Inv)) + "%" : NonFinite(fraction);

    /// <summary>Percentage points with a sign: <c>+4.2 pp</c>.</summary>
    public static string Pp(double v, int digits = 3) =>
        double.IsFinite(v) ? (v > 0 ? "+" : "") + Sig(v, digits) + " pp" : NonFinite(v);

    /// <summary>What a ± means.</summary>
    public enum Spread
    {
        /// <summary>Standard deviation of the values.</summary>
        SD,
        /// <summary>Standard error of the mean.</summary>
        SE,
    }

    /// <summary>
    /// <c>mean ± spread unit (SD|SE)</c>, e.g. <c>0.12 ± 0.089 pp (SD)</c>. The unit is required (use "" only for a pure number and say so in
    /// the column header); the kind of spread is always printed.
    /// </summary>
    public static string PlusMinus(double mean, double spread, Spread kind, string unit, int digits = 3)
    {
        string u = unit.Length == 0 ? "" : unit == "%" ? "%" : " " + unit;
        return $"{Sig(mean, digits)}{u} ± {Sig(spread, Math.Max(2, digits - 1))}{u} ({kind})";
    }

    /// <summary>An interval <c>[lo, hi]</c> in <see cref="Sig(double, int)"/> form.</summary>
    public static string Interval(double lo, double hi, int digits = 3) => $"[{Sig(lo, digits)}, {Sig(hi, digits)}]";

    // ---------------------------------------------------------------- helpers

    private static string NonFinite(double v) => double.IsPositiveInfinity(v) ? "inf" : double.IsNegativeInfinity(v) ? "-inf" : Missing;

    private static string Minus(string s) => s == "-0" || s.StartsWith("-0", StringComparison.Ordinal) && s.Trim('-', '0', '.').Length == 0 ? s.TrimStart('-') : s;

    /// <summary>C's %.{digits}g: exponent form when exp &lt; -4 or exp ≥ digits; trailing zeros removed; two-digit exponent minimum.</summary>
    private static string G(double v, int digits)
    {
        if (digits < 1) digits = 1;
        if (v == 0) return "0";
        // Round first, then decide the notation on the rounded exponent (as C does: 9.9996 with 4 digits is 10, not 9.9996e+00).
        string e = v.ToString("E" + (digits - 1).ToString(Inv), Inv); // d.ddddE+xxx
        int ePos = e.IndexOf('E');
        int exp = int.Parse(e.AsSpan(ePos + 1), NumberStyles.AllowLeadingSign, Inv);
        if (exp < -4 || exp >= digits)
        {
            string mant = Trim(e[..ePos]);
            return $"{mant}e{(exp < 0 ? "-" : "+")}{Math.Abs(exp):00}";
        }
        int decimals = Math.Max(0, digits - 1 - exp);
        return Minus(Trim(v.ToString("F" + decimals.ToString(Inv), Inv)));
    }

    private static string Trim(string s)
    {
        if (!s.Contains('.')) return s;
        s = s.TrimEnd('0');
        return s.EndsWith('.') ? s[..^1] : s;
    }
}
