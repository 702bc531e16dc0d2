namespace Sna.Runtime.Models;

/// <summary>
/// A recorded activation (or logits): a row-major copy of the data with its TransformerLens shape, e.g.
/// <c>[batch, pos, d_mlp]</c> for <c>blocks.L.mlp.hook_post</c>, <c>[batch, pos, d_model]</c> for the residual hooks,
/// <c>[batch, pos, head, d_head]</c> for <c>attn.hook_q/k/v/z</c>, <c>[batch, head, query_pos, key_pos]</c> for
/// <c>attn.hook_pattern</c>, <c>[batch, pos, 1]</c> for LayerNorm scales and <c>[batch, pos, d_vocab]</c> for logits.
/// Rows of a batch are left-padded: position <c>t</c> of row <c>b</c> is real iff <c>t ≥ PadLeft[b]</c>. Not a tensor library:
/// indexers, <see cref="Row"/> and <see cref="Data"/> are all there is.
/// </summary>
/// <param name="Name">Hook name (or <c>logits</c>).</param>
/// <param name="Data">The values, row-major over <paramref name="Shape"/>.</param>
/// <param name="Shape">TransformerLens shape; the first dimension is the batch.</param>
/// <param name="PadLeft">Per batch row, how many padding positions precede its first real token.</param>
public sealed record Activation(string Name, float[] Data, int[] Shape, int[] PadLeft)
{
    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>Element <c>[b, i]</c> of a rank-2 tensor.</summary>
    public float this[int b, int i] => Data[Offset([b, i])];

    /// <summary>Element <c>[b, t, i]</c> of a rank-3 tensor (e.g. <c>[batch, pos, d_mlp]</c>: row <c>b</c>, position <c>t</c>, neuron <c>i</c>).</summary>
    public float this[int b, int t, int i] => Data[Offset([b, t, i])];

    /// <summary>Element <c>[b, x, y, z]</c> of a rank-4 tensor (e.g. <c>[batch, pos, head, d_head]</c> or <c>[batch, head, q, k]</c>).</summary>
    public float this[int b, int x, int y, int z] => Data[Offset([b, x, y, z])];

    /// <summary>
    /// Everything under <c>[b, t]</c>: for <c>[batch, pos, d]</c> the <c>d</c> values of row <c>b</c> at position <c>t</c>; for a
    /// rank-4 tensor the trailing two dimensions, row-major.
    /// </summary>
    public ReadOnlySpan<float> Row(int b, int t)
    {
        if (Shape.Length < 3) throw new InvalidOperationException($"{Name} has shape [{string.Join(", ", Shape)}]; Row(b, t) needs at least 3 dimensions");
        Check(0, b); Check(1, t);
        int inner = 1;
        for (int d = 2; d < Shape.Length; d++) inner *= Shape[d];
        return Data.AsSpan((b * Shape[1] + t) * inner, inner);
    }

    /// <summary>The values of the last dimension's index <paramref name="i"/> along positions for batch row <paramref name="b"/>
    /// of a <c>[batch, pos, d]</c> tensor (one neuron's activation at every position), padding included.</summary>
    public float[] Column(int b, int i)
    {
        if (Shape.Length != 3) throw new InvalidOperationException($"{Name} has shape [{string.Join(", ", Shape)}]; Column(b, i) needs [batch, pos, d]");
        Check(0, b); Check(2, i);
        var r = new float[Shape[1]];
        for (int t = 0; t < r.Length; t++) r[t] = Data[(b * Shape[1] + t) * Shape[2] + i];
        return r;
    }

    private int Offset(ReadOnlySpan<int> index)
    {
        if (index.Length != Shape.Length)
            throw new InvalidOperationException($"{Name} has shape [{string.Join(", ", Shape)}]; it takes {Shape.Length} indices, got {index.Length}");
        int o = 0;
        for (int d = 0; d < index.Length; d++)
        {
            Check(d, index[d]);
            o = o * Shape[d] + index[d];
        }
        return o;
    }

    private void Check(int dim, int i)
    {
        if ((uint)i >= (uint)Shape[dim])
            throw new IndexOutOfRangeException($"{Name}: index {i} is out of range for dimension {dim} of size {Shape[dim]} (shape [{string.Join(", ", Shape)}])");
    }
}

/// <summary>Activations recorded by <see cref="TransformerModel.RunWithCache"/>, keyed by hook name.</summary>
public sealed class ActivationCache
{
    private readonly Dictionary<string, Activation> _items = new(StringComparer.Ordinal);

    public Activation this[string name] => _items.TryGetValue(name, out var a) ? a
        : throw new KeyNotFoundException($"activation '{name}' was not cached");

    public IReadOnlyCollection<string> Names => _items.Keys;
    public bool Contains(string name) => _items.ContainsKey(name);

    internal void Record(HookContext ctx)
    {
        lock (_items) _items[ctx.Name] = new Activation(ctx.Name, ctx.Data.ToArray(), ctx.Shape.ToArray(), ctx.PadLeft.ToArray());
    }
}
