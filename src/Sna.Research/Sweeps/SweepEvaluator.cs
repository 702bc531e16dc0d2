using System.Buffers;
using System.Collections.Concurrent;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Numerics;

namespace Sna.Research.Sweeps;

/// <summary>
/// What the unmodified run of one prompt leaves behind for the sweep: per layer the residual stream after the block
/// (<c>hook_resid_post</c>), the post-activations of the neurons any configuration scales (<c>mlp.hook_post</c>, gathered
/// columns) and, for positions = last, the KV cache of every position but the last (frozen, shared by every configuration).
/// Plus the baseline score. The run honours the model view's persistent hooks.
/// </summary>
public sealed class PrefixCache
{
    public int[] Ids { get; }
    public int TargetId { get; }
    public int T => Ids.Length;
    /// <summary>The unmodified model's score of the target.</summary>
    public TargetScore Base { get; internal set; }

    internal readonly float[][] ResidPost;                  // [layer][T·D]
    internal KvCache? Prefix;                               // positions 0..T−2, frozen; only when kept
    internal readonly Dictionary<int, float[]>[] Post;      // [layer] neuron → [T]

    internal PrefixCache(int[] ids, int targetId, int nLayers)
    {
        Ids = ids; TargetId = targetId;
        ResidPost = new float[nLayers][];
        Post = new Dictionary<int, float[]>[nLayers];
        for (int l = 0; l < nLayers; l++) Post[l] = new();
    }

    /// <summary>Bytes held (activations and keys/values).</summary>
    public long Bytes
    {
        get
        {
            long n = 0;
            for (int l = 0; l < ResidPost.Length; l++)
            {
                n += ResidPost[l]?.Length ?? 0;
                foreach (var c in Post[l].Values) n += c.Length;
            }
            return n * sizeof(float) + (Prefix?.Bytes ?? 0);
        }
    }
}

/// <summary>One (prompt, configuration) to evaluate at a given layer: the neurons scaled and the multiplier.</summary>
public readonly record struct SweepItem(PrefixCache Prompt, int[] Neurons, float Multiplier);

/// <summary>
/// The sweep's compute core, on the model's one forward pass (<see cref="TransformerModel.Forward(IReadOnlyList{int[]}, ForwardOptions)"/>).
/// For an intervention at layer L it never recomputes what L cannot change:
/// <list type="bullet">
/// <item>layers 0..L and the MLP of L come from the unmodified run (<see cref="PrefixCache"/>): the scaled neurons change the
/// MLP output by the rank-k term Σ_{n∈S} (m−1)·post[:,n] ⊗ W_out[n,:], added to the cached residual after block L — no GEMM
/// at layer L — and the pass starts at block L+1 from that residual;</item>
/// <item>positions = all: configurations are batch rows (B configurations × T tokens), prompts of different lengths
/// left-padded to the longest (padding never changes a row: every kernel is per row and attention masks the padding);</item>
/// <item>positions = last: earlier positions never change, so each configuration is one token on the prompt's frozen KV
/// cache; rows of different prompts share one batch;</item>
/// <item>only the last position is unembedded, in chunks, and reduced to the target's log-probability (logit − logsumexp) and rank.</item>
/// </list>
/// Persistent hooks of the model view apply as in a plain hooked forward. When one sits at layer L after <c>mlp.hook_post</c>
/// (<c>hook_mlp_out</c>, <c>hook_resid_post</c>), the rank-k shortcut would bypass it, so those calls start at block L from the
/// cached <c>hook_resid_pre</c> with a per-row scaling hook instead (exact, one block more).
/// Thread-safe: each call owns its buffers.
/// </summary>
public sealed class SweepEvaluator
{
    private readonly TransformerModel _m;
    private readonly ModelConfig _c;
    private readonly ConcurrentDictionary<(int Layer, int Neuron), float[]> _woutRows = new();
    private readonly bool[] _hookedAfterPost;     // [layer]: a persistent hook at hook_mlp_out or hook_resid_post
    private readonly int _minRows;                // every GEMM call of a pass gets at least this many rows (0 = any)

