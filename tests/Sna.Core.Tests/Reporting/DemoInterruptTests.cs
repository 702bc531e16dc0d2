using Sna.Research.Reporting;
using Sna.Research.Sweeps;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Reporting;

/// <summary>
/// A demo whose sweep is stopped (Ctrl+C: the sweep returns Completed = false) stops there with a
/// <see cref="SweepInterruptedException"/> saying what was stored, instead of carrying on to controls and a report built on a
/// partial grid. Uses the bundled model (in the repository).
/// </summary>
public sealed class DemoInterruptTests : IDisposable
{
    // The discovery cache goes to the test process's temporary SNA_CACHE_DIR (tests/Shared/TestEnvironment).
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    /// <summary>Cancels when the pipeline announces the sweep step (synchronously, unlike <see cref="Progress{T}"/>).</summary>
    private sealed class CancelAt(string step, CancellationTokenSource cts) : IProgress<DemoStep>
    {
        public readonly List<string> Steps = [];
        public void Report(DemoStep value)
        {
            Steps.Add(value.Name);
            if (value.Name == step) cts.Cancel();
        }
    }

    [Fact]
    public void A_sweep_stopped_by_ctrl_c_stops_the_demo_and_says_what_was_stored()
    {
        using var model = ModelLoader.Load(TestPaths.BundledModelDir);
        var tok = ModelTokenizer.FromDirectory(TestPaths.BundledModelDir);
        string outDir = Path.Combine(_tmp.Path, "demo");
        var o = new DemoOptions
        {
            OutDir = outDir, Tasks = ["math-easy", "logic-easy"], Layers = [0, 1], Counts = [3], Multipliers = [2.0],
            ControlSeeds = 2, Resamples = 10,
        };
        using var cts = new CancellationTokenSource();
        var progress = new CancelAt("sweep", cts);
        var e = Assert.Throws<SweepInterruptedException>(() => DemoPipeline.Run(model, tok, o, progress, cts.Token));
        Assert.IsAssignableFrom<OperationCanceledException>(e);
        Assert.Equal(Path.Combine(outDir, "sweep.db"), e.Database);
        Assert.Contains("demo stopped during the sweep", e.Message);
        Assert.Contains("Run the same command again to resume", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        // nothing after the sweep ran: no controls step, no report
        Assert.DoesNotContain(progress.Steps, s => s is "controls" or "interference" or "report");
        Assert.False(Directory.Exists(Path.Combine(outDir, "report")));
    }
}
