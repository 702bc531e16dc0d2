using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sna.Research.Classification;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Classification;

/// <summary>The bundled demo model, its tokenizer, SST-2 dev, and one small experiment shared by the tests.</summary>
public sealed class DemoFixture : IDisposable
{
    public TransformerModel Model { get; }
    public ModelTokenizer Tokenizer { get; }
    public LabeledDataset Data { get; }
    public ClassifyOptions Options { get; }
    public ClassifyResult Result { get; }

    public DemoFixture()
    {
        string dir = Path.Combine(TestPaths.RepoRoot, "models", "sna-demo-gpt2");
        Model = ModelLoader.Load(dir);
        Tokenizer = ModelTokenizer.FromDirectory(dir);
        Data = LabeledDataset.LoadTsv(Path.Combine(TestPaths.RepoRoot, "data", "sst2", "dev.tsv"));
        // Identity cells are run through the batched path (not reused) so that the multiplier-1 test checks it.
        Options = new ClassifyOptions
        {
            N = 12, TrainN = 12, Seed = 42, Layers = [1, 4], Multipliers = [1, 4, 16], K = 5, BatchSize = 8,
            ReuseBaselineForIdentity = false, NaiveSample = 2,
        };
        Result = ClassificationExperiment.Run(Model, Tokenizer, Data, Options);
    }

    public void Dispose() => Model.Dispose();
}

public class ClassificationModelTests(DemoFixture f) : IClassFixture<DemoFixture>
{
    [Fact]
    public void Classifier_agrees_with_scoring_both_labels_by_hand()
    {
        var clf = new ZeroShotClassifier(f.Model, f.Tokenizer);
        Assert.Equal(f.Tokenizer.Encode(" negative")[0], clf.LabelTokenIds[0]);
        Assert.Equal(f.Tokenizer.Encode(" positive")[0], clf.LabelTokenIds[1]);
        var texts = f.Data.Examples.Take(5).Select(e => e.Text).ToArray();
        var batched = clf.Classify(texts, batchSize: 3);
        for (int i = 0; i < texts.Length; i++)
        {
            var ids = f.Tokenizer.Encode("Review: " + texts[i] + " Sentiment:", BosPolicy.Prepend);
            Assert.Equal(ids, clf.Encode(texts[i]));
            var logits = f.Model.ForwardLast(ids);
            double pNeg = Scoring.Score(logits, clf.LabelTokenIds[0]).Probability;
            double pPos = Scoring.Score(logits, clf.LabelTokenIds[1]).Probability;
            Assert.Equal(pNeg, batched[i].P0, 1e-5 * pNeg + 1e-9);
            Assert.Equal(pPos, batched[i].P1, 1e-5 * pPos + 1e-9);
            Assert.Equal(pPos > pNeg ? 1 : 0, batched[i].Predicted);
            Assert.Equal(Math.Abs(pPos - pNeg) / (pPos + pNeg), batched[i].Margin, 1e-4);
            Assert.Equal(MarginZones.Paper.Zone(batched[i].Margin), batched[i].Zone);
        }
    }

    [Fact]
    public void Classifier_rejects_bad_specs()
    {
        Assert.Throws<Sna.Runtime.SnaInputException>(() => new ZeroShotClassifier(f.Model, f.Tokenizer, new ClassifierSpec { Template = "no placeholder" }));
        Assert.Throws<Sna.Runtime.SnaInputException>(() => new ZeroShotClassifier(f.Model, f.Tokenizer, new ClassifierSpec { LabelWords = [" good", " good"] }));
        Assert.Throws<Sna.Runtime.SnaInputException>(() => new ZeroShotClassifier(f.Model, f.Tokenizer, new ClassifierSpec { LabelValues = ["0", "1", "2"] }));
    }

    [Fact]
    public void Experiment_uses_the_seeded_split()
    {
        var r = f.Result;
        var split = DatasetSampler.Split(f.Data.Count, 12, 12, 42);
        Assert.Equal(split.Eval, r.Split.Eval);
        Assert.Equal(SamplingTests.PinnedSeed42, r.Examples.Take(8).Select(e => e.Row));
        Assert.Empty(r.Split.Eval.Intersect(r.Split.Train));
        Assert.Equal(12, r.TrainPerClass.Sum());
        for (int i = 0; i < r.Examples.Length; i++)
            Assert.Equal(f.Data[r.Examples[i].Row].Label == "1" ? 1 : 0, r.Examples[i].Label);
    }

    [Fact]
    public void Contrastive_lists_are_disjoint_on_the_model()
    {
        foreach (var l in f.Result.NeuronsContrastive)
        {
            Assert.Empty(l.Class0.Intersect(l.Class1));
            Assert.Equal(0.0, l.Overlap);
            Assert.All(l.Scores0.Concat(l.Scores1), s => Assert.True(s > 0));
        }
        Assert.Equal(f.Result.NeuronsContrastive, f.Result.Neurons);   // contrastive is the default method
        foreach (var l in f.Result.NeuronsNeutral)
            Assert.Equal((5, 5), (l.Class0.Length, l.Class1.Length));
    }

    [Fact]
    public void Multiplier_one_leaves_accuracy_unchanged()
    {
        var r = f.Result;
        var ones = r.Grid.Where(c => c.Multiplier == 1f).ToArray();
        Assert.Equal(2, ones.Length);
        foreach (var c in ones)
        {
            for (int z = 0; z <= 3; z++)
            {
                Assert.Equal(r.Before[z].Correct, c.After[z].Correct);
                if (r.Before[z].N > 0) Assert.Equal(0.0, c.DeltaPp[z]);
            }
            for (int i = 0; i < r.Examples.Length; i++)
            {
                Assert.Equal(r.Examples[i].Baseline.Predicted, c.Predictions[i].Predicted);
                Assert.Equal(r.Examples[i].Baseline.P1, c.Predictions[i].P1, 1e-5 * r.Examples[i].Baseline.P1);
            }
        }
        Assert.Equal(12L * 6, r.Timing.GridSequences);   // nothing was reused
    }

