using Sna.Research.Analysis;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Numerics;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Experiments;

/// <summary>
/// What <see cref="CollateralRunner.Measure(TransformerModel, IReadOnlyList{int[]}, HookSet, int)"/> measured on neutral text.
/// </summary>
/// <param name="Texts">Neutral texts run.</param>
/// <param name="KlPositions">Real (non-padding) positions whose next-token distributions were compared: every token of every text.</param>
/// <param name="MeanKl">Mean over those positions of KL(P_base ‖ P_post), nats.</param>
/// <param name="MaxKl">Largest KL at one position, nats.</param>
/// <param name="PredictedTokens">Tokens scored for perplexity: every token that follows a real position (n − 1 per text of n tokens, BOS included).</param>
/// <param name="MeanNllBase">Mean −ln p(next token) without the amplification.</param>
/// <param name="MeanNllPost">Mean −ln p(next token) with it.</param>
public sealed record CollateralMeasurement(int Texts, int KlPositions, double MeanKl, double MaxKl, int PredictedTokens, double MeanNllBase, double MeanNllPost)
{
    /// <summary>exp(mean NLL) without the amplification.</summary>
    public double PerplexityBase => Math.Exp(MeanNllBase);
    /// <summary>exp(mean NLL) with the amplification.</summary>
    public double PerplexityPost => Math.Exp(MeanNllPost);
    public double PerplexityChangePct => Collateral.PerplexityChangePct(PerplexityBase, PerplexityPost);

    /// <summary>As the report's record.</summary>
    public CollateralCost ToCost(string task, SweepConfiguration? configuration) =>
        new(task, configuration, KlPositions, MeanKl, PerplexityBase, PerplexityPost);
}

/// <summary>
/// Collateral cost of an amplification on neutral text: the same left-padded batches are run with and without the hooks
/// (<see cref="LogitsMode.All"/>); at every real position the next-token distributions are compared by KL(P_base ‖ P_post)
/// (log-softmax in double, <see cref="Softmax.LogSoftmax(ReadOnlySpan{float}, Span{double})"/>, as <see cref="Collateral.KlDivergence(ReadOnlySpan{float}, ReadOnlySpan{float})"/>), and the
/// observed next tokens give the teacher-forced perplexity exp(mean −ln p) with and without. Padding positions are excluded.
/// With multiplier 1 both runs are bit-identical, so KL is exactly 0 and the perplexity change exactly 0.
/// </summary>
public static class CollateralRunner
{
    /// <summary>Texts per forward pass (vocab × positions logits per row are kept, so batches are small).</summary>
    public const int DefaultBatchSize = 8;

    /// <summary>
    /// Collateral cost of <paramref name="amp"/> on <paramref name="texts"/> (default: <see cref="TaskLibrary.NeutralCorpus"/>),
    /// encoded with <paramref name="bos"/>.
    /// </summary>
    public static CollateralMeasurement Measure(TransformerModel model, ModelTokenizer tokenizer, Amplification amp,
        IReadOnlyList<string>? texts = null, BosPolicy bos = BosPolicy.Prepend, int batchSize = DefaultBatchSize)
    {
        amp.Validate(model.Config);
        texts ??= TaskLibrary.NeutralCorpus;
        var seqs = new List<int[]>(texts.Count);
        foreach (var t in texts)
        {
            var ids = tokenizer.Encode(t, bos);
            if (ids.Length > 0) seqs.Add(ids);
        }
        return Measure(model, seqs, amp.ToHooks(model.Config), batchSize);
    }

    /// <summary><see cref="Measure(TransformerModel, ModelTokenizer, Amplification, IReadOnlyList{string}?, BosPolicy, int)"/> as the report's record.</summary>
    public static CollateralCost Cost(TransformerModel model, ModelTokenizer tokenizer, string task, Amplification amp, SweepConfiguration? configuration = null,
        IReadOnlyList<string>? texts = null, BosPolicy bos = BosPolicy.Prepend) =>
        Measure(model, tokenizer, amp, texts, bos).ToCost(task, configuration);

    /// <summary>Collateral cost of <paramref name="hooks"/> on token sequences (BOS already applied as wanted).</summary>
    public static CollateralMeasurement Measure(TransformerModel model, IReadOnlyList<int[]> sequences, HookSet hooks, int batchSize = DefaultBatchSize)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentNullException.ThrowIfNull(hooks);
        var seqs = sequences.Where(s => s.Length > 0).ToArray();
        if (seqs.Length == 0) throw new ArgumentException("no neutral text to measure on");
        model.ValidateBatch(seqs);
        int V = model.Config.VocabSize;
        var lpB = new double[V];
        var lpP = new double[V];
        double klSum = 0, klMax = 0, nllB = 0, nllP = 0;
        int klN = 0, tokN = 0;
        var order = Enumerable.Range(0, seqs.Length).OrderBy(i => seqs[i].Length).ThenBy(i => i).ToArray();
        int bs = Math.Max(1, batchSize);
        for (int s = 0; s < order.Length; s += bs)
        {
            var batch = order.Skip(s).Take(bs).Select(i => seqs[i]).ToArray();
            var rb = model.Forward(batch, null, LogitsMode.All);
            var rp = model.Forward(batch, hooks, LogitsMode.All);
            for (int b = 0; b < batch.Length; b++)
            {
                int pad = rb.PadLeft[b], T = rb.SeqLen;
                for (int t = pad; t < T; t++)
                {
                    if (!double.IsFinite(Softmax.LogSoftmax(rb.At(b, t), lpB)) || !double.IsFinite(Softmax.LogSoftmax(rp.At(b, t), lpP)))
                        throw new InvalidOperationException("the model produced a non-finite logit");
                    double kl = Collateral.KlFromLogProbs(lpB, lpP);
                    klSum += kl; klN++;
                    if (kl > klMax) klMax = kl;
                    if (t + 1 < T)
                    {
                        int next = batch[b][t + 1 - pad];
                        nllB -= lpB[next];
                        nllP -= lpP[next];
                        tokN++;
                    }
                }
            }
        }
        return new CollateralMeasurement(seqs.Length, klN, klSum / klN, klMax, tokN,
            tokN > 0 ? nllB / tokN : double.NaN, tokN > 0 ? nllP / tokN : double.NaN);
    }}
