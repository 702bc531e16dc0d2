using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sna.Runtime.Numerics;

/// <summary>
/// Pure managed SGEMM in the GotoBLAS style: B is packed into KC x NR micro-panels (16-bit weights are widened while packing,
/// never into a full float copy), A into MR x KC micro-panels, and a register-blocked FMA micro-kernel computes MR x NR tiles
/// (AVX-512: 12x32 with <c>Vector512</c>; AVX2: 6x16 with <c>Vector256</c>; portable: 4 x 2·<c>Vector&lt;float&gt;.Count</c>).
/// <para>Blocking (tuned on Zen 5: 48 KB L1d, 1 MB L2, 2 x 512-bit FMA): A is packed one pass of K at a time (all of K
/// when the packed copy fits <see cref="PackedABudgetBytes"/>, else one KC block, packed while the previous block is
/// computed); each column task packs a KC x (at most <see cref="MaxPanelsPerTask"/> panels) block of B (768 KB with
/// AVX-512, held in L2), then for each MR-row micro-panel of A (MR x KC = 24 KB, held in L1) sweeps every B panel of the
/// block, prefetching the next tile's C and the next A micro-panel. F32 [K,N] B is packed by the first micro-panel's
/// sweep itself (the micro-kernel stores each B row it loads from B's place), so B is read once per block, not twice.
/// K is cut into equal blocks of at most KC = 512 (<c>BalancedKc</c>); a deep block halves the C reloads of a shallower one.</para>
/// <para>Small M (≤ <see cref="SmallM"/>) does not pack B: [K,N] B is streamed in place from DRAM in blocks of
/// <see cref="StreamKB"/> rows with software prefetch (16-bit panels widened on the fly into L1), and transposed [N,K] B
/// is consumed by dot-product tiles along K (16-bit rows widened a few rows at a time into an L1 buffer).</para>
/// <para>Concurrent callers: a call that starts while another thread is inside a GEMM runs on its calling thread only (the
/// cores are busy already); a call that starts alone uses up to <see cref="Threads"/> threads.</para>
/// <para>Determinism: work is split over N, or for a narrow C whose A is packed a KC block at a time over rows (whole
/// MR-row micro-panels), never over K, and each C element is produced by the same instruction sequence whatever thread runs
/// it, so results are bit-identical across runs and across thread counts. The path (and therefore the
/// rounding) depends only on the SIMD path, m, K, N, dtype and layout.</para>
/// </summary>
public sealed unsafe class ManagedGemm : IGemmProvider
{
    /// <summary>Rows up to which B is streamed instead of packed.</summary>
    public const int SmallM = 32;
    /// <summary>
    /// Depth of a packed block: the A micro-panel (MR x KC floats = 24 KB with AVX-512) stays in the 48 KB L1 while B panels
    /// stream from L2; C is loaded and stored once per block, so a deeper block means fewer C round trips.
    /// </summary>
    internal const int KC = 512;
    /// <summary>
    /// Max NR-wide panels per task on the packed path (the task's packed B block, KC x 12·NR floats = 768 KB with AVX-512,
    /// stays in the 1 MB L2 while every A micro-panel sweeps it).
    /// </summary>
    internal const int MaxPanelsPerTask = 12;
    /// <summary>
    /// Largest packed copy of A (Mp x K floats) that the packed path makes in one pass over K. Above it, A is packed one
    /// KC block at a time (Mp x KC, written and read while in cache) and C makes a round trip per block; below it, each
    /// column task keeps its C chunk in cache across the KC blocks (a small A then costs little to pack whole, and a wide
    /// C, e.g. 128 x 50257, is not streamed once per block). Zen 5 A/B, one thread: at M = 256, K = 3072-4096 a pass per
    /// block measured 4-8% faster than packing all of A first.
    /// </summary>
    internal const long PackedABudgetBytes = 2L << 20;
    /// <summary>Rows of B ahead that the packing micro-kernel prefetches (F32 [K,N] B read in place by the first row panel).</summary>
    internal const int FusedPackPrefetchRows = 16;
    /// <summary>Column tasks per thread on the small-M paths (dynamic scheduling balances noisy cores).</summary>
    internal const int TasksPerThread = 2;
    /// <summary>Rows of B per sweep of a column chunk on the small-M streaming path (C is reloaded once per sweep).</summary>
    internal const int StreamKB = 32;
    /// <summary>Prefetch distance of the streaming path, in NR-wide panels of F32 (two panels = 256 bytes ahead per row with AVX-512).</summary>
    internal const int StreamPrefetchPanels = 2;
    /// <summary>Below this many multiply-adds the call runs on the calling thread only.</summary>
    internal const long ParallelThresholdMacs = 1L << 18;

