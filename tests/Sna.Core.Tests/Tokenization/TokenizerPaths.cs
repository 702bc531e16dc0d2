namespace Sna.Core.Tests.Tokenization;

/// <summary>Why the tokenizer tests skip: they need the test data, vendored in tests/fixtures or in <c>../shared</c> (<see cref="TestPaths.DataAvailable"/>).</summary>
internal static class TokenizerPaths
{
    public static string SkipReason => SharedData.SkipReason ?? "";
}

/// <summary>A fact that is skipped (with a clear message) only when the test data is absent.</summary>
public sealed class TokenizerDataFactAttribute : SkippableFactAttribute
{
    public TokenizerDataFactAttribute()
    {
        if (!TestPaths.DataAvailable) Skip = TokenizerPaths.SkipReason;
    }
}

/// <summary>A theory that is skipped (with a clear message) only when the test data is absent.</summary>
public sealed class TokenizerDataTheoryAttribute : SkippableTheoryAttribute
{
    public TokenizerDataTheoryAttribute()
    {
        if (!TestPaths.DataAvailable) Skip = TokenizerPaths.SkipReason;
    }
}
