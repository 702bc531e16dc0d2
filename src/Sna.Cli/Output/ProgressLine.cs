using System.Diagnostics;
using System.Globalization;

namespace Sna.Cli.Output;

/// <summary>
/// Progress of a long command on stderr (stdout stays the result): <c>sweep math-easy L3  312/816 rows  38%  28.1 rows/s  ETA 0:18</c>.
/// The count, the percentage, the rate and the ETA come from the same two numbers (done, total), so they agree.
/// On a terminal the line is redrawn in place (at most 10 times a second); when stderr is redirected one line is printed every
/// <see cref="PipedInterval"/> (the first report and the end are always printed).
/// </summary>
public sealed class ProgressLine : IDisposable
{
    private readonly TextWriter _w;
    private readonly string _unit;
    private readonly bool _live;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly object _gate = new();
    private long? _doneAtStart;
    private long _lastDone;
    private TimeSpan _rateStart;
    private TimeSpan _lastPrint = TimeSpan.MinValue;
    private string _lastStage = "";
    private string? _pending;
    private int _lastLength;

    /// <summary>Interval between lines when stderr is not a terminal: 3 s (<c>SNA_PROGRESS_INTERVAL</c> seconds overrides, e.g. 0 in tests).</summary>
    public static TimeSpan PipedInterval =>
        double.TryParse(Environment.GetEnvironmentVariable("SNA_PROGRESS_INTERVAL"), NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s >= 0
            ? TimeSpan.FromSeconds(s) : TimeSpan.FromSeconds(3);

    /// <summary>Creates a reporter counting <paramref name="unit"/> (plural, e.g. "rows", "configs", "examples").</summary>
    public ProgressLine(string unit, TextWriter? writer = null, bool? live = null)
    {
        _unit = unit;
        _w = writer ?? Console.Error;
        _live = live ?? (writer is null && !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("SNA_OUTPUT_TERMINAL") != "0");
    }

    /// <summary>The line for (<paramref name="done"/>, <paramref name="total"/>) after <paramref name="elapsed"/>, counting the rate from <paramref name="doneAtStart"/> (work skipped on resume is not speed)
    /// over <paramref name="rateElapsed"/> (default: <paramref name="elapsed"/>; shorter when the counter restarted with a new stage).</summary>
    public static string Format(string stage, long done, long total, TimeSpan elapsed, long doneAtStart, string unit, TimeSpan? rateElapsed = null)
    {
        var inv = CultureInfo.InvariantCulture;
        double pct = total > 0 ? 100.0 * done / total : 100;
        var re = rateElapsed ?? elapsed;
        double rate = re.TotalSeconds > 0 ? Math.Max(0, done - doneAtStart) / re.TotalSeconds : 0;
        string eta = done >= total ? "done" : rate > 0 ? "ETA " + Duration(TimeSpan.FromSeconds((total - done) / rate)) : "ETA ?";
        return $"{stage}  {done.ToString(inv)}/{total.ToString(inv)} {unit}  {Math.Floor(pct).ToString("F0", inv)}%  {rate.ToString(rate >= 100 ? "F0" : "F1", inv)} {unit}/s  {eta}  ({Duration(elapsed)} elapsed)";
    }

    /// <summary>h:mm:ss or m:ss.</summary>
    public static string Duration(TimeSpan t)
    {
        if (t.TotalHours >= 1) return $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}";
        return $"{(int)t.TotalMinutes}:{t.Seconds:00}";
    }

    /// <summary>Reports progress; thread-safe.</summary>
    public void Report(string stage, long done, long total)
    {
        lock (_gate)
        {
            var now = _clock.Elapsed;
            // A stage that counts from 0 again (classify: baselines, then the grid) restarts the rate, so it never goes negative.
            if (_doneAtStart is null || done < _lastDone) { _doneAtStart = done; _rateStart = now; }
            _lastDone = done;
            string line = Format(stage, done, total, now, _doneAtStart.Value, _unit, now - _rateStart);
            bool stageChanged = _live && stage != _lastStage;
            var interval = _live ? TimeSpan.FromMilliseconds(100) : PipedInterval;
            if (!stageChanged && _lastPrint != TimeSpan.MinValue && now - _lastPrint < interval && done < total) { _pending = line; return; }
            Print(line);
            _lastPrint = now; _lastStage = stage; _pending = null;
        }
    }

    private void Print(string line)
    {
        if (_live)
        {
            _w.Write("\r" + line + (line.Length < _lastLength ? new string(' ', _lastLength - line.Length) : ""));
            _lastLength = line.Length;
        }
        else _w.WriteLine(line);
        _w.Flush();
    }

    /// <summary>Prints the last pending state and ends the live line.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_pending is not null) Print(_pending);
            if (_live && _lastLength > 0) _w.WriteLine();
            _pending = null; _lastLength = 0;
        }
    }
}