    /// <summary>
    /// Default size of the [rows, vocab] float32 logits buffer of one unembedding call: 64 MiB, 333 rows of GPT-2's
    /// 50,257-token vocabulary (130 of Llama 3's 128,256). Each call packs the whole unembedding matrix once, so fewer,
    /// larger calls pack it less often: on GPT-2 Medium's [50257, 1024] the GEMM ran at about 170 GFLOP/s in calls of 128
    /// rows and 185-190 in calls of 256-512 (two cores, AMD EPYC, 2026-12-07).
    /// </summary>
    public const long UnembedChunkBytes = 64L << 20;

    /// <summary>Rows of the unembedding GEMM per call (bounds the [rows, vocab] logits buffer; default from
    /// <see cref="UnembedChunkBytes"/>, between 32 and 4096). With a provider that keeps rows invariant (the managed GEMM),
    /// results do not depend on it.</summary>
    public int UnembedChunkRows { get; set; }

    public SweepEvaluator(TransformerModel model)
    {
        _m = model; _c = model.Config;
        UnembedChunkRows = (int)Math.Clamp(UnembedChunkBytes / (sizeof(float) * (long)_c.VocabSize), 32, 4096);
        _hookedAfterPost = new bool[_c.NLayers];
        // Batch invariance: with every GEMM call at or above the provider's row-invariance threshold, a row's score does not
        // depend on what shares its batch (sweep batches, shards and resumed runs then agree to the bit). Smaller passes are
        // padded with copies of a row, and unembedding chunks with zero rows, whose results are dropped.
        int inv = model.Gemm.RowInvariantFrom;
        _minRows = inv is > 1 and <= 64 ? inv : 0;
        foreach (var (name, _) in model.PersistentHooks)
            if (HookNames.TryParse(name, out int l, out var point, out var global) && global is null
                && point is HookNames.Block.MlpOut or HookNames.Block.ResidPost && (uint)l < (uint)_c.NLayers)
                _hookedAfterPost[l] = true;
    }

    public TransformerModel Model => _m;

    /// <summary>
    /// The unmodified forward of one prompt (with the model view's persistent hooks), keeping what the sweep needs.
    /// <paramref name="neuronsPerLayer"/> lists, per layer, every neuron any configuration there scales.
    /// </summary>
    public PrefixCache BuildCache(int[] ids, int targetId, IReadOnlyDictionary<int, int[]> neuronsPerLayer, bool keepKeysValues) =>
        BuildCaches([(ids, targetId)], neuronsPerLayer, keepKeysValues)[0];

    /// <summary>
    /// <see cref="BuildCache"/> for several prompts in one batched, left-padded forward (the GEMMs see every prompt's tokens
    /// at once instead of one prompt's); each cache is bit-identical to the prompt's own <see cref="BuildCache"/>.
    /// </summary>
    public PrefixCache[] BuildCaches(IReadOnlyList<(int[] Ids, int TargetId)> prompts, IReadOnlyDictionary<int, int[]> neuronsPerLayer, bool keepKeysValues)
    {
        if (prompts.Count == 0) return [];
        foreach (var (ids, targetId) in prompts)
        {
            _m.ValidateBatch([ids]);
            if ((uint)targetId >= (uint)_c.VocabSize) throw new ArgumentOutOfRangeException(nameof(prompts), $"target id {targetId} is outside the vocabulary [0, {_c.VocabSize})");
        }
        int NL = _c.NLayers, D = _c.DModel, P = prompts.Count;
        var caches = prompts.Select(p => new PrefixCache(p.Ids, p.TargetId, NL)).ToArray();
        // Copies of prompt 0 pad a small batch until every GEMM gets _minRows rows (batch invariance; dropped below).
        int T = prompts.Max(p => p.Ids.Length);
        var rows = PadRows(prompts, prompts.Count, T, prompts[0]);
        var hooks = new HookSet();
        for (int l = 0; l < NL; l++)
        {
            int layer = l;
            hooks.Add(HookNames.BlockName(l, HookNames.Block.ResidPost), ctx =>
            {
                int Tt = ctx.Shape[1];
                for (int b = 0; b < P; b++)      // row b's real positions: [PadLeft[b], Tt)
                    caches[b].ResidPost[layer] = ctx.Data.Slice((b * Tt + ctx.PadLeft[b]) * D, (Tt - ctx.PadLeft[b]) * D).ToArray();
            });
            if (neuronsPerLayer.TryGetValue(l, out var ns) && ns.Length > 0)
            {
                int[] neurons = ns.Distinct().ToArray();
                hooks.Add(HookNames.MlpPost(l), ctx =>
                {
                    int Tt = ctx.Shape[1], M = ctx.Shape[2];
                    for (int b = 0; b < P; b++)
                    {
                        int pad = ctx.PadLeft[b];
                        foreach (int n in neurons)
                        {
                            var col = new float[Tt - pad];
                            for (int t = pad; t < Tt; t++) col[t - pad] = ctx.Data[(b * Tt + t) * M + n];
                            caches[b].Post[layer][n] = col;
                        }
                    }
                });
            }
        }
        var kv = keepKeysValues ? rows.Select(p => new KvCache(_c, p.Ids.Length)).ToArray() : null;
        var scores = new TargetScore[rows.Count];
        _m.Forward(rows.Select(p => p.Ids).ToList(), new ForwardOptions
        {
            Hooks = hooks, Past = kv, LogitsMinGemmRows = _minRows,
            OnLogits = Scorer(rows.Select(p => p.TargetId).ToArray(), 0, scores),
        });
        for (int b = 0; b < P; b++)
        {
            caches[b].Base = scores[b];
            caches[b].Prefix = kv?[b].Freeze(prompts[b].Ids.Length - 1);
        }
        return caches;
    }