    private readonly GemmWorkerPool? _pool;

    /// <param name="threads">Max threads per call (including the caller); 0 or less = <see cref="Environment.ProcessorCount"/>.</param>
    /// <param name="simd">Force a SIMD path (for tests/benchmarks); <see cref="GemmSimd.Auto"/> picks the best supported.</param>
    public ManagedGemm(int threads = 0, GemmSimd simd = GemmSimd.Auto)
    {
        Threads = threads > 0 ? threads : Environment.ProcessorCount;
        GemmSimd best = BestSupported();
        if (simd == GemmSimd.Auto) simd = best;
        else if (!IsSupported(simd)) throw new PlatformNotSupportedException($"GEMM SIMD path {simd} is not supported on this CPU/runtime (best: {best}).");
        Simd = simd;
        _pool = Threads > 1 ? GemmWorkerPool.Get(Threads - 1) : null;
    }

    public int Threads { get; }

    /// <summary>
    /// Above <see cref="SmallM"/> rows every path computes each element as one FMA chain in ascending k (as does the [K,N]
    /// streaming path below it); transposed [N,K] B at ≤ SmallM rows takes dot products along K, which round differently.
    /// </summary>
    public int RowInvariantFrom => SmallM + 1;
    public GemmSimd Simd { get; }

    public string Name => Simd switch
    {
        GemmSimd.Avx512 => "managed-avx512",
        GemmSimd.Avx2 => "managed-avx2",
        _ => "managed-portable",
    };

    /// <summary>Register tile (rows x columns) of the selected micro-kernel.</summary>
    public (int MR, int NR) Tile => Simd switch
    {
        GemmSimd.Avx512 => (Ops512.MR, 2 * Ops512.Width),
        GemmSimd.Avx2 => (Ops256.MR, 2 * Ops256.Width),
        _ => (OpsPortable.MR, 2 * OpsPortable.Width),
    };

    /// <summary>SIMD width in bits of the selected path.</summary>
    public int SimdBits => Simd switch
    {
        GemmSimd.Avx512 => 512,
        GemmSimd.Avx2 => 256,
        _ => Vector<float>.Count * 32,
    };

    public static bool IsSupported(GemmSimd simd) => simd switch
    {
        GemmSimd.Auto or GemmSimd.Portable => true,
        GemmSimd.Avx512 => Vector512.IsHardwareAccelerated && Avx512F.IsSupported,
        GemmSimd.Avx2 => Vector256.IsHardwareAccelerated && Avx2.IsSupported && Fma.IsSupported,
        _ => false,
    };

    public static GemmSimd BestSupported() =>
        IsSupported(GemmSimd.Avx512) ? GemmSimd.Avx512 : IsSupported(GemmSimd.Avx2) ? GemmSimd.Avx2 : GemmSimd.Portable;

    public override string ToString() => $"{Name} ({SimdBits}-bit, tile {Tile.MR}x{Tile.NR}, threads={Threads})";

    public void Sgemm(ReadOnlySpan<float> a, int m, in WeightMatrix b, Span<float> c, bool accumulate) =>
        Run(a, m, b, c, accumulate, default);

    /// <inheritdoc cref="IGemmProvider.Sgemm(ReadOnlySpan{float}, int, in WeightMatrix, Span{float}, in GemmEpilogue)"/>
    public void Sgemm(ReadOnlySpan<float> a, int m, in WeightMatrix b, Span<float> c, in GemmEpilogue epilogue)
    {
        epilogue.Validate(b.N);
        Run(a, m, b, c, accumulate: false, epilogue);
    }

    /// <summary>Threads inside a call of any <see cref="ManagedGemm"/> right now.</summary>
    private static int s_callers;

