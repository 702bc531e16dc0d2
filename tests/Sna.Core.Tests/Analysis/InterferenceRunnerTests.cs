using Sna.Research.Experiments;
using Sna.Research.Analysis;
using Sna.Research.Method;
using Sna.Core.Tests.Method;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Analysis;

/// <summary>Cross-task interference measured on the tiny GPT-2 fixture with built-in tasks.</summary>
public class InterferenceRunnerTests
{
    private const string Fixture = "gpt2-tiny-f32";

    private static InterferenceResult Run(float mult, out TaskSuite a, out TaskSuite b, PositionsMode pos = PositionsMode.All)
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        a = TaskLibrary.BuiltIn("math-easy");
        b = TaskLibrary.BuiltIn("code-easy");
        return InterferenceRunner.Run(model, tok, [new InterferenceSource(a, 1, 8, mult), new InterferenceSource(b, 2, 8, mult)], [a, b], pos, BosPolicy.Prepend);
    }

    [SharedFact]
    public void Diagonal_equals_TaskAmplification_for_the_same_configuration()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var res = Run(4f, out var a, out var b);
        Assert.Equal(["math-easy", "code-easy"], res.SourceLabels);
        var diffA = new NeuronDiscovery(model, tok).ForTask(a);
        Assert.Equal(diffA.TopIndices(1, 8), res.SourceNeurons[0]);
        var direct = TaskAmplification.Evaluate(model, tok, a, Amplification.Single(1, diffA.TopIndices(1, 8), 4f), BosPolicy.Prepend);
        Assert.Equal(direct.ImprovementPct, res[0, 0].ImprovementPct);
        Assert.Equal(direct.MeanPPost, res[0, 0].MeanPPost);
        Assert.Equal(direct.MeanPPost - direct.MeanPBase, res[0, 0].MeanPChange);
        Assert.Equal(direct.ImprovementOfMeansPct, res[0, 0].ImprovementOfMeansPct);
        Assert.NotEqual(0, res[0, 0].ImprovementPct);

        var diffB = new NeuronDiscovery(model, tok).ForTask(b);
        var cross = TaskAmplification.Evaluate(model, tok, a, Amplification.Single(2, diffB.TopIndices(2, 8), 4f), BosPolicy.Prepend);
        Assert.Equal(cross.ImprovementPct, res[1, 0].ImprovementPct);
        Assert.Equal(res[1, 0].ImprovementPct, res.Matrix["code-easy", "math-easy"]);
    }

    [SharedFact]
    public void Multiplier_one_gives_exactly_zero_everywhere()
    {
        var res = Run(1f, out _, out _);
        foreach (var e in res.Entries)
        {
            Assert.Equal(0.0, e.ImprovementPct);
            Assert.Equal(0.0, e.MeanPChange);
        }
    }

    [SharedFact]
    public void Csv_round_trips_into_InterferenceMatrix_FromCsv()
    {
        var res = Run(3f, out _, out _, PositionsMode.Last);
        string path = Path.Combine(Path.GetTempPath(), $"sna-interference-{Guid.NewGuid():N}.csv");
        try
        {
            res.WriteCsv(path);
            var m = InterferenceMatrix.FromCsv(path);
            Assert.Equal(res.Matrix.Tasks, m.Tasks);
            Assert.Equal(InterferenceResult.Metric, res.Matrix.Metric);
            for (int s = 0; s < 2; s++)
                for (int t = 0; t < 2; t++)
                    Assert.Equal(res[s, t].ImprovementPct, m[s, t]);
            var asym = m.Analyze();
            var pair = Assert.Single(asym.Pairs);
            Assert.Equal(res[0, 1].ImprovementPct, pair.AToB);
            Assert.Equal(res[1, 0].ImprovementPct, pair.BToA);
        }
        finally { File.Delete(path); }
    }

    [SharedFact]
    public void Same_task_twice_gets_configuration_labels_and_rectangular_targets()
    {
        var (model, tok) = MethodFixtures.Get(Fixture);
        var a = TaskLibrary.BuiltIn("math-easy");
        var c = TaskLibrary.BuiltIn("logic-easy");
        var res = InterferenceRunner.Run(model, tok, [new InterferenceSource(a, 0, 4, 2f), new InterferenceSource(a, 2, 4, 2f)], [c]);
        Assert.Equal(["math-easy@0:4:2", "math-easy@2:4:2"], res.SourceLabels);
        Assert.Equal(2, res.ImprovementPct().GetLength(0));
        Assert.Equal(1, res.ImprovementPct().GetLength(1));
        Assert.Equal(["math-easy@0:4:2", "math-easy@2:4:2", "logic-easy"], res.Matrix.Tasks);
    }

    [Theory]
    [InlineData("math-easy@3", "math-easy", 3, 10, 2f)]
    [InlineData("code-hard@4:20", "code-hard", 4, 20, 2f)]
    [InlineData("tasks/x@y.json@5:7:3.5", "tasks/x@y.json", 5, 7, 3.5f)]
    public void Source_specs_parse(string text, string task, int layer, int count, float mult)
    {
        var s = InterferenceSourceSpec.Parse(text);
        Assert.Equal(new InterferenceSourceSpec(task, layer, count, mult), s);
        Assert.Equal(s, InterferenceSourceSpec.Parse(s.ToString()));
    }

    [Theory]
    [InlineData("math-easy")]
    [InlineData("@3")]
    [InlineData("math-easy@")]
    [InlineData("math-easy@x")]
    [InlineData("math-easy@3:0")]
    [InlineData("math-easy@3:5:abc")]
    [InlineData("math-easy@3:5:2:1")]
    public void Bad_source_specs_are_format_errors(string text) => Assert.Throws<Sna.Runtime.SnaInputException>(() => InterferenceSourceSpec.Parse(text));
}
