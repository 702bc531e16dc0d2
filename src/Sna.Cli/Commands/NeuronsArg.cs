using System.Text.Json.Nodes;
using Sna.Research.Method;
using Sna.Runtime;
using Sna.Runtime.Models;

namespace Sna.Cli.Commands;

/// <summary>
/// A <c>--neurons</c> value: explicit indices (with <c>--layer</c>), or a neuron set file (<c>set.json</c> / <c>@set.json</c>,
/// <see cref="NeuronSetFile"/>) whose layer is <c>--layer</c> or its only layer, optionally cut to its first <c>--count</c>.
/// </summary>
internal sealed class NeuronsArg
{
    public string? Path { get; private init; }
    public NeuronSetFile? Set { get; private init; }
    private int[]? _indices;
    private int? _layer;
    private int? _count;

    /// <summary>Parses the value (reading and checking a set file) before the model is loaded.</summary>
    public static NeuronsArg Parse(string value, int? layer, int? count, string option = "--neurons")
    {
        if (Options.IsNeuronSetFile(value, out string path))
        {
            var set = NeuronSetFile.Read(path);
            set.Layer(layer, path); // the layer exists (or the set has one layer)
            return new NeuronsArg { Path = path, Set = set, _layer = layer, _count = count };
        }
        if (count is not null) throw new SnaInputException("--count", "--count takes the first K neurons of a set file or the task's top K; with explicit --neurons i,j,k leave it out");
        if (layer is null) throw new SnaInputException("--layer", "give --layer L (the layer of the neurons in --neurons i,j,k)");
        return new NeuronsArg { _indices = Options.ParseNeurons(value, option), _layer = layer };
    }

    /// <summary>The layer and neurons, checked against the model; warns in one line (stderr) when the set's model differs.</summary>
    public (int Layer, IReadOnlyList<int> Neurons) Resolve(TransformerModel m)
    {
        if (Set is null)
            return (InputParsing.CheckLayer(_layer!.Value, m.Config.NLayers), InputParsing.CheckNeurons(_indices!, m.Config.DMlp));
        if (Set.ModelMismatch(m, Path!) is { } warning) Console.Error.WriteLine("warning: " + warning);
        var layer = Set.Layer(_layer, Path!);
        int l = InputParsing.CheckLayer(layer.Layer, m.Config.NLayers);
        if (_count is { } k && k > layer.Neurons.Count)
            throw new SnaInputException("--count", $"--count {k} but {Path} holds {layer.Neurons.Count} neurons at layer {l}");
        return (l, InputParsing.CheckNeurons(layer.Indices(_count), m.Config.DMlp));
    }

    /// <summary>Adds <c>neuron_set</c> (path, file sha256, method, the set's model sha256 and texts hash) to a run record.</summary>
    public void AddTo(JsonObject run)
    {
        if (Set is null) return;
        run["neuron_set"] = new JsonObject
        {
            ["path"] = Path,
            ["sha256"] = NeuronSetFile.FileHash(Path!),
            ["method"] = Set.Method,
            ["model_sha256"] = Set.ModelSha256,
            ["texts_sha256"] = Set.TextsSha256,
            ["bos"] = Set.Bos,
        };
    }
}
