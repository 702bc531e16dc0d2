using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Research.Sweeps;
using Sna.Runtime.Tokenization;

namespace Sna.Cli.Commands;

/// <summary>The one place where the CLI turns task names into what the sweep engine takes.</summary>
internal static class SweepInputs
{
    /// <summary>Tokenized prompts, target ids and the neuron selector of each task, in the order given.</summary>
    /// <param name="useCache">False (<c>--no-cache</c>): discovery neither reads nor writes the on-disk cache.</param>
    public static IReadOnlyList<SweepTask> Resolve(TransformerModel model, string modelDir, SweepDefinition def, bool useCache = true)
    {
        var tok = ModelTokenizer.FromDirectory(modelDir);
        // The definition keeps the names the user typed (they are part of the sweep's hash).
        var suites = def.Tasks.Select(name => TaskLibrary.Resolve(name)).ToList();
        return SweepTaskBuilder.Build(model, tok, suites, def.NeuronSource, def.Bos, useCache ? DiscoveryCache.Default() : null);
    }
}
