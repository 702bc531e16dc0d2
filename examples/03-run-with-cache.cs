#:project ../src/Sna.Research/Sna.Research.csproj
// run_with_cache: record blocks.L.mlp.hook_post ([batch, pos, d_mlp]) for a prompt and plot its most active neurons across the
// prompt's positions as a heat map (PNG).
//   dotnet run examples/03-run-with-cache.cs [MODEL] [OUT_DIR]     (default OUT_DIR: sna-examples under the system temp folder)
using ScottPlot;
using Sna.Research.Reporting;
using Sna.Runtime;
using Sna.Runtime.Models;

string spec = args.ElementAtOrDefault(0) ?? Environment.GetEnvironmentVariable("SNA_MODEL")    // else the bundled model
    ?? Path.Combine(AppContext.GetData("EntryPointFileDirectoryPath") as string ?? "examples", "..", "models", "sna-demo-gpt2");
string outDir = args.ElementAtOrDefault(1) ?? Path.Combine(Path.GetTempPath(), "sna-examples");
const string prompt = "Q: What is 13 + 29? A:";

using var model = LanguageModel.Load(spec);
int layer = model.Config.NLayers / 2;
string hook = HookNames.MlpPost(layer);
var (logits, cache) = model.RunWithCache(prompt, name => name == hook);   // only this hook is copied
var post = cache[hook];                                                     // [batch, pos, d_mlp]
int T = post.Shape[1], dMlp = post.Shape[2];
Console.WriteLine($"{hook}: shape [{string.Join(", ", post.Shape)}]; logits [{string.Join(", ", logits.Shape)}]");

// The 16 neurons with the largest mean activation over the prompt, as rows; positions as columns.
int[] top = Enumerable.Range(0, dMlp).OrderByDescending(i => post.Column(0, i).Average()).ThenBy(i => i).Take(16).ToArray();
var grid = new double[top.Length, T];
for (int r = 0; r < top.Length; r++)
    for (int t = 0; t < T; t++) grid[r, t] = post[0, t, top[r]];
Console.WriteLine($"most active neuron {top[0]}: {string.Join(" ", post.Column(0, top[0]).Select(v => v.ToString("F2")))}");

var plot = new Plot();
var map = plot.Add.Heatmap(grid);
map.Colormap = new ScottPlot.Colormaps.Viridis();
plot.Add.ColorBar(map);
string[] tokens = model.ToStrTokens(prompt).Select(s => s.Replace("<|endoftext|>", "BOS")).ToArray();
plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(Enumerable.Range(0, T).Select(t => (double)t).ToArray(), tokens);
plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
    Enumerable.Range(0, top.Length).Select(r => (double)(top.Length - 1 - r)).ToArray(), top.Select(n => $"n{n}").ToArray());
plot.Title($"{hook} of {Path.GetFileName(model.Provenance.Directory)}: top neurons × positions");
ReportFonts.Apply(plot);
Directory.CreateDirectory(outDir);
string png = Path.Combine(outDir, "03-mlp-post.png");
plot.SavePng(png, 900, 520);
if (new FileInfo(png).Length == 0) throw new InvalidOperationException($"{png} is empty");
Console.WriteLine($"wrote {png}");
