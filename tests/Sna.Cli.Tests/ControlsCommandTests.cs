using System.Text.Json;

namespace Sna.Cli.Tests;

/// <summary><c>sna controls</c> on the bundled demo model.</summary>
[Collection("cli")]
public class ControlsCommandTests
{
    [Fact]
    public void Json_has_the_contract_shape()
    {
        var r = CliHarness.Json("controls", "--task", "math-easy", "--layer", "3", "--count", "6", "--multiplier", "3", "--seeds", "5", "--no-cache", "--json");
        Assert.Equal("math-easy", r.GetProperty("task").GetString());
        var cfg = r.GetProperty("configuration");
        Assert.Equal(3, cfg.GetProperty("layer").GetInt32());
        Assert.Equal(6, cfg.GetProperty("count").GetInt32());
        Assert.Equal("all", cfg.GetProperty("positions").GetString());
        Assert.Equal("differential", cfg.GetProperty("neuron_source").GetString());
        var task = r.GetProperty("task_neurons");
        var taskNeurons = task.GetProperty("neurons").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        Assert.Equal(6, taskNeurons.Length);
        double taskImp = task.GetProperty("improvement_pct").GetDouble();

        var sets = r.GetProperty("random").GetProperty("sets").EnumerateArray().ToArray();
        Assert.Equal(5, sets.Length);
        Assert.Equal([0, 1, 2, 3, 4], sets.Select(s => s.GetProperty("seed").GetInt32()));
        Assert.All(sets, s => Assert.Empty(s.GetProperty("neurons").EnumerateArray().Select(x => x.GetInt32()).Intersect(taskNeurons)));
        Assert.True(r.GetProperty("random").GetProperty("exclude_task_neurons").GetBoolean());
        var imps = sets.Select(s => s.GetProperty("improvement_pct").GetDouble()).ToArray();
        Assert.Equal(imps.Average(), r.GetProperty("random").GetProperty("mean_pct").GetDouble(), 12);
        int ge = imps.Count(v => v >= taskImp);
        Assert.Equal(ge, r.GetProperty("random_at_least_task").GetInt32());
        Assert.Equal((1.0 + ge) / 6.0, r.GetProperty("p_vs_random").GetDouble(), 15);

        var bottom = r.GetProperty("bottom_k");
        Assert.Equal(6, bottom.GetProperty("neurons").GetArrayLength());
        Assert.Equal(taskImp - bottom.GetProperty("improvement_pct").GetDouble(), r.GetProperty("advantage_over_bottom_k_pct").GetDouble(), 12);

        var col = r.GetProperty("collateral");
        Assert.Equal(111, col.GetProperty("texts").GetInt32());
        Assert.True(col.GetProperty("mean_kl").GetDouble() > 0);
        Assert.True(col.GetProperty("positions").GetInt32() > col.GetProperty("predicted_tokens").GetInt32());
        double pb = col.GetProperty("perplexity_base").GetDouble(), pp = col.GetProperty("perplexity_post").GetDouble();
        Assert.Equal(100 * (pp - pb) / pb, col.GetProperty("perplexity_change_pct").GetDouble(), 9);
        Assert.Equal(JsonValueKind.Null, r.GetProperty("control_collateral").ValueKind);
        Assert.Equal("builtin:math-easy", r.GetProperty("run").GetProperty("task_source").GetString());
    }

    [Fact]
    public void Multiplier_one_has_no_effect_and_no_cost()
    {
        var r = CliHarness.Json("controls", "--task", "code-easy", "--layer", "2", "--count", "4", "--multiplier", "1", "--seeds", "2", "--no-bottom", "--no-cache", "--json");
        Assert.Equal(0.0, r.GetProperty("task_neurons").GetProperty("improvement_pct").GetDouble());
        Assert.All(r.GetProperty("random").GetProperty("sets").EnumerateArray(), s => Assert.Equal(0.0, s.GetProperty("improvement_pct").GetDouble()));
        Assert.Equal(1.0, r.GetProperty("p_vs_random").GetDouble());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("bottom_k").ValueKind);
        Assert.Equal(0.0, r.GetProperty("collateral").GetProperty("mean_kl").GetDouble());
        Assert.Equal(0.0, r.GetProperty("collateral").GetProperty("perplexity_change_pct").GetDouble());
    }

    [Fact]
    public void Table_output_and_user_errors()
    {
        var (code, output, err) = CliHarness.Run("controls", "--task", "math-easy", "--layer", "3", "--multiplier", "3", "--seeds", "3", "--no-collateral", "--no-cache");
        Assert.True(code == 0, err);
        Assert.Contains("random x3", output);
        Assert.Contains("p = ", output);
        Assert.Equal(2, CliHarness.Run("controls", "--task", "math-easy", "--layer", "9", "--multiplier", "3", "--no-cache").Exit);
        Assert.Equal(2, CliHarness.Run("controls", "--task", "math-easy", "--layer", "1", "--count", "0", "--multiplier", "3", "--no-cache").Exit);
    }
}
