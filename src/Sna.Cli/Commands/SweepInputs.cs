using Sna.Research.Method;
using Sna.Research.Sweeps;
using Sna.Runtime;

namespace Sna.Cli.Commands;

/// <summary>The one place where the CLI turns resolved tasks into what the sweep engine takes.</summary>
internal static class SweepInputs
{
    /// <summary>Tokenized prompts, target ids and the neuron selector of each task, in the definition's order.</summary>
    /// <param name="useCache">False (<c>--no-cache</c>): discovery neither reads nor writes the on-disk cache.</param>
    public static IReadOnlyList<SweepTask> Build(LanguageModel lm, SweepDefinition def, IReadOnlyList<ResolvedTask> tasks, bool useCache = true, NeuronSetFile? neuronSet = null)
    {
        return SweepTaskBuilder.Build(lm.Model, lm.Tokenizer, tasks.Select(t => t.Suite).ToList(), def.NeuronSource, def.Bos, useCache ? DiscoveryCache.Default() : null, def.DiscoveryMeans, neuronSet);
    }
}
