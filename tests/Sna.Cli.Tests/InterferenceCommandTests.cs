using System.Text.Json;
using Sna.Research.Analysis;

namespace Sna.Cli.Tests;

/// <summary><c>sna interference</c> on the bundled demo model.</summary>
[Collection("cli")]
public class InterferenceCommandTests
{
    [Fact]
    public void Json_has_the_matrix_shape_and_the_csv_feeds_the_report()
    {
        string dir = Directory.CreateTempSubdirectory("sna-cli-int-").FullName;
        try
        {
            string csv = Path.Combine(dir, "interference.csv");
            var r = CliHarness.Json("interference", "--sources", "math-easy@3:5:3,logic-easy@2", "--targets", "math-easy,logic-easy,code-easy",
                "--csv", csv, "--no-cache", "--json");
            Assert.Equal(["math-easy", "logic-easy"], r.GetProperty("sources").EnumerateArray().Select(x => x.GetString()));
            Assert.Equal(["math-easy", "logic-easy", "code-easy"], r.GetProperty("targets").EnumerateArray().Select(x => x.GetString()));
            var matrix = r.GetProperty("matrix").EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
            Assert.Equal(2, matrix.Length);
            Assert.All(matrix, row => Assert.Equal(3, row.Length));
            Assert.Equal(2, r.GetProperty("mean_p_change").GetArrayLength());
            var cfg = r.GetProperty("configurations").EnumerateArray().ToArray();
            Assert.Equal(5, cfg[0].GetProperty("neurons").GetArrayLength());
            Assert.Equal(3, cfg[0].GetProperty("layer").GetInt32());
            Assert.Equal(3.0, cfg[0].GetProperty("multiplier").GetDouble());
            Assert.Equal(10, cfg[1].GetProperty("count").GetInt32());
            Assert.Equal(2.0, cfg[1].GetProperty("multiplier").GetDouble());
            Assert.Equal(6, r.GetProperty("cells").GetArrayLength());
            var pair = Assert.Single(r.GetProperty("asymmetry").EnumerateArray());
            Assert.Equal("math-easy", pair.GetProperty("a").GetString());
            Assert.Equal("logic-easy", pair.GetProperty("b").GetString());
            Assert.Equal(matrix[0][1], pair.GetProperty("a_to_b").GetDouble());
            Assert.Equal(matrix[1][0], pair.GetProperty("b_to_a").GetDouble());
            Assert.Equal("all", r.GetProperty("run").GetProperty("positions").GetString());

            // the diagonal is amplify --task's improvement_pct (mean of per-prompt improvements) for the same configuration
            var amp = CliHarness.Json("amplify", "--task", "math-easy", "--layer", "3", "--count", "5", "--multiplier", "3", "--no-cache", "--json");
            Assert.Equal(amp.GetProperty("mean").GetProperty("improvement_pct").GetDouble(), matrix[0][0], 12);

            var m = InterferenceMatrix.FromCsv(csv);
            Assert.Equal(["math-easy", "logic-easy", "code-easy"], m.Tasks);
            Assert.Equal(matrix[1][2], m["logic-easy", "code-easy"]);
            Assert.True(double.IsNaN(m["code-easy", "math-easy"]));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Repeated_source_and_default_targets_give_a_square_matrix_with_a_table()
    {
        var (code, output, err) = CliHarness.Run("interference", "--source", "math-easy@3:4", "--source", "code-easy@3:4", "--no-cache");
        Assert.True(code == 0, err);
        Assert.Contains("math-easy", output);
        Assert.Contains("Asymmetry", output);
    }

    [Fact]
    public void Bad_inputs_are_user_errors()
    {
        Assert.Equal(2, CliHarness.Run("interference", "--no-cache").Exit);
        Assert.Equal(2, CliHarness.Run("interference", "--source", "math-easy", "--no-cache").Exit);
        Assert.Equal(2, CliHarness.Run("interference", "--source", "math-easy@99", "--no-cache").Exit);
        Assert.Equal(2, CliHarness.Run("interference", "--source", "no-such-task@1", "--no-cache").Exit);
    }

    [Fact]
    public void Paper_preset_uses_15_neurons_x2_5_at_a_third_of_the_depth_with_asymmetry_tests()
    {
        var r = CliHarness.Json("interference", "--preset", "paper", "--targets", "math-easy,logic-easy,code-easy", "--no-cache", "--json");
        Assert.Equal(["math-easy", "logic-easy", "code-easy"], r.GetProperty("sources").EnumerateArray().Select(x => x.GetString()));
        foreach (var c in r.GetProperty("configurations").EnumerateArray())
        {
            Assert.Equal(2, c.GetProperty("layer").GetInt32());            // the demo model has 6 layers: round(8 · 6 / 24)
            Assert.Equal(15, c.GetProperty("count").GetInt32());
            Assert.Equal(2.5, c.GetProperty("multiplier").GetDouble());
        }
        Assert.Equal("paper", r.GetProperty("run").GetProperty("preset").GetString());
        Assert.Contains("not percentage points", r.GetProperty("matrix_metric").GetString());
        foreach (var cell in r.GetProperty("cells").EnumerateArray())
            Assert.Equal(cell.GetProperty("improvement_pct").GetDouble(), cell.GetProperty("delta_pp").GetDouble());
        var test = r.GetProperty("asymmetry_test");
        Assert.Equal(3, test.GetProperty("pairs").GetArrayLength());
        foreach (var p in test.GetProperty("pairs").EnumerateArray())
        {
            Assert.InRange(p.GetProperty("p_value").GetDouble(), 0, 1);
            Assert.InRange(p.GetProperty("p_holm").GetDouble(), p.GetProperty("p_value").GetDouble(), 1);
        }
        var dir = test.GetProperty("direction");
        Assert.Equal(3, dir.GetProperty("pairs").GetInt32());
        Assert.InRange(dir.GetProperty("p_value").GetDouble(), 0, 1);
        Assert.True(dir.GetProperty("exact").GetBoolean());

        var (code, _, err) = CliHarness.Run("interference", "--preset", "paper", "--source", "math-easy@1", "--json");
        Assert.Equal(2, code);
        Assert.Contains("--preset paper", err);
        (code, _, err) = CliHarness.Run("interference", "--preset", "pape", "--json");
        Assert.Equal(2, code);
        Assert.Contains("--preset", err);
    }
}
