namespace Sna.Runtime.Numerics;

/// <summary>
/// Run-time choice of the GEMM provider. Environment variable <c>SNA_GEMM</c>: <c>managed</c> (default), <c>openblas</c>, <c>naive</c>.
/// </summary>
public static class GemmProviders
{
    public const string EnvVar = "SNA_GEMM";

    private static readonly Lazy<IGemmProvider> s_default = new(() => Create(Environment.GetEnvironmentVariable(EnvVar)));

    /// <summary>The provider selected by <c>SNA_GEMM</c> (created on first use; throws if <c>openblas</c> is requested but missing).</summary>
    public static IGemmProvider Default => s_default.Value;

    /// <summary>Create a provider by name (null/empty = managed). Unknown names and a missing OpenBLAS throw with a clear message.</summary>
    public static IGemmProvider Create(string? name, int threads = 0)
    {
        switch ((name ?? "").Trim().ToLowerInvariant())
        {
            case "":
            case "managed":
                return new ManagedGemm(threads);
            case "naive":
                return new NaiveGemm();
            case "openblas":
                // A missing native library is the environment (exit 74), an unknown name is the user's setting (exit 2).
                return OpenBlasGemm.TryCreate() ?? throw new SnaEnvironmentException(
                    $"{EnvVar}=openblas but {OpenBlasGemm.LibraryName} (with cblas_sgemm) could not be loaded. " +
                    $"Install it (Debian/Ubuntu: apt-get install libopenblas0) or set {EnvVar}=managed.");
            default:
                throw new SnaInputException(EnvVar, $"Unknown GEMM provider '{name}' (from {EnvVar}); expected managed, openblas or naive.");
        }
    }

    /// <summary>One-line description of the default provider for run records.</summary>
    public static string Describe() => Describe(Default);

    /// <summary>One-line description, e.g. "managed-avx512 (512-bit, tile 12x32, threads=2)".</summary>
    public static string Describe(IGemmProvider provider) => provider switch
    {
        ManagedGemm g => g.ToString(),
        OpenBlasGemm o => o.ToString(),
        _ => provider.Name,
    };
}
