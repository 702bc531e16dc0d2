using Sna.Web.Api;

namespace Sna.Web.Tests;

public sealed class CliCommandTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData(" 12", "' 12'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("a\nb", "'a\nb'")]
    [InlineData("$HOME `x` \"q\"", "'$HOME `x` \"q\"'")]
    [InlineData("", "''")]
    public void Quote_IsPosixSafe(string value, string quoted) => Assert.Equal(quoted, CliCommand.Quote(value));

    [SharedFact(Needs = TestPaths.TinyFixture)]
    public void LeadingDashValues_UseTheEqualsForm_AndTheCliAgrees()
    {
        var entry = new Sna.Web.Models.ModelEntry("fixture:gpt2-tiny-f32", "tiny", Sna.Web.Models.ModelKind.Fixture, TestPaths.TinyDir, true, null, 3, 128, 64);
        string cmd = CliCommand.Baseline(entry, "-5 is", " less", true, 10);
        Assert.Contains("--prompt='-5 is'", cmd);
        var cli = Cli.Run(Cli.SplitShell(cmd)[1..]);
        Assert.Equal(50256, (int)cli["ids"]![0]!);   // parsed as the prompt, not as an option
    }
}
