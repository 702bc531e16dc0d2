#:project ../src/Sna.Research/Sna.Research.csproj
// A custom sweep: your own task, your own grid (layers × counts × multipliers), scored by the sweep engine's prefix-cached
// evaluator, then the best configuration checked against a plain hooked forward.
//   dotnet run examples/04-custom-sweep.cs [MODEL]
using Sna.Research.Method;
using Sna.Research.Sweeps;
using Sna.Runtime;

string spec = args.ElementAtOrDefault(0) ?? Environment.GetEnvironmentVariable("SNA_MODEL")    // else the bundled model
    ?? Path.Combine(AppContext.GetData("EntryPointFileDirectoryPath") as string ?? "examples", "..", "models", "sna-demo-gpt2");
using var model = LanguageModel.Load(spec);

var task = new TaskSuite
{
    Name = "two-digit-sums", Domain = "math", Level = "custom",
    Prompts = [new("Q: What is 21 + 13? A:", " 34"), new("Q: What is 40 + 17? A:", " 57"), new("Q: What is 35 + 22? A:", " 57"),
               new("Q: What is 12 + 66? A:", " 78"), new("Q: What is 51 + 30? A:", " 81"), new("Q: What is 24 + 44? A:", " 68")],
};
int[] layers = Enumerable.Range(0, model.Config.NLayers).ToArray(), counts = [3, 8, 15];
float[] multipliers = [1.5f, 2f, 3f];

var discovered = new NeuronDiscovery(model).ForTask(task);       // differential: task vs neutral texts
var neurons = layers.ToDictionary(l => l, l => discovered.TopIndices(l, counts.Max()));
var enc = EncodedTask.Encode(task, model.Tokenizer, model.Bos);
var evaluator = new SweepEvaluator(model.Model);
var prompts = enc.Prompts.Select((ids, i) => evaluator.BuildCache(ids, enc.FirstTargetIds[i], neurons, keepKeysValues: true)).ToArray();

var rows = new List<(int Layer, int Count, float Mult, double Improvement)>();
foreach (int l in layers)
    foreach (int k in counts)
        foreach (float m in multipliers)
        {
            var items = prompts.Select(p => new SweepItem(p, neurons[l][..k], m)).ToList();    // positions = last: one token per prompt
            var scores = new TargetScore[items.Count];
            evaluator.Evaluate(l, PositionsMode.Last, items, scores);
            double mean = Enumerable.Range(0, items.Count).Average(i => Scoring.ImprovementPct(prompts[i].Base.Probability, scores[i].Probability));
            rows.Add((l, k, m, mean));
        }
Console.WriteLine($"{task.Name}: {task.Prompts.Count} prompts, mean P_base {prompts.Average(p => p.Base.Probability):G4}, {rows.Count} configurations");
foreach (var r in rows.OrderByDescending(r => r.Improvement).Take(5))
    Console.WriteLine($"  layer {r.Layer}  top {r.Count,2}  × {r.Mult:0.0}  mean improvement {r.Improvement:+0.00;-0.00}%");

// The evaluator equals a plain hooked forward: check the best configuration with TaskAmplification.
var best = rows.MaxBy(r => r.Improvement);
var amp = Amplification.Single(best.Layer, neurons[best.Layer][..best.Count], best.Mult, PositionsMode.Last);
double check = TaskAmplification.Evaluate(model.Model, model.Tokenizer, task, amp, model.Bos).ImprovementPct;
Console.WriteLine($"best re-run with hooks: {check:+0.00;-0.00}% (evaluator {best.Improvement:+0.00;-0.00}%)");
if (Math.Abs(check - best.Improvement) > 1e-3 * Math.Max(1, Math.Abs(check))) throw new InvalidOperationException("the evaluator and the hooked forward disagree");
