using System.Runtime.CompilerServices;
using Sna.Runtime;
using System.Numerics.Tensors;
using Sna.Runtime.Numerics;

namespace Sna.Runtime.Models;

/// <summary>Which positions' logits a forward pass returns.</summary>
public enum LogitsMode { Last, All }

/// <summary>
/// Logits of a forward pass: [batch, positions, vocab] where positions is 1 (<see cref="LogitsMode.Last"/>) or the padded
/// length T (<see cref="LogitsMode.All"/>; position t of row b is real iff t ≥ PadLeft[b]).
/// </summary>
public sealed class ForwardResult
{
    public required float[] Logits { get; init; }   // [Batch, Positions, Vocab]
    public required int Batch { get; init; }
    public required int Positions { get; init; }
    public required int Vocab { get; init; }
    public required int[] PadLeft { get; init; }     // [Batch]
    public required int SeqLen { get; init; }        // padded length T
    /// <summary>
    /// The residual stream [Batch, SeqLen, d_model] after the last block run, when the pass stopped before the end
    /// (<see cref="ForwardOptions.StopLayer"/>); it is <c>blocks.{StopLayer}.hook_resid_pre</c>, the input a pass started at
    /// that layer takes. Null after a full pass.
    /// </summary>
    public float[]? Residual { get; init; }

    /// <summary>Logits at the last position of batch row <paramref name="b"/>.</summary>
    public ReadOnlySpan<float> Last(int b) => Logits.AsSpan(((b * Positions) + Positions - 1) * Vocab, Vocab);

    /// <summary>Logits at padded position <paramref name="t"/> of row <paramref name="b"/> (All mode).</summary>
    public ReadOnlySpan<float> At(int b, int t) =>
        Positions != SeqLen && t != SeqLen - 1 ? throw new InvalidOperationException("run with LogitsMode.All to read every position")
                       : Logits.AsSpan(((b * Positions) + (Positions == 1 ? 0 : t)) * Vocab, Vocab);
}

/// <summary>
/// A decoder-only transformer (GPT-2, GPT-NeoX, Llama) evaluated in float32 on the CPU, with TransformerLens hook points.
/// The model is immutable after loading and safe to share across threads: each forward pass has its own buffers.
/// Hooks come from the view's persistent hooks (<see cref="WithHooks(HookSet)"/> returns a new view over the same weights,
/// like TransformerLens' <c>add_hook</c> without changing the original) and from the per-call set (like
/// <c>run_with_hooks</c>, which leaves nothing behind).
/// </summary>
public sealed partial class TransformerModel : IDisposable
{
    public ModelConfig Config { get; }
    public ModelWeights Weights { get; }
    /// <summary>The GEMM this view runs on (<see cref="WithGemm"/> for a view on another). Never changes.</summary>
    public IGemmProvider Gemm { get; private init; }
    /// <summary>This view's persistent hooks, applied on every run (in order, before the per-call hooks). Never changes.</summary>
    public IReadOnlyList<(string Name, HookFn Fn)> PersistentHooks { get; private init; } = [];
    /// <summary>Where the model came from and what it was (directory, file hash, dtype), for run records.</summary>
    public ModelProvenance Provenance { get; init; } = new();
    /// <summary>Threads used for attention and scoring; GEMM threading is the provider's (<see cref="WithThreads"/> for a
    /// view with another count; no count changes a result bit). Never changes.</summary>
    public int Threads { get; private init; } = Environment.ProcessorCount;

    private readonly IReadOnlySet<string> _supportedHooks;
    private readonly bool _ownsWeights = true;
    private HookPlan? _persistentPlan;

    public TransformerModel(ModelConfig config, ModelWeights weights, IGemmProvider? gemm = null)
    {
        config.Validate();
        Config = config;
        Weights = weights;
        Gemm = gemm ?? GemmProviders.Default;
        _supportedHooks = SupportedHookSuffixes(config);
    }