    [Fact]
    public void Batched_rows_match_single_amplified_runs()
    {
        var r = f.Result;
        var clf = new ZeroShotClassifier(f.Model, f.Tokenizer);
        var cell = r.Grid.First(c => c.Multiplier == 16f && c.Layer == 4);
        var lists = r.Neurons.Single(l => l.Layer == 4);
        for (int i = 0; i < 4; i++)
        {
            var e = r.Examples[i];
            var amp = Amplification.Single(4, lists.Of(e.Baseline.Predicted), 16f);
            var single = clf.Decide(f.Model.ForwardLast(clf.Encode(f.Data[e.Row].Text), amp.ToHooks(f.Model.Config)));
            Assert.Equal(single.P1, cell.Predictions[i].P1, 1e-4 * single.P1);
            Assert.Equal(single.P0, cell.Predictions[i].P0, 1e-4 * single.P0);
        }
        Assert.NotEqual(r.Examples[0].Baseline.P1, cell.Predictions[0].P1);   // the amplification did something
    }

    [Fact]
    public void Reusing_the_baseline_for_multiplier_one_gives_the_same_grid()
    {
        var o = f.Options with { N = 4, TrainN = 6, Multipliers = [1, 4], ReuseBaselineForIdentity = true, NaiveSample = 0 };
        var r = ClassificationExperiment.Run(f.Model, f.Tokenizer, f.Data, o);
        Assert.Equal(4L * 2, r.Timing.GridSequences);           // 2 layers × 1 non-identity multiplier × 4 examples
        Assert.All(r.Grid.Where(c => c.Multiplier == 1f), c => Assert.Equal(0.0, c.DeltaPp[0]));
    }

    [Fact]
    public void Json_summary_has_the_contract_shape()
    {
        var json = JsonDocument.Parse(f.Result.ToJson().ToJsonString()).RootElement;
        Assert.Equal(12, json.GetProperty("n").GetInt32());
        Assert.Equal(f.Result.Split.Eval, json.GetProperty("rows").EnumerateArray().Select(x => x.GetInt32()));
        int total = 0;
        foreach (var z in new[] { "1", "2", "3" })
        {
            var zone = json.GetProperty("zones").GetProperty(z);
            total += zone.GetProperty("n").GetInt32();
            var acc = zone.GetProperty("accuracy_before");
            Assert.True(acc.ValueKind is JsonValueKind.Number or JsonValueKind.Null);
        }
        Assert.Equal(12, total);
        var grid = json.GetProperty("grid");
        Assert.Equal(2 * 3, grid.GetArrayLength());
        foreach (var cell in grid.EnumerateArray())
        {
            Assert.Contains(cell.GetProperty("layer").GetInt32(), new[] { 1, 4 });
            Assert.Contains(cell.GetProperty("multiplier").GetDouble(), new[] { 1.0, 4.0, 16.0 });
            foreach (var z in new[] { "1", "2", "3" })
            {
                var cz = cell.GetProperty("zones").GetProperty(z);
                Assert.True(cz.GetProperty("accuracy_after").ValueKind is JsonValueKind.Number or JsonValueKind.Null);
                Assert.True(cz.GetProperty("delta_pp").ValueKind is JsonValueKind.Number or JsonValueKind.Null);
            }
        }
        Assert.True(json.GetProperty("zone3_unchanged").ValueKind is JsonValueKind.True or JsonValueKind.False);
        Assert.True(json.GetProperty("timing").GetProperty("rate_example_configs_per_second").GetDouble() > 0);
        Assert.True(json.GetProperty("timing").GetProperty("naive_rate_example_configs_per_second").GetDouble() > 0);
    }

    [Fact]
    public void Store_writes_the_three_tables()
    {
        string db = Path.Combine(Path.GetTempPath(), $"sna-classify-{Guid.NewGuid():N}.db");
        try
        {
            long id1 = ClassifyStore.Save(db, f.Result, "demo", "sha");
            long id2 = ClassifyStore.Save(db, f.Result, "demo", "sha");
            Assert.Equal(id1 + 1, id2);
            using var conn = new SqliteConnection($"Data Source={db};Pooling=False");
            conn.Open();
            long Count(string sql) { using var c = conn.CreateCommand(); c.CommandText = sql; return (long)c.ExecuteScalar()!; }
            Assert.Equal(2, Count("SELECT COUNT(*) FROM classify_runs"));
            Assert.Equal(12, Count($"SELECT COUNT(*) FROM classify_examples WHERE run_id = {id1}"));
            Assert.Equal(6 * 4, Count($"SELECT COUNT(*) FROM classify_grid WHERE run_id = {id1}"));
            Assert.Equal(f.Result.Before[0].Correct, Count($"SELECT SUM(correct) FROM classify_examples WHERE run_id = {id1}"));
        }
        finally { File.Delete(db); }
    }

    [Fact]
    public void Figure_is_an_svg_with_one_line_per_zone()
    {
        string svg = ClassifyFigure.Svg(f.Result);
        Assert.StartsWith("<svg", svg);
        Assert.EndsWith("</svg>\n", svg);
        var doc = System.Xml.Linq.XDocument.Parse(svg);   // well-formed XML
        int nonEmpty = Enumerable.Range(0, 4).Count(z => f.Result.Before[z].N > 0);
        Assert.Equal(nonEmpty, doc.Descendants().Count(e => e.Name.LocalName == "polyline"));
        Assert.Contains($"layer {f.Result.BestLayer}", svg);
    }
}
