using Sna.Research.Method;
using Sna.Research.Storage;
using Sna.Research.Sweeps;

namespace Sna.Core.Tests.Sweeps;

public class DefinitionTests
{
    private static SweepDefinition Def() => new() { Model = new SweepModel("/m", "abc"), Tasks = ["a", "b"] };

    [Fact]
    public void Default_multipliers_are_twelve_evenly_spaced_from_1_1_to_2_4()
    {
        var m = Def().Multipliers;
        Assert.Equal(12, m.Count);
        Assert.Equal(1.1, m[0]);
        Assert.Equal(2.4, m[11]);
        Assert.Equal(1.1 + 1.3 / 11, m[1], 12);
        Assert.Equal([3, 5, 8, 10, 15, 20, 25], Def().Counts);
        Assert.Equal([1.5, 2.0, 3.25], SweepDefinition.ParseMultipliers("1.5, 2,3.25"));
        Assert.Throws<Sna.Runtime.SnaInputException>(() => SweepDefinition.ParseMultipliers("1:2"));
    }

    [Fact]
    public void Layers_positions_and_sources_parse()
    {
        Assert.Null(Sna.Runtime.InputParsing.Layers("all"));
        Assert.Equal([0, 1, 2, 5], Sna.Runtime.InputParsing.Layers("0-2,5")!);
        Assert.Equal([PositionsMode.All, PositionsMode.Last], SweepDefinition.ParsePositions("all,last"));
        Assert.Equal(new NeuronSourceSpec("random", 42), NeuronSourceSpec.Parse("random:42"));
        Assert.Throws<Sna.Runtime.SnaInputException>(() => NeuronSourceSpec.Parse("top"));
    }

    [Fact]
    public void Json_round_trips_and_the_hash_identifies_the_definition()
    {
        var d = Def() with { Layers = [1, 2], Positions = [PositionsMode.Last], NeuronSource = "random:3" };
        var json = d.ToJson();
        Assert.Contains("\"neuron_source\":\"random:3\"", json);
        Assert.Contains("\"positions\":[\"last\"]", json);
        var back = SweepDefinition.FromJson(json);
        Assert.Equal(json, back.ToJson());
        Assert.Equal(d.Hash(), back.Hash());
        Assert.NotEqual(d.Hash(), (d with { Counts = [3] }).Hash());
    }

    [Fact]
    public void Grid_ids_are_mixed_radix_and_keys_spell_the_values()
    {
        var g = new SweepGrid(Def() with { Positions = [PositionsMode.All, PositionsMode.Last] }, nLayers: 4);
        Assert.Equal(2 * 2 * 4 * 7 * 12, g.Count);
        for (int i = 0; i < g.Count; i++) Assert.Equal(i, g[i].Id);
        var c = g[((1 * 2 + 1) * 4 + 2) * 7 * 12 + 3 * 12 + 5];
        Assert.Equal(("b", PositionsMode.Last, 2, 10), (c.Task, c.Positions, c.Layer, c.Count));
        Assert.Equal($"b/last/L2/k10/m{g.Definition.Multipliers[5]:R}", c.Key);
        Assert.Equal(g.Count, g.Configurations.Select(x => x.Key).Distinct().Count());
    }

    [Fact]
    public void Shards_partition_the_grid()
    {
        var g = new SweepGrid(Def(), nLayers: 3);
        var all = Enumerable.Range(0, 5).SelectMany(i => g.ForShard(new ShardSpec(i, 5)).Select(c => c.Id)).OrderBy(x => x).ToList();
        Assert.Equal(Enumerable.Range(0, g.Count), all);
    }

