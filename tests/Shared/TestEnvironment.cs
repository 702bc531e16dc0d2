using System.Runtime.CompilerServices;

namespace Sna.Tests;

/// <summary>
/// Runs once when a test assembly loads (compiled into every test project from tests/Shared): points every cache the code
/// could touch at a fresh per-process temporary folder, so no test reads or writes the user's <c>~/.cache</c> or the real hub.
/// Child processes started by tests (the CLI, the web server) inherit the same environment.
/// <list type="bullet">
/// <item><c>SNA_CACHE_DIR</c> = &lt;root&gt;/sna (discovery cache, hash cache)</item>
/// <item><c>XDG_CACHE_HOME</c> = &lt;root&gt;/xdg, <c>HF_HOME</c> = &lt;root&gt;/hf, <c>HF_HUB_CACHE</c> = &lt;root&gt;/hf/hub,
/// <c>HF_TOKEN_PATH</c> = &lt;root&gt;/hf/token (absent); <c>HF_TOKEN</c>/<c>HUGGING_FACE_HUB_TOKEN</c> cleared</item>
/// <item><c>HF_ENDPOINT</c> = http://127.0.0.1:9 (nothing listens): a test that forgets its fake hub fails fast, offline</item>
/// </list>
/// The folder is deleted when the process exits. Tests that need their own cache still use a <see cref="TempDir"/>.
/// </summary>
public static class TestEnvironment
{
    /// <summary>The per-process root holding every redirected cache.</summary>
    public static string Root { get; private set; } = "";

    /// <summary>The value of <c>SNA_CACHE_DIR</c> for this test process.</summary>
    public static string SnaCacheDir => Path.Combine(Root, "sna");

#pragma warning disable CA2255 // a module initializer is exactly what is wanted here: before any test, once per assembly
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
        Root = Path.Combine(Path.GetTempPath(), $"sna-test-env-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);
        Environment.SetEnvironmentVariable("SNA_CACHE_DIR", SnaCacheDir);
        Environment.SetEnvironmentVariable("XDG_CACHE_HOME", Path.Combine(Root, "xdg"));
        Environment.SetEnvironmentVariable("HF_HOME", Path.Combine(Root, "hf"));
        Environment.SetEnvironmentVariable("HF_HUB_CACHE", Path.Combine(Root, "hf", "hub"));
        Environment.SetEnvironmentVariable("HUGGINGFACE_HUB_CACHE", null);
        Environment.SetEnvironmentVariable("HF_TOKEN_PATH", Path.Combine(Root, "hf", "token"));
        Environment.SetEnvironmentVariable("HF_TOKEN", null);
        Environment.SetEnvironmentVariable("HUGGING_FACE_HUB_TOKEN", null);
        Environment.SetEnvironmentVariable("HF_ENDPOINT", "http://127.0.0.1:9");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
    }
}
