using System.Security.Cryptography;
using System.Text;
using Sna.Research.Method;
using Sna.Runtime;
using Sna.Tests;

namespace Sna.Core.Tests.Method;

/// <summary>Neuron set files (issue #16): written atomically, read back equal, read strictly (the error names the field).</summary>
public class NeuronSetFileTests
{
    private static NeuronSetFile Sample() => new()
    {
        ModelId = "models/sna-demo-gpt2",
        ModelSha256 = new string('a', 64),
        Method = "contrastive",
        Positions = "all-but-bos",
        Weighting = "per-token",
        Bos = "prepend",
        TextsSha256 = NeuronSetFile.TextsHash(["2 + 2 = 4"], ["The sky is blue."], ["Roses are red"]),
        TextCounts = new Dictionary<string, int> { ["task"] = 1, ["neutral"] = 1, ["contrast"] = 1 },
        Task = "math-easy",
        Layers =
        [
            new NeuronSetLayer(1, [new(7, 0.5), new(3, 0.25)]),
            new NeuronSetLayer(3, [new(511, 1.364415538761446), new(384, 1.0593103149979972), new(12, -1e-300)], [new(9, 0.125)]),
        ],
        ToolVersion = "0.2.0+abc",
        Created = new DateTimeOffset(2026, 12, 6, 10, 0, 0, TimeSpan.Zero),
    };

    [Fact]
    public void Round_trips_every_field_bit_for_bit()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "sub", "set.json");
        var set = Sample();
        set.Write(path);
        var back = NeuronSetFile.Read(path);
        Assert.Equal(set.ModelId, back.ModelId);
        Assert.Equal(set.ModelSha256, back.ModelSha256);
        Assert.Equal(set.Method, back.Method);
        Assert.Equal(set.Bos, back.Bos);
        Assert.Equal(set.Positions, back.Positions);
        Assert.Equal(set.Weighting, back.Weighting);
        Assert.Equal(set.TextsSha256, back.TextsSha256);
        Assert.Equal(set.TextCounts, back.TextCounts);
        Assert.Equal(set.Task, back.Task);
        Assert.Equal(set.ToolVersion, back.ToolVersion);
        Assert.Equal(set.Created, back.Created);
        Assert.Equal(set.Layers.Count, back.Layers.Count);
        for (int i = 0; i < set.Layers.Count; i++)
        {
            Assert.Equal(set.Layers[i].Layer, back.Layers[i].Layer);
            Assert.Equal(set.Layers[i].Neurons, back.Layers[i].Neurons); // doubles round-trip exactly (shortest round-trip form)
            Assert.Equal(set.Layers[i].ContrastNeurons ?? [], back.Layers[i].ContrastNeurons ?? []);
        }
        Assert.Null(back.Layers[0].ContrastNeurons);
        Assert.Equal([511, 384], back.Layer(3, "s").Indices(2));
        // Written again, the bytes are identical; no temporary file is left behind.
        Assert.Equal(File.ReadAllText(path), back.ToJson());
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void Texts_hash_is_the_documented_sha256()
    {
        // task\n + "a\0" + "b\0" + neutral\n + "c\0"
        byte[] bytes = Encoding.UTF8.GetBytes("task\na\0b\0neutral\nc\0");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), NeuronSetFile.TextsHash(["a", "b"], ["c"]));
        Assert.NotEqual(NeuronSetFile.TextsHash(["a", "b"], ["c"]), NeuronSetFile.TextsHash(["ab"], ["c"]));
        Assert.NotEqual(NeuronSetFile.TextsHash(["a"], ["c"]), NeuronSetFile.TextsHash(["a"], ["c"], []));
    }

    public static TheoryData<string, string, string> Broken() => new()
    {
        { "\"format_version\": 1", "\"format_version\": 2", "format_version" },
        { "\"format_version\": 1", "\"format_version\": \"1\"", "format_version" },
        { "\"format\": \"sna-neuron-set\"", "\"format\": \"other\"", "format" },
        { "\"method\": \"contrastive\"", "\"method\": \"magic\"", "method" },
        { "\"bos\": \"prepend\"", "\"bos\": \"yes\"", "bos" },
        { "\"positions\": \"all-but-bos\"", "\"positions\": \"first\"", "positions" },
        { "\"weighting\": \"per-token\"", "\"weighting\": \"per-word\"", "weighting" },
        { "\"index\": 7", "\"index\": -1", "layers[0].neurons[0].index" },
        { "\"index\": 3", "\"index\": 7", "layers[0].neurons[1].index" },
        { "\"score\": 0.5", "\"score\": \"high\"", "layers[0].neurons[0].score" },
        { "\"layer\": 3", "\"layer\": 1", "layers[1].layer" },
        { "\"task\": \"math-easy\"", "\"task\": \"math-easy\", \"extra\": 1", "extra" },
        { "\"sha256\": \"aaaa", "\"sha256\": \"zzzz", "model.sha256" },
        { "\"created\": \"2026-12-06T10:00:00Z\"", "\"created\": \"yesterday\"", "created" },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void A_malformed_file_is_an_input_error_naming_the_field(string from, string to, string field)
    {
        string json = Sample().ToJson();
        Assert.Contains(from, json);
        var e = Assert.Throws<SnaInputException>(() => NeuronSetFile.Parse(ReplaceFirst(json, from, to), "set.json"));
        Assert.Equal(field, e.Option);
        Assert.Contains($"'{field}'", e.Message);
        Assert.StartsWith("set.json: ", e.Message);
    }

    [Fact]
    public void Missing_fields_and_non_json_are_input_errors()
    {
        string json = Sample().ToJson();
        var e = Assert.Throws<SnaInputException>(() => NeuronSetFile.Parse(json.Replace("\"texts_sha256\"", "\"texts_sha257\""), "s"));
        Assert.Equal("texts_sha257", e.Option); // the unknown field is named first
        Assert.Throws<SnaInputException>(() => NeuronSetFile.Parse("[1,2]", "s"));
        Assert.Throws<SnaInputException>(() => NeuronSetFile.Parse("{\"format\":", "s"));
        Assert.Throws<SnaInputException>(() => NeuronSetFile.Read(Path.Combine(Path.GetTempPath(), "sna-no-such-" + Guid.NewGuid().ToString("N") + ".json")));
        var noLayers = Assert.Throws<SnaInputException>(() => NeuronSetFile.Parse(System.Text.RegularExpressions.Regex.Replace(json, "\"layers\": \\[.*?\\n  \\],?", "\"layers\": [],", System.Text.RegularExpressions.RegexOptions.Singleline), "s"));
        Assert.Equal("layers", noLayers.Option);
    }

    [Fact]
    public void Choosing_a_layer_of_a_multi_layer_set_is_required_and_checked()
    {
        var set = Sample();
        Assert.Equal("--layer", Assert.Throws<SnaInputException>(() => set.Layer(null, "s")).Option);
        Assert.Contains("no layer 2", Assert.Throws<SnaInputException>(() => set.Layer(2, "s")).Message);
        Assert.Equal(1, set.Layer(1, "s").Layer);
    }

    [Fact]
    public void Writing_over_an_input_is_refused()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "set.json");
        File.WriteAllText(path, "keep");
        Assert.Throws<SnaInputException>(() => Sample().Write(path, [path]));
        Assert.Equal("keep", File.ReadAllText(path));
    }

    private static string ReplaceFirst(string s, string from, string to)
    {
        int i = s.IndexOf(from, StringComparison.Ordinal);
        return s[..i] + to + s[(i + from.Length)..];
    }
}
