using System.Text.Json;
using Sna.Runtime.Models;
using Sna.Core.Tests.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Method;

/// <summary>
/// Fixture models and tokenizers for the method tests. These are private instances (not <see cref="ModelFixtures.Model"/>'s
/// shared ones), because other tests briefly add persistent hooks to the shared models.
/// </summary>
public static class MethodFixtures
{
    public static readonly string[] All = [.. ModelFixtures.Gpt2, .. ModelFixtures.NeoX];
    private static readonly Dictionary<string, (TransformerModel, ModelTokenizer)> Loaded = new();

    public static (TransformerModel Model, ModelTokenizer Tokenizer) Get(string fixture)
    {
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(fixture, out var v))
                Loaded[fixture] = v = (ModelLoader.Load(ModelFixtures.Dir(fixture)), ModelTokenizer.FromDirectory(ModelFixtures.Dir(fixture)));
            return v;
        }
    }

    public static JsonElement PromptsJson() =>
        JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("prompts.json"))).RootElement;

    public static string[] Strings(JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToArray();

    /// <summary>The GPT-2 tokenizer of the bundled demo model.</summary>
    public static ModelTokenizer DemoTokenizer() => ModelTokenizer.FromDirectory(TestPaths.BundledModelDir);

    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "sna-method-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}
