using System.Text.Json.Nodes;
using Sna.Research.Storage;
using Sna.Research.Sweeps;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Provenance;

/// <summary>
/// The records that travel with a sweep's results (<c>summary --json</c>, exports, the report): the <c>model</c> the sweep ran
/// on and the <c>run</c> record (definition and its hash, BOS, positions, grid, version of the tool reading it).
/// </summary>
public static class SweepRecord
{
    /// <summary><c>{"path","sha256"}</c> of the sweep's model, from its stored definition.</summary>
    public static JsonObject Model(SweepDefinition def) => new()
    {
        ["path"] = def.Model.Path,
        ["name"] = Path.GetFileName(def.Model.Path.TrimEnd('/', '\\')),
        ["sha256"] = def.Model.ContentHash,
    };

    /// <summary>The run record of a stored sweep: its definition (as stored), its hash and the reading tool's version.</summary>
    public static JsonObject Run(SweepDefinition def, string definitionHash) => new()
    {
        ["sweep"] = def.Name,
        ["definition_sha256"] = definitionHash,
        ["model"] = def.Model.Path,
        ["model_sha256"] = def.Model.ContentHash,
        ["bos"] = ModelTokenizer.BosText(def.Bos),
        ["positions"] = new JsonArray(def.Positions.Select(p => (JsonNode)Sna.Research.Method.PositionsModes.Name(p)).ToArray()),
        ["layers"] = def.Layers is null ? "all" : new JsonArray(def.Layers.Select(l => (JsonNode)l).ToArray()),
        ["counts"] = new JsonArray(def.Counts.Select(c => (JsonNode)c).ToArray()),
        ["multipliers"] = new JsonArray(def.Multipliers.Select(m => (JsonNode)m).ToArray()),
        ["neuron_source"] = def.NeuronSource,
        ["definition"] = JsonNode.Parse(def.ToJson()),
        ["sna_version"] = SnaVersion.Text,
    };

    /// <summary>Both records of the sweep in <paramref name="store"/>; null when the database holds no definition.</summary>
    public static (JsonObject Model, JsonObject Run)? Read(ResultStore store) =>
        store.ReadDefinition() is { } d ? (Model(d.Definition), Run(d.Definition, d.Hash)) : null;
}
