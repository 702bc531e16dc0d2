using Sna.Research.Classification;
using Sna.Research.Method;
using Sna.Research.Sweeps;
using Sna.Core.Tests.Models;

namespace Sna.Core.Tests.Classification;

/// <summary>
/// The grid engines agree: the prefix-cache engine (default) equals a plain hooked forward per pair, and gives the same
/// accuracies, deltas and flips as the batched-rows engine on the demo model (n = 12, layers 1, 4 × multipliers 1, 4, 16).
/// </summary>
public class ClassificationEngineTests(DemoFixture f) : IClassFixture<DemoFixture>
{
    private const double LogTol = 1e-5;

    [Fact]
    public void Prefix_probabilities_equal_plain_hooked_forwards()
    {
        var r = f.Result;
        Assert.Equal(ClassifyEngine.Prefix, r.Options.Engine);          // the default
        var clf = new ZeroShotClassifier(f.Model, f.Tokenizer);
        double worst = 0;
        int moved = 0;
        foreach (var cell in r.Grid)
        {
            var lists = r.Neurons.Single(l => l.Layer == cell.Layer);
            for (int i = 0; i < r.Examples.Length; i++)
            {
                var e = r.Examples[i];
                var amp = Amplification.Single(cell.Layer, lists.Of(e.Baseline.Predicted), cell.Multiplier);
                var logits = f.Model.ForwardLast(clf.Encode(f.Data[e.Row].Text), amp.ToHooks(f.Model.Config));
                var want0 = Scoring.Score(logits, clf.LabelTokenIds[0]).LogProb;
                var want1 = Scoring.Score(logits, clf.LabelTokenIds[1]).LogProb;
                var got = cell.Predictions[i];
                double err = Math.Max(Math.Abs(Math.Log(got.P0) - want0), Math.Abs(Math.Log(got.P1) - want1));
                worst = Math.Max(worst, err);
                Assert.True(err <= LogTol, $"L{cell.Layer} x{cell.Multiplier} example {i}: log P0 {Math.Log(got.P0)} vs {want0}, log P1 {Math.Log(got.P1)} vs {want1}");
                Assert.Equal(want1 > want0 ? 1 : 0, got.Predicted);
                if (Math.Abs(want1 - Math.Log(e.Baseline.P1)) > 1e-3) moved++;
            }
        }
        Assert.True(moved > 0, "no configuration moved the probabilities: the comparison would be vacuous");
        // Examples of one length share evaluator calls: make sure the sample exercises that.
        Assert.Contains(r.Examples.GroupBy(e => e.Tokens), g => g.Count() > 1);
    }

    [Fact]
    public void Prefix_and_batched_engines_give_identical_accuracies_and_deltas()
    {
        var b = ClassificationExperiment.Run(f.Model, f.Tokenizer, f.Data, f.Options with { Engine = ClassifyEngine.Batched, NaiveSample = 0 });
        var p = f.Result;
        Assert.Equal(p.Split.Eval, b.Split.Eval);
        Assert.Equal(p.Neurons.Select(l => (l.Class0, l.Class1)), b.Neurons.Select(l => (l.Class0, l.Class1)));
        Assert.Equal(p.Before.Select(z => (z.N, z.Correct)), b.Before.Select(z => (z.N, z.Correct)));
        Assert.Equal(p.Grid.Length, b.Grid.Length);
        for (int c = 0; c < p.Grid.Length; c++)
        {
            var (pc, bc) = (p.Grid[c], b.Grid[c]);
            Assert.Equal((pc.Layer, pc.Multiplier), (bc.Layer, bc.Multiplier));
            Assert.Equal(bc.After.Select(z => (z.N, z.Correct)), pc.After.Select(z => (z.N, z.Correct)));
            Assert.Equal(bc.DeltaPp, pc.DeltaPp);
            Assert.Equal(bc.Fixed, pc.Fixed);
            Assert.Equal(bc.Broken, pc.Broken);
            for (int i = 0; i < pc.Predictions.Length; i++)
            {
                Assert.Equal(bc.Predictions[i].Predicted, pc.Predictions[i].Predicted);
                Assert.Equal(bc.Predictions[i].Zone, pc.Predictions[i].Zone);
                Assert.True(Math.Abs(Math.Log(bc.Predictions[i].P1) - Math.Log(pc.Predictions[i].P1)) <= LogTol);
                Assert.True(Math.Abs(Math.Log(bc.Predictions[i].P0) - Math.Log(pc.Predictions[i].P0)) <= LogTol);
            }
        }
        Assert.Equal(p.Timing.GridSequences, b.Timing.GridSequences);   // the same pairs were run
        Assert.Equal("batched", b.ToJson()["engine"]!.GetValue<string>());
        Assert.Equal("prefix", p.ToJson()["timing"]!["engine"]!.GetValue<string>());
    }

