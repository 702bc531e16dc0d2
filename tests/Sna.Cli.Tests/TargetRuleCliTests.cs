namespace Sna.Cli.Tests;

/// <summary>The target rule and target hygiene in the CLI's JSON and on stderr (docs/cli.md, "The target's tokens").</summary>
[Collection("cli")]
public class TargetRuleCliTests
{
    [Fact]
    public void Baseline_json_reports_the_rule_and_the_cut_multi_token_target()
    {
        var r = CliHarness.Json("baseline", "--prompt", "The capital of Greece is", "--target", " Athensxyz", "--json");
        Assert.Equal("in_context", r.GetProperty("target_rule").GetString());
        Assert.Contains("only the first", r.GetProperty("target_warning").GetString());

        r = CliHarness.Json("baseline", "--prompt", "The capital of Greece is", "--target", " Athens", "--json");
        Assert.Equal("in_context", r.GetProperty("target_rule").GetString());
        Assert.False(r.TryGetProperty("target_warning", out _));
    }

    [Fact]
    public void Amplify_json_reports_the_standalone_fallback()
    {
        var r = CliHarness.Json("amplify", "--prompt", "The capital of France is ", "--target", "Paris", "--layer", "0",
            "--neurons", "1", "--multiplier", "2", "--json");
        Assert.Equal("standalone", r.GetProperty("target_rule").GetString());
        Assert.Contains("ends in whitespace", r.GetProperty("target_warning").GetString());
    }

    [Fact]
    public void Table_output_prints_target_warnings_on_stderr()
    {
        var (code, output, err) = CliHarness.Run("baseline", "--prompt", "The capital of France is", "--target", "Paris");
        Assert.Equal(0, code);
        Assert.Contains("warning: The target \"Paris\" has no leading space", err);
        Assert.DoesNotContain("warning:", output);
    }

    [Fact]
    public void Advise_json_aggregates_the_rule_per_task()
    {
        var r = CliHarness.Json("advise", "--task", "math-easy", "--json");
        Assert.Equal("in_context", r.GetProperty("target_rule").GetString());
    }
}
