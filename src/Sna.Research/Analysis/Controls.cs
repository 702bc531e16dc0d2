using Sna.Runtime.Numerics;

namespace Sna.Research.Analysis;

/// <summary>
/// Task neurons vs control neurons for one task's best configuration: the same layer, count, multiplier and positions,
/// with random neuron sets (one per seed, the paper uses 20) and the bottom-k neurons.
/// </summary>
/// <param name="Task">Task.</param>
/// <param name="Configuration">The task-neuron configuration compared.</param>
/// <param name="TaskNeuronImprovementPct">Improvement with the task neurons (mean over prompts, %).</param>
/// <param name="RandomImprovementsPct">Improvement with each random neuron set (%).</param>
/// <param name="BottomKImprovementPct">Improvement with the bottom-k neurons (%), when measured.</param>
public sealed record ControlComparison(string Task, SweepConfiguration Configuration, double TaskNeuronImprovementPct,
    IReadOnlyList<double> RandomImprovementsPct, double? BottomKImprovementPct)
{
    /// <summary>Randomisation test, task neurons &gt; random: p = (1 + #{random ≥ task}) / (1 + m); null without random sets.</summary>
    public PermutationTestResult? RandomTest => RandomImprovementsPct.Count == 0 ? null
        : PermutationTest.AgainstControls(TaskNeuronImprovementPct, RandomImprovementsPct, Alternative.Greater);

    /// <summary>Mean improvement over the random sets (NaN without any).</summary>
    public double RandomMeanPct => RandomImprovementsPct.Count == 0 ? double.NaN : RandomImprovementsPct.Average();

    /// <summary>Sample SD over the random sets (NaN with fewer than 2).</summary>
    public double RandomSdPct => RandomImprovementsPct.Count < 2 ? double.NaN : Descriptive.SampleStandardDeviation(RandomImprovementsPct);

    /// <summary>Task-neuron improvement minus the bottom-k improvement (pp of %, NaN when bottom-k is missing).</summary>
    public double AdvantageOverBottomKPct => BottomKImprovementPct is double b ? TaskNeuronImprovementPct - b : double.NaN;
}

/// <summary>Collateral cost of one intervention on neutral text.</summary>
/// <param name="Task">Task whose neurons were amplified.</param>
/// <param name="Configuration">Configuration applied (null when not tied to a sweep configuration).</param>
/// <param name="Positions">Neutral-corpus token positions averaged over.</param>
/// <param name="MeanKl">Mean KL(P_base ‖ P_post) of the next-token distribution, nats.</param>
/// <param name="PerplexityBase">Neutral-text perplexity without amplification.</param>
/// <param name="PerplexityPost">Neutral-text perplexity with amplification.</param>
public sealed record CollateralCost(string Task, SweepConfiguration? Configuration, int Positions, double MeanKl,
    double PerplexityBase, double PerplexityPost)
{
    /// <summary>100 (PPL_post - PPL_base) / PPL_base.</summary>
    public double PerplexityChangePct => Collateral.PerplexityChangePct(PerplexityBase, PerplexityPost);
}

/// <summary>
/// Collateral-cost math on logits, in double precision: log-softmax with the max subtracted, KL divergence of the
/// next-token distributions, perplexity from log-probabilities.
/// </summary>
public static class Collateral
{
    /// <summary>log softmax(z)_i = z_i - max - ln Σ exp(z_j - max), computed in double (<see cref="Softmax.LogSoftmax(ReadOnlySpan{float}, Span{double})"/>).</summary>
    public static double[] LogSoftmax(ReadOnlySpan<float> logits)
    {
        var r = Row(logits.Length);
        Check(Softmax.LogSoftmax(logits, r));
        return r;
    }

    /// <summary>log softmax of double logits (see <see cref="LogSoftmax(ReadOnlySpan{float})"/>).</summary>
    public static double[] LogSoftmax(ReadOnlySpan<double> logits)
    {
        var r = Row(logits.Length);
        Check(Softmax.LogSoftmax(logits, r));
        return r;
    }

    private static double[] Row(int n) => n > 0 ? new double[n] : throw new ArgumentException("Logits must not be empty.", "logits");

    private static void Check(double logSumExp)
    {
        if (!double.IsFinite(logSumExp)) throw new ArgumentException("Logits must be finite or -∞, at least one of them finite.", "logits");
    }

    /// <summary>
    /// KL(P_base ‖ P_post) = Σ_i p_i (ln p_i - ln q_i) in nats, with p = softmax(base), q = softmax(post), from
    /// log-softmax in double. Terms with p_i = 0 contribute 0; q_i = 0 where p_i &gt; 0 gives +∞. Clamped at ≥ 0
    /// (rounding can give -1e-17 for identical inputs).
    /// </summary>
    public static double KlDivergence(ReadOnlySpan<float> logitsBase, ReadOnlySpan<float> logitsPost)
    {
        if (logitsBase.Length != logitsPost.Length) throw new ArgumentException($"Vocabulary sizes differ ({logitsBase.Length} vs {logitsPost.Length}).");
        return KlFromLogProbs(LogSoftmax(logitsBase), LogSoftmax(logitsPost));
    }

