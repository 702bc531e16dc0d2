using Sna.Core.Models;
using Sna.Core.Sweeps;

namespace Sna.Cli.Commands;

/// <summary>The one place where the CLI turns task names into what the sweep engine takes.</summary>
internal static class SweepInputs
{
    /// <summary>
    /// Tokenized prompts, target ids and the neuron selector of each task, in the order given.
    /// </summary>
    public static IReadOnlyList<SweepTask> Resolve(TransformerModel model, string modelDir, SweepDefinition def)
    {
        var source = NeuronSourceSpec.Parse(def.NeuronSource);
        // INTEGRATION: replace the throw below with (names as in main's TaskLibrary / tokenizer / NeuronDiscovery):
        //
        //   var tok = ModelTokenizer.Load(modelDir);
        //   return def.Tasks.Select(name =>
        //   {
        //       var suite = TaskLibrary.Resolve(name);                       // TaskSuite { Name, Domain, Level, Prompts: {Text, Target} }
        //       var prompts = suite.Prompts.Select(p => new SweepPrompt(p.Text, p.Target,
        //           tok.Encode(p.Text, def.Bos), tok.FirstToken(p.Target))).ToList();   // the target's FIRST token, as the paper scores
        //       Func<int, int, int[]> neurons = source.IsRandom
        //           ? NeuronSources.Random(source.Seed, model.Config.DMlp)
        //           : NeuronDiscovery.TopK(model, suite, source.Kind /* differential | contrastive */, def.Bos);   // (layer, count) → top-k
        //       return new SweepTask(name, prompts, neurons) { Domain = suite.Domain, Level = suite.Level.ToString() };
        //   }).ToList();
        //
        // The definition's task names must stay the names the user typed (they are part of the sweep's hash).
        _ = model; _ = modelDir; _ = source;
        throw new NotSupportedException("INTEGRATION: task resolution (TaskLibrary, tokenizer, NeuronDiscovery) is wired when the branches are merged");
    }
}
