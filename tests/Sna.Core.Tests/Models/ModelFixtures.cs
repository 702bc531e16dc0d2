using System.Text.Json;
using Sna.Runtime.Checkpoints;
using Sna.Runtime.Models;

namespace Sna.Core.Tests.Models;

/// <summary>Loads fixture models once per test run and reads their goldens (golden.json, golden.safetensors).</summary>
public static class ModelFixtures
{
    public static readonly string[] Gpt2 = ["gpt2-tiny-f32", "gpt2-tiny-f16"];
    public static readonly string[] NeoX = ["pythia-tiny-f32", "pythia-tiny-f16"];
    /// <summary>Llama: GQA with the Llama 2 tokenizer (F32), and tied BF16 with the Llama 3 tokenizer.</summary>
    public static readonly string[] Llama = ["llama-tiny-f32", "Llama-3-tiny-bf16"];

    private static readonly Dictionary<string, TransformerModel> Models = new();

    /// <summary>
    /// The tiny GPT-2 for tests that need a GPT-2 checkpoint but nothing of float32's own (h.* names, attn.bias buffers,
    /// 3 layers, d_mlp 128): gpt2-tiny-f32 when it is there (../shared), else the vendored gpt2-tiny-f16, so they run on a
    /// bare clone too.
    /// </summary>
    public static string AnyGpt2 => TestPaths.Has("fixtures", "gpt2-tiny-f32") ? "gpt2-tiny-f32" : "gpt2-tiny-f16";

    public static string Dir(string fixture) => TestPaths.Fixture(fixture);

    public static TransformerModel Model(string fixture)
    {
        lock (Models)
        {
            if (!Models.TryGetValue(fixture, out var m)) Models[fixture] = m = ModelLoader.Load(Dir(fixture));
            return m;
        }
    }

    public static JsonElement Golden(string fixture) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir(fixture), "golden.json"))).RootElement;

    public static JsonElement PromptTokens(bool neox) =>
        JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture(neox ? "prompt_tokens_neox.json" : "prompt_tokens.json"))).RootElement;

    /// <summary>The fixture's token ids file (prompt_tokens*.json): GPT-2, NeoX, Llama 2 or Llama 3.</summary>
    public static JsonElement PromptTokensOf(string fixture) =>
        JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture(PromptTokensFile(fixture)))).RootElement;

    public static string PromptTokensFile(string fixture) => fixture switch
    {
        "llama-tiny-f32" => "prompt_tokens_llama2.json",
        "Llama-3-tiny-bf16" => "prompt_tokens_llama3.json",
        _ when IsNeoX(fixture) => "prompt_tokens_neox.json",
        _ => "prompt_tokens.json",
    };

    public static int[] Ids(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    /// <summary>A golden tensor from golden.safetensors, widened to double.</summary>
    public static double[] GoldenTensor(string fixture, string name, out int[] shape)
    {
        using var f = SafetensorsFile.Open(Path.Combine(Dir(fixture), "golden.safetensors"));
        var v = f.Get(name);
        shape = v.Shape;
        return v.ToFloat32Array().Select(x => (double)x).ToArray();
    }

    public static bool IsNeoX(string fixture) => fixture.StartsWith("pythia", StringComparison.Ordinal);
}
