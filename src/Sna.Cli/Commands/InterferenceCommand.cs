using Sna.Runtime;
using Sna.Research.Experiments;
using System.CommandLine;
using System.Text.Json.Nodes;
using Sna.Research.Analysis;
using Sna.Research.Method;
using Spectre.Console;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna interference --source TASK@LAYER[:COUNT[:MULT]] [--source ...|--sources A@3,B@5] [--targets T1,T2,...] [--positions all|last]
/// [--out FILE.csv] [--json]</c>: applies each source task's configuration (its differential top-COUNT neurons at LAYER × MULT) while
/// scoring every target task, and prints the source × target matrix of delta_pp (mean over the target's prompts of the per-prompt
/// % improvement) with the A→B vs B→A asymmetry. JSON: <c>{"sources":[label...],"targets":[...],"matrix":[[delta_pp]],
/// "mean_p_change":[[...]],"configurations":[...],"cells":[...],"asymmetry":[{"a","b","a_to_b","b_to_a","difference","opposite_signs"}],
/// "asymmetry_index","csv","run"}</c>.
/// </summary>
public static class InterferenceCommand
{
    public static Command Build()
    {
        var model = Options.Model();
        var source = new Option<string[]>("--source", "-s")
        {
            Description = "A source configuration TASK@LAYER[:COUNT[:MULT]] (default COUNT 10, MULT 2): the task's differential top-COUNT neurons at LAYER, scaled by MULT. Repeat for several.",
            AllowMultipleArgumentsPerToken = false,
        };
        var sources = new Option<string?>("--sources") { Description = "Several sources, comma-separated: A@3,B@5:20:3." };
        var targets = new Option<string?>("--targets") { Description = "Comma-separated target tasks (built-in names or files). Default: the sources' tasks (a square matrix)." };
        var positions = Options.Positions();
        var tasksDir = Options.TasksDir();
        var csv = Options.OutOptional("Write the matrix as CSV: source,target,delta_pp (+ mean_p_base, mean_p_post, mean_p_change, improvement_of_means_pct), for `sna report --interference FILE`.");
        var bos = Options.Bos(); var noBos = Options.NoBos(); var json = Options.Json(); var dtype = Options.WeightsDType();
        var noCache = Options.NoCache();
        var cmd = new Command("interference", "Cross-task interference: amplify one task's neurons and score other tasks (source × target matrix, asymmetry A→B vs B→A).")
        { model, source, sources, targets, tasksDir, positions, csv, bos, noBos, json, dtype, noCache };
        cmd.SetAction(r =>
        {
            var policy = Common.Policy(r, bos, noBos);
            var pos = AmplifyCommand.ParsePositions(r.GetValue(positions)!);
            var specTexts = (r.GetValue(source) ?? []).Concat(Split(r.GetValue(sources))).ToArray();
            if (specTexts.Length == 0) throw new SnaInputException("give at least one --source TASK@LAYER[:COUNT[:MULT]] (or --sources A@3,B@5)");
            var specs = specTexts.Select(InterferenceSourceSpec.Parse).ToArray();
            var suites = new Dictionary<string, TaskSuite>(StringComparer.Ordinal);
            TaskSuite Suite(string name) => suites.TryGetValue(name, out var s) ? s : suites[name] = MethodOptions.ResolveTask(name, Options.TaskDirs(r, tasksDir));
            var src = specs.Select(s => new InterferenceSource(Suite(s.Task), s.Layer, s.Count, s.Multiplier)).ToArray();
            var targetNames = Split(r.GetValue(targets)).ToArray();
            var tgt = (targetNames.Length > 0 ? targetNames.Select(Suite) : src.Select(s => s.Suite)).DistinctBy(s => s.Name).ToArray();

            var (m, tok, _) = Common.Load(r.GetValue(model), r.GetValue(dtype)!);
            using var _m = m;
            foreach (var s in src)
            {
                InputParsing.CheckLayer(s.Layer, m.Config.NLayers, $"--source {s.Spec}");
                InputParsing.CheckCount(s.Count, m.Config.DMlp, $"--source {s.Spec}");
            }
            string? csvPath = r.GetValue(csv);
            var inputs = src.Select(s => s.Suite.Source).Concat(tgt.Select(t => t.Source)).ToArray();
            if (csvPath is not null) AtomicFile.RefuseInputs(csvPath, inputs);
            if (src.Select(s => s.Spec).Distinct().Count() != src.Length) throw new SnaInputException("the same source is given twice");
            var res = InterferenceRunner.Run(m, tok, src, tgt, pos, policy, r.GetValue(noCache) ? null : DiscoveryCache.Default());
            var csvFile = csvPath is null ? null : new FileInfo(csvPath);
            if (csvFile is not null) AtomicFile.Write(csvFile.FullName, t => res.WriteCsv(t), inputs);
            var asym = res.Matrix.Analyze();

            if (r.GetValue(json))
            {
                var run = Common.RunRecord(m, tok, policy, AmplifyCommand.PositionsText(pos));
                run["score"] = "first-token";
                run["neuron_source"] = "differential";
                run["delta"] = "mean over the target's prompts of 100 (P_post - P_base) / P_base";
                Common.PrintJson(new JsonObject
                {
                    ["sources"] = Strings(res.SourceLabels),
                    ["targets"] = Strings(res.Targets),
                    ["matrix"] = Grid(res, e => e.DeltaPp),
                    ["mean_p_change"] = Grid(res, e => e.MeanPChange),
                    ["configurations"] = new JsonArray(res.Sources.Select((s, i) => (JsonNode)new JsonObject
                    {
                        ["label"] = res.SourceLabels[i], ["task"] = s.Suite.Name, ["layer"] = s.Layer, ["count"] = s.Count,
                        ["multiplier"] = s.Multiplier, ["neurons"] = new JsonArray(res.SourceNeurons[i].Select(n => (JsonNode)n).ToArray()),
                    }).ToArray()),
                    ["cells"] = new JsonArray(res.Entries.Select(e => (JsonNode)new JsonObject
                    {
                        ["source"] = e.Source, ["target"] = e.Target, ["delta_pp"] = MethodOptions.Num(e.DeltaPp),
                        ["mean_p_base"] = e.MeanPBase, ["mean_p_post"] = e.MeanPPost, ["mean_p_change"] = e.MeanPChange,
                        ["improvement_of_means_pct"] = MethodOptions.Num(e.ImprovementOfMeansPct),
                    }).ToArray()),
                    ["asymmetry"] = new JsonArray(asym.Pairs.Select(p => (JsonNode)new JsonObject
                    {
                        ["a"] = p.A, ["b"] = p.B, ["a_to_b"] = p.AToB, ["b_to_a"] = p.BToA, ["difference"] = p.Difference, ["opposite_signs"] = p.OppositeSigns,
                    }).ToArray()),
                    ["asymmetry_index"] = MethodOptions.Num(asym.AsymmetryIndex),
                    ["mean_diagonal_pp"] = MethodOptions.Num(asym.MeanDiagonal),
                    ["mean_off_diagonal_pp"] = MethodOptions.Num(asym.MeanOffDiagonal),
                    ["csv"] = csvFile?.FullName,
                    ["run"] = run,
                });
                return 0;
            }

            var t = new Table().Title("delta_pp: mean per-prompt % improvement of the target (column) with the source's (row) neurons amplified");
            t.AddColumn("source \\ target");
            foreach (var n in res.Targets) t.AddColumn(Markup.Escape(n));
            for (int i = 0; i < res.Sources.Count; i++)
            {
                var cells = new List<string> { Markup.Escape($"{res.SourceLabels[i]} (L{res.Sources[i].Layer} k={res.Sources[i].Count} x{res.Sources[i].Multiplier})") };
                for (int j = 0; j < res.Targets.Count; j++)
                {
                    string v = MethodOptions.Pct(res[i, j].DeltaPp).TrimEnd('%');
                    cells.Add(res.SourceLabels[i] == res.Targets[j] ? $"[bold]{v}[/]" : v);
                }
                t.AddRow(cells.ToArray());
            }
            AnsiConsole.Write(t);
            if (asym.Pairs.Count > 0)
            {
                var a = new Table().Title("Asymmetry (pp)").AddColumn("A").AddColumn("B").AddColumn("A→B").AddColumn("B→A").AddColumn("difference").AddColumn("opposite signs");
                foreach (var p in asym.Pairs)
                    a.AddRow(Markup.Escape(p.A), Markup.Escape(p.B), F(p.AToB), F(p.BToA), F(p.Difference), p.OppositeSigns ? "yes" : "no");
                AnsiConsole.Write(a);
                AnsiConsole.MarkupLine(Markup.Escape($"asymmetry index {F(asym.AsymmetryIndex)} (0 symmetric, 0.5 unrelated, 1 antisymmetric)"));
            }
            AnsiConsole.MarkupLine("[grey]bold = on-task gain (diagonal); positions " + AmplifyCommand.PositionsText(pos) + (csvFile is null ? "" : $"; wrote {Markup.Escape(csvFile.FullName)}") + "[/]");
            return 0;
        });
        return cmd;
    }

    internal static IEnumerable<string> Split(string? s) =>
        s is null ? [] : s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static JsonArray Strings(IEnumerable<string> xs) => new(xs.Select(x => (JsonNode)x).ToArray());

    private static JsonArray Grid(InterferenceResult res, Func<InterferenceEntry, double> f) =>
        new(Enumerable.Range(0, res.Sources.Count).Select(i =>
            (JsonNode)new JsonArray(Enumerable.Range(0, res.Targets.Count).Select(j => MethodOptions.Num(f(res[i, j]))).ToArray())).ToArray());

    private static string F(double v) => double.IsFinite(v) ? v.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) : "—";
}
