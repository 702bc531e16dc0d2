namespace Sna.Runtime.Models;

/// <summary>
/// The version of the forward pass's numerics. Anything that stores numbers computed by the forward pass across runs
/// (the discovery cache) includes it in its key, so a fix that changes what a forward pass returns never reuses stale values.
/// Bump <see cref="Current"/> in the same commit as any change that alters forward-pass outputs (not for pure speedups
/// that are bitwise identical).
/// </summary>
public static class ForwardPassVersion
{
    /// <summary>Incremented whenever forward-pass outputs change.</summary>
    public const int Current = 4;   // 2: gelu_new in one pass with its own float exp (ulp-level changes)
                                    // 3: attention's dot products, softmax and weighted sum in inline loops (ulp-level changes)
                                    // 4: Llama's SiLU with the same float exp instead of TensorPrimitives.Sigmoid (ulp-level)
}