    /// <summary>
    /// Scores each item with <c>blocks.{layer}.mlp.hook_post[..., neurons] *= multiplier</c> applied at the given positions.
    /// Equal (to float rounding) to a full forward with <see cref="Amplification"/> hooks and <see cref="Scoring.Score"/>, and
    /// bit-identical whatever else shares the call (every GEMM call is kept at or above the provider's
    /// <see cref="IGemmProvider.RowInvariantFrom"/>): items may come from any prompts (positions = all: of any lengths, the
    /// shorter rows left-padded).
    /// </summary>
    public void Evaluate(int layer, PositionsMode positions, IReadOnlyList<SweepItem> items, Span<TargetScore> results)
    {
        if (items.Count == 0) return;
        if (results.Length < items.Count) throw new ArgumentException("results is shorter than items");
        if ((uint)layer >= (uint)_c.NLayers) throw new ArgumentOutOfRangeException(nameof(layer));
        Run(layer, positions, items, null, results);
    }

    /// <summary>
    /// As <see cref="Evaluate(int, PositionsMode, IReadOnlyList{SweepItem}, Span{TargetScore})"/>, but scores every row for
    /// each of <paramref name="targetIds"/> (the same ids for every row; the prompts' own targets are ignored) from one
    /// unembedding of the row: <c>results[i · targetIds.Length + j]</c> is item i's score of <c>targetIds[j]</c>. The extra
    /// targets cost one logit read and one rank count each (the logsumexp is shared), not another forward or GEMM row.
    /// Items may come from any prompts, as in the single-target overload.
    /// </summary>
    public void Evaluate(int layer, PositionsMode positions, IReadOnlyList<SweepItem> items, int[] targetIds, Span<TargetScore> results)
    {
        ArgumentNullException.ThrowIfNull(targetIds);
        if (targetIds.Length == 0) throw new ArgumentException("give at least one target id", nameof(targetIds));
        foreach (int t in targetIds)
            if ((uint)t >= (uint)_c.VocabSize) throw new ArgumentOutOfRangeException(nameof(targetIds), $"target id {t} is outside the vocabulary [0, {_c.VocabSize})");
        if (items.Count == 0) return;
        if (results.Length < items.Count * targetIds.Length) throw new ArgumentException("results is shorter than items × targetIds");
        if ((uint)layer >= (uint)_c.NLayers) throw new ArgumentOutOfRangeException(nameof(layer));
        Run(layer, positions, items, targetIds, results);
    }

    /// <summary>Whether items at <paramref name="layer"/> may join a <see cref="EvaluateLast"/> pass (no persistent hook after
    /// <c>mlp.hook_post</c> there, which needs the exact block).</summary>
    public bool CanJoinPass(int layer) => (uint)layer < (uint)_c.NLayers && !_hookedAfterPost[layer];

