using Sna.Research.Method;
using Sna.Research.Sweeps;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Cli.Commands;

/// <summary>The one place where the CLI turns resolved tasks into what the sweep engine takes.</summary>
internal static class SweepInputs
{
    /// <summary>Tokenized prompts, target ids and the neuron selector of each task, in the definition's order.</summary>
    /// <param name="useCache">False (<c>--no-cache</c>): discovery neither reads nor writes the on-disk cache.</param>
    public static IReadOnlyList<SweepTask> Build(TransformerModel model, string modelDir, SweepDefinition def, IReadOnlyList<ResolvedTask> tasks, bool useCache = true, NeuronSetFile? neuronSet = null)
    {
        var tok = Common.Tokenizer(modelDir);
        return SweepTaskBuilder.Build(model, tok, tasks.Select(t => t.Suite).ToList(), def.NeuronSource, def.Bos, useCache ? DiscoveryCache.Default() : null, def.DiscoveryMeans, neuronSet);
    }
}
