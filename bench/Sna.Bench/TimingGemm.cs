using System.Diagnostics;
using Sna.Runtime.Numerics;

namespace Sna.Bench;

/// <summary>
/// A GEMM provider that forwards to another and records, per (K, N, layout, M bucket), the calls, the FLOPs and the wall
/// time spent inside them (for <c>sweep --gemm-profile</c>: where the engine's GEMM time goes and at what rate).
/// </summary>
public sealed class TimingGemm(IGemmProvider inner) : IGemmProvider
{
    private readonly Dictionary<(int K, int N, bool T, int MBucket), (long Calls, double Flops, long Ticks)> _stats = new();

    public string Name => inner.Name;
    public int RowInvariantFrom => inner.RowInvariantFrom;

    public void Sgemm(ReadOnlySpan<float> a, int m, in WeightMatrix b, Span<float> c, bool accumulate)
    {
        long t0 = Stopwatch.GetTimestamp();
        inner.Sgemm(a, m, b, c, accumulate);
        Record(m, b, Stopwatch.GetTimestamp() - t0);
    }

    public void Sgemm(ReadOnlySpan<float> a, int m, in WeightMatrix b, Span<float> c, in GemmEpilogue epilogue)
    {
        long t0 = Stopwatch.GetTimestamp();
        inner.Sgemm(a, m, b, c, epilogue);
        Record(m, b, Stopwatch.GetTimestamp() - t0);
    }

    private void Record(int m, in WeightMatrix b, long dt)
    {
        var key = (b.K, b.N, b.Transposed, Bucket(m));
        lock (_stats)
        {
            _stats.TryGetValue(key, out var s);
            _stats[key] = (s.Calls + 1, s.Flops + 2.0 * m * b.K * b.N, s.Ticks + dt);
        }
    }

    private static int Bucket(int m) => m <= 32 ? 32 : m <= 128 ? 128 : m <= 512 ? 512 : m <= 1024 ? 1024 : m <= 2048 ? 2048 : int.MaxValue;

    public void Reset() { lock (_stats) _stats.Clear(); }

    public void Print(double engineSeconds)
    {
        lock (_stats)
        {
            double total = _stats.Values.Sum(s => s.Ticks) / (double)Stopwatch.Frequency;
            double flops = _stats.Values.Sum(s => s.Flops);
            Console.WriteLine($"gemm profile: {total:F2} s inside the GEMM ({total / engineSeconds * 100:F0}% of the engine's wall time), {flops / 1e12:F2} TFLOP, {flops / total / 1e9:F1} GFLOP/s");
            foreach (var (k, s) in _stats.OrderBy(p => p.Key.K).ThenBy(p => p.Key.N).ThenBy(p => p.Key.MBucket))
            {
                double secs = s.Ticks / (double)Stopwatch.Frequency;
                Console.WriteLine($"  {k.K,5}x{k.N,-6}{(k.T ? "[N,K]" : "     ")} M<={(k.MBucket == int.MaxValue ? "inf" : k.MBucket.ToString()),-5} {s.Calls,7} calls {s.Flops / 1e9,9:F1} GFLOP {secs,7:F2} s {s.Flops / secs / 1e9,7:F1} GFLOP/s");
            }
        }
    }
}