    private TransformerModel(TransformerModel src, IReadOnlyList<(string Name, HookFn Fn)> hooks)
    {
        Config = src.Config; Weights = src.Weights; Gemm = src.Gemm; Provenance = src.Provenance; Threads = src.Threads;
        _supportedHooks = src._supportedHooks;
        _ownsWeights = false;
        PersistentHooks = hooks;
        HookPlan.Build(Config.NLayers, _supportedHooks, hooks, null);   // validate names and layers now
    }

    /// <summary>
    /// A view of this model (same weights, nothing copied) whose every run also applies <paramref name="hooks"/> (a snapshot:
    /// later changes to the set do not affect the view), after this view's own persistent hooks. The original is unchanged,
    /// so no caller ever needs to lock a shared model. Disposing a view does not release the weights.
    /// </summary>
    public TransformerModel WithHooks(HookSet hooks) => WithHooks(hooks.Snapshot().ToArray());

    /// <inheritdoc cref="WithHooks(HookSet)"/>
    public TransformerModel WithHooks(params (string Name, HookFn Fn)[] hooks)
    {
        foreach (var (name, _) in hooks)
            if (!HookNames.TryParse(name, out _, out _, out _))
                throw new ArgumentException($"unknown hook point '{name}' (TransformerLens names such as 'blocks.0.mlp.hook_post')", nameof(hooks));
        return new TransformerModel(this, [.. PersistentHooks, .. hooks]);
    }

    /// <summary>A view of the same weights and hooks that runs its matrix products on <paramref name="gemm"/>.</summary>
    public TransformerModel WithGemm(IGemmProvider gemm)
    {
        ArgumentNullException.ThrowIfNull(gemm);
        return new TransformerModel(this, PersistentHooks) { Gemm = gemm };
    }

