using System.Text.Json;
using Sna.Research.Classification;
using Sna.Research.Method;
using Sna.Runtime;

namespace Sna.Core.Tests.Classification;

/// <summary>SST-2 amplification targets (predicted, both, fixed:LABEL, the true-label oracle), the paper's grid and "Zone 3 unchanged" without identity cells.</summary>
public class AmplifyTargetTests(DemoFixture f) : IClassFixture<DemoFixture>
{
    private static readonly ClassifierSpec Spec = new();

    [Theory]
    [InlineData("predicted", AmplifyTarget.Predicted, 0, "predicted")]
    [InlineData("both", AmplifyTarget.Both, 0, "both")]
    [InlineData("fixed:1", AmplifyTarget.Fixed, 1, "fixed:1")]
    [InlineData("fixed:0", AmplifyTarget.Fixed, 0, "fixed:0")]
    [InlineData("fixed:positive", AmplifyTarget.Fixed, 1, "fixed:1")]
    [InlineData("fixed:Negative", AmplifyTarget.Fixed, 0, "fixed:0")]
    [InlineData("true-label", AmplifyTarget.TrueLabel, 0, "true-label")]
    public void Targets_parse_and_name_round_trip(string text, AmplifyTarget target, int fixedClass, string name)
    {
        var (t, c) = AmplifyTargets.Parse(text, Spec);
        Assert.Equal(target, t);
        Assert.Equal(fixedClass, c);
        Assert.Equal(name, AmplifyTargets.Name(t, c, Spec));
        Assert.Equal(target == AmplifyTarget.TrueLabel, AmplifyTargets.IsOracle(name));
    }

    [Theory]
    [InlineData("fixed:2")]
    [InlineData("fixed:")]
    [InlineData("label")]
    [InlineData("")]
    public void Bad_targets_are_input_errors(string text) =>
        Assert.Throws<SnaInputException>(() => AmplifyTargets.Parse(text, Spec));

    [Fact]
    public void Each_target_picks_its_list()
    {
        var lists = new ClassNeuronLists(3, [1, 2], [5, 6], [1, 1], [1, 1]);
        // predicted = 0, true label = 1
        Assert.Equal(new[] { 1, 2 }, ClassificationExperiment.NeuronsFor(lists, AmplifyTarget.Predicted, 0, 1, 0));
        Assert.Equal(new[] { 1, 2, 5, 6 }, ClassificationExperiment.NeuronsFor(lists, AmplifyTarget.Both, 0, 1, 0));
        Assert.Equal(new[] { 5, 6 }, ClassificationExperiment.NeuronsFor(lists, AmplifyTarget.Fixed, 0, 0, 1));
        Assert.Equal(new[] { 5, 6 }, ClassificationExperiment.NeuronsFor(lists, AmplifyTarget.TrueLabel, 0, 1, 0));
        Assert.Equal(new[] { 1, 2 }, ClassificationExperiment.NeuronsFor(lists, AmplifyTarget.TrueLabel, 1, 0, 1));
    }

    [Theory]
    [InlineData(AmplifyTarget.TrueLabel, 0, ClassifyEngine.Prefix)]
    [InlineData(AmplifyTarget.TrueLabel, 0, ClassifyEngine.Batched)]
    [InlineData(AmplifyTarget.Fixed, 1, ClassifyEngine.Prefix)]
    [InlineData(AmplifyTarget.Fixed, 0, ClassifyEngine.Naive)]
    public void Grid_amplifies_the_targets_neurons_as_a_plain_hooked_forward_does(AmplifyTarget target, int fixedClass, ClassifyEngine engine)
    {
        var o = f.Options with { N = 6, Layers = [4], Multipliers = [16], Amplify = target, FixedClass = fixedClass, Engine = engine, NaiveSample = 0 };
        var r = ClassificationExperiment.Run(f.Model, f.Tokenizer, f.Data, o);
        var clf = new ZeroShotClassifier(f.Model, f.Tokenizer);
        var lists = r.Neurons.Single();
        var cell = r.Grid.Single();
        for (int i = 0; i < r.Examples.Length; i++)
        {
            var e = r.Examples[i];
            int cls = target == AmplifyTarget.TrueLabel ? e.Label : fixedClass;
            var amp = Amplification.Single(4, lists.Of(cls), 16f);
            var single = clf.Decide(f.Model.ForwardLast(clf.Encode(f.Data[e.Row].Text), amp.ToHooks(f.Model.Config)));
            Assert.Equal(single.P1, cell.Predictions[i].P1, 1e-4 * single.P1);
            Assert.Equal(single.P0, cell.Predictions[i].P0, 1e-4 * single.P0);
        }
        var json = JsonDocument.Parse(r.ToJson().ToJsonString()).RootElement;
        Assert.Equal(o.AmplifyName, json.GetProperty("amplify").GetString());
        Assert.Equal(target == AmplifyTarget.TrueLabel, json.GetProperty("amplify_oracle").GetBoolean());
        if (target == AmplifyTarget.TrueLabel) Assert.Contains("ORACLE", json.GetProperty("amplify_note").GetString());
        else Assert.Equal(JsonValueKind.Null, json.GetProperty("amplify_note").ValueKind);
    }

