namespace Sna.Runtime.Models;

/// <summary>
/// What a hook sees: the activation at one hook point for the whole batch, as a mutable span in row-major order
/// with its shape (TransformerLens shapes: [batch, pos, d_model], [batch, pos, d_mlp], [batch, pos, head, d_head],
/// [batch, head, query_pos, key_pos], [batch, pos, 1] for LayerNorm scales). Modify <see cref="Data"/> in place to intervene.
/// </summary>
public readonly ref struct HookContext
{
    public HookContext(string name, int layer, Span<float> data, ReadOnlySpan<int> shape, ReadOnlySpan<int> padLeft)
    {
        Name = name; Layer = layer; Data = data; Shape = shape; PadLeft = padLeft;
    }

    /// <summary>TransformerLens hook name, e.g. <c>blocks.3.mlp.hook_post</c>.</summary>
    public string Name { get; }
    /// <summary>Block index, or -1 for global points.</summary>
    public int Layer { get; }
    public Span<float> Data { get; }
    public ReadOnlySpan<int> Shape { get; }
    /// <summary>Per batch row, how many padding positions precede its first real token (left padding).</summary>
    public ReadOnlySpan<int> PadLeft { get; }
    public int Batch => Shape[0];
}

/// <summary>A hook function. It runs synchronously on the forward pass's thread and may modify the activation in place.</summary>
public delegate void HookFn(HookContext ctx);

/// <summary>
/// A set of hooks keyed by TransformerLens hook names (several per name run in insertion order).
/// <see cref="Add"/> returns a handle whose <c>Dispose</c> removes that hook again.
/// </summary>
public sealed class HookSet
{
    private readonly List<(string Name, HookFn Fn, object Token)> _hooks = new();
    private readonly object _gate = new();
    private int _version;

    public static readonly HookSet Empty = new();

    public int Count { get { lock (_gate) return _hooks.Count; } }
    internal int Version => Volatile.Read(ref _version);

    public IDisposable Add(string name, HookFn fn)
    {
        if (!HookNames.TryParse(name, out _, out _, out _))
            throw new ArgumentException($"unknown hook point '{name}' (TransformerLens names such as 'blocks.0.mlp.hook_post')", nameof(name));
        var token = new object();
        lock (_gate) { _hooks.Add((name, fn, token)); _version++; }
        return new Remover(this, token);
    }

    public void Clear() { lock (_gate) { _hooks.Clear(); _version++; } }

    internal List<(string Name, HookFn Fn)> Snapshot()
    {
        lock (_gate) return _hooks.Select(h => (h.Name, h.Fn)).ToList();
    }

    private void Remove(object token)
    {
        lock (_gate) { _hooks.RemoveAll(h => ReferenceEquals(h.Token, token)); _version++; }
    }

    private sealed class Remover(HookSet owner, object token) : IDisposable
    {
        private int _done;
        public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) owner.Remove(token); }
    }
}

/// <summary>
/// Hooks compiled for one forward pass: a [layer, point] table of delegates (null where none) so a run with no hooks
/// pays only a null check per point. Validates that every named layer exists in the model.
/// </summary>
internal sealed class HookPlan
{
    private readonly HookFn?[] _block;   // [nLayers * BlockPointCount]
    private readonly Dictionary<string, HookFn> _global = new(StringComparer.Ordinal);
    public static readonly HookPlan None = new(0);
    public bool IsEmpty { get; private set; } = true;

    private HookPlan(int nLayers) { _block = new HookFn?[nLayers * HookNames.BlockPointCount]; }

    public static HookPlan Build(int nLayers, IReadOnlySet<string> supported, IReadOnlyList<(string Name, HookFn Fn)> persistent, HookSet? call)
    {
        HookPlan? plan = null;
        IReadOnlyList<(string Name, HookFn Fn)> perCall = call is null || call.Count == 0 ? [] : call.Snapshot();
        foreach (var list in new[] { persistent, perCall })
        {
            foreach (var (name, fn) in list)
            {
                plan ??= new HookPlan(nLayers);
                HookNames.TryParse(name, out int layer, out var point, out var global);
                if (!supported.Contains(global is null ? HookNames.Suffix(point) : global))
                    throw new ArgumentException($"hook point '{name}' does not exist in this architecture");
                if (global is not null)
                {
                    plan._global[global] = plan._global.TryGetValue(global, out var g) ? g + fn : fn;
                }
                else
                {
                    if (layer < 0 || layer >= nLayers)
                        throw new ArgumentOutOfRangeException("hooks", $"hook '{name}': layer {layer} is out of range (the model has {nLayers} layers, 0..{nLayers - 1})");
                    int i = layer * HookNames.BlockPointCount + (int)point;
                    plan._block[i] = plan._block[i] is { } f ? f + fn : fn;
                }
                plan.IsEmpty = false;
            }
        }
        return plan ?? None;
    }

    public HookFn? Get(int layer, HookNames.Block p) => IsEmpty ? null : _block[layer * HookNames.BlockPointCount + (int)p];
    public HookFn? Get(string global) => IsEmpty ? null : _global.GetValueOrDefault(global);
}