    /// <summary>
    /// positions = last for items at several layers in one pass: the rows of the lowest layer L₁ start at block L₁+1, and
    /// the rows of each higher layer join the pass at their own block, so the blocks after the deepest layers run once over
    /// every row (larger GEMMs than one pass per layer). Equal to
    /// <see cref="Evaluate(int, PositionsMode, IReadOnlyList{SweepItem}, Span{TargetScore})"/> per layer (every kernel is per
    /// row, and every GEMM call is kept at or above the provider's <see cref="IGemmProvider.RowInvariantFrom"/>: to the bit).
    /// <c>results[i]</c> scores <c>items[i]</c>. Every layer must pass <see cref="CanJoinPass"/>.
    /// </summary>
    public void EvaluateLast(IReadOnlyList<(int Layer, SweepItem Item)> given, Span<TargetScore> results)
    {
        if (given.Count == 0) return;
        if (results.Length < given.Count) throw new ArgumentException("results is shorter than items");
        foreach (var (layer, it) in given)
        {
            if (!CanJoinPass(layer)) throw new ArgumentException($"layer {layer} cannot join a pass (out of range, or a persistent hook after mlp.hook_post there)", nameof(given));
            if (it.Prompt.Prefix is null && it.Prompt.T > 1) throw new ArgumentException("positions = last needs a prefix cache built with keepKeysValues");
        }
        // Copies of a lowest-layer row join the first stage until every GEMM of the pass gets _minRows rows (dropped at the end).
        int lowest = given.Min(x => x.Layer);
        var items = PadRows(given, given.Count(x => x.Layer == lowest), 1, given.First(x => x.Layer == lowest));
        int count = items.Count, D = _c.DModel;
        var order = Enumerable.Range(0, count).OrderBy(i => items[i].Layer).ToArray();   // stable: pass row r is items[order[r]]
        var batch = new int[count][];           // [rows] the last token of each row's prompt
        var past = new KvCache?[count];         // [rows] its frozen prefix
        var targets = new int[count];
        var x = new float[count * D];           // [rows, D] residual entering the next block of the pass
        int rows = 0;
        var scores = new TargetScore[count];
        while (rows < count)
        {
            int layer = items[order[rows]].Layer, first = rows;
            // Rows of this layer join: resid_post[L] at their last position plus the rank-k delta of L.
            for (; rows < count && items[order[rows]].Layer == layer; rows++)
            {
                var it = items[order[rows]].Item;
                var p = it.Prompt;
                var dst = x.AsSpan(rows * D, D);
                p.ResidPost[layer].AsSpan((p.T - 1) * D, D).CopyTo(dst);
                AddDelta(layer, it, dst, 1, p.T - 1);
                batch[rows] = [p.Ids[^1]];
                past[rows] = p.Prefix;
                targets[rows] = p.TargetId;
            }
            bool last = rows == count;
            int stop = last ? _c.NLayers : items[order[rows]].Layer + 1;   // run up to where the next layer's rows join
            var here = new ForwardOptions
            {
                Past = past[..rows], StartLayer = layer + 1, Residual = x.AsMemory(0, rows * D),
                StopLayer = last ? null : stop,
                OnLogits = last ? Scorer(targets, 0, scores) : null, LogitsChunkRows = UnembedChunkRows, LogitsMinGemmRows = _minRows,
            };
            var r = _m.Forward(batch[..rows], here);
            if (!last) r.Residual!.AsSpan().CopyTo(x);
        }
        for (int i = 0; i < count; i++)
            if (order[i] < given.Count) results[order[i]] = scores[i];
    }

