using Sna.Runtime;

namespace Sna.Research.Method;

/// <summary>
/// Baseline-confidence zones (SNA paper, GPT-2 Medium): Zone 1 P_base &lt; 0.07 (large gains), Zone 2 0.07–0.10 (unstable),
/// Zone 3 &gt; 0.10 (saturated). The thresholds are configurable because they are a property of the model.
/// </summary>
public sealed record ZoneThresholds(double Low = 0.07, double High = 0.10)
{
    public static readonly ZoneThresholds Paper = new();

    public int Zone(double pBase) => pBase < Low ? 1 : pBase <= High ? 2 : 3;

    public void Validate() => InputParsing.CheckBand(Low, High, "zone thresholds", strict: true);

    /// <summary>Parses "0.07:0.10" or "0.07,0.10" (<see cref="InputParsing.Band"/>).</summary>
    public static ZoneThresholds Parse(string s)
    {
        var (lo, hi) = InputParsing.Band(s, "zone thresholds", strict: true);
        return new ZoneThresholds(lo, hi);
    }

    /// <summary>As <see cref="Parse"/> reads it: <c>0.07:0.10</c> (the CLI's <c>--help</c> shows the default this way).</summary>
    public override string ToString() => InputParsing.BandText(Low, High);
}

/// <summary>
/// Classification margin zones (paper, SST-2): margin = |P(a) − P(b)| / (P(a) + P(b));
/// Zone 1 &lt; 0.30 (uncertain), Zone 2 0.30–0.60, Zone 3 &gt; 0.60 (confident).
/// </summary>
public sealed record MarginZones(double Low = 0.30, double High = 0.60)
{
    public static readonly MarginZones Paper = new();

    public static double Margin(double pA, double pB) => pA + pB <= 0 ? 0 : Math.Abs(pA - pB) / (pA + pB);

    public int Zone(double margin) => margin < Low ? 1 : margin <= High ? 2 : 3;

    /// <summary>Parses "0.30:0.60" or "0.30,0.60" (<see cref="InputParsing.Band"/>).</summary>
    public static MarginZones Parse(string s)
    {
        var (lo, hi) = InputParsing.Band(s, "margin zones", strict: true, example: "0.30:0.60");
        return new MarginZones(lo, hi);
    }

    /// <summary>As <see cref="Parse"/> reads it: <c>0.30:0.60</c>.</summary>
    public override string ToString() => InputParsing.BandText(Low, High);
}
