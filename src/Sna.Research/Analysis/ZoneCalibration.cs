using Sna.Runtime.Numerics;
namespace Sna.Research.Analysis;

/// <summary>The paper's three performance zones by baseline confidence.</summary>
public enum PerformanceZone
{
    /// <summary>Zone 1 ("golden"): low baseline, expected SNA gain at least the golden threshold (paper: P_base &lt; 0.07, gains &gt; 10%).</summary>
    Zone1Golden = 1,
    /// <summary>Zone 2 ("unstable"): between the two boundaries (paper: 0.07–0.10).</summary>
    Zone2Unstable = 2,
    /// <summary>Zone 3 ("saturated"): expected gain below the saturation threshold (paper: P_base &gt; 0.10, rarely &gt; +7%).</summary>
    Zone3Saturated = 3,
}

/// <summary>A fitted zone boundary with its percentile-bootstrap interval.</summary>
/// <param name="GainThreshold">Expected improvement that defines the boundary (same units as the improvements).</param>
/// <param name="Baseline">Baseline confidence where the fitted curve equals the threshold: exp((threshold - a) / b).</param>
/// <param name="CiLower">Lower percentile-bootstrap bound for <see cref="Baseline"/>.</param>
/// <param name="CiUpper">Upper percentile-bootstrap bound (may be +∞ when resampled slopes approach 0).</param>
/// <param name="Extrapolated">True when <see cref="Baseline"/> lies outside the observed baseline range.</param>
public sealed record ZoneBoundary(double GainThreshold, double Baseline, double CiLower, double CiUpper, bool Extrapolated);

/// <summary>Result of <see cref="ZoneCalibration.Fit"/>.</summary>
/// <param name="N">Number of tasks.</param>
/// <param name="Intercept">a in improvement = a + b ln(baseline).</param>
/// <param name="Slope">b (per unit of natural log of the baseline).</param>
/// <param name="SlopePValue">Two-sided p for b = 0 (t-test with n - 2 df, equal to the Pearson p of ln baseline vs improvement).</param>
/// <param name="RSquared">R² of the log-linear fit.</param>
/// <param name="Zone12">Zone 1/2 boundary (expected gain = golden threshold); null when calibration failed.</param>
/// <param name="Zone23">Zone 2/3 boundary (expected gain = saturation threshold); null when calibration failed.</param>
/// <param name="ConfidenceLevel">Level of the bootstrap intervals.</param>
/// <param name="Resamples">Bootstrap resamples drawn.</param>
/// <param name="Skipped">Resamples left out because their slope was not negative (or baselines were all equal).</param>
/// <param name="Seed">Bootstrap seed.</param>
/// <param name="FailureReason">Why no boundaries were produced; null on success.</param>
public sealed record ZoneCalibrationResult(
    int N, double Intercept, double Slope, double SlopePValue, double RSquared,
    ZoneBoundary? Zone12, ZoneBoundary? Zone23,
    double ConfidenceLevel, int Resamples, int Skipped, ulong Seed, string? FailureReason)
{
    /// <summary>True when both boundaries were produced.</summary>
    public bool Succeeded => FailureReason is null;

    /// <summary>Expected improvement a + b ln(baseline) under the fit.</summary>
    public double ExpectedImprovement(double baseline)
    {
        if (!(baseline > 0)) throw new ArgumentOutOfRangeException(nameof(baseline), baseline, "Baseline must be positive.");
        return Intercept + Slope * Math.Log(baseline);
    }

    /// <summary>Zone of a baseline under the fitted boundaries (Zone 1 below <see cref="Zone12"/>, Zone 3 at or above <see cref="Zone23"/>).</summary>
    public PerformanceZone Classify(double baseline)
    {
        if (Zone12 is null || Zone23 is null) throw new InvalidOperationException($"No calibrated zones: {FailureReason}");
        if (baseline < Zone12.Baseline) return PerformanceZone.Zone1Golden;
        return baseline < Zone23.Baseline ? PerformanceZone.Zone2Unstable : PerformanceZone.Zone3Saturated;
    }
}

/// <summary>
/// Fits the zone boundaries of the paper (Zone 1: large gains, Zone 2: unstable, Zone 3: saturated) to the tasks of the
/// model at hand, instead of reusing the paper's 0.07 / 0.10 for every model.
/// </summary>
/// <remarks>
/// <para><b>Model.</b> improvement = a + b · ln(baseline), fitted by ordinary least squares over tasks. The log makes the
/// curve scale-free in the baseline, which spans orders of magnitude (0.001–0.6), and matches the monotone decline
/// the paper reports (Spearman rho = -0.76). A diminishing-returns relation needs b &lt; 0.</para>
/// <para><b>Boundaries.</b> With thresholds g₁ &gt; g₂ (defaults 10 and 7, in the units of the improvements — the paper
/// uses percent): Zone 1/2 boundary x₁ = exp((g₁ - a)/b), the baseline below which the expected gain exceeds g₁
/// ("golden zone"); Zone 2/3 boundary x₂ = exp((g₂ - a)/b), the baseline above which the expected gain falls below g₂
/// ("rarely more than +7%"). Since b &lt; 0 and g₁ &gt; g₂, x₁ &lt; x₂. With the paper's zones (0.07 and 0.10) this is
/// the curve passing through 10% at 0.07 and 7% at 0.10.</para>
/// <para><b>Uncertainty.</b> Percentile bootstrap over tasks (pairs resampled with replacement, B resamples, fixed seed,
/// <see cref="DeterministicRandom"/>). Each resample is refitted; resamples with b &gt;= 0 or all baselines equal have no
/// boundary and are skipped and counted. Quantiles are taken of ln x (always finite for b &lt; 0) and exponentiated, so the
/// upper bound can be +∞ when resampled slopes approach 0 — an honest sign that the data do not pin the boundary down.
/// Percentile intervals are conditional on b &lt; 0; a large <see cref="ZoneCalibrationResult.Skipped"/> is a warning.</para>
/// <para><b>Failure.</b> If the fitted b is not negative, no boundaries are returned (both null) and
/// <see cref="ZoneCalibrationResult.FailureReason"/> says why.</para>
/// </remarks>
public static class ZoneCalibration
{
    /// <summary>Default gain defining the Zone 1/2 boundary (paper: gains above 10% in the golden zone).</summary>
    public const double DefaultGoldenGain = 10.0;

