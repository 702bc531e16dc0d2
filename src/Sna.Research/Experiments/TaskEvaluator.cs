using Sna.Research.Analysis;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Experiments;

/// <summary>
/// One task encoded once with its baseline scored once, then evaluated under any number of amplifications. Each evaluation
/// is exactly what <see cref="TaskAmplification.Evaluate"/> computes (same encoding, same batches, first-token scoring), without
/// re-running the baseline: the interference and control runners evaluate one target under many configurations.
/// </summary>
public sealed class TaskEvaluator
{
    private readonly TransformerModel _model;

    public TaskEvaluator(TransformerModel model, ModelTokenizer tokenizer, TaskSuite suite, BosPolicy bos)
    {
        _model = model;
        Suite = suite;
        Encoded = EncodedTask.Encode(suite, tokenizer, bos);
        Base = TaskScoring.FirstToken(model, Encoded.Prompts, Encoded.FirstTargetIds);
    }

    public TaskSuite Suite { get; }
    public EncodedTask Encoded { get; }
    /// <summary>First-token scores of every prompt without amplification.</summary>
    public IReadOnlyList<TargetScore> Base { get; }
    public double MeanPBase => Base.Average(s => s.Probability);

    /// <summary>The task's prompts scored with <paramref name="amp"/> against the cached baseline.</summary>
    public TaskOutcome Evaluate(Amplification amp)
    {
        amp.Validate(_model.Config);
        var post = TaskScoring.FirstToken(_model, Encoded.Prompts, Encoded.FirstTargetIds, amp.ToHooks(_model.Config));
        var list = new PromptOutcome[post.Length];
        for (int i = 0; i < list.Length; i++)
            list[i] = new PromptOutcome(i, Suite.Prompts[i].Text, Suite.Prompts[i].Target, Encoded.Targets[i][0], Base[i], post[i]);
        return new TaskOutcome(Suite.Name, amp, ScoreKind.FirstToken, list);
    }

    /// <summary>
    /// Rows per unembedding GEMM: as many whole prompt batches (<paramref name="r"/> rows each) as stay on the GEMM's small-m
    /// path (≤ 32 rows), where a row's logits do not depend on how many rows share the call; alone, a prompt batch of r ≤ 32
    /// rows is on that path too, so the logits are the same bits, and the unembedding matrix is read once per call instead
    /// of once per set.
    /// </summary>
    private static int UnembedRows(int r) => r * Math.Max(1, SmallGemmRows / r);

    /// <summary>Token rows up to which the managed GEMM takes its small-m path (<c>ManagedGemm.SmallM</c>): its rounding differs from the packed path's.</summary>
    private const int SmallGemmRows = Sna.Runtime.Numerics.ManagedGemm.SmallM;

    /// <summary>Rows (prompts × sets) per resumed forward of <see cref="EvaluateSets"/>.</summary>
    public const int DefaultRowsPerBatch = 256;

