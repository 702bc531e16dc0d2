namespace Sna.Cli;

/// <summary>Turns a --model value that is not a local directory into one (the hub cache comes here).</summary>
internal static class ModelDirectoryResolver
{
    public static string Resolve(string model) =>
        throw new UserException($"model directory not found: {model}");
}