    private void Run(ReadOnlySpan<float> a, int m, in WeightMatrix b, Span<float> c, bool accumulate, in GemmEpilogue epilogue)
    {
        GemmArgs.Validate(a, m, b, c);
        if (m == 0) return;
        // A call that starts while another thread is inside a GEMM runs on its caller alone: the cores are already busy (the
        // sweep engine runs a batch per core), and a helper would only time-slice with the other caller and hold up every
        // barrier of this call. A call that starts alone uses the pool (e.g. a sweep's last batch, a single forward pass).
        // The thread count never changes a result.
        bool alone = Interlocked.Increment(ref s_callers) == 1;
        try
        {
            GemmWorkerPool? pool = alone ? _pool : null;
            fixed (float* pa = a)
            fixed (float* pc = c)
            {
                switch (Simd)
                {
                    case GemmSimd.Avx512: GemmEngine<Ops512, Vector512<float>>.Run(pa, m, b, pc, accumulate, epilogue, Threads, pool); break;
                    case GemmSimd.Avx2: GemmEngine<Ops256, Vector256<float>>.Run(pa, m, b, pc, accumulate, epilogue, Threads, pool); break;
                    default: GemmEngine<OpsPortable, Vector<float>>.Run(pa, m, b, pc, accumulate, epilogue, Threads, pool); break;
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref s_callers);
        }
    }
}

/// <summary>The loop nests of <see cref="ManagedGemm"/>, specialised per SIMD path.</summary>
internal static unsafe class GemmEngine<TO, TV> where TO : struct, ISimdOps<TV> where TV : struct
{
    [ThreadStatic] private static Job? t_job;
    [ThreadStatic] private static NativeScratch? t_packA;
    [ThreadStatic] private static NativeScratch? t_packB;
    [ThreadStatic] private static NativeScratch? t_tmp;

    private enum Kind { Panel, Dot, Stream, Rows }

    private static int NR => 2 * TO.Width;
    private static int MR => TO.MR;

