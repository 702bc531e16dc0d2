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

    /// <summary>Logits at the last position of batch row <paramref name="b"/>.</summary>
    public ReadOnlySpan<float> Last(int b) => Logits.AsSpan(((b * Positions) + Positions - 1) * Vocab, Vocab);

    /// <summary>Logits at padded position <paramref name="t"/> of row <paramref name="b"/> (All mode).</summary>
    public ReadOnlySpan<float> At(int b, int t) =>
        Positions == 1 ? throw new InvalidOperationException("run with LogitsMode.All to read every position")
                       : Logits.AsSpan(((b * Positions) + t) * Vocab, Vocab);
}

/// <summary>
/// A decoder-only transformer (GPT-2, GPT-NeoX, Llama) evaluated in float32 on the CPU, with TransformerLens hook points.
/// The model is immutable after loading and safe to share across threads: each forward pass has its own buffers.
/// Hooks come from the persistent <see cref="Hooks"/> set (like TransformerLens' <c>add_hook</c>) and from the per-call set
/// (like <c>run_with_hooks</c>, which leaves nothing behind).
/// </summary>
public sealed partial class TransformerModel : IDisposable
{
    public ModelConfig Config { get; }
    public ModelWeights Weights { get; }
    public IGemmProvider Gemm { get; set; }
    /// <summary>Persistent hooks, applied on every run until removed.</summary>
    public HookSet Hooks { get; } = new();
    /// <summary>Where the model came from and what it was (directory, file hash, dtype), for run records.</summary>
    public ModelProvenance Provenance { get; init; } = new();
    /// <summary>Threads used for attention; GEMM threading is the provider's.</summary>
    public int Threads { get; set; } = Environment.ProcessorCount;

    private readonly IReadOnlySet<string> _supportedHooks;

    public TransformerModel(ModelConfig config, ModelWeights weights, IGemmProvider? gemm = null)
    {
        config.Validate();
        Config = config;
        Weights = weights;
        Gemm = gemm ?? GemmProviders.Default;
        _supportedHooks = SupportedHookSuffixes(config);
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
    /// from each row's first real token, so each row's logits equal its unbatched run).
    /// </summary>
    public ForwardResult Forward(IReadOnlyList<int[]> batch, HookSet? hooks = null, LogitsMode mode = LogitsMode.Last)
    {
        ValidateBatch(batch);
        var plan = HookPlan.Build(Config.NLayers, _supportedHooks, Hooks, hooks);
        using var st = new ForwardState(Config, batch);
        Embed(st, plan);
        for (int l = 0; l < Config.NLayers; l++) RunBlock(st, l, plan);
        return Final(st, plan, mode);
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

    public void ValidateBatch(IReadOnlyList<int[]> batch)
    {
        if (batch.Count == 0) throw new ArgumentException("the batch is empty");
        for (int b = 0; b < batch.Count; b++)
        {
            var s = batch[b];
            if (s is null || s.Length == 0) throw new ArgumentException($"sequence {b} is empty");
            if (s.Length > Config.NCtx) throw new ArgumentException($"sequence {b} has {s.Length} tokens; the model's context is {Config.NCtx}");
            foreach (int id in s)
                if ((uint)id >= (uint)Config.VocabSize) throw new ArgumentOutOfRangeException(nameof(batch), $"token id {id} in sequence {b} is outside the vocabulary [0, {Config.VocabSize})");
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Embedding

    internal unsafe void Embed(ForwardState st, HookPlan plan)
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
                    if (p < 0) row.Clear();
                    else Weights.PosEmbedding.AsSpan(p * D, D).CopyTo(row);
                }
            Fire(plan.Get(HookNames.PosEmbed), HookNames.PosEmbed, -1, pos, shape, st);
            TensorPrimitives.Add(x, pos, x);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Final LayerNorm and unembedding

    internal ForwardResult Final(ForwardState st, HookPlan plan, LogitsMode mode)
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
        var logits = new float[st.B * positions * V];
        Gemm.Sgemm(rows, st.B * positions, Weights.Unembed, logits, accumulate: false);
        if (Weights.UnembedBias.Length > 0)
            for (int r = 0; r < st.B * positions; r++)
                TensorPrimitives.Add(logits.AsSpan(r * V, V), Weights.UnembedBias, logits.AsSpan(r * V, V));
        return new ForwardResult { Logits = logits, Batch = st.B, Positions = positions, Vocab = V, PadLeft = st.PadLeft, SeqLen = st.T };
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
    internal void Linear(ReadOnlySpan<float> x, int rows, in WeightMatrix w, float[] bias, Span<float> y)
    {
        Gemm.Sgemm(x, rows, w, y, accumulate: false);
        if (bias.Length > 0)
        {
            int n = w.N;
            for (int r = 0; r < rows; r++) TensorPrimitives.Add(y.Slice(r * n, n), bias, y.Slice(r * n, n));
        }
    }

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

    public void Dispose() => Weights.Dispose();
}

/// <summary>Where a model came from, recorded with every run.</summary>
public sealed record ModelProvenance
{
    public string Source { get; init; } = "(in memory)";
    public string ContentHash { get; init; } = "";
    public string StoredDType { get; init; } = "";
    public string ComputeWeightsDType { get; init; } = "";
}
