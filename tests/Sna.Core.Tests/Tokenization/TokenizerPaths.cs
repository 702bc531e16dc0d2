namespace Sna.Core.Tests.Tokenization;

/// <summary>Why the tokenizer tests skip: they need <c>../shared</c> (<see cref="TestPaths.SharedAvailable"/>).</summary>
internal static class TokenizerPaths
{
    public static string SkipReason => SharedData.SkipReason ?? "";
}

/// <summary>A fact that is skipped (with a clear message) only when ../shared is absent.</summary>
public sealed class TokenizerDataFactAttribute : FactAttribute
{
    public TokenizerDataFactAttribute()
    {
        if (!TestPaths.SharedAvailable) Skip = TokenizerPaths.SkipReason;
    }
}

/// <summary>A theory that is skipped (with a clear message) only when ../shared is absent.</summary>
public sealed class TokenizerDataTheoryAttribute : TheoryAttribute
{
    public TokenizerDataTheoryAttribute()
    {
        if (!TestPaths.SharedAvailable) Skip = TokenizerPaths.SkipReason;
    }
}