    public static void Run(float* a, int m, in WeightMatrix b, float* c, bool accumulate, in GemmEpilogue epilogue, int threads, GemmWorkerPool? pool)
    {
        int K = b.K, N = b.N, mr = MR, nr = NR;
        Job job = t_job ??= new Job();
        job.A = a; job.M = m; job.B = b; job.C = c; job.Accumulate = accumulate; job.Epilogue = epilogue;
        bool parallel = pool != null && (long)m * K * N >= ManagedGemm.ParallelThresholdMacs;
        int tasksTarget = parallel ? threads * ManagedGemm.TasksPerThread : 1;

        if (b.Transposed && m <= ManagedGemm.SmallM)
        {
            // Dot-product path: tasks are groups of B rows (= output columns).
            int rb = TO.DotRB;
            int groups = (N + rb - 1) / rb;
            job.Kind = Kind.Dot;
            job.ChunkGroups = Math.Max(1, (groups + tasksTarget - 1) / tasksTarget);
            int tasks = (groups + job.ChunkGroups - 1) / job.ChunkGroups;
            Dispatch(job, tasks, threads, pool, parallel);
            job.A = null; job.C = null; job.Epilogue = default;
            return;
        }

        // A is packed into MR-row micro-panels (shared read-only by the column tasks) one pass of K at a time: within a
        // pass starting at kp, KC block k0 is at (k0 - kp)*Mp and micro-panel i of a block at i*MR*kc.
        int panelsA = (m + mr - 1) / mr;
        job.Mp = panelsA * mr;
        job.PanelsPerTask = Math.Max(1, (panelsA + tasksTarget - 1) / tasksTarget);
        int packTasks = (panelsA + job.PanelsPerTask - 1) / job.PanelsPerTask;
        int nPanels = (N + nr - 1) / nr;
        if (m <= ManagedGemm.SmallM && !b.Transposed)
        {
            // Streaming path: all of A (small) packed in one pass on this thread, then NR-aligned column chunks, each
            // sweeping its chunk row block by row block.
            job.PassK = K;
            job.Kc = ManagedGemm.KC;   // the streaming task's row blocks (StreamKB) must not straddle A's KC blocks
            job.Ap0 = job.Ap1 = (t_packA ??= new NativeScratch()).Get((long)job.Mp * K);
            job.Kind = Kind.Panel;
            job.ColTasks = 0;
            job.PackK0 = 0;
            Dispatch(job, packTasks, threads, pool, false);
            job.Kind = Kind.Stream;
            job.ChunkCols = Math.Max(1, (nPanels + tasksTarget - 1) / tasksTarget) * nr;
            Dispatch(job, (N + job.ChunkCols - 1) / job.ChunkCols, threads, pool, parallel);
            job.A = null; job.C = null; job.Ap0 = job.Ap1 = null; job.Epilogue = default;
            return;
        }

        // Packed path. A pass is all of K when A's packed copy fits the budget (each column task then sweeps every KC block
        // of its columns in turn, so its C chunk stays in cache between blocks); otherwise one KC block, so the packed A
        // block (Mp x KC) is written and read while it is in cache, never a packed copy of all of a large A. Pass p is
        // packed into buffer p % 2 while the column tasks of pass p - 1 read the other: dispatch p runs the column tasks
        // of pass p, then the packing tasks of pass p + 1 (P passes take P + 1 dispatches).
        job.Kc = BalancedKc(K);
        job.PassK = (long)job.Mp * K * sizeof(float) <= ManagedGemm.PackedABudgetBytes ? K : job.Kc;
        int passes = (K + job.PassK - 1) / job.PassK;
        job.ChunkCols = ColumnChunk(N, parallel ? threads : 1);
        int colTasks = (N + job.ChunkCols - 1) / job.ChunkCols;
        if (parallel && passes > 1 && colTasks <= 2 * threads && panelsA >= 2 * threads)
        {
            // A narrow C (two column chunks per thread at most) with A packed a KC block per pass: split the rows instead,
            // so each thread packs and computes its own rows through all of K with no barrier between passes (RowTask).
            // Two threads: 3072x768 at M = 1344 (one chunk per thread) +2-4%, 4096x1024 and 1024x1024 (two) +1-4% best of
            // 11-15 in alternated runs (docs/sweeps.md).
            job.Kind = Kind.Rows;
            job.RowPanels = (panelsA + threads - 1) / threads;
            job.ChunkCols = ColumnChunk(N, 1);
            Dispatch(job, (panelsA + job.RowPanels - 1) / job.RowPanels, threads, pool, parallel);
            job.A = null; job.C = null; job.Epilogue = default;
            return;
        }
        long passFloats = (long)job.Mp * Math.Min(job.PassK, K);
        float* apBuf = (t_packA ??= new NativeScratch()).Get(passes > 1 ? 2 * passFloats : passFloats); // [2][passK/KC][Mp/MR][kc][MR]
        job.Ap0 = apBuf;
        job.Ap1 = passes > 1 ? apBuf + passFloats : apBuf;
        job.Kind = Kind.Panel;
        job.ColTasks = 0;
        job.PackK0 = 0;
        Dispatch(job, packTasks, threads, pool, parallel);
        for (int k0 = 0; k0 < K; k0 += job.PassK)
        {
            job.K0 = k0;
            job.ColTasks = colTasks;
            job.PackK0 = k0 + job.PassK < K ? k0 + job.PassK : -1;
            Dispatch(job, colTasks + (job.PackK0 >= 0 ? packTasks : 0), threads, pool, parallel);
        }
        job.A = null; job.C = null; job.Ap0 = job.Ap1 = null; job.Epilogue = default;
    }

    /// <summary>
    /// Depth of the packed path's K blocks: K split into ⌈K / KC⌉ blocks of equal depth (rounded up to a multiple of 8), so
    /// no block is a thin remainder (K = 768: two blocks of 384, not 512 + 256, whose short block costs a C round trip for
    /// half the work). Block boundaries never change a result (each C element is one FMA chain in ascending k).
    /// </summary>
    internal static int BalancedKc(int K)
    {
        int blocks = (K + ManagedGemm.KC - 1) / ManagedGemm.KC;
        return Math.Min(Math.Min(K, ManagedGemm.KC), ((K + blocks - 1) / blocks + 7) / 8 * 8);
    }

