namespace Sna.Tests;

/// <summary>
/// Tests that read <c>../shared</c> (fixture checkpoints with float64 goldens, tokenizers, reference data) use these instead of
/// <c>[Fact]</c>/<c>[Theory]</c>. A researcher's clone has no <c>../shared</c>: there they are skipped visibly, with the reason
/// and the path looked at (listed at the end of <c>./test.sh</c>), instead of failing. With <c>../shared</c> present they run
/// exactly as plain facts and theories. A skipped theory does not enumerate its data, so member data may read ../shared.
/// Compiled into every test project (tests/Shared).
/// </summary>
public static class SharedData
{
    /// <summary>The skip reason when <c>../shared</c> is absent, else null.</summary>
    public static string? SkipReason =>
        TestPaths.SharedAvailable ? null
        : $"needs ../shared (fixtures, tokenizers, goldens): not found at {SharedDirOrUnknown()}; see README 'Tests and benchmarks'";

    private static string SharedDirOrUnknown()
    {
        try { return TestPaths.SharedDir; }
        catch (InvalidOperationException) { return "(repository root not found)"; }
    }
}

/// <summary>A fact that needs <c>../shared</c>: skipped with the reason when it is absent.</summary>
public sealed class SharedFactAttribute : FactAttribute
{
    public SharedFactAttribute()
    {
        if (SharedData.SkipReason is { } why) Skip = why;
    }
}

/// <summary>A theory that needs <c>../shared</c>: skipped with the reason when it is absent (its data is not enumerated).</summary>
public sealed class SharedTheoryAttribute : TheoryAttribute
{
    public SharedTheoryAttribute()
    {
        if (SharedData.SkipReason is { } why) Skip = why;
    }
}
