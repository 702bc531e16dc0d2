#:project ../src/Sna.Research/Sna.Research.csproj
// Generation before and after amplification, on the KV cache (each new token costs one position).
//   dotnet run examples/05-generate.cs [MODEL] [PROMPT]
using Sna.Research.Method;
using Sna.Runtime;
using Sna.Runtime.Models;

string spec = args.ElementAtOrDefault(0) ?? Environment.GetEnvironmentVariable("SNA_MODEL")    // else the bundled model
    ?? Path.Combine(AppContext.GetData("EntryPointFileDirectoryPath") as string ?? "examples", "..", "models", "sna-demo-gpt2");
using var model = LanguageModel.Load(spec);
var task = TaskLibrary.BuiltIn("poetry-medium");                        // rhymes the demo model rarely completes
string prompt = args.ElementAtOrDefault(1) ?? task.Prompts[0].Text;
const int layer = 0;
var neurons = new NeuronDiscovery(model).ForTask(task).TopIndices(layer, 10);
var amplified = model.WithHooks(Amplification.Single(layer, neurons, 3f).ToHooks(model.Config));

var before = model.Generate(prompt, 16);                                // greedy
var after = amplified.Generate(prompt, 16);
var sampled = amplified.Generate(prompt, 16, new GenerationOptions { Temperature = 0.8, TopK = 40, Seed = 1 });
var uncached = amplified.Generate(prompt, 16, new GenerationOptions { UseKvCache = false });   // the reference path
Console.WriteLine($"prompt     {prompt.Replace("\n", "\\n")}");
Console.WriteLine($"before     {before.Text.Replace("\n", "\\n")}   ({before.Reason})");
Console.WriteLine($"after ×3   {after.Text.Replace("\n", "\\n")}   (layer {layer}, {neurons.Length} '{task.Name}' neurons)");
Console.WriteLine($"sampled    {sampled.Text.Replace("\n", "\\n")}   (T 0.8, top-40, seed 1)");
if (!uncached.Tokens.SequenceEqual(after.Tokens)) throw new InvalidOperationException("KV-cached and uncached generation differ");
Console.WriteLine("KV-cached generation equals the full recompute.");
