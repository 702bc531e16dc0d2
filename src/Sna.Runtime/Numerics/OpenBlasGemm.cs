using System.Runtime.InteropServices;

namespace Sna.Runtime.Numerics;

/// <summary>
/// SGEMM through OpenBLAS <c>cblas_sgemm</c> (loaded at run time from <c>libopenblas.so.0</c>; see <see cref="TryCreate"/>).
/// Transposed B ([N,K]) is passed as CblasTrans with ldb = K; [K,N] as CblasNoTrans with ldb = N.
/// F16/BF16 B is widened to float in column chunks (at most <see cref="WidenChunkFloats"/> floats, a per-thread reusable
/// native buffer) and each chunk is multiplied by its own cblas_sgemm call; nothing is widened to a full float copy.
/// Threading is OpenBLAS's own (OPENBLAS_NUM_THREADS / <c>openblas_set_num_threads</c>, a process-wide setting).
/// </summary>
public sealed unsafe class OpenBlasGemm : IGemmProvider
{
    public const string LibraryName = "libopenblas.so.0";
    /// <summary>Max floats widened per chunk for 16-bit B (16 MB).</summary>
    public const long WidenChunkFloats = 4L << 20;

    private const int CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112;

    private readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> _sgemm;
    private readonly delegate* unmanaged<int> _getThreads;
    private readonly delegate* unmanaged<byte*> _getConfig;
    private readonly delegate* unmanaged<byte*> _getCoreName;

    [ThreadStatic] private static NativeScratch? t_widen;

    private OpenBlasGemm(nint sgemm, nint getThreads, nint getConfig, nint getCoreName)
    {
        _sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm;
        _getThreads = (delegate* unmanaged<int>)getThreads;
        _getConfig = (delegate* unmanaged<byte*>)getConfig;
        _getCoreName = (delegate* unmanaged<byte*>)getCoreName;
    }

    private static readonly Lazy<OpenBlasGemm?> s_instance = new(Load);

    /// <summary>The process-wide OpenBLAS provider, or null when <c>libopenblas.so.0</c> (or its cblas_sgemm) cannot be loaded.</summary>
    public static OpenBlasGemm? TryCreate() => s_instance.Value;

    public static bool IsAvailable => TryCreate() != null;

    private static OpenBlasGemm? Load()
    {
        if (!NativeLibrary.TryLoad(LibraryName, out nint lib)) return null;
        if (!NativeLibrary.TryGetExport(lib, "cblas_sgemm", out nint sgemm)) return null;
        NativeLibrary.TryGetExport(lib, "openblas_get_num_threads", out nint getThreads);
        NativeLibrary.TryGetExport(lib, "openblas_get_config", out nint getConfig);
        NativeLibrary.TryGetExport(lib, "openblas_get_corename", out nint getCoreName);
        return new OpenBlasGemm(sgemm, getThreads, getConfig, getCoreName);
    }

    public string Name => "openblas";

    /// <summary>OpenBLAS's thread count (openblas_get_num_threads), or 0 if unknown.</summary>
    public int Threads => _getThreads != null ? _getThreads() : 0;

    /// <summary>openblas_get_config() string, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".</summary>
    public string Config => _getConfig != null ? Marshal.PtrToStringUTF8((nint)_getConfig()) ?? "" : "";

    /// <summary>
    /// The kernel OpenBLAS runs (openblas_get_corename, e.g. "Cooperlake" or "Haswell"), or "" if unknown. With DYNAMIC_ARCH
    /// it is chosen when the library loads, from the CPU or from OPENBLAS_CORETYPE if that is set.
    /// </summary>
    public string CoreName => _getCoreName != null ? Marshal.PtrToStringUTF8((nint)_getCoreName())?.Trim() ?? "" : "";

    public override string ToString() => $"openblas ({Config.Trim()}, kernel {(CoreName.Length > 0 ? CoreName : "?")}, threads={Threads})";

    public void Sgemm(ReadOnlySpan<float> a, int m, in WeightMatrix b, Span<float> c, bool accumulate)
    {
        GemmArgs.Validate(a, m, b, c);
        if (m == 0) return;
        int K = b.K, N = b.N;
        float beta = accumulate ? 1f : 0f;
        fixed (float* pa = a)
        fixed (float* pc = c)
        {
            if (b.DType == WeightDType.F32)
            {
                _sgemm(CblasRowMajor, CblasNoTrans, b.Transposed ? CblasTrans : CblasNoTrans, m, N, K,
                    1f, pa, K, (float*)b.Data, b.Transposed ? K : N, beta, pc, N);
                return;
            }
            int chunk = (int)Math.Clamp(WidenChunkFloats / K, 1, N);
            float* buf = (t_widen ??= new NativeScratch()).Get((long)K * chunk);
            for (int n0 = 0; n0 < N; n0 += chunk)
            {
                int w = Math.Min(chunk, N - n0);
                if (b.Transposed)
                {
                    // Rows n0..n0+w of [N,K] are contiguous: widen them as one [w,K] block.
                    GemmPacking.Widen(b, (long)n0 * K, buf, checked(w * K));
                    _sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, w, K, 1f, pa, K, buf, K, beta, pc + n0, N);
                }
                else
                {
                    for (int k = 0; k < K; k++) GemmPacking.Widen(b, (long)k * N + n0, buf + (long)k * w, w);
                    _sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, w, K, 1f, pa, K, buf, w, beta, pc + n0, N);
                }
            }
        }
    }
}
