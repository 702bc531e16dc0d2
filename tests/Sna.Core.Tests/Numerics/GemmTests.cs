using System.Runtime.InteropServices;
using Sna.Runtime.Numerics;
using Xunit.Abstractions;

namespace Sna.Core.Tests.Numerics;

/// <summary>Native-memory B operand for tests, filled with reproducible pseudo-random values in [-1, 1).</summary>
internal sealed unsafe class TestWeights : IDisposable
{
    public readonly void* Data;
    public readonly WeightMatrix Matrix;

    public TestWeights(int k, int n, WeightDType dtype, bool transposed, int seed)
    {
        long count = (long)k * n;
        int size = dtype == WeightDType.F32 ? 4 : 2;
        Data = NativeMemory.Alloc((nuint)(count * size));
        var rng = new Random(seed);
        for (long i = 0; i < count; i++)
        {
            float v = (float)(rng.NextDouble() * 2 - 1);
            switch (dtype)
            {
                case WeightDType.F32: ((float*)Data)[i] = v; break;
                case WeightDType.F16: ((Half*)Data)[i] = (Half)v; break;
                default: ((ushort*)Data)[i] = (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16); break;
            }
        }
        Matrix = new WeightMatrix(Data, dtype, k, n, transposed);
    }

    public void Dispose() => NativeMemory.Free(Data);
}

public class GemmTests
{
    private readonly ITestOutputHelper _out;
    public GemmTests(ITestOutputHelper output) => _out = output;

    internal static float[] RandomArray(int length, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var x = new float[length];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return x;
    }

