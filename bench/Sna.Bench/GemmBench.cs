using Sna.Research.Analysis;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Sna.Runtime.Numerics;
using Spectre.Console;

namespace Sna.Bench;

/// <summary>
/// GEMM throughput: C[M,N] = A[M,K]·B for the GPT-2 style shapes, managed (F32 and F16 weights) vs OpenBLAS (F32) in the
/// same process, against OpenBLAS's native kernel (see <see cref="OpenBlasEnvironment"/>), with OpenBLAS's C checked against
/// the managed C at every shape. Providers are interleaved within every repetition (so machine noise hits them alike) and the best
/// repetition is reported; each repetition runs the call enough times to last at least a few tens of milliseconds. The ratio is
/// also given per repetition (the two providers timed back to back), as a median with a distribution-free ~95% interval
/// (<see cref="PairedRatio"/>): on a shared VM the best-of-n ratio of one shape moves by a few percent between runs.
/// </summary>
internal static unsafe class GemmBench
{
    private static readonly int[] Ms = { 1, 16, 256, 1344 };
    private static readonly (int K, int N, bool T)[] KNs =
    {
        (768, 3072, false), (3072, 768, false), (1024, 4096, false), (4096, 1024, false), (1024, 50257, true),
    };

    public static int Run(string[] args)
    {
        if (args.Contains("--cold")) return RunCold(args);
        bool quick = args.Contains("--quick");
        int threads = IntOption(args, "--threads", 0);
        int reps = IntOption(args, "--reps", quick ? 3 : 7);
        double minSeconds = quick ? 0.02 : 0.08;
        // OpenBLAS's helper threads keep spinning (sched_yield) for up to 2^28 cycles after a call returns, which took CPU
        // from whichever runner was timed next; a pause before each timed repetition lets them sleep first.
        int settleMs = IntOption(args, "--settle-ms", quick ? 0 : 200);
        int[] ms = StringOption(args, "--m") is { } mList ? mList.Split(',').Select(int.Parse).ToArray() : Ms;

        if (Console.IsOutputRedirected || AnsiConsole.Profile.Width < 100) AnsiConsole.Profile.Width = 180;
        bool cpu = args.Contains("--cpu");
        if (cpu) threads = 1;
        var managed = new ManagedGemm(threads);
        OpenBlasGemm? openblas = OpenBlasGemm.TryCreate();
        if (cpu)
        {
            nint lib = NativeLibrary.Load(OpenBlasGemm.LibraryName);
            ((delegate* unmanaged<int, void>)NativeLibrary.GetExport(lib, "openblas_set_num_threads"))(1);
        }
        AnsiConsole.MarkupLine($"[bold]GEMM benchmark[/] ({(quick ? "quick" : "full")}: best of {reps} reps, >= {minSeconds * 1000:F0} ms each, {settleMs} ms pause before each)");
        AnsiConsole.MarkupLine($"managed : {Markup.Escape(GemmProviders.Describe(managed))}");
        AnsiConsole.MarkupLine(openblas != null
            ? $"openblas: {Markup.Escape(GemmProviders.Describe(openblas))}"
            : $"openblas: [yellow]{OpenBlasGemm.LibraryName} not found, column omitted[/]");
        if (openblas != null)
            AnsiConsole.MarkupLine(OpenBlasEnvironment.Forced
                ? $"[bold yellow]{Markup.Escape(OpenBlasEnvironment.Describe(openblas))}[/]"
                : Markup.Escape(OpenBlasEnvironment.Describe(openblas)));
        AnsiConsole.MarkupLine($"CPU: {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}");

        var table = new Table().RoundedBorder();
        table.AddColumn("M");
        table.AddColumn("K x N (B layout)");
        table.AddColumn(new TableColumn("managed F32\nGFLOP/s").RightAligned());
        table.AddColumn(new TableColumn("managed F16\nGFLOP/s").RightAligned());
        if (openblas != null)
        {
            table.AddColumn(new TableColumn("openblas F32\nGFLOP/s").RightAligned());
            table.AddColumn(new TableColumn("managed/openblas\nF32, best").RightAligned());
            table.AddColumn(new TableColumn("paired median\n[[~95% CI]]").RightAligned());
            table.AddColumn(new TableColumn("max|ΔC|/max|C|\nopenblas vs managed").RightAligned());
        }

        double worstError = 0;
        var wrong = new List<string>();
        var ratios1344 = new List<double>();
        var allRatios = new List<double>();
        var pairedMedians = new List<double>();
        var pairedLows = new List<double>();
        var shapeNames = new List<string>(); // M and K x N of each compared shape, in table order
        foreach (var (K, N, T) in KNs)
        {
            using var b32 = new BenchWeights(K, N, WeightDType.F32, T);
            using var b16 = new BenchWeights(K, N, WeightDType.F16, T);
            foreach (int M in ms)
            {
                float[] a = new float[(long)M * K];
                var rng = new Random(M);
                for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() - 0.5);
                float[] cManaged = new float[(long)M * N]; // [M, N] managed F32 result (kept for the check)
                float[] c16 = new float[(long)M * N];      // [M, N] managed F16 result
                float[] cBlas = new float[(long)M * N];    // [M, N] OpenBLAS F32 result (kept for the check)
                double flops = 2.0 * M * K * N;

                var runners = new List<Action>
                {
                    () => managed.Sgemm(a, M, b32.Matrix, cManaged, false),
                    () => managed.Sgemm(a, M, b16.Matrix, c16, false),
                };
                if (openblas != null) runners.Add(() => openblas.Sgemm(a, M, b32.Matrix, cBlas, false));
                double[][] times = cpu ? MeasureCpu(runners, reps, minSeconds) : Measure(runners, reps, minSeconds, settleMs); // [runner][rep] s/call
                double[] gflops = times.Select(t => flops / t.Min() / 1e9).ToArray();

                var row = new List<string>
                {
                    M.ToString(), $"{K}x{N} {(T ? "[[N,K]]" : "[[K,N]]")}", $"{gflops[0]:F1}", $"{gflops[1]:F1}",
                };
                if (openblas != null)
                {
                    double ratio = gflops[0] / gflops[2];
                    allRatios.Add(ratio);
                    shapeNames.Add($"{K}x{N} at M = {M}");
                    if (M == 1344) ratios1344.Add(ratio);
                    string color = ratio >= 1.0 ? "green" : ratio >= 0.8 ? "yellow" : "red";
                    row.Add($"{gflops[2]:F1}");
                    row.Add($"[{color}]{ratio:F2}x[/]");
                    var paired = PairedRatio(times[0], times[2]);
                    pairedMedians.Add(paired.Median);
                    pairedLows.Add(paired.Low);
                    row.Add($"{paired.Median:F2}x [[{paired.Low:F2}, {paired.High:F2}]]");
                    double err = RelativeDifference(cBlas, cManaged);
                    worstError = Math.Max(worstError, double.IsNaN(err) ? double.PositiveInfinity : err);
                    row.Add(err <= ErrorTolerance ? Sci(err) : $"[bold red]{Sci(err)} WRONG[/]");
                    if (!(err <= ErrorTolerance)) wrong.Add($"M={M} {K}x{N}{(T ? " [[N,K]]" : "")}");
                }
                table.AddRow(row.ToArray());
            }
        }
        AnsiConsole.Write(table);
        if (File.Exists("/proc/loadavg")) AnsiConsole.MarkupLine($"load average after run: {File.ReadAllText("/proc/loadavg").Trim()} (other processes add noise; ratios are measured side by side)");
        if (allRatios.Count > 0)
        {
            // The lowest of each statistic with three decimals and its shape: a rounded "1.00x" can hide a figure below 1.
            var interval = MedianIntervals.LowRank(reps);   // the same ranks at every shape (same number of pairs)
            string Lowest(List<double> xs) { int i = xs.IndexOf(xs.Min()); return $"{xs[i]:F3}x ({shapeNames[i]})"; }
            AnsiConsole.MarkupLine($"geomean managed/openblas (F32): all shapes {GeoMean(allRatios):F2}x{(ratios1344.Count > 0 ? $", M=1344 {GeoMean(ratios1344):F2}x" : "")}, min {Lowest(allRatios)}" +
                                   $"{(OpenBlasEnvironment.Forced ? " [bold yellow](against a FORCED OpenBLAS kernel)[/]" : "")}");
            AnsiConsole.MarkupLine($"paired (per repetition, managed and OpenBLAS timed back to back; {reps} pairs per shape): lowest median {Lowest(pairedMedians)}, " +
                                   $"lowest lower CI bound {Lowest(pairedLows)}; of {pairedMedians.Count} shapes, median below 1.000x: {pairedMedians.Count(r => r < 1.0)}, " +
                                   $"lower CI bound below 1.000x: {pairedLows.Count(r => r < 1.0)} (the interval: pairs {interval.Rank} and " +
                                   $"{reps + 1 - interval.Rank} of {reps} in order, exact coverage {100 * interval.Coverage:F1}%)");
            AnsiConsole.MarkupLine(wrong.Count == 0
                ? $"results: OpenBLAS's C agrees with the managed C at every shape (largest max|ΔC|/max|C| {Sci(worstError)} <= {Sci(ErrorTolerance)})"
                : $"[bold red]WARNING: OpenBLAS's C differs from the managed C by more than {Sci(ErrorTolerance)} (max|ΔC|/max|C|) at " +
                  $"{string.Join(", ", wrong)}: one of the two kernels computes wrong results, and its GFLOP/s mean nothing.[/]");
        }
        return 0;
    }

    /// <summary>
    /// Both providers compute the same float32 product with different summation orders, so they agree to a few float32
    /// roundings over K terms (~1e-6 of the largest |C| here); an indexing or kernel bug gives differences of order 1.
    /// </summary>
    private const double ErrorTolerance = 1e-4;

    private static string Sci(double x) => x.ToString("0.0e+0", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>max_ij |x_ij - ref_ij| / max_ij |ref_ij| (NaN if any value is NaN).</summary>
    private static double RelativeDifference(float[] x, float[] reference)
    {
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double d = Math.Abs((double)x[i] - reference[i]);
            if (double.IsNaN(d)) return double.NaN;
            maxDiff = Math.Max(maxDiff, d);
            maxRef = Math.Max(maxRef, Math.Abs((double)reference[i]));
        }
        return maxRef > 0 ? maxDiff / maxRef : maxDiff;
    }

    /// <summary>GPT-2 Medium shapes (plus Small's MLP) for the cold small-M mode.</summary>
    private static readonly (int K, int N, bool T)[] ColdKNs =
    {
        (1024, 1024, false), (1024, 3072, false), (1024, 4096, false), (4096, 1024, false), (768, 3072, false), (1024, 50257, true),
    };

    /// <summary>
    /// "Cold" small-M mode (<c>gemm --cold</c>): every call gets a different B from a rotating set of distinct matrices
    /// totalling more than 512 MB, so B streams from DRAM as in a batch-1 forward pass (a repeated B stays in L3 and looks
    /// much faster than it is). Reports GFLOP/s and the B bytes streamed per second; best of the repetitions, where one
    /// repetition is a pass over the whole set.
    /// </summary>
    private static int RunCold(string[] args)
    {
        bool quick = args.Contains("--quick");
        int threads = IntOption(args, "--threads", 0);
        int reps = IntOption(args, "--reps", quick ? 3 : 5);
        int onlyM = IntOption(args, "--m", 0);
        string? onlyDType = StringOption(args, "--dtype");
        const long setBytes = 512L << 20;
        if (Console.IsOutputRedirected || AnsiConsole.Profile.Width < 100) AnsiConsole.Profile.Width = 110;
        var managed = new ManagedGemm(threads);
        AnsiConsole.MarkupLine($"[bold]Cold small-M GEMM[/] (B rotated over > {setBytes >> 20} MB of distinct matrices; best of {reps} passes)");
        AnsiConsole.MarkupLine($"managed : {Markup.Escape(GemmProviders.Describe(managed))}");
        var table = new Table().RoundedBorder();
        table.AddColumn("M");
        table.AddColumn("K x N (B layout)");
        table.AddColumn("dtype");
        table.AddColumn(new TableColumn("us/call").RightAligned());
        table.AddColumn(new TableColumn("GFLOP/s").RightAligned());
        table.AddColumn(new TableColumn("B GB/s").RightAligned());
        foreach (var (K, N, T) in ColdKNs)
            foreach (var dtype in new[] { WeightDType.F32, WeightDType.F16 })
            {
                if (onlyDType != null && !dtype.ToString().Equals(onlyDType, StringComparison.OrdinalIgnoreCase)) continue;
                long bytes = (long)K * N * (dtype == WeightDType.F32 ? 4 : 2);
                int count = (int)(setBytes / bytes) + 2;
                var set = new List<BenchWeights>();
                try
                {
                    set.Add(new BenchWeights(K, N, dtype, T));
                    for (int i = 1; i < count; i++) set.Add(new BenchWeights(set[0], i));
                    foreach (int M in T ? new[] { 1, 16 } : new[] { 1, 16, 32 })
                    {
                        if (onlyM > 0 && M != onlyM) continue;
                        float[] a = new float[(long)M * K];
                        var rng = new Random(M);
                        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() - 0.5);
                        float[] c = new float[(long)M * N];
                        foreach (var w in set) managed.Sgemm(a, M, w.Matrix, c, false); // warm-up
                        double best = double.MaxValue;
                        for (int r = 0; r < reps; r++)
                        {
                            var sw = Stopwatch.StartNew();
                            foreach (var w in set) managed.Sgemm(a, M, w.Matrix, c, false);
                            best = Math.Min(best, sw.Elapsed.TotalSeconds / set.Count);
                        }
                        table.AddRow(M.ToString(), $"{K}x{N} {(T ? "[[N,K]]" : "[[K,N]]")}", dtype.ToString(), $"{best * 1e6:F0}",
                                     $"{2.0 * M * K * N / best / 1e9:F1}", $"{bytes / best / 1e9:F1}");
                    }
                }
                finally
                {
                    foreach (var w in set) w.Dispose();
                }
            }
        AnsiConsole.Write(table);
        if (File.Exists("/proc/loadavg")) AnsiConsole.MarkupLine($"load average after run: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec ts);
    private struct Timespec { public long Sec; public long Nsec; }
    private static double ThreadCpu() { ClockGetTime(3, out var ts); return ts.Sec + ts.Nsec * 1e-9; }
    /// <summary>
    /// <c>--cpu</c>: best thread-CPU seconds per call, both providers on one thread (OpenBLAS via openblas_set_num_threads),
    /// so time the process spends descheduled by other work does not count: a steadier kernel comparison on a busy machine
    /// than wall time (which the default 2-thread mode reports).
    /// </summary>
    private static double[][] MeasureCpu(List<Action> runners, int reps, double minSeconds)
    {
        var iters = new int[runners.Count];
        var times = runners.Select(_ => new double[reps]).ToArray(); // [runner][rep] thread-CPU seconds per call
        for (int r = 0; r < runners.Count; r++)
        {
            runners[r]();
            double t0 = ThreadCpu();
            runners[r]();
            iters[r] = (int)Math.Clamp(Math.Ceiling(minSeconds / Math.Max(ThreadCpu() - t0, 1e-7)), 1, 100000);
        }
        for (int rep = 0; rep < reps; rep++)
            for (int r = 0; r < runners.Count; r++)
            {
                double t0 = ThreadCpu();
                for (int i = 0; i < iters[r]; i++) runners[r]();
                times[r][rep] = (ThreadCpu() - t0) / iters[r];
            }
        return times;
    }

    /// <summary>Seconds per call of each runner in each repetition ([runner][rep]); runners are interleaved inside each repetition.</summary>
    private static double[][] Measure(List<Action> runners, int reps, double minSeconds, int settleMs)
    {
        var iters = new int[runners.Count];
        var times = runners.Select(_ => new double[reps]).ToArray(); // [runner][rep] seconds per call
        for (int r = 0; r < runners.Count; r++)
        {
            runners[r](); // warm-up (JIT, buffers, OpenBLAS threads)
            var sw = Stopwatch.StartNew();
            runners[r]();
            double once = Math.Max(sw.Elapsed.TotalSeconds, 1e-7);
            iters[r] = (int)Math.Clamp(Math.Ceiling(minSeconds / once), 1, 100000);
        }
        for (int rep = 0; rep < reps; rep++)
            for (int r = 0; r < runners.Count; r++)
            {
                if (settleMs > 0) Thread.Sleep(settleMs);   // the previous runner's helper threads go idle first
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < iters[r]; i++) runners[r]();
                times[r][rep] = sw.Elapsed.TotalSeconds / iters[r];
            }
        return times;
    }

    /// <summary>
    /// Throughput ratio managed/OpenBLAS per repetition (OpenBLAS's time over the managed time of the same repetition, the
    /// two timed back to back), summarised by its median and a distribution-free ~95% interval for that median
    /// (<see cref="MedianIntervals.Compute"/>: 7 pairs give min and max, 98.4%; 15 the 4th and 12th, 96.5%; 31 the 10th and
    /// 22nd, 97.1%). A pair cancels drifts slower than one repetition that a best-of-n ratio keeps (each best can come from
    /// a different moment).
    /// </summary>
    internal static MedianInterval PairedRatio(double[] managed, double[] openblas)
    {
        int n = Math.Min(managed.Length, openblas.Length);
        double[] r = new double[n];
        for (int i = 0; i < n; i++) r[i] = openblas[i] / managed[i];
        return MedianIntervals.Compute(r);
    }

    private static double GeoMean(List<double> x) => x.Count == 0 ? double.NaN : Math.Exp(x.Average(Math.Log));

    private static string? StringOption(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static int IntOption(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v) ? v : fallback;
    }

    private sealed class BenchWeights : IDisposable
    {
        private readonly void* _data;
        public readonly WeightMatrix Matrix;

        public BenchWeights(int k, int n, WeightDType dtype, bool transposed)
        {
            long count = (long)k * n;
            _data = NativeMemory.AlignedAlloc((nuint)(count * (dtype == WeightDType.F32 ? 4 : 2)), 64);
            var rng = new Random(k ^ n);
            for (long i = 0; i < count; i++)
            {
                float v = (float)(rng.NextDouble() - 0.5) * 0.1f;
                if (dtype == WeightDType.F32) ((float*)_data)[i] = v;
                else ((Half*)_data)[i] = (Half)v;
            }
            Matrix = new WeightMatrix(_data, dtype, k, n, transposed);
        }

        /// <summary>A distinct copy of <paramref name="template"/> (same values, its own memory).</summary>
        public BenchWeights(BenchWeights template, int salt)
        {
            var t = template.Matrix;
            _data = NativeMemory.AlignedAlloc((nuint)t.ByteCount, 64);
            Buffer.MemoryCopy(t.Data, _data, t.ByteCount, t.ByteCount);
            ((byte*)_data)[0] ^= (byte)salt;
            Matrix = new WeightMatrix(_data, t.DType, t.K, t.N, t.Transposed);
        }

        public void Dispose() => NativeMemory.AlignedFree(_data);
    }
}
