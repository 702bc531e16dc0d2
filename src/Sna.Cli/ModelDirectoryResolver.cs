using Sna.Runtime;
using Sna.Runtime.Hub;

namespace Sna.Cli;

/// <summary>
/// Turns a --model value that is not a local directory into one: a known alias (gpt2, gpt2-medium, ...) or a hub id
/// (org/name[@revision]) resolved through the Hugging Face cache, downloading what is missing unless offline.
/// </summary>
internal static class ModelDirectoryResolver
{
    public static string Resolve(string model)
    {
        if (LooksLikePath(model)) throw new SnaInputException($"model directory not found: {model}");
        return ModelResolver.Resolve(model, new ResolveOptions { Settings = HubSettings.FromEnvironment() });
    }

    private static bool LooksLikePath(string s) =>
        s.StartsWith('.') || s.StartsWith('/') || s.StartsWith('~') || s.Contains('\\') || s.Count(c => c == '/') > 1;
}