    /// <summary>
    /// Tolerance per element: |got - ref| &lt;= 1e-5 * (sum_k |a_ik|·|b_kj| + |c0_ij|), ref from <see cref="NaiveGemm"/>
    /// (double accumulation, one rounding). Any indexing/packing bug produces errors of order 1 in these units.
    /// </summary>
    internal static void AssertClose(IGemmProvider provider, int m, int k, int n, WeightDType dtype, bool transposed, bool accumulate, int seed = 1)
    {
        using var w = new TestWeights(k, n, dtype, transposed, seed);
        float[] a = RandomArray(m * k, seed + 100);
        float[] c0 = RandomArray(m * n, seed + 200);
        float[] expected = (float[])c0.Clone();
        float[] got = (float[])c0.Clone();
        new NaiveGemm().Sgemm(a, m, w.Matrix, expected, accumulate);
        provider.Sgemm(a, m, w.Matrix, got, accumulate);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double mag = accumulate ? Math.Abs(c0[i * n + j]) : 0;
                for (int p = 0; p < k; p++) mag += Math.Abs(a[i * k + p] * w.Matrix[p, j]);
                double diff = Math.Abs((double)got[i * n + j] - expected[i * n + j]);
                if (!(diff <= 1e-5 * mag + 1e-30))
                    Assert.Fail($"{provider.Name} m={m} k={k} n={n} {dtype} transposed={transposed} acc={accumulate}: " +
                                $"C[{i},{j}] = {got[i * n + j]} expected {expected[i * n + j]} (diff {diff:E3}, tol {1e-5 * mag:E3})");
            }
    }

    public static readonly WeightDType[] DTypes = { WeightDType.F32, WeightDType.F16, WeightDType.BF16 };

    // (m, k, n): odd/prime sizes, tails in every dimension, KC (256) / MC (240) / chunk (1024) boundaries, small-M threshold (32).
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 3, 7, 5 }, { 17, 33, 65 }, { 1, 300, 2011 }, { 130, 257, 129 }, { 12, 256, 32 }, { 13, 512, 33 },
        { 32, 97, 70 }, { 33, 97, 70 }, { 250, 41, 47 }, { 5, 19, 1100 }, { 41, 600, 37 }, { 2, 64, 3 },
    };

    public static IEnumerable<object[]> ShapeCases()
    {
        foreach (var s in Shapes)
            foreach (var dt in DTypes)
                foreach (bool tr in new[] { false, true })
                    yield return new object[] { s[0], s[1], s[2], dt, tr };
    }

    [Theory]
    [MemberData(nameof(ShapeCases))]
    public void Managed_matches_naive(int m, int k, int n, WeightDType dtype, bool transposed)
    {
        var g = new ManagedGemm(threads: 2);
        AssertClose(g, m, k, n, dtype, transposed, accumulate: false, seed: m * 31 + k * 7 + n);
        AssertClose(g, m, k, n, dtype, transposed, accumulate: true, seed: m * 31 + k * 7 + n + 1);
    }

    [Fact]
    public void Managed_matches_naive_for_every_M_1_to_40()
    {
        var g = new ManagedGemm(threads: 2);
        for (int m = 1; m <= 40; m++)
            foreach (var dt in DTypes)
                foreach (bool tr in new[] { false, true })
                    AssertClose(g, m, 67, 45, dt, tr, accumulate: m % 2 == 0, seed: m);
    }

    /// <summary>
    /// Small-M streaming path ([K,N] B, m ≤ 32): several row blocks (32) and KC blocks (256) with K tails, column chunks
    /// split over threads with ragged last panels, every dtype (16-bit panels widened on the fly), with and without accumulate.
    /// </summary>
    [Theory]
    [InlineData(16, 1030, 1000)]
    [InlineData(1, 700, 2100)]
    [InlineData(32, 300, 1090)]
    [InlineData(13, 65, 3000)]
    [InlineData(16, 32, 4096)]
    public void Small_m_streaming_path_matches_naive(int m, int k, int n)
    {
        var g = new ManagedGemm(threads: 2);
        foreach (var dt in DTypes)
        {
            AssertClose(g, m, k, n, dt, transposed: false, accumulate: false, seed: m + k + n);
            AssertClose(g, m, k, n, dt, transposed: false, accumulate: true, seed: m + k + n + 1);
        }
    }

    /// <summary>
    /// Packed path around its blocks: K at and across the KC = 512 boundary, N across the 12-panel task width (384 columns
    /// with AVX-512, 192 with AVX2) with ragged last panels and several tasks per thread, M just above the small-M threshold
    /// and with 1..MR-1 rows in the last tile; every dtype and layout, with and without accumulate, 2 threads.
    /// </summary>
    [Theory]
    [InlineData(33, 511, 385)]
    [InlineData(37, 512, 384)]
    [InlineData(47, 513, 775)]
    [InlineData(61, 1025, 193)]
    [InlineData(35, 1100, 1157)]
    public void Packed_path_block_edges_match_naive(int m, int k, int n)
    {
        var g = new ManagedGemm(threads: 2);
        foreach (var dt in DTypes)
            foreach (bool tr in new[] { false, true })
            {
                AssertClose(g, m, k, n, dt, tr, accumulate: false, seed: m + k + n);
                AssertClose(g, m, k, n, dt, tr, accumulate: true, seed: m + k + n + 1);
            }
    }

    /// <summary>
    /// Packed path with A packed one KC block per pass (its packed copy exceeds <see cref="ManagedGemm.PackedABudgetBytes"/>):
    /// an odd and an even number of passes with a K tail (the two pass buffers alternate), ragged M and N, every dtype and
    /// layout, with and without accumulate, on 2 threads and on 1.
    /// </summary>
    [Theory]
    [InlineData(101, 5200, 45)]
    [InlineData(260, 2100, 70)]
    public void Packed_path_with_a_pass_per_KC_block_matches_naive(int m, int k, int n)
    {
        foreach (int threads in new[] { 2, 1 })
        {
            var g = new ManagedGemm(threads);
            int mp = (m + g.Tile.MR - 1) / g.Tile.MR * g.Tile.MR;
            Assert.True((long)mp * k * sizeof(float) > ManagedGemm.PackedABudgetBytes, $"m={m} k={k} must exceed the packed-A budget");
            foreach (var dt in DTypes)
                foreach (bool tr in new[] { false, true })
                    AssertClose(g, m, k, n, dt, tr, accumulate: (dt == WeightDType.F16) == tr, seed: m + k + n + threads);
        }
    }

    public static IEnumerable<object[]> FmaPaths() =>
        new[] { GemmSimd.Avx512, GemmSimd.Avx2 }.Select(s => new object[] { s });

    /// <summary>
    /// The documented rounding of the packed and streaming paths: every C element is one fused multiply-add chain in
    /// ascending k, started from 0 (or from C), so blocking (KC, task widths, tile rows) never changes a bit. Checked against
    /// a scalar <see cref="MathF.FusedMultiplyAdd(float, float, float)"/> chain across several KC blocks and ragged edges,
    /// also with A packed one KC block per pass (m = 101, k = 5200).
    /// </summary>
    [Theory]
    [InlineData(100, 100)]
    [InlineData(512, 512)]
    [InlineData(513, 264)]
    [InlineData(768, 384)]
    [InlineData(1024, 512)]
    [InlineData(1030, 344)]
    [InlineData(3072, 512)]
    [InlineData(5200, 480)]
    public void Packed_K_blocks_are_balanced(int k, int kc)
    {
        Assert.Equal(kc, GemmEngine<OpsPortable, System.Numerics.Vector<float>>.BalancedKc(k));
        int blocks = (k + kc - 1) / kc;
        Assert.Equal((k + ManagedGemm.KC - 1) / ManagedGemm.KC, blocks);           // no more blocks than KC gives
        Assert.True(k - (blocks - 1) * kc >= kc - 8 * blocks, $"last block {k - (blocks - 1) * kc} of {kc}"); // no thin remainder
    }

    [SkippableTheory]
    [MemberData(nameof(FmaPaths))]
    public void Fma_paths_equal_a_scalar_fma_chain_in_ascending_k_bit_for_bit(GemmSimd simd)
    {
        Skip.IfNot(ManagedGemm.IsSupported(simd), $"{simd} is not supported by this CPU or runtime (DOTNET_Enable* switches)");
        var g = new ManagedGemm(threads: 2, simd: simd);
        foreach (var (m, k, n, tr) in new[] { (7, 1030, 70, false), (37, 1030, 401, false), (45, 1100, 77, true), (101, 5200, 37, false), (101, 5200, 19, true) })
            foreach (var dt in DTypes)
            {
                using var w = new TestWeights(k, n, dt, tr, seed: m + k);
                float[] a = RandomArray(m * k, m + 1);
                float[] c0 = RandomArray(m * n, m + 2);
                foreach (bool acc in new[] { false, true })
                {
                    float[] got = (float[])c0.Clone();
                    g.Sgemm(a, m, w.Matrix, got, acc);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            float s = acc ? c0[i * n + j] : 0f;
                            for (int p = 0; p < k; p++) s = MathF.FusedMultiplyAdd(a[i * k + p], w.Matrix[p, j], s);
                            if (BitConverter.SingleToInt32Bits(s) != BitConverter.SingleToInt32Bits(got[i * n + j]))
                                Assert.Fail($"{simd} m={m} k={k} n={n} {dt} transposed={tr} acc={acc}: C[{i},{j}] = {got[i * n + j]:R}, FMA chain {s:R}");
                        }
                }
            }
    }

    /// <summary>
    /// The fused epilogue (bias, then gelu_new, applied to each block of C as the managed GEMM finishes it) is bitwise the plain
    /// product followed by a separate bias pass and <see cref="Activations.GeluTanh(Span{float})"/> over the whole of C, on
    /// every path: dot (small m, [N,K]), streaming (small m, [K,N]), packed with all of K per pass and with a pass per KC
    /// block, ragged M and N, 16-bit weights, one and two threads, every SIMD path the CPU has.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(SimdPaths))]
    public void Fused_bias_and_gelu_equal_the_separate_passes_bit_for_bit(GemmSimd simd)
    {
        Skip.IfNot(ManagedGemm.IsSupported(simd), $"{simd} is not supported by this CPU or runtime (DOTNET_Enable* switches)");
        foreach (int threads in new[] { 2, 1 })
        {
            var g = new ManagedGemm(threads, simd);
            foreach (var (m, k, n) in new[] { (1, 64, 77), (5, 300, 517), (32, 129, 70), (33, 129, 70), (100, 700, 1100), (101, 5200, 45) })
                foreach (var dt in new[] { WeightDType.F32, WeightDType.F16 })
                    foreach (bool tr in new[] { false, true })
                    {
                        using var w = new TestWeights(k, n, dt, tr, seed: m + k + n);
                        float[] a = RandomArray(m * k, m + 5, 0.2f);     // |C| of a few units: gelu's curved part
                        float[] bias = RandomArray(n, n + 6, 2f);
                        foreach (var act in new[] { GemmActivation.GeluTanh, GemmActivation.None })
                        {
                            float[] want = new float[m * n], got = RandomArray(m * n, 9);   // stale C must not matter
                            g.Sgemm(a, m, w.Matrix, want, accumulate: false);
                            for (int i = 0; i < m; i++) System.Numerics.Tensors.TensorPrimitives.Add(want.AsSpan(i * n, n), bias, want.AsSpan(i * n, n));
                            if (act == GemmActivation.GeluTanh) Activations.GeluTanh(want);
                            g.Sgemm(a, m, w.Matrix, got, new GemmEpilogue(bias, act));
                            for (int i = 0; i < want.Length; i++)
                                if (BitConverter.SingleToInt32Bits(want[i]) != BitConverter.SingleToInt32Bits(got[i]))
                                    Assert.Fail($"{simd} threads={threads} m={m} k={k} n={n} {dt} transposed={tr} {act}: C[{i / n},{i % n}] = {got[i]:R}, separate passes {want[i]:R}");
                        }
                    }
        }
    }

    /// <summary>The interface's default epilogue (used by OpenBLAS and the naive GEMM) equals the managed fused one.</summary>
    [Fact]
    public void Default_epilogue_of_other_providers_applies_bias_then_gelu()
    {
        int m = 9, k = 40, n = 33;
        using var w = new TestWeights(k, n, WeightDType.F32, false, seed: 3);
        float[] a = RandomArray(m * k, 4, 0.3f), bias = RandomArray(n, 5, 2f);
        IGemmProvider naive = new NaiveGemm();
        float[] want = new float[m * n], got = new float[m * n];
        naive.Sgemm(a, m, w.Matrix, want, accumulate: false);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) want[i * n + j] += bias[j];
        Activations.GeluTanh(want);
        naive.Sgemm(a, m, w.Matrix, got, new GemmEpilogue(bias, GemmActivation.GeluTanh));
        Assert.Equal(want, got);
        Assert.Throws<ArgumentException>(() => new ManagedGemm(1).Sgemm(a, m, w.Matrix, got, new GemmEpilogue(new float[n + 1])));
    }

    public static IEnumerable<object[]> SimdPaths() =>
        new[] { GemmSimd.Avx512, GemmSimd.Avx2, GemmSimd.Portable }.Select(s => new object[] { s });

    /// <summary>Every SIMD path compiled into this process that the CPU supports (the env-var runs cover the JIT-level switches).</summary>
    [SkippableTheory]
    [MemberData(nameof(SimdPaths))]
    public void Each_supported_simd_path_matches_naive(GemmSimd simd)
    {
        Skip.IfNot(ManagedGemm.IsSupported(simd), $"{simd} is not supported by this CPU or runtime (DOTNET_Enable* switches)");
        var g = new ManagedGemm(threads: 2, simd: simd);
        Assert.Equal(simd, g.Simd);
        foreach (var (m, k, n) in new[] { (1, 1, 1), (3, 7, 5), (17, 33, 65), (1, 300, 517), (37, 300, 70), (130, 257, 129), (7, 64, 9) })
            foreach (var dt in DTypes)
                foreach (bool tr in new[] { false, true })
                    AssertClose(g, m, k, n, dt, tr, accumulate: (m + n) % 2 == 0, seed: m + k + n);
    }

    [Fact]
    public void Default_path_reports_its_simd()
    {
        var g = new ManagedGemm();
        _out.WriteLine($"{g} (Vector512 accel={System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, Vector256 accel={System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated})");
        Assert.StartsWith("managed-", g.Name);
        Assert.Equal(Environment.ProcessorCount, g.Threads);
        Assert.Equal(ManagedGemm.BestSupported(), g.Simd);
    }

    [SkippableFact]
    public void OpenBlas_matches_naive_when_installed()
    {
        var ob = OpenBlasGemm.TryCreate();
        Skip.If(ob == null, $"{OpenBlasGemm.LibraryName} not found: the OpenBLAS provider is not checked");
        _out.WriteLine(ob.ToString());
        foreach (var (m, k, n) in new[] { (1, 1, 1), (3, 7, 5), (17, 33, 65), (1, 300, 517), (130, 257, 129) })
            foreach (var dt in DTypes)
                foreach (bool tr in new[] { false, true })
                {
                    AssertClose(ob, m, k, n, dt, tr, accumulate: false, seed: m + n);
                    AssertClose(ob, m, k, n, dt, tr, accumulate: true, seed: m + n + 1);
                }
    }

    // Shapes large enough to take the multi-threaded path (m*k*n >= 2^18) through every code path.
    public static IEnumerable<object[]> ParallelCases()
    {
        // (260, 2100, 300): A exceeds the packed-A budget and C is narrow, so two threads split the rows (RowTask).
        // (260, 2100, 800): two column chunks per thread with AVX-512's 32-wide panels, so the rows are split too; with
        // AVX2's 16-wide panels, three column chunks per thread on two threads (the column split) but two on three (rows).
        foreach (var (m, k, n) in new[] { (1, 1024, 3001), (16, 512, 1000), (16, 1100, 2050), (33, 300, 700), (100, 520, 1300), (260, 2100, 300), (260, 2100, 800) })
            foreach (var dt in DTypes)
                foreach (bool tr in new[] { false, true })
                    yield return new object[] { m, k, n, dt, tr };
    }

    [Theory]
    [MemberData(nameof(ParallelCases))]
    public void Results_are_bit_identical_across_runs_and_thread_counts(int m, int k, int n, WeightDType dtype, bool transposed)
    {
        using var w = new TestWeights(k, n, dtype, transposed, seed: 5);
        float[] a = RandomArray(m * k, 6);
        float[] c0 = RandomArray(m * n, 7);
        float[]? reference = null;
        foreach (int threads in new[] { 2, 1, 2, 3 })
        {
            var g = new ManagedGemm(threads);
            foreach (bool acc in new[] { false, true })
            {
                float[] c = (float[])c0.Clone();
                g.Sgemm(a, m, w.Matrix, c, acc);
                if (!acc)
                {
                    if (reference == null) reference = c;
                    else Assert.True(reference.AsSpan().SequenceEqual(c), $"threads={threads}: result differs bitwise");
                }
            }
        }
    }

    [Fact]
    public void Concurrent_callers_get_correct_identical_results()
    {
        const int m = 40, k = 300, n = 500;
        using var w = new TestWeights(k, n, WeightDType.F16, transposed: false, seed: 9);
        float[] a = RandomArray(m * k, 10);
        var g = new ManagedGemm(2);
        float[] expected = new float[m * n];
        g.Sgemm(a, m, w.Matrix, expected, false);
        Parallel.For(0, 8, _ =>
        {
            float[] c = new float[m * n];
            for (int r = 0; r < 5; r++)
            {
                g.Sgemm(a, m, w.Matrix, c, false);
                Assert.True(expected.AsSpan().SequenceEqual(c));
            }
        });
    }

    /// <summary>
    /// Many back-to-back parallel dispatches from several threads, each checked in full: a dispatch must never return while a
    /// helper thread is still running its tasks (a late completion signal from the previous dispatch once let that happen).
    /// </summary>
    [Fact]
    public void Back_to_back_parallel_dispatches_always_complete_before_returning()
    {
        const int m = 48, k = 256, n = 1200; // above the single-thread threshold, a few column tasks
        using var w = new TestWeights(k, n, WeightDType.F32, transposed: false, seed: 21);
        float[] a = RandomArray(m * k, 22);
        var g = new ManagedGemm(2);
        float[] expected = new float[m * n];
        new ManagedGemm(1).Sgemm(a, m, w.Matrix, expected, false);
        Parallel.For(0, 3, _ =>
        {
            float[] c = new float[m * n];
            for (int r = 0; r < 400; r++)
            {
                Array.Fill(c, float.NaN);
                g.Sgemm(a, m, w.Matrix, c, false);
                Assert.True(expected.AsSpan().SequenceEqual(c), $"dispatch {r}: incomplete or wrong result");
            }
        });
    }

    /// <summary>
    /// A pool of its own, driven from three threads with back-to-back dispatches (the GEMM no longer dispatches to the pool
    /// while another of its calls runs, so the test above reaches it less often): every dispatch returns only after each of
    /// its tasks ran, whichever thread ran it.
    /// </summary>
    [Fact]
    public void Pool_dispatch_returns_only_after_every_task_ran()
    {
        var pool = new GemmWorkerPool(1);
        Parallel.For(0, 3, new ParallelOptions { MaxDegreeOfParallelism = 3 }, _ =>
        {
            var job = new StampJob(24, rendezvous: false);
            for (int round = 1; round <= 500; round++)
            {
                job.Round = round;
                pool.Run(job, job.Stamps.Length, maxThreads: 2);
                for (int t = 0; t < job.Stamps.Length; t++)
                    Assert.True(Volatile.Read(ref job.Stamps[t]) == round, $"round {round}: task {t} had not run when the dispatch returned");
            }
        });
    }

    /// <summary>
    /// One caller, two tasks that wait for each other: each dispatch completes only if the helper thread runs one of them
    /// (so the pool does hand tasks to its helper; the results are checked as above).
    /// </summary>
    [Fact]
    public void Pool_helper_runs_tasks_and_every_dispatch_waits_for_it()
    {
        var pool = new GemmWorkerPool(1);
        var job = new StampJob(2, rendezvous: true);
        for (int round = 1; round <= 200; round++)
        {
            job.Round = round;
            pool.Run(job, 2, maxThreads: 2);
            Assert.True(job.OtherThreadRan, $"round {round}: the helper thread ran no task");
            for (int t = 0; t < 2; t++)
                Assert.True(Volatile.Read(ref job.Stamps[t]) == round, $"round {round}: task {t} had not run when the dispatch returned");
            job.OtherThreadRan = false;
        }
    }

    /// <summary>Writes the round into its slot; with <c>rendezvous</c>, first waits (up to 30 s) until every task of the round has started.</summary>
    private sealed class StampJob(int tasks, bool rendezvous) : GemmParallelJob
    {
        public readonly int[] Stamps = new int[tasks];
        public int Round;
        public volatile bool OtherThreadRan;
        private readonly int _owner = Environment.CurrentManagedThreadId;
        private int _started;

        public override void RunTask(int task)
        {
            if (rendezvous)
            {
                int target = Round * Stamps.Length;
                Interlocked.Increment(ref _started);
                var sw = System.Diagnostics.Stopwatch.StartNew();
                while (Volatile.Read(ref _started) < target && sw.Elapsed.TotalSeconds < 30) Thread.Yield();
            }
            else Thread.SpinWait(100 * (1 + task % 5));   // uneven tasks of a few microseconds: helpers finish at different times
            if (Environment.CurrentManagedThreadId != _owner) OtherThreadRan = true;
            Volatile.Write(ref Stamps[task], Round);
        }
    }

    [Fact]
    public unsafe void Zero_rows_and_bad_arguments()
    {
        using var w = new TestWeights(4, 3, WeightDType.F32, false, 1);
        var g = new ManagedGemm();
        g.Sgemm(ReadOnlySpan<float>.Empty, 0, w.Matrix, Span<float>.Empty, false);
        Assert.Throws<ArgumentException>(() => g.Sgemm(new float[7], 2, w.Matrix, new float[6], false));
        Assert.Throws<ArgumentException>(() => g.Sgemm(new float[8], 2, w.Matrix, new float[5], false));
        Assert.Throws<ArgumentOutOfRangeException>(() => g.Sgemm(new float[8], -1, w.Matrix, new float[6], false));
        Assert.Throws<ArgumentException>(() => g.Sgemm(new float[8], 2, default(WeightMatrix), new float[6], false));
    }

    [Fact]
    public void Providers_by_name()
    {
        Assert.IsType<ManagedGemm>(GemmProviders.Create(null));
        Assert.IsType<ManagedGemm>(GemmProviders.Create("Managed"));
        Assert.IsType<NaiveGemm>(GemmProviders.Create("naive"));
        Assert.Throws<Sna.Runtime.SnaInputException>(() => GemmProviders.Create("cublas"));
        if (OpenBlasGemm.IsAvailable) Assert.IsType<OpenBlasGemm>(GemmProviders.Create("openblas"));
        else Assert.Contains("libopenblas", Assert.Throws<Sna.Runtime.SnaEnvironmentException>(() => GemmProviders.Create("openblas")).Message);
        _out.WriteLine(GemmProviders.Describe());
        Assert.False(string.IsNullOrWhiteSpace(GemmProviders.Describe()));
    }
}