    /// <summary>A view of the same weights and hooks that uses <paramref name="threads"/> threads for attention and scoring.</summary>
    public TransformerModel WithThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        return new TransformerModel(this, PersistentHooks) { Threads = threads };
    }

    /// <summary>A view of the same weights with no persistent hooks.</summary>
    public TransformerModel WithoutHooks() => PersistentHooks.Count == 0 ? this : new TransformerModel(this, []);

    private HookPlan Plan(HookSet? hooks)
    {
        if (hooks is null || hooks.Count == 0)
            return _persistentPlan ??= HookPlan.Build(Config.NLayers, _supportedHooks, PersistentHooks, null);
        return HookPlan.Build(Config.NLayers, _supportedHooks, PersistentHooks, hooks);
    }

    /// <summary>Hook suffixes (block points) and global names this architecture fires, as TransformerLens names them.</summary>
    public static IReadOnlySet<string> SupportedHookSuffixes(ModelConfig c)
    {
        var s = new HashSet<string>(StringComparer.Ordinal) { HookNames.Embed, HookNames.LnFinalScale, HookNames.LnFinalNormalized };
        if (c.Architecture == ArchitectureKind.Gpt2) s.Add(HookNames.PosEmbed);
        foreach (HookNames.Block p in Enum.GetValues<HookNames.Block>())
        {
            if (p is HookNames.Block.RotQ or HookNames.Block.RotK && c.Architecture == ArchitectureKind.Gpt2) continue;
            if (p == HookNames.Block.ResidMid && c.ParallelResidual) continue;
            s.Add(HookNames.Suffix(p));
        }
        return s;
    }

    /// <summary>All hook names of this model, in firing order.</summary>
    public IEnumerable<string> HookPointNames()
    {
        yield return HookNames.Embed;
        if (_supportedHooks.Contains(HookNames.PosEmbed)) yield return HookNames.PosEmbed;
        for (int l = 0; l < Config.NLayers; l++)
            foreach (HookNames.Block p in Enum.GetValues<HookNames.Block>())
                if (_supportedHooks.Contains(HookNames.Suffix(p))) yield return HookNames.BlockName(l, p);
        yield return HookNames.LnFinalScale;
        yield return HookNames.LnFinalNormalized;
    }

    /// <summary>
    /// Runs the model on a batch of token sequences (lengths may differ: rows are left-padded and masked, positions counted
    /// from each row's first real token, so each row's logits equal its unbatched run up to float rounding: the batch's GEMM
    /// shapes differ from a single row's, which can change a sum's rounding, ~1e-5 in a logit; bit-identical when
    /// both passes have at least <see cref="Numerics.IGemmProvider.RowInvariantFrom"/> token rows on the managed GEMM).
    /// </summary>
    public ForwardResult Forward(IReadOnlyList<int[]> batch, HookSet? hooks = null, LogitsMode mode = LogitsMode.Last) =>
        Forward(batch, new ForwardOptions { Hooks = hooks, Mode = mode });

    /// <summary>
    /// The one forward pass: every entry point (scoring, discovery, sweeps, classification, generation) runs through here.
    /// <list type="bullet">
    /// <item><see cref="ForwardOptions.Past"/>: per row a <see cref="KvCache"/> (or null): the row's tokens are the positions
    /// after the cache's, attend to the cached keys/values first, and are appended to the cache unless it is frozen.</item>
    /// <item><see cref="ForwardOptions.StartLayer"/> with <see cref="ForwardOptions.Residual"/>: begin at that block from the given
    /// <c>hook_resid_pre</c> [B, T, D] (the tokens then only give the shape, padding and positions).</item>
    /// <item><see cref="ForwardOptions.StopLayer"/>: run blocks [start, stop) only and return the residual instead of logits.</item>
    /// <item><see cref="ForwardOptions.OnLogits"/>: hand the logits to a sink chunk by chunk instead of returning them.</item>
    /// </list>
    /// Hooks fire in every mode (on the positions and layers this pass computes); with none set each point costs a null check.
    /// </summary>
    public ForwardResult Forward(IReadOnlyList<int[]> batch, ForwardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ValidateBatch(batch, options.Past);
        int NL = Config.NLayers;
        int start = options.StartLayer, stop = options.StopLayer ?? NL;
        if (start < 0 || start > NL) throw new ArgumentOutOfRangeException(nameof(options), $"start layer {start} is out of range 0..{NL}");
        if (stop < start || stop > NL) throw new ArgumentOutOfRangeException(nameof(options), $"stop layer {stop} is out of range {start}..{NL}");
        var plan = Plan(options.Hooks);
        using var st = new ForwardState(Config, batch, options.Past);
        bool partial = start > 0 || options.StopLayer is not null;
        foreach (var c in st.Caches)
            if (c is { Frozen: false })
            {
                if (partial) throw new ArgumentException("a pass that starts or stops mid-model can only read frozen KV caches (it would leave layers unfilled)", nameof(options));
                c.Reserve(st.T);
            }
        if (start == 0)
        {
            if (!options.Residual.IsEmpty) throw new ArgumentException("a residual is given only with a start layer > 0", nameof(options));
            Embed(st, plan);
        }
        else
        {
            int n = st.Rows * st.D;
            if (options.Residual.Length != n)
                throw new ArgumentException($"starting at layer {start} needs the residual [B={st.B}, T={st.T}, D={st.D}] ({n} floats), got {options.Residual.Length}", nameof(options));
            options.Residual.Span.CopyTo(st.X);
        }
        for (int l = start; l < stop; l++) RunBlock(st, l, plan);
        if (options.StopLayer is not null)     // even = n_layers: the residual, as documented, not logits
            return new ForwardResult { Logits = [], Batch = st.B, Positions = 0, Vocab = Config.VocabSize, PadLeft = st.PadLeft, SeqLen = st.T,
                                       Residual = st.X.AsSpan(0, st.Rows * st.D).ToArray() };
        var r = Final(st, plan, options.Mode, options.OnLogits, options.LogitsChunkRows, options.LogitsMinGemmRows);
        for (int b = 0; b < st.B; b++)
            if (st.Caches[b] is { Frozen: false } c) c.Commit(st.T - st.PadLeft[b]);
        return r;
    }

    /// <summary>
    /// Row <paramref name="neuron"/> of layer <paramref name="layer"/>'s MLP output matrix W_out [d_mlp, d_model] widened to
    /// float32: the direction the neuron writes into the residual stream (its post-activation times this row is its share of
    /// <c>hook_mlp_out</c>, before the bias).
    /// </summary>
    public float[] NeuronOutputDirection(int layer, int neuron)
    {
        if ((uint)layer >= (uint)Config.NLayers) throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} is out of range 0..{Config.NLayers - 1}");
        if ((uint)neuron >= (uint)Config.DMlp) throw new ArgumentOutOfRangeException(nameof(neuron), $"neuron {neuron} is out of range 0..{Config.DMlp - 1}");
        var w = Weights.Layers[layer].Wout;     // K = d_mlp, N = d_model
        var row = new float[w.N];
        if (!w.Transposed) WeightRows.Copy(w, neuron, row);
        else for (int j = 0; j < w.N; j++) row[j] = w[neuron, j];
        return row;
    }

    /// <summary>One sequence; returns last-position logits [vocab].</summary>
    public float[] ForwardLast(int[] ids, HookSet? hooks = null) => Forward([ids], hooks).Logits.AsSpan(0, Config.VocabSize).ToArray();

    /// <summary>Runs with the given hooks and returns copies of the named activations (TransformerLens <c>run_with_cache</c>).</summary>
    public (ForwardResult Result, ActivationCache Cache) RunWithCache(IReadOnlyList<int[]> batch, IEnumerable<string> names, HookSet? hooks = null, LogitsMode mode = LogitsMode.Last)
    {
        var cache = new ActivationCache();
        var set = new HookSet();
        if (hooks is not null) foreach (var (n, f) in hooks.Snapshot()) set.Add(n, f);
        foreach (var name in names.Distinct()) set.Add(name, cache.Record);
        var r = Forward(batch, set, mode);
        return (r, cache);
    }

    public void ValidateBatch(IReadOnlyList<int[]> batch, IReadOnlyList<KvCache?>? past = null)
    {
        if (batch.Count == 0) throw new SnaInputException("the batch is empty");
        if (past is not null && past.Count != batch.Count) throw new ArgumentException($"{past.Count} KV caches for {batch.Count} sequences");
        for (int b = 0; b < batch.Count; b++)
        {
            var s = batch[b];
            var c = past?[b];
            int before = c?.Length ?? 0;
            if (c is not null)
            {
                if (!c.Matches(Config)) throw new ArgumentException($"the KV cache of sequence {b} was made for another model shape");
                if (!c.Frozen)
                    for (int o = 0; o < b; o++)
                        if (ReferenceEquals(past![o], c)) throw new ArgumentException($"sequences {o} and {b} share one KV cache that is not frozen");
            }
            if (s is null || s.Length == 0) throw new SnaInputException($"sequence {b} is empty");
            if (before + s.Length > Config.NCtx)
                throw new SnaInputException(before == 0 ? $"sequence {b} has {s.Length} tokens; the model's context is {Config.NCtx}"
                                                        : $"sequence {b} has {before} cached + {s.Length} new tokens; the model's context is {Config.NCtx}");
            foreach (int id in s)
                if ((uint)id >= (uint)Config.VocabSize) throw new ArgumentOutOfRangeException(nameof(batch), $"token id {id} in sequence {b} is outside the vocabulary [0, {Config.VocabSize})");
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Embedding

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Embed(ForwardState st, HookPlan plan)
    {
        int D = st.D;
        var emb = Weights.TokenEmbedding;           // [vocab, D], Transposed view
        var x = st.X.AsSpan(0, st.Rows * D);        // [B·T, D]
        for (int b = 0; b < st.B; b++)
            for (int t = 0; t < st.T; t++)
            {
                var row = x.Slice((b * st.T + t) * D, D);
                if (t < st.PadLeft[b]) { row.Clear(); continue; }
                WeightRows.Copy(emb, st.Tokens[b * st.T + t], row);
            }
        Span<int> shape = [st.B, st.T, D];
        Fire(plan.Get(HookNames.Embed), HookNames.Embed, -1, x, shape, st);

        if (Config.Architecture == ArchitectureKind.Gpt2)
        {
            // hook_pos_embed is a separate activation [B, T, D]; the residual is embed + pos_embed.
            var pos = st.AttnOut.AsSpan(0, st.Rows * D);
            for (int b = 0; b < st.B; b++)
                for (int t = 0; t < st.T; t++)
                {
                    var row = pos.Slice((b * st.T + t) * D, D);
                    int p = t - st.PadLeft[b];
                    if (p < 0) { row.Clear(); continue; }
                    p += st.Past[b];
                    Weights.PosEmbedding.AsSpan(p * D, D).CopyTo(row);
                }
            Fire(plan.Get(HookNames.PosEmbed), HookNames.PosEmbed, -1, pos, shape, st);
            TensorPrimitives.Add(x, pos, x);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Final LayerNorm and unembedding

    /// <summary>
    /// The final norm and the one unembedding: logits [B·positions, vocab] for the last position of each row (or every
    /// position), returned, or handed to <paramref name="sink"/> <paramref name="chunkRows"/> rows at a time from a pooled buffer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ForwardResult Final(ForwardState st, HookPlan plan, LogitsMode mode, LogitsSink? sink, int chunkRows, int minGemmRows)
    {
        int D = st.D, V = Config.VocabSize;
        var lnScaleHook = plan.Get(HookNames.LnFinalScale);
        var lnNormHook = plan.Get(HookNames.LnFinalNormalized);
        bool allRows = mode == LogitsMode.All || lnScaleHook is not null || lnNormHook is not null;
        int positions = mode == LogitsMode.All ? st.T : 1;
        var lnOut = st.Ln.AsSpan(0, st.Rows * D);
        if (allRows)
        {
            Normalize(st.X.AsSpan(0, st.Rows * D), Weights.LnFinalW, Weights.LnFinalB, lnOut, st.Scale.AsSpan(0, st.Rows));
            Span<int> sShape = [st.B, st.T, 1];
            Span<int> nShape = [st.B, st.T, D];
            Fire(lnScaleHook, HookNames.LnFinalScale, -1, st.Scale.AsSpan(0, st.Rows), sShape, st);
            Fire(lnNormHook, HookNames.LnFinalNormalized, -1, lnOut, nShape, st);
        }
        // Gather the rows to unembed: [B·positions, D]
        var rows = st.Ln2.AsSpan(0, st.B * positions * D);
        for (int b = 0; b < st.B; b++)
        {
            if (positions == 1)
            {
                int r = b * st.T + st.T - 1;
                if (allRows) lnOut.Slice(r * D, D).CopyTo(rows.Slice(b * D, D));
                else Normalize(st.X.AsSpan(r * D, D), Weights.LnFinalW, Weights.LnFinalB, rows.Slice(b * D, D), st.Scale.AsSpan(0, 1));
            }
            else lnOut.Slice(b * st.T * D, st.T * D).CopyTo(rows.Slice(b * st.T * D, st.T * D));
        }
        int R = st.B * positions;
        var result = new ForwardResult { Logits = sink is null ? new float[R * V] : [], Batch = st.B, Positions = positions, Vocab = V, PadLeft = st.PadLeft, SeqLen = st.T };
        // With a sink: ⌈R / chunkRows⌉ chunks of equal size (±1 row), not full chunks and a small tail (a tail of a few rows
        // is a slow GEMM shape, and on [N,K] weights the GEMM's small-M path rounds differently from the packed one).
        int chunks = sink is null || R == 0 ? 1 : (R + Math.Max(1, chunkRows) - 1) / Math.Max(1, chunkRows);
        int chunk = (R + chunks - 1) / chunks;
        int gemmRows = sink is null ? chunk : Math.Max(chunk, minGemmRows);
        var buf = sink is null ? result.Logits : System.Buffers.ArrayPool<float>.Shared.Rent(Math.Max(1, gemmRows * V));
        var padIn = sink is not null && minGemmRows > 0 && R / chunks < minGemmRows ? System.Buffers.ArrayPool<float>.Shared.Rent(minGemmRows * D) : null;
        try
        {
            for (int ci = 0, r0 = 0; ci < chunks && r0 < R; ci++)
            {
                int n = R / chunks + (ci < R % chunks ? 1 : 0);
                var logits = sink is null ? buf.AsSpan(r0 * V, n * V) : buf.AsSpan(0, n * V);     // [n, V]
                if (padIn is not null && n < minGemmRows)
                {
                    var a = padIn.AsSpan(0, minGemmRows * D);                                       // [minGemmRows, D]
                    rows.Slice(r0 * D, n * D).CopyTo(a);
                    a.Slice(n * D).Clear();
                    Linear(a, minGemmRows, Weights.Unembed, Weights.UnembedBias, buf.AsSpan(0, minGemmRows * V));
                }
                else Linear(rows.Slice(r0 * D, n * D), n, Weights.Unembed, Weights.UnembedBias, logits);
                sink?.Invoke(r0, n, logits);
                r0 += n;
            }
        }
        finally
        {
            if (sink is not null) System.Buffers.ArrayPool<float>.Shared.Return(buf);
            if (padIn is not null) System.Buffers.ArrayPool<float>.Shared.Return(padIn);
        }
        return result;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Helpers shared by the architectures

    /// <summary>LayerNorm (GPT-2, NeoX) or RMSNorm (Llama) over rows of width d_model.</summary>
    internal void Normalize(ReadOnlySpan<float> x, float[] w, float[] b, Span<float> y, Span<float> scale)
    {
        if (Config.Architecture == ArchitectureKind.Llama) LayerNorm.RmsForward(x, w, Config.LayerNormEps, y, scale, Config.DModel);
        else LayerNorm.Forward(x, w, b, Config.LayerNormEps, y, scale, Config.DModel);
    }

    /// <summary>y[rows, N] = x[rows, K] · W (+ bias).</summary>
    /// <summary>y [rows, N] = x [rows, K] · w + bias, then <paramref name="activation"/> (in the GEMM's epilogue).</summary>
    internal void Linear(ReadOnlySpan<float> x, int rows, in WeightMatrix w, float[] bias, Span<float> y, GemmActivation activation = GemmActivation.None) =>
        Gemm.Sgemm(x, rows, w, y, new GemmEpilogue(bias, activation));

    internal static void Fire(HookFn? fn, string name, int layer, Span<float> data, ReadOnlySpan<int> shape, ForwardState st)
    {
        if (fn is null) return;
        fn(new HookContext(name, layer, data, shape, st.PadLeft));
    }

    internal void FireBlock(HookPlan plan, int layer, HookNames.Block p, Span<float> data, ReadOnlySpan<int> shape, ForwardState st)
    {
        var fn = plan.Get(layer, p);
        if (fn is null) return;
        fn(new HookContext(HookNames.BlockName(layer, p), layer, data, shape, st.PadLeft));
    }

    /// <summary>Releases the weights (the loaded model only; views made by <see cref="WithHooks(HookSet)"/> own nothing).</summary>
    public void Dispose() { if (_ownsWeights) Weights.Dispose(); }
}

/// <summary>Where a model came from, recorded with every run.</summary>
public sealed record ModelProvenance
{
    public string Source { get; init; } = "(in memory)";
    public string ContentHash { get; init; } = "";
    public string StoredDType { get; init; } = "";
    public string ComputeWeightsDType { get; init; } = "";
}