    /// <summary>
    /// Width of a column task on the packed path: NR-aligned chunks of at most MaxPanelsPerTask panels (the task's packed
    /// B block stays in L2), as few as that allows, in a multiple of the thread count with equal widths (balanced halves).
    /// </summary>
    private static int ColumnChunk(int N, int threads)
    {
        int nr = NR;
        int nPanels = (N + nr - 1) / nr;
        int tasks = Math.Max(threads, (nPanels + ManagedGemm.MaxPanelsPerTask - 1) / ManagedGemm.MaxPanelsPerTask);
        tasks = (tasks + threads - 1) / threads * threads;
        return Math.Max(1, (nPanels + tasks - 1) / tasks) * nr;
    }

    private static void Dispatch(Job job, int tasks, int threads, GemmWorkerPool? pool, bool parallel)
    {
        if (parallel && tasks > 1) pool!.Run(job, tasks, threads);
        else for (int t = 0; t < tasks; t++) job.RunTask(t);
    }

    private sealed class Job : GemmParallelJob
    {
        public Kind Kind;
        public float* A;
        public int M;
        public WeightMatrix B;
        public float* C;
        public bool Accumulate;
        /// <summary>Applied to each block of C once its last K block is done (bias, activation).</summary>
        public GemmEpilogue Epilogue;
        public int Mp;
        public int PanelsPerTask;
        /// <summary>A micro-panels (MR rows each) per task on the row-split path.</summary>
        public int RowPanels;
        public int ChunkCols;
        public int ChunkGroups;
        /// <summary>K depth of one packing pass of A (all of K, or Kc).</summary>
        public int PassK;
        /// <summary>Depth of a K block (<see cref="BalancedKc"/> on the packed path, KC on the streaming path).</summary>
        public int Kc;
        /// <summary>First k of the pass whose column tasks run in this dispatch.</summary>
        public int K0;
        /// <summary>First k of the pass packed by this dispatch's packing tasks (after its column tasks), or -1.</summary>
        public int PackK0;
        /// <summary>Column tasks in this dispatch (tasks 0..ColTasks-1; the packing tasks follow).</summary>
        public int ColTasks;
        /// <summary>Packed A of the even and odd passes: [passK/KC][Mp/MR][kc][MR] each.</summary>
        public float* Ap0, Ap1;

        private float* PassA(int k0) => (k0 / PassK) % 2 == 0 ? Ap0 : Ap1;

        public override void RunTask(int task)
        {
            switch (Kind)
            {
                case Kind.Panel:
                    if (task < ColTasks) PanelTask(task, K0, PassA(K0));
                    else PackATask(task - ColTasks, PackK0, PassA(PackK0));
                    break;
                case Kind.Stream: StreamTask(task); break;
                case Kind.Rows: RowTask(task); break;
                default: DotTask(task); break;
            }
        }

        /// <summary>Pack A micro-panels [task*PanelsPerTask, ...) of the pass starting at <paramref name="kp"/> into <paramref name="dst"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PackATask(int task, int kp, float* dst)
        {
            int K = B.K, mr = MR;
            int panels = (M + mr - 1) / mr;
            int p0 = task * PanelsPerTask, p1 = Math.Min(panels, p0 + PanelsPerTask);
            for (int k0 = kp; k0 < Math.Min(K, kp + PassK); k0 += Kc)
            {
                int kc = Math.Min(Kc, K - k0);
                float* block = dst + (long)(k0 - kp) * Mp; // [Mp/MR][kc][MR]
                PackAPanels(p0, p1, k0, kc, block + (long)p0 * mr * kc);
            }
        }

        /// <summary>Pack rows k0..k0+kc of A micro-panels [p0, p1) into <paramref name="dst"/> ([p1-p0][kc][MR], micro-panel p0 first).</summary>
        private void PackAPanels(int p0, int p1, int k0, int kc, float* dst)
        {
            int mr = MR;
            for (int p = p0; p < p1; p++)
                GemmPacking.PackAPanel(A + (long)p * mr * B.K, B.K, Math.Min(mr, M - p * mr), k0, kc, dst + (long)(p - p0) * mr * kc, mr);
        }