    /// <summary>
    /// Batch invariance: <paramref name="rows"/> plus copies of <paramref name="copy"/> until the rows that enter the first GEMM
    /// of the pass (<paramref name="counted"/> of them, plus the copies) times <paramref name="tokensPerRow"/> reach _minRows.
    /// The copies are appended after the given rows, and their results are dropped by the caller.
    /// </summary>
    private IReadOnlyList<T> PadRows<T>(IReadOnlyList<T> rows, int counted, int tokensPerRow, T copy)
    {
        if ((long)counted * tokensPerRow >= _minRows) return rows;
        var padded = rows.ToList();
        for (int n = counted; (long)n * tokensPerRow < _minRows; n++) padded.Add(copy);
        return padded;
    }

    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// <paramref name="shared"/> null: row b is scored for its prompt's target; else every row for each of <paramref name="shared"/>.
    /// positions = all: rows are the items' whole prompts, left-padded to the longest; last: one token per row on the prompt's
    /// frozen KV cache.
    /// </summary>
    private void Run(int layer, PositionsMode positions, IReadOnlyList<SweepItem> given, int[]? shared, Span<TargetScore> results)
    {
        int D = _c.DModel;
        bool all = positions == PositionsMode.All;
        int T = 1;                                      // padded length of the rows
        if (all) foreach (var it in given) T = Math.Max(T, it.Prompt.T);
        var items = PadRows(given, given.Count, T, given[0]);   // plus copies of item 0 until the blocks' GEMMs get _minRows rows
        int B = items.Count;
        var batch = new int[B][];
        var targets = new int[B];
        KvCache?[]? past = all ? null : new KvCache?[B];
        for (int b = 0; b < B; b++)
        {
            var p = items[b].Prompt;
            if (!all && p.Prefix is null && p.T > 1) throw new ArgumentException("positions = last needs a prefix cache built with keepKeysValues");
            batch[b] = all ? p.Ids : [p.Ids[^1]];
            if (past is not null) past[b] = p.Prefix;
            targets[b] = p.TargetId;
        }
        // Start at L+1 from the cached residual plus the rank-k delta; or, with a persistent hook after hook_post at L, at L
        // from the cached hook_resid_pre with a per-row scaling hook (at L = 0 that is the embedding: start from the tokens).
        bool exactBlock = _hookedAfterPost[layer];
        int start = exactBlock ? layer : layer + 1;
        int n = B * T * D;
        var x = start > 0 ? ArrayPool<float>.Shared.Rent(n) : null;     // [B, T, D] resid_pre of block `start`
        try
        {
            if (x is not null)
                for (int b = 0; b < B; b++)
                {
                    var p = items[b].Prompt;
                    int len = all ? p.T : 1, pad = T - len;     // row b: pad positions, then its len real ones
                    x.AsSpan(b * T * D, pad * D).Clear();       // padding rows: finite, never read by a real position
                    var src = p.ResidPost[start - 1].AsSpan(all ? 0 : (p.T - 1) * D, len * D);
                    var dst = x.AsSpan((b * T + pad) * D, len * D);
                    src.CopyTo(dst);
                    if (!exactBlock) AddDelta(layer, items[b], dst, len, all ? 0 : p.T - 1);
                }
            HookSet? hooks = null;
            if (exactBlock)
            {
                hooks = new HookSet();
                var rows = items.Select(it => (Neurons: it.Neurons.Distinct().ToArray(), it.Multiplier)).ToArray();
                hooks.Add(HookNames.MlpPost(layer), ctx =>
                {
                    int Tt = ctx.Shape[1], M = ctx.Shape[2];
                    for (int b = 0; b < rows.Length; b++)
                        for (int t = ctx.PadLeft[b]; t < Tt; t++)
                        {
                            var row = ctx.Data.Slice((b * Tt + t) * M, M);
                            foreach (int nn in rows[b].Neurons) row[nn] *= rows[b].Multiplier;
                        }
                });
            }
            int per = shared?.Length ?? 0;
            var scores = new TargetScore[B * Math.Max(1, per)];
            _m.Forward(batch, new ForwardOptions
            {
                Hooks = hooks, Past = past, StartLayer = start, Residual = x is null ? default : x.AsMemory(0, n),
                OnLogits = Scorer(shared ?? targets, per, scores), LogitsChunkRows = UnembedChunkRows, LogitsMinGemmRows = _minRows,
            });
            scores.AsSpan(0, given.Count * Math.Max(1, per)).CopyTo(results);
        }
        finally { if (x is not null) ArrayPool<float>.Shared.Return(x); }
    }

