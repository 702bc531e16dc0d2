using Sna.Runtime.Numerics;

namespace Sna.Runtime.Models;

/// <summary>
/// The weights of one block. Matrices are <see cref="WeightMatrix"/> views (zero-copy into a memory-mapped checkpoint,
/// or into a <see cref="NativeBuffer"/>); vectors (LayerNorm gains, biases) are small float32 copies.
/// Shapes are in GEMM terms: K = input features, N = output features.
/// </summary>
public sealed class LayerWeights
{
    public float[] Ln1W = [];      // [d_model]
    public float[] Ln1B = [];      // [d_model] (empty for RMSNorm)
    public float[] Ln2W = [];      // [d_model]
    public float[] Ln2B = [];      // [d_model]
    /// <summary>Fused q,k,v projection: K = d_model, N = 3·d_model. GPT-2: columns [q | k | v]; NeoX: per head [q,k,v].</summary>
    public WeightMatrix Wqkv;
    public float[] Bqkv = [];      // [3·d_model] (empty when the architecture has no bias)
    public WeightMatrix Wo;        // K = d_model, N = d_model
    public float[] Bo = [];        // [d_model]
    public WeightMatrix Win;       // K = d_model, N = d_mlp (Llama: up_proj)
    public float[] Bin = [];       // [d_mlp]
    public WeightMatrix Wgate;     // Llama only: K = d_model, N = d_mlp
    public WeightMatrix Wout;      // K = d_mlp, N = d_model
    public float[] Bout = [];      // [d_model]
}

/// <summary>All weights of a model, and the resources (mappings, buffers) that back them.</summary>
public sealed class ModelWeights : IDisposable
{
    /// <summary>Token embedding, stored [vocab, d_model] (a Transposed matrix: K = d_model, N = vocab).</summary>
    public WeightMatrix TokenEmbedding;
    /// <summary>Learned positional embedding [n_ctx, d_model] (GPT-2), empty otherwise.</summary>
    public float[] PosEmbedding = [];
    public LayerWeights[] Layers = [];
    public float[] LnFinalW = [];  // [d_model]
    public float[] LnFinalB = [];  // [d_model]
    /// <summary>Unembedding, K = d_model, N = vocab (the token embedding itself when tied).</summary>
    public WeightMatrix Unembed;
    public float[] UnembedBias = [];
    /// <summary>Whatever owns the memory the matrices point into.</summary>
    public List<IDisposable> Owners { get; } = new();

    public void Dispose()
    {
        foreach (var o in Owners) o.Dispose();
        Owners.Clear();
    }
}