        /// <summary>
        /// Packed path, one column chunk: per KC block, pack the chunk's B block (KC x w, kept in L2), then for each MR-row
        /// micro-panel of packed A (kept in L1) sweep the chunk's NR-wide B panels, prefetching the next tile's C rows and, a
        /// slice per panel, the next A micro-panel. With F32 [K,N] B the first micro-panel reads B in place (prefetching
        /// <see cref="ManagedGemm.FusedPackPrefetchRows"/> rows ahead) and writes the packed block as it goes.
        /// Each C element is one FMA chain in ascending k (stored and reloaded between KC blocks, which rounds nothing).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PanelTask(int task, int kp, float* ap)
        {
            int K = B.K, N = B.N;
            int n0 = task * ChunkCols;
            int w = Math.Min(ChunkCols, N - n0);
            for (int k0 = kp; k0 < Math.Min(K, kp + PassK); k0 += Kc)
                PanelBlock(n0, w, k0, Math.Min(Kc, K - k0), ap + (long)(k0 - kp) * Mp, 0, M);
        }

        /// <summary>
        /// Row-split packed path (a narrow C: at most two column chunks per thread, and A packed a KC block at a time):
        /// task t owns the rows of A micro-panels [t*RowPanels, ...), packs them one KC block at a time into its own buffer
        /// and computes every column chunk of them, with no barrier between K blocks. Each C element is the same FMA chain
        /// as on the column-split path (same micro-panels, same K blocks), so the bits are the same.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void RowTask(int task)
        {
            int K = B.K, N = B.N, mr = MR;
            int panels = (M + mr - 1) / mr;
            int p0 = task * RowPanels, p1 = Math.Min(panels, p0 + RowPanels);
            if (p0 >= p1) return;
            int i0 = p0 * mr, i1 = Math.Min(M, p1 * mr);
            float* ap = (t_packA ??= new NativeScratch()).Get((long)(p1 - p0) * mr * Kc); // [p1-p0][kc][MR], one K block
            for (int k0 = 0; k0 < K; k0 += Kc)
            {
                int kc = Math.Min(Kc, K - k0);
                PackAPanels(p0, p1, k0, kc, ap);
                for (int n0 = 0; n0 < N; n0 += ChunkCols)
                    PanelBlock(n0, Math.Min(ChunkCols, N - n0), k0, kc, ap, i0, i1);
            }
        }