    /// <summary>x[t, :] += Σ_n (m−1)·post[t0+t, n]·W_out[n, :] for t in 0..rows−1.</summary>
    private void AddDelta(int layer, in SweepItem item, Span<float> x, int rows, int t0)
    {
        int D = _c.DModel;
        float coef = item.Multiplier - 1f;
        if (coef == 0f) return;
        var post = item.Prompt.Post[layer];
        foreach (int n in item.Neurons.Distinct())
        {
            if (!post.TryGetValue(n, out var col)) throw new ArgumentException($"neuron {n} of layer {layer} is not in the prefix cache (pass it to BuildCache)");
            var w = WoutRow(layer, n);
            for (int t = 0; t < rows; t++)
            {
                float s = coef * col[t0 + t];
                if (s != 0f) TensorPrimitives.MultiplyAdd(w, s, x.Slice(t * D, D), x.Slice(t * D, D));
            }
        }
    }

    /// <summary>Row n of W_out (neuron n's output direction), widened to float32 and cached.</summary>
    private float[] WoutRow(int layer, int n) => _woutRows.GetOrAdd((layer, n), key => _m.NeuronOutputDirection(key.Layer, key.Neuron));

    /// <summary>
    /// A logits sink that scores row r: <paramref name="perRow"/> = 0: for <c>targets[r]</c> into <c>results[r]</c>;
    /// perRow = k &gt; 0: for each of the k ids in <paramref name="targets"/> into <c>results[r·k + j]</c> (one logsumexp per row).
    /// The rows of a chunk are scored in parallel on up to the model's <see cref="TransformerModel.Threads"/> (each row alone,
    /// so the results are the same bits whatever the thread count).
    /// </summary>
    private unsafe LogitsSink Scorer(int[] targets, int perRow, TargetScore[] results) => (first, n, logits) =>
    {
        int V = logits.Length / n, threads = Math.Min(_m.Threads, n / ParallelScoreRows);
        fixed (float* p = logits)
        {
            nint at = (nint)p;                                              // [n, V]
            void Score(int i)
            {
                var lg = new ReadOnlySpan<float>((float*)at + (long)i * V, V);
                int r = first + i;
                if (perRow == 0) results[r] = FastScore(lg, targets[r]);
                else FastScores(lg, targets, results.AsSpan(r * perRow, perRow));
            }
            if (threads <= 1)
                for (int i = 0; i < n; i++) Score(i);
            else
                Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = threads }, Score);
        }
    };

    /// <summary>Rows per thread below which a chunk is scored on the calling thread alone.</summary>
    private const int ParallelScoreRows = 8;

    /// <summary>
    /// <see cref="Scoring.Score"/> with a vectorised float exp (<see cref="Softmax.SumExp"/>: about 2 ulp per term, summed
    /// in double); log-probabilities agree with the double-precision reference to ~1e-7.
    /// </summary>
    internal static TargetScore FastScore(ReadOnlySpan<float> logits, int target)
    {
        double lse = FastLogSumExp(logits);
        float tl = logits[target];
        double lp = tl - lse;
        return new TargetScore(target, Math.Exp(lp), lp, CountAbove(logits, tl) + 1);
    }

    /// <summary><see cref="FastScore"/> for several targets of the same logits (the logsumexp computed once).</summary>
    internal static void FastScores(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, Span<TargetScore> dst)
    {
        double lse = FastLogSumExp(logits);
        for (int j = 0; j < targets.Length; j++)
        {
            float tl = logits[targets[j]];
            double lp = tl - lse;
            dst[j] = new TargetScore(targets[j], Math.Exp(lp), lp, CountAbove(logits, tl) + 1);
        }
    }

    private static double FastLogSumExp(ReadOnlySpan<float> logits)
    {
        float max = TensorPrimitives.Max(logits);
        return max + Math.Log(Softmax.SumExp(logits, max));
    }

    private static int CountAbove(ReadOnlySpan<float> x, float t)
    {
        int count = 0, i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var vt = new Vector<float>(t);
            var acc = Vector<int>.Zero;
            var xs = MemoryMarshal.Cast<float, Vector<float>>(x);
            foreach (var v in xs) acc -= Vector.GreaterThan(v, vt);     // true lanes are −1
            count = Vector.Sum(acc);
            i = xs.Length * Vector<float>.Count;
        }
        for (; i < x.Length; i++) if (x[i] > t) count++;
        return count;
    }
}
