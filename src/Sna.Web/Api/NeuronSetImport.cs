using Sna.Research.Method;
using Sna.Web.Models;

namespace Sna.Web.Api;

/// <summary>POST /api/neuron-set: a neuron set file's JSON text (uploaded or pasted) for <see cref="Model"/>.</summary>
public sealed record NeuronSetRequest(string? Model, string? Set);

/// <summary>One layer of an imported set: its neurons in the file's order and their scores.</summary>
public sealed record NeuronSetLayerInfo(int Layer, int[] Neurons, double[] Scores);

/// <summary>
/// The set, checked by the library's strict reader (<see cref="NeuronSetFile.Parse"/>) and against the model's shape;
/// <see cref="Warning"/> says when it was found on another model (other sha256).
/// </summary>
public sealed record NeuronSetResponse(string Model, string Method, string? Task, string SetModel, string SetModelSha256, bool SameModel,
    string Bos, string TextsSha256, string ToolVersion, string Created, NeuronSetLayerInfo[] Layers, string? Warning);

/// <summary>Imports a neuron set file into the amplify form: parse and check only (no computation besides the model hash).</summary>
public static class NeuronSetImport
{
    /// <summary>Largest set text accepted (the server takes request bodies up to 64 KiB; a 25-neuron × 12-layer set is about 15 kB).</summary>
    public const int MaxChars = 60_000;

    public static async Task<NeuronSetResponse> Import(NeuronSetRequest r, SnaService s, ModelCatalog catalog, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(r.Model)) throw new RequestValidationException("model", "model is required: an id from GET /api/models");
        if (!catalog.TryGet(r.Model, out var entry))
            throw new NotFoundException("Unknown model.", $"there is no model with id '{(r.Model.Length > 40 ? r.Model[..40] + "…" : r.Model)}'; GET /api/models lists the models this server offers");
        if (!entry.Available) throw new RequestValidationException("model", $"model '{entry.Id}' is not available: {entry.Note}");
        if (string.IsNullOrWhiteSpace(r.Set)) throw new RequestValidationException("set", "set is required: the text of a neuron set file ('sna neurons --out set.json')");
        if (r.Set.Length > MaxChars) throw new RequestValidationException("set", $"set is {r.Set.Length} characters; the limit is {MaxChars}");
        NeuronSetFile set;
        try { set = NeuronSetFile.Parse(r.Set, "the neuron set"); }
        catch (Sna.Runtime.SnaInputException e) { throw new RequestValidationException("set", e.Message); }
        foreach (var l in set.Layers)
        {
            if (entry.Layers is int n && l.Layer >= n)
                throw new RequestValidationException("set", $"the neuron set has layer {l.Layer}; model '{entry.Id}' has {n} layers (0..{n - 1})");
            if (entry.DMlp is int d && l.Neurons.Any(x => x.Index >= d))
                throw new RequestValidationException("set", $"the neuron set has neuron {l.Neurons.First(x => x.Index >= d).Index} at layer {l.Layer}; model '{entry.Id}' has {d} MLP neurons per layer");
        }
        return await s.Compute(entry, ct, (lm, _) =>
        {
            string? warning = set.ModelMismatch(lm.Model, "the neuron set");
            return new NeuronSetResponse(entry.Id, set.Method, set.Task, set.ModelId, set.ModelSha256, warning is null, set.Bos, set.TextsSha256,
                set.ToolVersion, set.Created.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
                set.Layers.Select(l => new NeuronSetLayerInfo(l.Layer, l.Indices(), l.Neurons.Select(x => x.Difference).ToArray())).ToArray(), warning);
        });
    }
}
