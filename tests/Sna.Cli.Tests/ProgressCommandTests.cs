using System.Globalization;
using System.Text.RegularExpressions;

namespace Sna.Cli.Tests;

/// <summary>Progress with count, rate and ETA for controls and interference (issue #16): lines on stderr whose count,
/// percentage and total agree, ending at total/total "done"; stdout stays the result.</summary>
[Collection("cli")]
public class ProgressCommandTests
{
    private static (int Exit, string Out, string Err) RunPiped(params string[] args)
    {
        string? old = Environment.GetEnvironmentVariable("SNA_PROGRESS_INTERVAL");
        try
        {
            Environment.SetEnvironmentVariable("SNA_PROGRESS_INTERVAL", "0"); // every report is a line
            return CliHarness.Run(args);
        }
        finally { Environment.SetEnvironmentVariable("SNA_PROGRESS_INTERVAL", old); }
    }

    /// <summary>The progress lines for <paramref name="unit"/>: (done, total, percent).</summary>
    private static List<(long Done, long Total, int Pct)> Lines(string err, string unit) =>
        Regex.Matches(err, $@"(\d+)/(\d+) {unit}  (\d+)%  [\d.]+ {unit}/s  (ETA \S+|ETA \?|done)")
            .Select(m => (long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
                          int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture))).ToList();

    private static void AssertAgree(List<(long Done, long Total, int Pct)> lines, long total)
    {
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Equal(total, l.Total));
        Assert.All(lines, l => Assert.Equal((int)Math.Floor(100.0 * l.Done / l.Total), l.Pct));
        Assert.Equal(lines.Select(l => l.Done).Order(), lines.Select(l => l.Done));   // never goes back
        Assert.Equal(total, lines[^1].Done);
    }

    [Fact]
    public void Controls_reports_sets_with_count_rate_and_eta_that_agree()
    {
        var (code, output, err) = RunPiped("controls", "--task", "math-easy", "--layer", "3", "--count", "5", "--multiplier", "2", "--seeds", "3", "--no-collateral", "--json");
        Assert.True(code == 0, err);
        AssertAgree(Lines(err, "sets"), 1 + 3 + 1);   // task + 3 random + bottom-k
        Assert.Contains("done", err);
        Assert.StartsWith("{", output.TrimStart());   // progress never reaches stdout
    }

    [Fact]
    public void Interference_reports_evaluations()
    {
        var (code, _, err) = RunPiped("interference", "--sources", "math-easy@3:5:2,poetry-easy@3:5:2", "--targets", "math-easy,poetry-easy,code-easy", "--json");
        Assert.True(code == 0, err);
        AssertAgree(Lines(err, "evaluations"), 2 * 3);
    }

    [Fact]
    public void A_stage_that_counts_from_zero_again_restarts_the_rate_instead_of_going_negative()
    {
        var w = new StringWriter();
        using (var p = new Sna.Cli.Output.ProgressLine("steps", w, live: false))
        {
            Environment.SetEnvironmentVariable("SNA_PROGRESS_INTERVAL", "0");
            try
            {
                p.Report("baseline", 0, 10);
                p.Report("baseline", 10, 10);
                p.Report("grid", 0, 40);      // classify: the grid's own counter after the baselines
                p.Report("grid", 20, 40);
            }
            finally { Environment.SetEnvironmentVariable("SNA_PROGRESS_INTERVAL", null); }
        }
        var rates = Regex.Matches(w.ToString(), @"(-?[\d.]+) steps/s").Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(4, rates.Count);
        Assert.All(rates, r => Assert.True(r >= 0, w.ToString()));
        Assert.Contains("grid  20/40 steps  50%", w.ToString());
        // The formula itself: the rate counts from doneAtStart over the rate's own clock, never below 0.
        Assert.Contains(" 5.0 steps/s", Sna.Cli.Output.ProgressLine.Format("grid", 20, 40, TimeSpan.FromSeconds(100), 0, "steps", TimeSpan.FromSeconds(4)));
        Assert.Contains(" 0.0 steps/s", Sna.Cli.Output.ProgressLine.Format("grid", 0, 40, TimeSpan.FromSeconds(9), 10, "steps"));
    }
}