        /// <summary>
        /// One KC block of the packed path for columns [n0, n0 + w) and rows [i0, i1): pack the chunk's B block (KC x w, kept
        /// in L2), then for each MR-row micro-panel of packed A (<paramref name="apBlock"/> holds the micro-panel of row i0
        /// first; kept in L1) sweep the chunk's NR-wide B panels, prefetching the next tile's C rows and, a slice per panel,
        /// the next A micro-panel. With F32 [K,N] B the first micro-panel reads B in place (prefetching
        /// <see cref="ManagedGemm.FusedPackPrefetchRows"/> rows ahead) and writes the packed block as it goes.
        /// Each C element is one FMA chain in ascending k (stored and reloaded between KC blocks, which rounds nothing).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PanelBlock(int n0, int w, int k0, int kc, float* apBlock, int i0, int i1)
        {
            int K = B.K, N = B.N, mr = MR, nr = NR;
            int panels = (w + nr - 1) / nr;
            float* bp = (t_packB ??= new NativeScratch()).Get((long)ManagedGemm.KC * panels * nr); // [panels][kc][nr]
            float* tmp = (t_tmp ??= new NativeScratch()).Get(Math.Max(w, nr * ManagedGemm.KC));      // widening scratch
            float* tile = stackalloc float[MR * NR];                                                 // [MR][NR] ragged edge
            bool prefetch = Sse.IsSupported;
            bool load = Accumulate || k0 > 0;
            // F32 [K,N] B: full panels are packed by the first row panel of A while it computes with them (B read once,
            // from its place); only a ragged last panel is packed (zero-padded) beforehand. Other B: packed here.
            bool fuse = !B.Transposed && B.DType == WeightDType.F32;
            if (!fuse) GemmPacking.PackB(B, k0, kc, n0, w, nr, bp, tmp);
            else if (w % nr != 0) GemmPacking.WidenPanel(B, k0, kc, n0 + (panels - 1) * nr, w % nr, bp + (long)(panels - 1) * kc * nr, nr, 0);
            nint pfRows = (nint)ManagedGemm.FusedPackPrefetchRows * N;

            // The next A micro-panel (contiguous after this one, MR x kc floats) is prefetched into L1 a slice per B
            // panel while this one is in use, so the first tile of the next rows does not wait on L3.
            int aLines = (mr * kc * sizeof(float) + 63) / 64;
            int aLinesPerPanel = (aLines + panels - 1) / panels;
            for (int ir = i0; ir < i1; ir += mr)
            {
                int rows = Math.Min(mr, i1 - ir);
                float* pa = apBlock + (long)(ir - i0) * kc;
                float* cRow = C + (long)ir * N + n0;
                byte* nextA = ir + mr < i1 ? (byte*)(pa + (long)mr * kc) : null;
                for (int j = 0; j < panels; j++)
                {
                    int cols = Math.Min(nr, w - j * nr);
                    float* pb = bp + (long)j * kc * nr;
                    float* cp = cRow + j * nr;
                    if (prefetch && nextA != null)
                        for (int l = j * aLinesPerPanel, end = Math.Min(aLines, l + aLinesPerPanel); l < end; l++)
                            Sse.Prefetch0(nextA + (long)l * 64);
                    if (prefetch && load)
                    {
                        // The next tile's C: same rows, next panel; after the last panel, the next rows' first panel.
                        float* next = j + 1 < panels ? cp + nr : ir + mr < i1 ? cRow + (long)mr * N : null;
                        int nextRows = j + 1 < panels ? rows : Math.Min(mr, i1 - ir - mr);
                        for (int r = 0; next != null && r < nextRows; r++)
                            for (int off = 0; off < nr; off += 16) Sse.Prefetch0(next + (long)r * N + off);
                    }
                    if (cols == nr && fuse && ir == i0)
                    {
                        float* src = (float*)B.Data + (long)k0 * N + n0 + j * nr;
                        GemmKernels<TO, TV>.MicroRowsPack(rows, kc, pa, src, N, cp, N, load, pfRows, pb);
                    }
                    else if (cols == nr)
                    {
                        GemmKernels<TO, TV>.MicroRows(rows, kc, pa, pb, nr, cp, N, load);
                    }
                    else
                    {
                        // Ragged right edge: compute the full padded tile into a scratch tile, copy the valid columns.
                        if (load)
                            for (int r = 0; r < rows; r++)
                            {
                                Buffer.MemoryCopy(cp + (long)r * N, tile + r * nr, cols * 4, cols * 4);
                                new Span<float>(tile + r * nr + cols, nr - cols).Clear();
                            }
                        GemmKernels<TO, TV>.MicroRows(rows, kc, pa, pb, nr, tile, nr, load);
                        for (int r = 0; r < rows; r++) Buffer.MemoryCopy(tile + r * nr, cp + (long)r * N, cols * 4, cols * 4);
                    }
                }
                // These rows of the chunk are final after the last K block: epilogue while they are in cache.
                if (k0 + kc == K) Epilogue.Apply(cRow, N, rows, n0, w);
            }
        }