    /// <summary>
    /// The task's prompts scored with each of many neuron sets at one layer × multiplier, bit for bit what
    /// <see cref="Evaluate"/>(Amplification.Single(layer, set, multiplier, positions)) gives for each set alone, but cheaper:
    /// per prompt batch (the same batches as <see cref="TaskScoring.FirstToken"/>), blocks 0..layer−1 run once (nothing is
    /// amplified before <paramref name="layer"/>, so their residual is shared; a stop/restart at a layer is bit-identical to
    /// the full pass), then several sets resume from it in one forward, each batch row scaling its own set's neurons. Rows of
    /// a batch are computed independently by the managed GEMM (work is split over N only and each element's instruction
    /// sequence depends on m only through the small-m path, ≤ 32 rows), so the sets of one forward are combined only when
    /// the prompt batch already has the provider's <see cref="Sna.Runtime.Numerics.IGemmProvider.RowInvariantFrom"/> token
    /// rows (33 for the managed GEMM; never for a provider without that promise, such as OpenBLAS); the unembedding runs in chunks of whole prompt batches that
    /// stay on the small-m path (see <see cref="UnembedRows"/>). <paramref name="rowsPerBatch"/> bounds prompts × sets per forward (1 set per forward when smaller than the batch).
    /// </summary>
    public TaskOutcome[] EvaluateSets(int layer, IReadOnlyList<int[]> sets, float multiplier, PositionsMode positions = PositionsMode.All,
        int rowsPerBatch = DefaultRowsPerBatch)
    {
        ArgumentNullException.ThrowIfNull(sets);
        var amps = sets.Select(s => Amplification.Single(layer, s, multiplier, positions)).ToArray();
        foreach (var a in amps) a.Validate(_model.Config);
        var prompts = Encoded.Prompts;
        var targets = Encoded.FirstTargetIds;
        var post = sets.Select(_ => new TargetScore[prompts.Count]).ToArray();
        bool lastOnly = positions == PositionsMode.Last;
        foreach (var chunk in TaskScoring.Chunks(prompts, TaskScoring.DefaultBatchSize))
        {
            var rows = chunk.Select(i => prompts[i]).ToArray();
            int R = rows.Length, T = rows.Max(r => r.Length);
            float[]? resid = layer > 0 ? _model.Forward(rows, new ForwardOptions { StopLayer = layer }).Residual : null;
            // Sets share a forward only where the GEMM promises row-independent results for every call of it (all calls
            // have R·T or more rows); otherwise (e.g. OpenBLAS) each set runs with exactly the rows Evaluate gives it.
            int perForward = R * T >= _model.Gemm.RowInvariantFrom ? Math.Max(1, rowsPerBatch / R) : 1;
            for (int g0 = 0; g0 < sets.Count; g0 += perForward)
            {
                int g = Math.Min(perForward, sets.Count - g0);
                var batch = new int[g * R][];
                for (int k = 0; k < g; k++) rows.CopyTo(batch, k * R);
                float[] tiled = [];
                if (resid is not null)
                {
                    tiled = new float[g * resid.Length];
                    for (int k = 0; k < g; k++) resid.CopyTo(tiled, k * resid.Length);
                }
                var hooks = new HookSet();
                int first = g0;
                hooks.Add(HookNames.MlpPost(layer), ctx =>
                {
                    int B = ctx.Shape[0], TT = ctx.Shape[1], M = ctx.Shape[2];
                    var data = ctx.Data;
                    for (int b = 0; b < B; b++)
                    {
                        var neurons = sets[first + b / R];
                        for (int t = lastOnly ? TT - 1 : ctx.PadLeft[b]; t < TT; t++)
                        {
                            var row = data.Slice((b * TT + t) * M, M);
                            foreach (int n in neurons) row[n] *= multiplier;
                        }
                    }
                });
                _model.Forward(batch, new ForwardOptions
                {
                    Hooks = hooks, Mode = LogitsMode.Last, StartLayer = layer, Residual = tiled, LogitsChunkRows = UnembedRows(R),
                    OnLogits = (firstRow, n, logits) =>
                    {
                        int V = _model.Config.VocabSize;
                        for (int r = 0; r < n; r++)
                        {
                            int row = firstRow + r, k = row / R, b = row % R;
                            post[first + k][chunk[b]] = Scoring.Score(logits.Slice(r * V, V), targets[chunk[b]]);
                        }
                    },
                });
            }
        }
        var result = new TaskOutcome[sets.Count];
        for (int s = 0; s < sets.Count; s++)
        {
            var list = new PromptOutcome[prompts.Count];
            for (int i = 0; i < list.Length; i++)
                list[i] = new PromptOutcome(i, Suite.Prompts[i].Text, Suite.Prompts[i].Target, Encoded.Targets[i][0], Base[i], post[s][i]);
            result[s] = new TaskOutcome(Suite.Name, amps[s], ScoreKind.FirstToken, list);
        }
        return result;
    }
}
