namespace Sna.Runtime.Models;

/// <summary>
/// The keys (after rotary) and values of the positions already computed for one sequence, per layer (TransformerLens'
/// <c>HookedTransformerKeyValueCache</c> for one batch row). A forward pass given a cache for a row attends to its
/// <see cref="Length"/> positions first, numbers the row's new tokens from <see cref="Length"/> on and, unless the cache is
/// frozen, appends their keys and values. A frozen cache is read-only and may be shared by any number of rows and threads
/// (the sweep's prefix of one prompt under hundreds of configurations).
/// </summary>
public sealed class KvCache
{
    private readonly int _layers, _width;         // width = Hkv · dh
    private float[][] _k, _v;                     // [layer][capacity · Hkv · dh]: position p at [p · width, (p+1) · width)

    /// <summary>Positions held.</summary>
    public int Length { get; private set; }
    /// <summary>Read-only: forward passes read it and never append.</summary>
    public bool Frozen { get; private set; }
    public int Capacity => _k.Length == 0 ? 0 : _k[0].Length / _width;

    /// <summary>An empty cache for a model with this configuration, with room for <paramref name="capacity"/> positions (it grows as needed).</summary>
    public KvCache(ModelConfig config, int capacity = 16)
    {
        _layers = config.NLayers; _width = config.NKvHeads * config.DHead;
        capacity = Math.Max(1, capacity);
        _k = new float[_layers][]; _v = new float[_layers][];
        for (int l = 0; l < _layers; l++) { _k[l] = new float[capacity * _width]; _v[l] = new float[capacity * _width]; }
    }

    private KvCache(KvCache src, int length)
    {
        _layers = src._layers; _width = src._width; _k = src._k; _v = src._v;
        Length = length; Frozen = true;
    }

    /// <summary>
    /// A read-only view of the first <paramref name="length"/> positions (default: all), sharing this cache's memory. Do not
    /// append to this cache afterwards while the view is in use at positions it overwrites (appending only writes past
    /// <see cref="Length"/>, so views of shorter prefixes stay valid).
    /// </summary>
    public KvCache Freeze(int? length = null)
    {
        int n = length ?? Length;
        if (n < 0 || n > Length) throw new ArgumentOutOfRangeException(nameof(length), $"the cache holds {Length} positions, asked for {n}");
        return new KvCache(this, n);
    }

    /// <summary>Keys of <paramref name="layer"/>: [Length, Hkv, dh] (after rotary for rotary models).</summary>
    public ReadOnlySpan<float> Keys(int layer) => _k[layer].AsSpan(0, Length * _width);
    /// <summary>Values of <paramref name="layer"/>: [Length, Hkv, dh].</summary>
    public ReadOnlySpan<float> Values(int layer) => _v[layer].AsSpan(0, Length * _width);

    /// <summary>Bytes held by the arrays (shared with frozen views).</summary>
    public long Bytes => 2L * _layers * (_k.Length == 0 ? 0 : _k[0].Length) * sizeof(float);

    internal int Width => _width;
    internal bool Matches(ModelConfig c) => _layers == c.NLayers && _width == c.NKvHeads * c.DHead;
    internal float[] K(int layer) => _k[layer];
    internal float[] V(int layer) => _v[layer];

    /// <summary>Makes room for <paramref name="extra"/> more positions (called before a pass writes them).</summary>
    internal void Reserve(int extra)
    {
        if (Frozen) throw new InvalidOperationException("the cache is frozen (read-only)");
        int need = Length + extra;
        if (need <= Capacity) return;
        int cap = Math.Max(need, Capacity * 2);
        for (int l = 0; l < _layers; l++)
        {
            Array.Resize(ref _k[l], cap * _width);
            Array.Resize(ref _v[l], cap * _width);
        }
    }

    /// <summary>Counts <paramref name="n"/> positions written by a completed pass.</summary>
    internal void Commit(int n) => Length += n;
}
