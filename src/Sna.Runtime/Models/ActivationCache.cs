namespace Sna.Runtime.Models;

/// <summary>A recorded activation: a copy of the data and its TransformerLens shape.</summary>
public sealed record Activation(string Name, float[] Data, int[] Shape, int[] PadLeft)
{
    /// <summary>Slice [pos, last-dim] of batch row <paramref name="b"/> for [batch, pos, d] activations.</summary>
    public ReadOnlySpan<float> Row(int b, int pos)
    {
        int d = Shape[^1];
        return Data.AsSpan((b * Shape[1] + pos) * d, d);
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