        /// <summary>
        /// Small-M, [K,N] B streamed in place: the task's column chunk is swept one block of <see cref="ManagedGemm.StreamKB"/>
        /// rows at a time, panel by panel (every row group of A per panel, B re-read from L1), so B is read as KB concurrent
        /// row streams, each prefetched a few panels ahead, while the M x chunk slice of C stays in cache. 16-bit B is
        /// widened one KB x NR panel at a time into an L1 buffer. Each C element is still one FMA chain in ascending k
        /// started from zero or C (the same roundings as the packed path); C is stored and reloaded between row blocks.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void StreamTask(int task)
        {
            int K = B.K, N = B.N, mr = MR, nr = NR, kb = ManagedGemm.StreamKB, pfd = ManagedGemm.StreamPrefetchPanels;
            int n0 = task * ChunkCols;
            int w = Math.Min(ChunkCols, N - n0);
            int panels = (w + nr - 1) / nr;
            bool f32 = B.DType == WeightDType.F32;
            if (!f32) pfd *= 2; // same distance in bytes
            float* buf = !f32 || w % nr != 0 ? (t_packB ??= new NativeScratch()).Get((long)kb * nr) : null;
            float* tile = stackalloc float[MR * NR];
            for (int k0 = 0; k0 < K; k0 += kb)
            {
                int kc = Math.Min(kb, K - k0);
                bool load = Accumulate || k0 > 0;
                int p = k0 / Kc;
                int kcBlock = Math.Min(Kc, K - p * Kc);
                float* apBlock = Ap0 + (long)p * Kc * Mp + (long)(k0 - p * Kc) * mr;
                bool more = k0 + kb < K;
                for (int j = 0; j < panels; j++)
                {
                    int cols = Math.Min(nr, w - j * nr);
                    float* cCol = C + n0 + j * nr;
                    // Prefetch offset (elements): the same rows pfd panels ahead; the last pfd panels of a row block
                    // prefetch the next block's first panels. Zero = no prefetch.
                    nint pf = j + pfd < panels ? (nint)pfd * nr : more ? (nint)kb * N + (nint)(pfd - panels) * nr : 0;
                    if (cols == nr)
                    {
                        float* pb;
                        nint ldb;
                        if (f32) { pb = (float*)B.Data + (long)k0 * N + n0 + j * nr; ldb = N; }
                        else { GemmPacking.WidenPanel(B, k0, kc, n0 + j * nr, nr, buf, nr, pf); pb = buf; ldb = nr; pf = 0; }
                        for (int ir = 0; ir < M; ir += mr)
                        {
                            int rows = Math.Min(mr, M - ir);
                            if (ir == 0 && pf != 0) GemmKernels<TO, TV>.MicroRowsPf(rows, kc, apBlock, pb, ldb, cCol, N, load, pf);
                            else GemmKernels<TO, TV>.MicroRows(rows, kc, apBlock + (long)ir * kcBlock, pb, ldb, cCol + (long)ir * N, N, load);
                        }
                    }
                    else
                    {
                        // Ragged right edge: zero-padded panel copy, full tile computed into scratch, valid columns copied.
                        GemmPacking.WidenPanel(B, k0, kc, n0 + j * nr, cols, buf, nr, 0);
                        for (int ir = 0; ir < M; ir += mr)
                        {
                            int rows = Math.Min(mr, M - ir);
                            float* cp = cCol + (long)ir * N;
                            if (load)
                                for (int r = 0; r < rows; r++)
                                {
                                    Buffer.MemoryCopy(cp + (long)r * N, tile + r * nr, cols * 4, cols * 4);
                                    new Span<float>(tile + r * nr + cols, nr - cols).Clear();
                                }
                            GemmKernels<TO, TV>.MicroRows(rows, kc, apBlock + (long)ir * kcBlock, buf, nr, tile, nr, load);
                            for (int r = 0; r < rows; r++) Buffer.MemoryCopy(tile + r * nr, cp + (long)r * N, cols * 4, cols * 4);
                        }
                    }
                }
            }
            Epilogue.Apply(C + n0, N, M, n0, w);   // the chunk (≤ SmallM rows) is final
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void DotTask(int task)
        {
            int K = B.K, N = B.N, rb = TO.DotRB;
            int n0 = task * ChunkGroups * rb, n1 = Math.Min(N, n0 + ChunkGroups * rb);
            float* tmp = null;
            nint kpad = (K + 15) & ~15;
            if (B.DType != WeightDType.F32) tmp = (t_tmp ??= new NativeScratch()).Get(kpad * rb);
            for (int n = n0; n < n1; n += rb)
            {
                int nb = Math.Min(rb, n1 - n);
                float* pb;
                nint ldb;
                if (B.DType == WeightDType.F32) { pb = (float*)B.Data + (long)n * K; ldb = K; }
                else
                {
                    for (int r = 0; r < nb; r++) GemmPacking.Widen(B, (long)(n + r) * K, tmp + r * kpad, K);
                    pb = tmp; ldb = kpad;
                }
                for (int i = 0; i < M; i += 4)
                {
                    int ra = Math.Min(4, M - i);
                    GemmKernels<TO, TV>.DotTile(ra, nb, K, A + (long)i * K, K, pb, ldb, C + (long)i * N + n, N, Accumulate);
                }
            }
            Epilogue.Apply(C + n0, N, M, n0, n1 - n0);   // the task's columns (≤ SmallM rows) are final
        }
    }
}
