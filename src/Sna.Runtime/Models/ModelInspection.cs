using Sna.Runtime.Numerics;

namespace Sna.Runtime.Models;

/// <summary>One hook point: its TransformerLens name, layer (-1 for global points) and shape, each dimension named when it
/// is the batch or a position axis (<c>batch</c>, <c>pos</c>, <c>query_pos</c>, <c>key_pos</c>), else its size.</summary>
public sealed record HookPointInfo(string Name, int Layer, IReadOnlyList<object> Shape)
{
    /// <summary>The shape as TransformerLens writes it: <c>[batch, pos, 768]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// What <c>sna inspect</c> prints about a loaded model: configuration, parameter count (from the weights as held, a tied
/// unembedding counted once), the checkpoint's content hash, and every hook point with the shape measured by running the model
/// once on a short sequence with a hook on every point (so the list is what the forward pass fires, not a table that could drift).
/// </summary>
public sealed record ModelInspection(ModelConfig Config, ModelProvenance Provenance, long Parameters, IReadOnlyList<HookPointInfo> HookPoints)
{
    /// <summary>Positions of the probe sequence: a length that no model dimension of a real model equals.</summary>
    public const int ProbeLength = 7;

    public static ModelInspection Of(TransformerModel model)
    {
        var cfg = model.Config;
        var names = model.HookPointNames().ToList();
        var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal);
        var hooks = new HookSet();
        foreach (string n in names)
            hooks.Add(n, ctx => { lock (shapes) shapes[ctx.Name] = ctx.Shape.ToArray(); });
        var ids = new int[ProbeLength];
        for (int i = 0; i < ids.Length; i++) ids[i] = i % cfg.VocabSize;
        model.ForwardLast(ids, hooks);
        var points = names.Select(n =>
        {
            HookNames.TryParse(n, out int layer, out var point, out string? global);
            if (!shapes.TryGetValue(n, out var s)) throw new InvalidOperationException($"hook point {n} did not fire");
            bool pair = global is null && point is HookNames.Block.AttnScores or HookNames.Block.Pattern;
            var dims = new List<object>(s.Length);
            for (int d = 0; d < s.Length; d++)
            {
                if (d == 0) dims.Add("batch");
                else if (pair && d == s.Length - 2 && s[d] == ProbeLength) dims.Add("query_pos");
                else if (pair && d == s.Length - 1 && s[d] == ProbeLength) dims.Add("key_pos");
                else if (d == 1 && s[d] == ProbeLength) dims.Add("pos");
                else dims.Add(s[d]);
            }
            return new HookPointInfo(n, global is null ? layer : -1, dims);
        }).ToList();
        return new ModelInspection(cfg, model.Provenance, CountParameters(model.Weights, cfg), points);
    }

    /// <summary>Elements of every weight and bias as the model holds them; the unembedding is not counted again when tied.</summary>
    public static long CountParameters(ModelWeights w, ModelConfig cfg)
    {
        static long M(WeightMatrix m) => (long)m.K * m.N;
        long n = M(w.TokenEmbedding) + w.PosEmbedding.LongLength + w.LnFinalW.LongLength + w.LnFinalB.LongLength + w.UnembedBias.LongLength;
        unsafe { if (w.Unembed.Data != w.TokenEmbedding.Data) n += M(w.Unembed); }
        foreach (var l in w.Layers)
        {
            n += l.Ln1W.LongLength + l.Ln1B.LongLength + l.Ln2W.LongLength + l.Ln2B.LongLength;
            n += M(l.Wqkv) + l.Bqkv.LongLength + M(l.Wo) + l.Bo.LongLength + M(l.Win) + l.Bin.LongLength + M(l.Wout) + l.Bout.LongLength;
            unsafe { if (l.Wgate.Data != null) n += M(l.Wgate); }
        }
        return n;
    }
}
