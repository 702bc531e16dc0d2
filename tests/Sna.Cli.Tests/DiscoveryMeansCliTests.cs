using System.Text.Json;

namespace Sna.Cli.Tests;

/// <summary><c>sna neurons --positions/--weighting</c> (alias of --discovery-positions/--discovery-weighting) and the sweep's record of them.</summary>
[Collection("cli")]
public class DiscoveryMeansCliTests
{
    private static int[] Top(JsonElement r, int layer) =>
        r.GetProperty("layers")[layer].GetProperty("neurons").EnumerateArray().Select(n => n.GetProperty("index").GetInt32()).ToArray();

    [Fact]
    public void Neurons_records_positions_and_weighting_and_they_change_the_lists()
    {
        var def = CliHarness.Json("neurons", "--task", "math-easy", "--count", "10", "--no-cache", "--json");
        Assert.Equal("all", def.GetProperty("run").GetProperty("discovery_positions").GetString());
        Assert.Equal("per-text", def.GetProperty("run").GetProperty("discovery_weighting").GetString());
        var tok = CliHarness.Json("neurons", "--task", "math-easy", "--count", "10", "--positions", "all-but-bos", "--weighting", "per-token", "--no-cache", "--json");
        Assert.Equal("all-but-bos", tok.GetProperty("run").GetProperty("discovery_positions").GetString());
        Assert.Equal("per-token", tok.GetProperty("run").GetProperty("discovery_weighting").GetString());
        int layers = def.GetProperty("layers").GetArrayLength();
        Assert.Contains(Enumerable.Range(0, layers), l => !Top(def, l).SequenceEqual(Top(tok, l)));
        var longName = CliHarness.Json("neurons", "--task", "math-easy", "--count", "10", "--discovery-positions", "last", "--no-cache", "--json");
        Assert.Equal("last", longName.GetProperty("run").GetProperty("discovery_positions").GetString());
    }

    [Fact]
    public void Bad_values_exit_2_naming_the_option()
    {
        var (code, _, err) = CliHarness.Run("neurons", "--task", "math-easy", "--weighting", "per-word", "--json");
        Assert.Equal(2, code);
        Assert.Contains("--discovery-weighting", err);
        (code, _, err) = CliHarness.Run("neurons", "--task", "math-easy", "--positions", "first", "--json");
        Assert.Equal(2, code);
        Assert.Contains("--discovery-positions", err);
    }
}
