using Sna.Runtime;
using Sna.Runtime.Models;

namespace Sna.Research.Method;

/// <summary>Which positions an amplification scales.</summary>
public enum PositionsMode { All, Last }

/// <summary>The one parser and formatter of <see cref="PositionsMode"/> (<c>all</c> | <c>last</c>) for every front end and record.</summary>
public static class PositionsModes
{
    /// <summary><c>all</c> or <c>last</c> (any case, surrounding spaces ignored); anything else is an input error naming <paramref name="option"/>.</summary>
    public static PositionsMode Parse(string s, string option = "--positions") =>
        TryParse(s) ?? throw new SnaInputException(option, $"{option} must be all or last, got '{InputParsing.Clip(s)}'");

    /// <summary><c>all</c>, <c>last</c> or <c>all,last</c> (both, in the order given).</summary>
    public static PositionsMode[] ParseList(string s, string option = "--positions") =>
        s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => TryParse(p) ?? throw new SnaInputException(option, $"{option} must be all, last or all,last, got '{InputParsing.Clip(p)}'"))
            .ToArray();

    private static PositionsMode? TryParse(string s) => s.Trim().ToLowerInvariant() switch
    {
        "all" => PositionsMode.All,
        "last" => PositionsMode.Last,
        _ => null,
    };

    /// <summary>"all" or "last", as runs record it (JSON <c>positions</c>, the web API, sweep records).</summary>
    public static string Name(PositionsMode p) => p == PositionsMode.Last ? "last" : "all";
}

/// <summary>The neurons of one layer that an amplification scales.</summary>
public sealed record LayerNeurons(int Layer, IReadOnlyList<int> Neurons);

/// <summary>
/// Selective Neuron Amplification: <c>blocks.{L}.mlp.hook_post[..., neurons] *= multiplier</c> at every position or only the
/// last real one, for one or several layers at once (composable: the paper's "multi-task surgery"). A multiplier of 0 ablates;
/// 1 leaves the model bit-identical. It is applied through hooks, so nothing in the model changes and removing the hooks
/// restores it exactly.
/// </summary>
public sealed record Amplification(IReadOnlyList<LayerNeurons> Sites, float Multiplier, PositionsMode Positions = PositionsMode.All)
{
    public static Amplification Single(int layer, IReadOnlyList<int> neurons, float multiplier, PositionsMode positions = PositionsMode.All) =>
        new([new LayerNeurons(layer, neurons)], multiplier, positions);

    /// <summary>Checks layers and neuron indices against the model: a clear error rather than an out-of-range write.</summary>
    public void Validate(ModelConfig config)
    {
        if (Sites.Count == 0) throw new SnaInputException("an amplification needs at least one layer");
        if (!float.IsFinite(Multiplier)) throw new SnaInputException($"multiplier must be finite, got {Multiplier}");
        foreach (var s in Sites)
        {
            if (s.Layer < 0 || s.Layer >= config.NLayers)
                throw new SnaInputException($"layer {s.Layer} is out of range: the model has {config.NLayers} layers (0..{config.NLayers - 1})");
            if (s.Neurons.Count == 0) throw new SnaInputException($"layer {s.Layer}: no neurons given");
            foreach (int n in s.Neurons)
                if (n < 0 || n >= config.DMlp)
                    throw new SnaInputException($"neuron {n} is out of range: layer {s.Layer} has {config.DMlp} MLP neurons (0..{config.DMlp - 1})");
        }
    }

    /// <summary>Adds this amplification's hooks to <paramref name="hooks"/>; dispose the result to remove them.</summary>
    public IDisposable AddTo(HookSet hooks, ModelConfig config)
    {
        Validate(config);
        var handles = new List<IDisposable>();
        foreach (var site in Sites)
        {
            int[] neurons = site.Neurons.Distinct().ToArray();
            float m = Multiplier;
            bool lastOnly = Positions == PositionsMode.Last;
            handles.Add(hooks.Add(HookNames.MlpPost(site.Layer), ctx => Scale(ctx, neurons, m, lastOnly)));
        }
        return new Handles(handles);
    }

    /// <summary>A fresh hook set holding only this amplification.</summary>
    public HookSet ToHooks(ModelConfig config)
    {
        var h = new HookSet();
        AddTo(h, config);
        return h;
    }

    /// <summary>Scales the chosen neurons of an activation shaped [batch, pos, d_mlp]; padding positions are left alone.</summary>
    internal static void Scale(HookContext ctx, int[] neurons, float multiplier, bool lastOnly)
    {
        int B = ctx.Shape[0], T = ctx.Shape[1], M = ctx.Shape[2];
        var data = ctx.Data;
        for (int b = 0; b < B; b++)
        {
            int first = lastOnly ? T - 1 : ctx.PadLeft[b];
            for (int t = first; t < T; t++)
            {
                var row = data.Slice((b * T + t) * M, M);
                foreach (int n in neurons) row[n] *= multiplier;
            }
        }
    }

    public override string ToString() =>
        string.Join(" + ", Sites.Select(s => $"L{s.Layer}[{string.Join(',', s.Neurons)}]")) + $" x{Multiplier} ({Positions.ToString().ToLowerInvariant()})";

    private sealed class Handles(List<IDisposable> list) : IDisposable
    {
        public void Dispose() { foreach (var h in list) h.Dispose(); }
    }
}
