using Sna.Research.Experiments;
using Sna.Research.Method;
using Sna.Core.Tests.Method;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Analysis;

/// <summary>
/// The batched random-control path (blocks before the layer once per prompt batch, many sets per resumed forward) gives bit for
/// bit what one full forward per set gives, on GPT-2, NeoX and both Llama fixtures.
/// </summary>
public class BatchedControlsTests
{
    public static TheoryData<string, int, PositionsMode, int> Cases() => new()
    {
        { "gpt2-tiny-f32", 0, PositionsMode.All, 256 },
        { "gpt2-tiny-f32", 2, PositionsMode.All, 256 },
        { "gpt2-tiny-f32", 1, PositionsMode.Last, 40 },
        { "gpt2-tiny-f32", 1, PositionsMode.All, 1 },       // fewer rows than a prompt batch: one set per resumed forward
        { "gpt2-tiny-f16", 1, PositionsMode.All, 256 },
        { "pythia-tiny-f32", 2, PositionsMode.All, 256 },
        { "llama-tiny-f32", 1, PositionsMode.All, 256 },
        { "Llama-3-tiny-bf16", 1, PositionsMode.Last, 256 },
    };

    [SharedTheory, MemberData(nameof(Cases))]
    public void Batched_sets_equal_one_by_one_bit_for_bit(string fixture, int layer, PositionsMode positions, int rowsPerBatch)
    {
        var (model, tok) = MethodFixtures.Get(fixture);
        var suite = TaskLibrary.BuiltIn("math-easy");
        var eval = new TaskEvaluator(model, tok, suite, BosPolicy.Prepend);
        var sets = Enumerable.Range(0, 9).Select(seed => ControlNeurons.Random(seed, layer, 6, model.Config.DMlp)).ToArray();
        var batched = eval.EvaluateSets(layer, sets, 3f, positions, rowsPerBatch);
        Assert.Equal(sets.Length, batched.Length);
        bool anyChange = false;
        for (int s = 0; s < sets.Length; s++)
        {
            var one = eval.Evaluate(Amplification.Single(layer, sets[s], 3f, positions));
            Assert.Equal(one.Prompts.Count, batched[s].Prompts.Count);
            for (int i = 0; i < one.Prompts.Count; i++)
            {
                // bit for bit: the same double from the same logits
                Assert.Equal(one.Prompts[i].Post.Probability, batched[s].Prompts[i].Post.Probability);
                Assert.Equal(one.Prompts[i].Post.LogProb, batched[s].Prompts[i].Post.LogProb);
                Assert.Equal(one.Prompts[i].Post.Rank, batched[s].Prompts[i].Post.Rank);
                anyChange |= one.Prompts[i].Post.Probability != one.Prompts[i].Base.Probability;
            }
            Assert.Equal(one.ImprovementPct, batched[s].ImprovementPct);
            Assert.Equal(one.Amplification.ToString(), batched[s].Amplification.ToString());
        }
        Assert.True(anyChange, "the random sets changed nothing: the comparison would be vacuous");
    }

    /// <summary>
    /// A provider whose rows depend on the call's row count (as OpenBLAS may: it promises nothing) must not see sets combined:
    /// every set then runs with exactly the rows <see cref="TaskEvaluator.Evaluate"/> gives it, and stays bit for bit equal.
    /// </summary>
    [SharedTheory]
    [InlineData("gpt2-tiny-f32", PositionsMode.All)]
    [InlineData("llama-tiny-f32", PositionsMode.Last)]
    public void Batched_sets_stay_exact_on_a_gemm_without_row_invariance(string fixture, PositionsMode positions)
    {
        var (shared, tok) = MethodFixtures.Get(fixture);
        using var model = shared.WithGemm(new RowCountDependentGemm(shared.Gemm));
        var eval = new TaskEvaluator(model, tok, TaskLibrary.BuiltIn("math-easy"), BosPolicy.Prepend);
        int r = Math.Min(TaskScoring.DefaultBatchSize, eval.Encoded.Prompts.Count), t = eval.Encoded.Prompts.Take(r).Max(p => p.Length);
        Assert.True(r * t >= shared.Gemm.RowInvariantFrom, "the first prompt batch would not be combined even on the managed GEMM: the test would be vacuous");
        var sets = Enumerable.Range(0, 5).Select(seed => ControlNeurons.Random(seed, 1, 6, model.Config.DMlp)).ToArray();
        var batched = eval.EvaluateSets(1, sets, 3f, positions);
        for (int s = 0; s < sets.Length; s++)
        {
            var one = eval.Evaluate(Amplification.Single(1, sets[s], 3f, positions));
            Assert.Equal(one.Prompts.Select(p => p.Post.LogProb), batched[s].Prompts.Select(p => p.Post.LogProb));
        }
    }

    /// <summary>C from the inner provider plus m·2⁻²⁰ on every element: results that depend on how many rows share a call.</summary>
    private sealed class RowCountDependentGemm(Sna.Runtime.Numerics.IGemmProvider inner) : Sna.Runtime.Numerics.IGemmProvider
    {
        public string Name => "row-count-dependent";
        public void Sgemm(ReadOnlySpan<float> a, int m, in Sna.Runtime.Numerics.WeightMatrix b, Span<float> c, bool accumulate)
        {
            inner.Sgemm(a, m, b, c, accumulate);
            for (int i = 0; i < m * b.N; i++) c[i] += m * (1f / (1 << 20));
        }
    }

    [SharedFact]
    public void ControlsRunner_batched_equals_one_by_one()
    {
        var (model, tok) = MethodFixtures.Get("gpt2-tiny-f32");
        var suite = TaskLibrary.BuiltIn("logic-easy");
        var o = new ControlsOptions { Seeds = 25, Collateral = false };
        var batched = ControlsRunner.Run(model, tok, suite, 1, 5, 2.5f, PositionsMode.All, o);
        var single = ControlsRunner.Run(model, tok, suite, 1, 5, 2.5f, PositionsMode.All, o with { BatchRandomSets = false });
        Assert.Equal(single.Random.Select(r => r.Neurons), batched.Random.Select(r => r.Neurons));
        Assert.Equal(single.Comparison.RandomImprovementsPct, batched.Comparison.RandomImprovementsPct);
        Assert.Equal(single.RandomTest!.PValue, batched.RandomTest!.PValue);
        for (int s = 0; s < single.Random.Count; s++)
            Assert.Equal(single.Random[s].Outcome.Prompts.Select(p => p.Post.Probability), batched.Random[s].Outcome.Prompts.Select(p => p.Post.Probability));
    }
}
