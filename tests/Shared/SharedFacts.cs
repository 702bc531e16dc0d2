namespace Sna.Tests;

/// <summary>
/// Tests that read test data (fixture checkpoints with float64 goldens, tokenizers) use these instead of
/// <c>[Fact]</c>/<c>[Theory]</c>. The data is vendored in <c>tests/fixtures/</c> (and the rest is in <c>../shared</c>, see
/// <see cref="TestPaths"/>). A test that names the fixture it needs (<c>[SharedFact(Needs = "gpt2-tiny-f32")]</c>) is skipped
/// visibly, with the reason, when one of them is neither vendored nor in ../shared (listed at the end of <c>./test.sh</c>);
/// a test may also skip at run time with <see cref="TestPaths.Need"/> (these attributes are skippable facts and theories).
/// With the data present they run exactly as plain facts and theories. A skipped theory does not enumerate its data.
/// Compiled into every test project (tests/Shared).
/// </summary>
public static class SharedData
{
    /// <summary>The skip reason when no test data is there (neither tests/fixtures nor ../shared), else null.</summary>
    public static string? SkipReason =>
        TestPaths.DataAvailable ? null
        : $"needs the test data: neither tests/fixtures nor ../shared found (looked at {SharedDirOrUnknown()}); see README 'Tests and benchmarks'";

    /// <summary>The skip reason for a test that needs these fixtures (names under <c>fixtures/</c>), else null.</summary>
    public static string? SkipReasonFor(string[] fixtures) =>
        SkipReason ?? fixtures.Select(f => TestPaths.MissingReason("fixtures", f)).FirstOrDefault(r => r is not null);

    /// <summary>Skips the running (skippable) test with <see cref="SkipReason"/> when no test data is there.</summary>
    public static void Require()
    {
        if (SkipReason is { } why) throw new SkipException(why);
    }

    private static string SharedDirOrUnknown()
    {
        try { return TestPaths.SharedDir; }
        catch (InvalidOperationException) { return "(repository root not found)"; }
    }
}

/// <summary>
/// A fact that needs test data (and the fixture named by <see cref="Needs"/>, e.g. <c>[SharedFact(Needs = "gpt2-tiny-f32")]</c>):
/// skipped with the reason when it is absent. (The constructor takes no fixtures: Xunit.SkippableFact reads a skippable
/// attribute's constructor arguments as exception types.)
/// </summary>
public sealed class SharedFactAttribute : SkippableFactAttribute
{
    private string? _needs;

    public SharedFactAttribute()
    {
        if (SharedData.SkipReason is { } why) Skip = why;
    }

    /// <summary>A fixture under <c>fixtures/</c> the test needs (one not vendored skips it on a bare clone).</summary>
    public string? Needs
    {
        get => _needs;
        set
        {
            _needs = value;
            if (value is not null && SharedData.SkipReasonFor([value]) is { } why) Skip = why;
        }
    }
}

/// <summary>A theory that needs test data (and the fixture named by <see cref="Needs"/>): skipped with the reason when it is absent (its data is not enumerated).</summary>
public sealed class SharedTheoryAttribute : SkippableTheoryAttribute
{
    private string? _needs;

    public SharedTheoryAttribute()
    {
        if (SharedData.SkipReason is { } why) Skip = why;
    }

    /// <summary>A fixture under <c>fixtures/</c> the test needs (one not vendored skips it on a bare clone).</summary>
    public string? Needs
    {
        get => _needs;
        set
        {
            _needs = value;
            if (value is not null && SharedData.SkipReasonFor([value]) is { } why) Skip = why;
        }
    }
}
