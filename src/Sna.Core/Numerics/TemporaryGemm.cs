using System.Numerics.Tensors;

namespace Sna.Core.Numerics;

// TEMPORARY: a simple row-streaming GEMM so the runtime can be written and tested before the optimised kernels land.
internal sealed unsafe class SimpleGemm : IGemmProvider
{
    public string Name => "simple";
    public void Sgemm(ReadOnlySpan<float> a, int m, in WeightMatrix b, Span<float> c, bool accumulate)
    {
        int K = b.K, N = b.N;
        var row = new float[Math.Max(K, N)];
        if (!accumulate) c.Slice(0, m * N).Clear();
        for (int i = 0; i < m; i++)
        {
            var ai = a.Slice(i * K, K); var ci = c.Slice(i * N, N);
            if (!b.Transposed)
                for (int k = 0; k < K; k++) { Row(b, k, N, row); TensorPrimitives.MultiplyAdd(row.AsSpan(0, N), ai[k], ci, ci); }
            else
                for (int n = 0; n < N; n++) { Row(b, n, K, row); ci[n] += TensorPrimitives.Dot(ai, row.AsSpan(0, K)); }
        }
    }
    private static void Row(in WeightMatrix b, int r, int len, float[] dst)
    {
        long off = (long)r * len;
        if (b.DType == WeightDType.F32) new ReadOnlySpan<float>((float*)b.Data + off, len).CopyTo(dst);
        else if (b.DType == WeightDType.F16) TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>((Half*)b.Data + off, len), dst);
        else for (int j = 0; j < len; j++) dst[j] = BitConverter.Int32BitsToSingle(((ushort*)b.Data)[off + j] << 16);
    }
}
internal static class GemmDefault { public static IGemmProvider Get() => new SimpleGemm(); }