    /// <summary>Default gain defining the Zone 2/3 boundary (paper: saturated tasks rarely exceed +7%).</summary>
    public const double DefaultSaturationGain = 7.0;

    /// <summary>Fits the log-linear curve and both zone boundaries with bootstrap intervals.</summary>
    /// <param name="baseline">Per-task baseline confidence P_base (&gt; 0).</param>
    /// <param name="improvement">Per-task improvement from SNA (units of the thresholds, e.g. percent).</param>
    /// <param name="goldenGain">Gain at the Zone 1/2 boundary.</param>
    /// <param name="saturationGain">Gain at the Zone 2/3 boundary (&lt; <paramref name="goldenGain"/>).</param>
    /// <param name="resamples">Bootstrap resamples.</param>
    /// <param name="confidenceLevel">Interval level.</param>
    /// <param name="seed">Bootstrap seed.</param>
    public static ZoneCalibrationResult Fit(IReadOnlyList<double> baseline, IReadOnlyList<double> improvement,
        double goldenGain = DefaultGoldenGain, double saturationGain = DefaultSaturationGain,
        int resamples = Bootstrap.DefaultResamples, double confidenceLevel = 0.95, ulong seed = Bootstrap.DefaultSeed)
    {
        Guard.Paired(baseline, improvement, 3);
        for (int i = 0; i < baseline.Count; i++)
            if (!(baseline[i] > 0)) throw new ArgumentException($"Baselines must be positive (index {i}: {baseline[i]}).", nameof(baseline));
        if (!double.IsFinite(goldenGain) || !double.IsFinite(saturationGain) || !(goldenGain > saturationGain))
            throw new ArgumentException("Need finite thresholds with goldenGain > saturationGain.", nameof(goldenGain));
        if (resamples < 1) throw new ArgumentOutOfRangeException(nameof(resamples), resamples, "At least one resample is required.");
        if (!(confidenceLevel > 0 && confidenceLevel < 1)) throw new ArgumentOutOfRangeException(nameof(confidenceLevel));

        int n = baseline.Count;
        var lx = baseline.Select(v => Math.Log(v)).ToArray();
        var y = improvement.ToArray();
        if (Guard.IsConstant(lx))
            return Failed(n, double.NaN, double.NaN, double.NaN, double.NaN, confidenceLevel, seed, "All baselines are equal: the slope is undefined.");

        var (a, b) = Ols(lx, y);
        var pearson = Correlation.Pearson(lx, y);
        double r2 = double.IsNaN(pearson.R) ? 0.0 : pearson.RSquared;  // constant y: flat fit, R² = 0
        double pSlope = pearson.PValue;
        if (!(b < 0))
            return Failed(n, a, b, pSlope, r2, confidenceLevel, seed,
                $"The fitted slope of improvement on ln(baseline) is not negative (b = {b:G4}); no diminishing-returns zones can be defined.");

        double l1 = (goldenGain - a) / b, l2 = (saturationGain - a) / b;

        var rng = new DeterministicRandom(seed);
        var bx = new double[n];
        var by = new double[n];
        var reps1 = new List<double>(resamples);
        var reps2 = new List<double>(resamples);
        for (int r = 0; r < resamples; r++)
        {
            for (int i = 0; i < n; i++)
            {
                int k = rng.NextInt(n);
                bx[i] = lx[k];
                by[i] = y[k];
            }
            if (Guard.IsConstant(bx)) continue;
            var (ab, bb) = Ols(bx, by);
            if (!(bb < 0)) continue;
            reps1.Add((goldenGain - ab) / bb);
            reps2.Add((saturationGain - ab) / bb);
        }
        int skipped = resamples - reps1.Count;
        double minX = baseline.Min(), maxX = baseline.Max();
        ZoneBoundary Boundary(double g, double logX, List<double> reps)
        {
            var (lo, hi, _) = Bootstrap.PercentileInterval(reps, confidenceLevel);
            double x = Math.Exp(logX);
            return new ZoneBoundary(g, x, Math.Exp(lo), Math.Exp(hi), x < minX || x > maxX);
        }
        return new ZoneCalibrationResult(n, a, b, pSlope, r2,
            Boundary(goldenGain, l1, reps1), Boundary(saturationGain, l2, reps2),
            confidenceLevel, resamples, skipped, seed, null);
    }

    /// <summary>Simple OLS y = a + b x (x not constant).</summary>
    internal static (double A, double B) Ols(double[] x, double[] y)
    {
        int n = x.Length;
        double mx = 0, my = 0;
        for (int i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
        mx /= n;
        my /= n;
        double sxx = 0, sxy = 0;
        for (int i = 0; i < n; i++)
        {
            double dx = x[i] - mx;
            sxx += dx * dx;
            sxy += dx * (y[i] - my);
        }
        double b = sxy / sxx;
        return (my - b * mx, b);
    }

    private static ZoneCalibrationResult Failed(int n, double a, double b, double p, double r2, double level, ulong seed, string reason)
        => new(n, a, b, p, r2, null, null, level, 0, 0, seed, reason);
}