    [Fact]
    public void Shard_specs_parse_from_arguments_slurm_and_kubernetes()
    {
        Assert.Equal(new ShardSpec(2, 4), ShardSpec.Parse("2/4", env: _ => null));
        Assert.Equal(ShardSpec.Whole, ShardSpec.Parse(null, env: _ => null));
        Assert.Throws<Sna.Runtime.SnaInputException>(() => ShardSpec.Parse("4/4", env: _ => null));
        var slurm = new Dictionary<string, string> { ["SLURM_ARRAY_TASK_ID"] = "3", ["SLURM_ARRAY_TASK_COUNT"] = "8" };
        Assert.Equal(new ShardSpec(3, 8), ShardSpec.Parse("auto", env: k => slurm.GetValueOrDefault(k)));
        var slurm1 = new Dictionary<string, string> { ["SLURM_ARRAY_TASK_ID"] = "1", ["SLURM_ARRAY_TASK_MIN"] = "1", ["SLURM_ARRAY_TASK_COUNT"] = "4" };
        Assert.Equal(new ShardSpec(0, 4), ShardSpec.Parse("auto", env: k => slurm1.GetValueOrDefault(k)));
        var k8s = new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "5", ["SNA_SHARD_COUNT"] = "6" };
        Assert.Equal(new ShardSpec(5, 6), ShardSpec.Parse("auto", env: k => k8s.GetValueOrDefault(k)));
        Assert.Equal(new ShardSpec(5, 10), ShardSpec.Parse("auto", 10, env: k => k8s.GetValueOrDefault(k)));
        Assert.Throws<Sna.Runtime.SnaInputException>(() => ShardSpec.Parse("auto", env: k => k == "JOB_COMPLETION_INDEX" ? "1" : null));
        Assert.Equal(ShardSpec.Whole, ShardSpec.Parse("auto", env: _ => null));
    }

    [Fact]
    public void Random_neurons_are_deterministic_nested_and_distinct()
    {
        var a = NeuronSources.Random(9, 512);
        var b = NeuronSources.Random(9, 512);
        Assert.Equal(a(3, 25), b(3, 25));
        Assert.NotEqual(a(3, 25), a(4, 25));
        Assert.NotEqual(a(3, 25), NeuronSources.Random(10, 512)(3, 25));
        Assert.Subset(a(3, 25).ToHashSet(), a(3, 8).ToHashSet());
        Assert.Equal(25, a(3, 25).Distinct().Count());
        Assert.All(a(5, 100), n => Assert.InRange(n, 0, 511));
        // pinned values: the control set must never change across versions
        Assert.Equal([7, 27, 271], NeuronSources.Random(9, 512)(0, 3));
    }

    [Fact]
    public void Metrics_follow_the_paper_definitions()
    {
        var prompts = new[] { new PromptRow("t", 0, "", "", 1, 0.02, Math.Log(0.02), 5, 4), new PromptRow("t", 1, "", "", 1, 0.04, Math.Log(0.04), 3, 4) };
        ResultRow R(int cfg, int layer, int i, double pPost) =>
            new(cfg, "t", i, layer, 3, 1.5, "all", "differential", prompts[i].PBase, pPost, 0, 0, 1, Scoring.ImprovementPct(prompts[i].PBase, pPost));
        var rows = new[]
        {
            R(0, 0, 0, 0.03), R(0, 0, 1, 0.04),    // +50 %, 0 %  → mean 25 %, ratio of means (0.035−0.03)/0.03 = 16.67 %
            R(1, 0, 0, 0.019), R(1, 0, 1, 0.04),   // −5 %, 0 %   → −2.5 %
            R(2, 1, 0, 0.021), R(2, 1, 1, 0.0404), // +5 %, +1 %  → 3 %
            R(3, 1, 0, 0.5),                       // incomplete: left out
        };
        var s = SweepMetrics.Compute(rows, prompts);
        var t = Assert.Single(s.Tasks);
        Assert.Equal(3, t.Configs);
        Assert.Equal(1, t.IncompleteConfigs);
        Assert.Equal(2.0 / 3, t.SuccessRate, 12);
        Assert.Equal(1, t.GoldenZoneCount);
        Assert.Equal(0, t.Best!.ConfigId);
        Assert.Equal(25, t.Best.MeanImprovementPct, 9);
        Assert.Equal(50.0 / 3, t.Best.RatioOfMeansPct, 9);
        Assert.Equal(1, t.Zone);   // mean P_base 0.03 < 0.07
        Assert.Equal([(0, 11.25), (1, 3.0)], t.Layers.Select(l => (l.Layer, Math.Round(l.MeanImprovementPct, 9))));
        var z = Assert.Single(s.Zones);
        Assert.Equal(1, z.Zone);
    }
}