    [Fact]
    public void True_label_reads_the_label_flipping_the_labels_changes_the_neurons_it_uses()
    {
        // Same run, with every evaluation example's label swapped in the data: the oracle must amplify the other list.
        var o = f.Options with { N = 6, Layers = [4], Multipliers = [16], Amplify = AmplifyTarget.TrueLabel, NaiveSample = 0 };
        var r = ClassificationExperiment.Run(f.Model, f.Tokenizer, f.Data, o);
        var swapped = r.Examples.Select(e => 1 - e.Label).ToArray();
        var lists = r.Neurons.Single();
        var clf = new ZeroShotClassifier(f.Model, f.Tokenizer);
        int differ = 0;
        for (int i = 0; i < r.Examples.Length; i++)
        {
            var amp = Amplification.Single(4, lists.Of(swapped[i]), 16f);
            var other = clf.Decide(f.Model.ForwardLast(clf.Encode(f.Data[r.Examples[i].Row].Text), amp.ToHooks(f.Model.Config)));
            if (Math.Abs(other.P1 - r.Grid.Single().Predictions[i].P1) > 1e-6) differ++;
        }
        Assert.Equal(r.Examples.Length, differ);
    }

    [Fact]
    public void Paper_grid_is_five_layers_by_four_multipliers_without_identity()
    {
        var (layers, mults) = ClassifyOptions.PaperGrid(24);
        Assert.Equal(new[] { 2, 7, 12, 16, 21 }, layers);
        Assert.Equal(new[] { 2f, 4f, 8f, 16f }, mults);
        Assert.DoesNotContain(1f, mults);
        var (small, _) = ClassifyOptions.PaperGrid(6);
        Assert.Equal(new[] { 0, 1, 3, 4, 5 }, small);
    }

    [Fact]
    public void Zone3_unchanged_does_not_count_identity_cells()
    {
        // Narrow zones put the demo model's examples into Zone 3 (its margins are small but not that small).
        var o = f.Options with { N = 12, Layers = [1, 4], Multipliers = [1, 16], NaiveSample = 0, Spec = new ClassifierSpec { Zones = new MarginZones(0.0001, 0.0002) } };
        var r = ClassificationExperiment.Run(f.Model, f.Tokenizer, f.Data, o);
        Skip.If(r.Before[3].N == 0, "no example fell into Zone 3 with zones 0.0001:0.0002");
        Assert.Equal(2, r.InterventionCells.Length);
        Assert.All(r.InterventionCells, c => Assert.Equal(16f, c.Multiplier));
        Assert.Equal(r.InterventionCells.All(c => c.DeltaPp[3] == 0.0), r.Zone3Unchanged);

        // Identity cells alone can never make the claim true by themselves: a grid of only x1 has no configuration to count.
        var onlyIdentity = r with { Grid = r.Grid.Where(c => c.Multiplier == 1f).ToArray() };
        Assert.Empty(onlyIdentity.InterventionCells);
        var json = JsonDocument.Parse(onlyIdentity.ToJson().ToJsonString()).RootElement;
        Assert.Equal(0, json.GetProperty("zone3_configurations").GetInt32());
        var full = JsonDocument.Parse(r.ToJson().ToJsonString()).RootElement;
        Assert.Equal(2, full.GetProperty("zone3_configurations").GetInt32());
    }
}