    /// <summary>KL divergence of double logits (see <see cref="KlDivergence(ReadOnlySpan{float}, ReadOnlySpan{float})"/>).</summary>
    public static double KlDivergence(ReadOnlySpan<double> logitsBase, ReadOnlySpan<double> logitsPost)
    {
        if (logitsBase.Length != logitsPost.Length) throw new ArgumentException($"Vocabulary sizes differ ({logitsBase.Length} vs {logitsPost.Length}).");
        return KlFromLogProbs(LogSoftmax(logitsBase), LogSoftmax(logitsPost));
    }

    /// <summary>KL(P ‖ Q) from log-probabilities (natural log).</summary>
    public static double KlFromLogProbs(ReadOnlySpan<double> logP, ReadOnlySpan<double> logQ)
    {
        if (logP.Length != logQ.Length) throw new ArgumentException("Distributions must have the same length.");
        double kl = 0;
        for (int i = 0; i < logP.Length; i++)
        {
            if (double.IsNegativeInfinity(logP[i])) continue;
            double p = Math.Exp(logP[i]);
            if (p == 0) continue;
            kl += p * (logP[i] - logQ[i]);
        }
        return Math.Max(0, kl);
    }

    /// <summary>Mean KL over positions (each pair: base logits, post logits of one neutral-text position).</summary>
    public static double MeanKl(IEnumerable<(float[] Base, float[] Post)> positions)
    {
        ArgumentNullException.ThrowIfNull(positions);
        double sum = 0;
        int n = 0;
        foreach (var (b, p) in positions) { sum += KlDivergence(b, p); n++; }
        if (n == 0) throw new ArgumentException("At least one position is required.", nameof(positions));
        return sum / n;
    }

    /// <summary>Perplexity exp(-mean ln p) of the observed next tokens' natural-log probabilities.</summary>
    public static double Perplexity(IReadOnlyList<double> logprobs)
    {
        ArgumentNullException.ThrowIfNull(logprobs);
        if (logprobs.Count == 0) throw new ArgumentException("At least one log-probability is required.", nameof(logprobs));
        double s = 0;
        foreach (double lp in logprobs)
        {
            if (double.IsNaN(lp) || lp > 1e-12) throw new ArgumentException($"Log-probabilities must be ≤ 0, got {lp}.", nameof(logprobs));
            s += lp;
        }
        return Math.Exp(-s / logprobs.Count);
    }

    /// <summary>Log-probability of <paramref name="token"/> under softmax(<paramref name="logits"/>), in double.</summary>
    public static double LogProbOf(ReadOnlySpan<float> logits, int token)
    {
        if ((uint)token >= (uint)logits.Length) throw new ArgumentOutOfRangeException(nameof(token));
        return LogSoftmax(logits)[token];
    }

    /// <summary>100 (post - base) / base.</summary>
    public static double PerplexityChangePct(double perplexityBase, double perplexityPost) =>
        100.0 * (perplexityPost - perplexityBase) / perplexityBase;
}

/// <summary>Extracts <see cref="ControlComparison"/>s from sweeps that also measured control neuron sources.</summary>
public static class ControlExtraction
{
    /// <summary>
    /// For each task's best configuration, finds rows with the same task, layer, count, multiplier and positions whose
    /// neuron source starts with <paramref name="randomPrefix"/> (one control per distinct source, e.g. random:0 … random:19)
    /// or equals/starts with <paramref name="bottomPrefix"/>. Tasks with neither are skipped.
    /// </summary>
    public static IReadOnlyList<ControlComparison> FromSweep(SweepResultSet controlRows, IReadOnlyList<TaskSummary> tasks,
        string randomPrefix = "random", string bottomPrefix = "bottom")
    {
        ArgumentNullException.ThrowIfNull(controlRows);
        ArgumentNullException.ThrowIfNull(tasks);
        var result = new List<ControlComparison>();
        foreach (var t in tasks)
        {
            var c = t.Best.Configuration;
            var same = controlRows.Rows.Where(r => r.Task == t.Task && r.Layer == c.Layer && r.Count == c.Count
                && r.Multiplier == c.Multiplier && r.Positions == c.Positions && double.IsFinite(r.ImprovementPct)).ToArray();
            static double Mean(IEnumerable<SweepRow> rows) => rows.GroupBy(r => r.PromptIndex).Select(g => g.Average(r => r.ImprovementPct)).Average();
            var random = same.Where(r => r.NeuronSource.StartsWith(randomPrefix, StringComparison.OrdinalIgnoreCase))
                .GroupBy(r => r.NeuronSource, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(Mean).ToArray();
            var bottom = same.Where(r => r.NeuronSource.StartsWith(bottomPrefix, StringComparison.OrdinalIgnoreCase)).ToArray();
            if (random.Length == 0 && bottom.Length == 0) continue;
            result.Add(new ControlComparison(t.Task, c, t.Best.MeanImprovementPct, random, bottom.Length > 0 ? Mean(bottom) : null));
        }
        return result;
    }
}
