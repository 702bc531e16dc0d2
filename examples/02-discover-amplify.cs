#:project ../src/Sna.Research/Sna.Research.csproj
using Sna.Research.Method; using Sna.Runtime; using Sna.Runtime.Models;
using var model = LanguageModel.Load(args.ElementAtOrDefault(0) ?? "./models/sna-demo-gpt2"); // alias, path or org/name@rev
var task = TaskLibrary.BuiltIn("poetry-medium");                                   // prompts, targets, neutral texts
var neurons = new NeuronDiscovery(model).ForTask(task).TopIndices(layer: 0, k: 10);
var amplified = model.WithHooks(Amplification.Single(0, neurons, 3.0f).ToHooks(model.Config));   // a view: model unchanged
var (prompt, target) = (task.Prompts[0].Text, task.Prompts[0].Target);
int id = model.Tokenizer.EncodeTarget(prompt, target).FirstId;
double P(LanguageModel m) => Scoring.Score(m.Run(prompt, LogitsMode.Last).Row(0, 0), id).Probability;
Console.WriteLine($"P({target.Trim()}) {P(model):G4} → {P(amplified):G4} with layer 0 neurons [{string.Join(", ", neurons)}] × 3");
