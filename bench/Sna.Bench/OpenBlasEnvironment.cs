using System.Diagnostics;
using System.Reflection;
using Sna.Runtime.Numerics;

namespace Sna.Bench;

/// <summary>
/// Makes benchmarks that run OpenBLAS compare against its native kernel. Some workplaces set <c>OPENBLAS_CORETYPE</c> (and
/// <c>OPENBLAS_L2_SIZE</c>) because older OpenBLAS builds crash on some CPUs; OpenBLAS reads them once, when the library
/// loads, and then runs the forced kernel (e.g. the AVX2 Haswell kernel on an AVX-512 CPU), which flatters the managed
/// GEMM. When either is set, the bench re-executes itself with both removed (in that child process only: tests and CI
/// keep them) and says so; <c>--keep-openblas-env</c> keeps them, and the output then says the comparison is against a
/// forced kernel.
/// </summary>
internal static class OpenBlasEnvironment
{
    public const string KeepOption = "--keep-openblas-env";
    /// <summary>The variables OpenBLAS reads at load time to override its CPU detection.</summary>
    public static readonly string[] Variables = { "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE" };
    /// <summary>Set in the re-executed child: what the parent removed ("NAME=value NAME=value").</summary>
    private const string RemovedVar = "SNA_BENCH_REMOVED_OPENBLAS_ENV";

    /// <summary>Does this bench command load OpenBLAS? (`gemm` always except --cold; any command when SNA_GEMM=openblas.)</summary>
    public static bool CommandUsesOpenBlas(string command, string[] rest) =>
        (command == "gemm" && !rest.Contains("--cold")) ||
        string.Equals(Environment.GetEnvironmentVariable(GemmProviders.EnvVar)?.Trim(), "openblas", StringComparison.OrdinalIgnoreCase);

    /// <summary>"NAME=value ..." of the override variables that are set, or "" when none is.</summary>
    public static string SetOverrides() => string.Join(' ', Variables
        .Where(v => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v)))
        .Select(v => $"{v}={Environment.GetEnvironmentVariable(v)}"));

    /// <summary>
    /// When the command uses OpenBLAS, an override variable is set and <see cref="KeepOption"/> is absent: run this same
    /// bench again with both variables removed, wait for it and return its exit code. Otherwise null (run in-process).
    /// </summary>
    public static int? ReexecWithoutOverrides(string command, string[] args, string[] rest)
    {
        if (!CommandUsesOpenBlas(command, rest) || rest.Contains(KeepOption)) return null;
        string set = SetOverrides();
        if (set.Length == 0) return null;

        string host = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this process's executable to re-run it");
        var psi = new ProcessStartInfo(host) { UseShellExecute = false };
        // `dotnet Sna.Bench.dll ...` runs through the muxer: pass the assembly again. The apphost (`dotnet run`) needs nothing.
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            psi.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        foreach (string a in args) psi.ArgumentList.Add(a);
        foreach (string v in Variables) psi.Environment.Remove(v);
        psi.Environment[RemovedVar] = set;
        Console.WriteLine($"OpenBLAS: {set} is set in this environment (OpenBLAS reads it when it loads and then runs a forced " +
                          $"kernel); re-running this benchmark without them so OpenBLAS runs its native kernel ({KeepOption} keeps them).");
        Console.Out.Flush();
        using var child = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {host}");
        child.WaitForExit();
        return child.ExitCode;
    }

    /// <summary>
    /// One line saying which OpenBLAS kernel the comparison is against and whether it is native, for the bench's header.
    /// </summary>
    public static string Describe(OpenBlasGemm openblas)
    {
        string core = openblas.CoreName.Length > 0 ? openblas.CoreName : "unknown";
        string removed = Environment.GetEnvironmentVariable(RemovedVar) ?? "";
        string set = SetOverrides();
        if (set.Length > 0)
            return $"OpenBLAS kernel: {core}, FORCED by {set} ({KeepOption}): the comparison is against a forced kernel, not OpenBLAS's native one";
        if (removed.Length > 0)
            return $"OpenBLAS kernel: {core} (native: this run removed {removed} from its environment)";
        return $"OpenBLAS kernel: {core} (native: no OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE override set)";
    }

    /// <summary>True when OpenBLAS runs under a forced kernel in this process.</summary>
    public static bool Forced => SetOverrides().Length > 0;
}
