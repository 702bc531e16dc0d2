using Sna.Runtime.Models;
using Sna.Runtime.Numerics;

namespace Sna.Research.Method;

/// <summary>One entry of a top-k list: token id and its probability.</summary>
public readonly record struct TokenProbability(int Id, double Probability);

/// <summary>The score of a target token at one position: probability, log-probability (natural log) and 1-based rank.</summary>
public readonly record struct TargetScore(int TargetId, double Probability, double LogProb, int Rank);

/// <summary>
/// Scores next-token logits the way the SNA paper does: the probability of the target's first token at the last position.
/// Log-probabilities are logit − logsumexp computed in double, so small probabilities keep their digits.
/// </summary>
public static class Scoring
{
    public static TargetScore Score(ReadOnlySpan<float> logits, int targetId)
    {
        if ((uint)targetId >= (uint)logits.Length)
            throw new ArgumentOutOfRangeException(nameof(targetId), $"target id {targetId} is outside the vocabulary [0, {logits.Length})");
        double lse = Softmax.LogSumExp(logits);
        double lp = logits[targetId] - lse;
        float t = logits[targetId];
        int above = 0;
        foreach (float x in logits) if (x > t) above++;
        return new TargetScore(targetId, Math.Exp(lp), lp, above + 1);
    }

    /// <summary>The k most probable tokens, most probable first (ties by lower id).</summary>
    public static TokenProbability[] Top(ReadOnlySpan<float> logits, int k)
    {
        double lse = Softmax.LogSumExp(logits);
        k = Math.Min(k, logits.Length);
        var best = new List<(float Logit, int Id)>(k + 1);
        for (int i = 0; i < logits.Length; i++)
        {
            float x = logits[i];
            if (best.Count == k && x <= best[^1].Logit) continue;
            int pos = best.Count;
            while (pos > 0 && best[pos - 1].Logit < x) pos--;
            best.Insert(pos, (x, i));
            if (best.Count > k) best.RemoveAt(k);
        }
        return best.Select(b => new TokenProbability(b.Id, Math.Exp(b.Logit - lse))).ToArray();
    }

    /// <summary>
    /// Teacher-forced score of a whole target from a <see cref="LogitsMode.All"/> result whose row <paramref name="row"/> holds
    /// prompt + target[..^1] (<paramref name="promptLength"/> prompt tokens, BOS included): target token j is scored at real
    /// position promptLength − 1 + j. log P(target | prompt) is the sum.
    /// </summary>
    public static SequenceScore ScoreSequence(ForwardResult result, int row, int promptLength, int[] targetIds)
    {
        if (targetIds.Length == 0) throw new ArgumentException("the target has no tokens");
        if (result.Positions == 1) throw new InvalidOperationException("sequence scoring needs a LogitsMode.All forward result");
        if (result.PadLeft[row] + promptLength - 1 + targetIds.Length > result.SeqLen)
            throw new ArgumentException("the row is shorter than prompt + target − 1 tokens");
        var scores = new TargetScore[targetIds.Length];
        for (int j = 0; j < targetIds.Length; j++)
            scores[j] = Score(result.At(row, result.PadLeft[row] + promptLength - 1 + j), targetIds[j]);
        return new SequenceScore(targetIds, scores);
    }

    /// <summary>% improvement as the paper defines it: (P_post − P_base) / P_base × 100.</summary>
    public static double ImprovementPct(double pBase, double pPost) => (pPost - pBase) / pBase * 100.0;
}
