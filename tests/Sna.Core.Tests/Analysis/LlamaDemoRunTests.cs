using System.Text.Json;
using Sna.Research.Analysis;
using Sna.Research.Experiments;
using Sna.Research.Method;
using Sna.Research.Reporting;
using Sna.Research.Storage;
using Sna.Core.Tests.Models;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Analysis;

/// <summary>
/// Llama in every statistic: the demo's whole chain (advice → held-out sweep → summary → held-out controls with adjusted p →
/// generation → interference with its asymmetry tests → report) on the Llama 2 fixture, with each headline number recomputed
/// from what the run stored.
/// </summary>
public class LlamaDemoRunTests
{
    [SharedFact]
    public void Demo_chain_runs_on_llama_and_its_numbers_recompute_from_the_stored_rows()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"sna-llama-demo-{Guid.NewGuid():N}");
        try
        {
            var model = ModelLoader.Load(ModelFixtures.Dir("llama-tiny-f32"));
            var tok = ModelTokenizer.FromDirectory(ModelFixtures.Dir("llama-tiny-f32"));
            Assert.Equal(ArchitectureKind.Llama, model.Config.Architecture);
            string[] tasks = ["math-easy", "logic-easy", "code-easy"];
            var r = DemoPipeline.Run(model, tok, new DemoOptions
            {
                OutDir = dir, Tasks = tasks, Counts = [3, 8], Multipliers = [1.5, 3.0], ControlSeeds = 39, GenerationMaxTokens = 2, Resamples = 200,
            });

            // sweep → summary: every task, every configuration of the grid, held-out selection from the stored rows
            var set = ResultSetReader.Read(r.SweepDatabase);
            Assert.Equal(tasks.Order(), set.Rows.Select(x => x.Task).Distinct().Order());
            var finite = set.Where(x => double.IsFinite(x.ImprovementPct) && double.IsFinite(x.PBase));
            var splits = tasks.ToDictionary(t => t, t => PromptSplit.Of(t, TaskLibrary.BuiltIn(t).Prompts.Count, PromptSplit.DefaultSeed), StringComparer.Ordinal);
            var chosen = HeldOutSelection.Choose(finite, splits).ToDictionary(h => h.Task, StringComparer.Ordinal);

            // held-out controls: one per task at the configuration chosen on split A, measured on split B
            Assert.Equal(tasks.Length, r.Controls.Count);
            foreach (var c in r.Controls)
            {
                var h = chosen[c.Task];
                Assert.Equal(h.Configuration.Layer, c.Configuration.Layer);
                Assert.Equal(h.Configuration.Count, c.Configuration.Count);
                Assert.Equal(h.Configuration.Multiplier, c.Configuration.Multiplier);
                Assert.Equal(39, c.RandomImprovementsPct.Count);
                // recompute the randomisation p from the stored improvements: (1 + #{random ≥ task}) / (1 + m)
                double p = (1.0 + c.RandomImprovementsPct.Count(v => v >= c.TaskNeuronImprovementPct)) / 40.0;
                Assert.Equal(p, c.RandomTest!.PValue, 12);
            }
            // adjusted p across the three tasks: Holm and BH recomputed by hand
            var ps = r.Adjusted.Select(a => a!.PValue).ToArray();
            var order = Enumerable.Range(0, ps.Length).OrderBy(i => ps[i]).ToArray();
            double run = 0;
            var holm = new double[ps.Length];
            for (int k = 0; k < order.Length; k++) { run = Math.Max(run, Math.Min(1, (ps.Length - k) * ps[order[k]])); holm[order[k]] = run; }
            for (int i = 0; i < ps.Length; i++) Assert.Equal(holm[i], r.Adjusted[i]!.Holm, 12);

            // generation and interference ran on the same model
            Assert.Equal(tasks.Length, r.Generation.Count);
            Assert.All(r.Generation, g => Assert.InRange(g.ExactMatch.McNemar.PValue, 0, 1));
            Assert.True(File.Exists(Path.Combine(dir, "interference.csv")));
            var im = InterferenceMatrix.FromCsv(Path.Combine(dir, "interference.csv"));
            Assert.Equal(tasks.Length, im.Size);

            // the report names its definitions and carries the asymmetry test and the held-out table
            using var json = JsonDocument.Parse(File.ReadAllText(r.Report.JsonPath));
            var root = json.RootElement;
            var inter = root.GetProperty("interference");
            Assert.Equal(3, inter.GetProperty("asymmetry_test").GetProperty("pairs").GetArrayLength());
            Assert.Equal(JsonValueKind.Object, inter.GetProperty("asymmetry_test").GetProperty("direction").ValueKind);
            string md = File.ReadAllText(r.Report.MarkdownPath);
            Assert.Contains("improvement_pct", md);
            Assert.Contains("Holm", md);
            Assert.Contains("not percentage points", md);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }
}
