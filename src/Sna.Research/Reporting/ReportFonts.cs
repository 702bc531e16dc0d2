using ScottPlot;
using SkiaSharp;

namespace Sna.Research.Reporting;

/// <summary>
/// Makes figure text independent of system fonts: DejaVu Sans (Bitstream Vera licence, see
/// <c>Reporting/Fonts/LICENSE-DejaVu.txt</c>) is embedded in Sna.Research and served to ScottPlot through a font resolver
/// placed first in <see cref="Fonts.FontResolvers"/>. Without it, SkiaSharp on a machine with no fonts (a bare CI image)
/// draws plots with no text at all. The same glyphs everywhere also make figures identical across machines.
/// </summary>
public static class ReportFonts
{
    /// <summary>Family name used by every report figure (SVG viewers fall back to their own sans-serif when they lack it).</summary>
    public const string Family = "DejaVu Sans";

    private static readonly Lock Gate = new();
    private static bool _registered;
    private static SKData? _data;

    /// <summary>Registers the embedded font with ScottPlot (idempotent, thread-safe).</summary>
    public static void EnsureRegistered()
    {
        lock (Gate)
        {
            if (_registered) return;
            using var stream = typeof(ReportFonts).Assembly.GetManifestResourceStream("Sna.Research.Reporting.Fonts.DejaVuSans.ttf")
                ?? throw new InvalidOperationException("Embedded font Sna.Research.Reporting.Fonts.DejaVuSans.ttf is missing from Sna.Research.");
            using var ms = new MemoryStream();
            stream.CopyTo(ms);
            _data = SKData.CreateCopy(ms.ToArray());
            using (var probe = SKTypeface.FromData(_data))
                if (probe is null) throw new InvalidOperationException("SkiaSharp could not load the embedded DejaVu Sans font.");
            Fonts.FontResolvers.Insert(0, new EmbeddedResolver());
            _registered = true;
        }
    }

    /// <summary>Applies the embedded font to every text element of <paramref name="plot"/> (call after adding plottables).</summary>
    public static void Apply(Plot plot)
    {
        ArgumentNullException.ThrowIfNull(plot);
        EnsureRegistered();
        plot.Font.Set(Family);
    }

    private sealed class EmbeddedResolver : IFontResolver
    {
        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing width) =>
            CreateTypeface(fontName, false, false);

        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
            string.Equals(fontName, Family, StringComparison.OrdinalIgnoreCase) && _data is not null ? SKTypeface.FromData(_data) : null;
    }
}
