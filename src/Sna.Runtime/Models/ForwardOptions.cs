namespace Sna.Runtime.Models;

/// <summary>
/// Receives logits [rows, vocab] of rows <c>firstRow .. firstRow + rows − 1</c> (row = b · positions + position) from a
/// pooled buffer that is reused after the call returns.
/// </summary>
public delegate void LogitsSink(int firstRow, int rows, ReadOnlySpan<float> logits);

/// <summary>What one <see cref="TransformerModel.Forward(IReadOnlyList{int[]}, ForwardOptions)"/> computes (TransformerLens:
/// <c>model(tokens, start_at_layer=, stop_at_layer=, past_kv_cache=)</c> with <c>run_with_hooks</c>).</summary>
public sealed record ForwardOptions
{
    /// <summary>Per-call hooks, after the model view's persistent ones.</summary>
    public HookSet? Hooks { get; init; }
    /// <summary>Which positions' logits: the last of each row, or all.</summary>
    public LogitsMode Mode { get; init; } = LogitsMode.Last;
    /// <summary>First block to run; &gt; 0 needs <see cref="Residual"/>.</summary>
    public int StartLayer { get; init; }
    /// <summary><c>blocks.{StartLayer}.hook_resid_pre</c> [B, T, d_model] (left-padded like the tokens) when <see cref="StartLayer"/> &gt; 0.</summary>
    public ReadOnlyMemory<float> Residual { get; init; }
    /// <summary>Run blocks [StartLayer, StopLayer) and return <see cref="ForwardResult.Residual"/> instead of logits; null = all.</summary>
    public int? StopLayer { get; init; }
    /// <summary>Per batch row, the KV cache of the positions before its tokens (or null). Non-frozen caches are appended to.</summary>
    public IReadOnlyList<KvCache?>? Past { get; init; }
    /// <summary>If set, the logits go here in chunks of <see cref="LogitsChunkRows"/> rows and <see cref="ForwardResult.Logits"/> is empty.</summary>
    public LogitsSink? OnLogits { get; init; }
    /// <summary>Rows per unembedding GEMM at most when <see cref="OnLogits"/> is set (bounds the [rows, vocab] buffer); R rows go
    /// in ⌈R / LogitsChunkRows⌉ chunks of equal size (±1).</summary>
    public int LogitsChunkRows { get; init; } = 128;
    /// <summary>With <see cref="OnLogits"/>: run each unembedding GEMM on at least this many rows (zero rows fill a smaller
    /// chunk; their logits are dropped), e.g. <see cref="Numerics.IGemmProvider.RowInvariantFrom"/> so that a row's logits do
    /// not depend on how many rows share its chunk. 0 = no padding.</summary>
    public int LogitsMinGemmRows { get; init; }
}