    [Fact]
    public void Naive_rerun_of_a_few_examples_matches_the_prefix_grid()
    {
        var (after, seconds, sequences) = ClassificationExperiment.RerunGrid(f.Model, f.Tokenizer, f.Data, f.Result, ClassifyEngine.Naive, 2, 3);
        Assert.Equal(3L * f.Result.Grid.Length, sequences);                // identity cells are run too (fixture: no reuse)
        Assert.True(seconds > 0);
        for (int c = 0; c < after.Length; c++)
        {
            Assert.Equal(3, after[c].Length);
            for (int i = 0; i < 3; i++)
            {
                var want = f.Result.Grid[c].Predictions[2 + i];
                Assert.Equal(want.Predicted, after[c][i].Predicted);
                Assert.True(Math.Abs(Math.Log(want.P1) - Math.Log(after[c][i].P1)) <= LogTol);
            }
        }
    }

    /// <summary>The additive <see cref="SweepEvaluator"/> overload: several targets per row equal one call per target, bit for bit.</summary>
    [SharedTheory]
    [InlineData(PositionsMode.All)]
    [InlineData(PositionsMode.Last)]
    public void Evaluator_multi_target_scores_equal_single_target_calls(PositionsMode positions)
    {
        var model = ModelFixtures.Model("gpt2-tiny-f32");
        var ev = new SweepEvaluator(model) { UnembedChunkRows = 3 };
        int[] neurons = [0, 5, 9];
        int[] targets = [17, 4, 17 + 1];
        var prompts = new[] { new[] { 50256, 10, 20, 30, 40 }, new[] { 50256, 7, 8, 9, 10, 11, 12 } };
        var caches = prompts.Select(ids => ev.BuildCache(ids, 0, new Dictionary<int, int[]> { [1] = neurons }, keepKeysValues: true)).ToArray();
        float[] mults = [0f, 1f, 3f, 8f];
        var groups = positions == PositionsMode.All
            ? caches.Select(c => mults.Select(m => new SweepItem(c, neurons, m)).ToList()).ToList()
            : [caches.SelectMany(c => mults.Select(m => new SweepItem(c, neurons, m))).ToList()];
        foreach (var items in groups)
        {
            var multi = new TargetScore[items.Count * targets.Length];
            ev.Evaluate(1, positions, items, targets, multi);
            for (int j = 0; j < targets.Length; j++)
            {
                var one = new TargetScore[items.Count];
                var retargeted = items.Select(it => new SweepItem(ev.BuildCache(it.Prompt.Ids, targets[j], new Dictionary<int, int[]> { [1] = neurons }, true), it.Neurons, it.Multiplier)).ToList();
                if (positions == PositionsMode.All)   // one prompt per call: rebuild once and share it
                    retargeted = retargeted.Select(it => it with { Prompt = retargeted[0].Prompt }).ToList();
                ev.Evaluate(1, positions, retargeted, one);
                for (int i = 0; i < items.Count; i++) Assert.Equal(one[i], multi[i * targets.Length + j]);
            }
        }
        if (positions == PositionsMode.All)
        {
            // Prompts of one length may share a call (no padding): the same scores as one call per prompt.
            var twin = ev.BuildCache([50256, 3, 1, 4, 1, 5, 9], 0, new Dictionary<int, int[]> { [1] = neurons }, false);
            var mixed = new List<SweepItem> { new(caches[1], neurons, 3f), new(twin, neurons, 8f), new(caches[1], neurons, 0f) };
            var together = new TargetScore[mixed.Count * targets.Length];
            ev.Evaluate(1, positions, mixed, targets, together);
            for (int i = 0; i < mixed.Count; i++)
            {
                var alone = new TargetScore[targets.Length];
                ev.Evaluate(1, positions, [mixed[i]], targets, alone);
                Assert.Equal(alone, together.AsSpan(i * targets.Length, targets.Length).ToArray());
            }
            // Prompts of different lengths share a call too (left-padded): each row as alone, to the bit, in both overloads.
            Assert.NotEqual(caches[0].T, caches[1].T);
            var ragged = new List<SweepItem> { new(caches[0], neurons, 2f), new(caches[1], neurons, 5f), new(twin, neurons, 2f) };
            var raggedTogether = new TargetScore[ragged.Count * targets.Length];
            ev.Evaluate(1, positions, ragged, targets, raggedTogether);
            var raggedOwn = new TargetScore[ragged.Count];
            ev.Evaluate(1, positions, ragged, raggedOwn);
            for (int i = 0; i < ragged.Count; i++)
            {
                var alone = new TargetScore[targets.Length];
                ev.Evaluate(1, positions, [ragged[i]], targets, alone);
                Assert.Equal(alone, raggedTogether.AsSpan(i * targets.Length, targets.Length).ToArray());
                var own = new TargetScore[1];
                ev.Evaluate(1, positions, [ragged[i]], own);
                Assert.Equal(own[0], raggedOwn[i]);
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => ev.Evaluate(1, positions, [new SweepItem(caches[0], neurons, 2f)], [model.Config.VocabSize], new TargetScore[1]));
        Assert.Throws<ArgumentException>(() => ev.Evaluate(1, positions, [new SweepItem(caches[0], neurons, 2f)], [1, 2], new TargetScore[1]));
    }
}
