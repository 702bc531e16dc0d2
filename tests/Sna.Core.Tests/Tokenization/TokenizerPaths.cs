namespace Sna.Core.Tests.Tokenization;

/// <summary>Locates <c>../shared</c> (relative to the directory holding Sna.sln) for the tokenizer tests.</summary>
internal static class TokenizerPaths
{
    public const string SkipReason = "../shared (tokenizer data and fixtures) was not found next to the repository root.";

    /// <summary>The shared data directory, or null when absent.</summary>
    public static string? Shared { get; } = FindShared();

    public static string Require(params string[] parts)
    {
        if (Shared is null) throw new InvalidOperationException(SkipReason);
        return Path.Combine([Shared, .. parts]);
    }

    private static string? FindShared()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sna.sln")))
            {
                string shared = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared"));
                return Directory.Exists(shared) ? shared : null;
            }
        }
        return null;
    }
}

/// <summary>A fact that is skipped (with a clear message) only when ../shared is absent.</summary>
public sealed class TokenizerDataFactAttribute : FactAttribute
{
    public TokenizerDataFactAttribute()
    {
        if (TokenizerPaths.Shared is null) Skip = TokenizerPaths.SkipReason;
    }
}

/// <summary>A theory that is skipped (with a clear message) only when ../shared is absent.</summary>
public sealed class TokenizerDataTheoryAttribute : TheoryAttribute
{
    public TokenizerDataTheoryAttribute()
    {
        if (TokenizerPaths.Shared is null) Skip = TokenizerPaths.SkipReason;
    }
}
