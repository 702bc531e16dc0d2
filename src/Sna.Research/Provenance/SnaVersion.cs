using System.Reflection;

namespace Sna.Research.Provenance;

/// <summary>The toolkit's version as <c>sna --version</c> prints it: semantic version plus the commit (<c>0.2.0+e52b821…</c>).</summary>
public static class SnaVersion
{
    /// <summary>The informational version of this assembly (the SDK appends <c>+commit</c> when built from git).</summary>
    public static string Text { get; } =
        typeof(SnaVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(SnaVersion).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>The commit part of <see cref="Text"/>, or null when the build did not record one.</summary>
    public static string? Commit => Text.IndexOf('+') is int i and >= 0 ? Text[(i + 1)..] : null;
}
