using Sna.Runtime;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Sweeps;

/// <summary>
/// Turns task suites into what the sweep engine takes: prompts tokenized with the definition's BOS policy, the target's first
/// token, and a deterministic neuron selector <c>(layer, count) → neurons</c> for the definition's neuron source:
/// <list type="bullet">
/// <item><c>differential</c>: top-k of mean <c>mlp.hook_post</c> on the task's texts minus on neutral texts (the paper's method);</item>
/// <item><c>task-vs-rest</c> (<see cref="DiscoveryMethod.TaskVsRest"/>): top-k of the task's mean minus the mean over the <i>other</i>
/// tasks of the sweep, keeping only neurons with a positive difference — needs at least two tasks (formerly called "contrastive",
/// which is refused now: the paper's contrastive method compares two classes);</item>
/// <item><c>bottom</c>: the k neurons with the <i>lowest</i> differential score (the control for "does the ranking matter");</item>
/// <item><c>random:SEED</c>: <see cref="NeuronSources.Random"/>;</item>
/// <item><c>file</c>: the first k neurons of a neuron set file's list at the layer (<see cref="NeuronSetFile"/>), the same for every task.</item>
/// </list>
/// Discovery runs once per task (cached on disk when a <see cref="DiscoveryCache"/> is given) with the same BOS policy as scoring.
/// </summary>
public static class SweepTaskBuilder
{
    public static IReadOnlyList<SweepTask> Build(TransformerModel model, ModelTokenizer tokenizer, IReadOnlyList<TaskSuite> suites,
                                                 string neuronSource, BosPolicy bos, DiscoveryCache? cache = null, DiscoveryMeanOptions? discoveryMeans = null,
                                                 NeuronSetFile? neuronSet = null)
    {
        var source = NeuronSourceSpec.Parse(neuronSource);
        if (source.IsFile != neuronSet is not null) throw new ArgumentException("the neuron source 'file' goes with a neuron set (and only it)", nameof(neuronSet));
        var discovery = new NeuronDiscovery(model, tokenizer, cache) { Bos = bos, Means = discoveryMeans ?? DiscoveryMeanOptions.Default };
        MeanActivations? neutral = null;
        var means = new Dictionary<string, MeanActivations>();
        MeanActivations MeanOf(TaskSuite s) => means.TryGetValue(s.Name, out var m) ? m : means[s.Name] = discovery.Mean(s.DiscoveryTexts);
        if (source.Kind == "task-vs-rest" && suites.Count < 2)
            throw new SnaInputException("the task-vs-rest neuron source compares each task with the other tasks of the sweep: give at least two tasks");

        var result = new List<SweepTask>(suites.Count);
        foreach (var suite in suites)
        {
            var prompts = suite.Prompts.Select((p, i) =>
            {
                if (p.Target.Length == 0) throw new SnaInputException($"task '{suite.Name}': empty target for prompt '{p.Text}'");
                var target = EncodedTask.TargetOf(tokenizer, suite.Name, i, p.Text, p.Target);
                var ids = tokenizer.Encode(p.Text, bos);
                if (ids.Length == 0) throw new SnaInputException($"task '{suite.Name}': a prompt tokenizes to nothing and no BOS is prepended");
                return new SweepPrompt(p.Text, p.Target, ids, target.FirstId);
            }).ToList();

            Func<int, int, int[]> neurons;
            switch (source.Kind)
            {
                case "random":
                    neurons = NeuronSources.Random(source.Seed, model.Config.DMlp);
                    break;
                case "file":
                    neurons = (layer, count) => neuronSet!.Layer(layer, "the neuron set").Indices(count);
                    break;
                case "task-vs-rest":
                {
                    var rest = discovery.TaskVsRest(suite, suites);   // the rest = the sweep's other tasks
                    neurons = (layer, count) => rest(layer, count).Select(n => n.Index).ToArray();
                    break;
                }
                default:
                {
                    neutral ??= discovery.Mean(suite.Neutral ?? TaskLibrary.NeutralCorpus);
                    var reference = suite.Neutral is null ? neutral : discovery.Mean(suite.Neutral);
                    var diff = new DifferentialResult(MeanOf(suite), reference);
                    neurons = source.Kind == "bottom"
                        ? (layer, count) => diff.BottomIndices(layer, count)
                        : (layer, count) => diff.TopIndices(layer, count);
                    break;
                }
            }
            result.Add(new SweepTask(suite.Name, prompts, neurons) { Domain = suite.Domain, Level = suite.Level });
        }
        return result;
    }
}
