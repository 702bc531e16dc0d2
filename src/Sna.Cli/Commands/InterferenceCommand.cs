using Sna.Runtime;
using Sna.Research.Experiments;
using System.CommandLine;
using System.Text.Json.Nodes;
using Sna.Research.Analysis;
using Sna.Research.Method;
using Spectre.Console;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna interference (--source TASK@LAYER[:COUNT[:MULT]] [--source ...|--sources A@3,B@5] | --preset paper) [--targets T1,T2,...] [--positions all|last]
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
        var targets = new Option<string?>("--targets") { Description = "Target tasks: comma-separated built-in names, task files or names in ./tasks or --tasks-dir, or all. Default: the sources' tasks (a square matrix)." };
        var preset = new Option<string?>("--preset") { Description = "paper: the paper's interference configuration, 15 neurons × 2.5 at layer 8 of 24 scaled to the model's depth (round(8·L/24)), for every task of --targets (default: the 12 built-in tasks) as a source; not with --source/--sources." };
        var positions = Options.Positions();
        var tasksDir = Options.TasksDir();
        var csv = Options.OutOptional("Write the matrix as CSV: source,target,delta_pp (+ mean_p_base, mean_p_post, mean_p_change, improvement_of_means_pct), for `sna report --interference FILE`.");
        var bos = Options.Bos(); var noBos = Options.NoBos(); var json = Options.Json(); var dtype = Options.WeightsDType();
        var noCache = Options.NoCache();
        var cmd = new Command("interference", "Cross-task interference: amplify one task's neurons and score other tasks (source × target matrix, asymmetry A→B vs B→A).")
        { model, source, sources, targets, preset, tasksDir, positions, csv, bos, noBos, json, dtype, noCache };
        cmd.SetAction(r =>
        {
            bool? bosAsked = Common.BosAsked(r, bos, noBos);
            var pos = PositionsModes.Parse(r.GetValue(positions)!);
            var specTexts = (r.GetValue(source) ?? []).Concat(Split(r.GetValue(sources))).ToArray();
            string? presetName = r.GetValue(preset)?.Trim().ToLowerInvariant();
            if (presetName is not null && presetName != "paper") throw new SnaInputException($"--preset must be paper, got '{r.GetValue(preset)}'");
            if (presetName is not null && specTexts.Length > 0) throw new SnaInputException("--preset paper sets the sources (every target task at the paper's configuration); do not also give --source/--sources");
            if (presetName is null && specTexts.Length == 0) throw new SnaInputException("give at least one --source TASK@LAYER[:COUNT[:MULT]] (or --sources A@3,B@5, or --preset paper)");
            // --targets: the library's task list (names, files, or all; a name twice is an error); --preset paper defaults to all.
            string? targetList = r.GetValue(targets) ?? (presetName is not null ? "all" : null);
            var targetSuites = targetList is null ? null : TaskResolver.ResolveList(targetList, Options.TaskDirs(r, tasksDir), "--targets").Select(t => t.Suite).ToArray();
            var suites = new Dictionary<string, TaskSuite>(StringComparer.Ordinal);
            TaskSuite Suite(string name) => suites.TryGetValue(name, out var s) ? s : suites[name] = MethodOptions.ResolveTask(name, Options.TaskDirs(r, tasksDir));

            var (m, tok, _) = Common.Load(r.GetValue(model), r.GetValue(dtype)!);
            var policy = tok.BosPolicyFor(bosAsked);
            using var _m = m;
            var src = presetName is null
                ? specTexts.Select(InterferenceSourceSpec.Parse).Select(s => new InterferenceSource(Suite(s.Task), s.Layer, s.Count, s.Multiplier)).ToArray()
                : InterferenceSource.Paper(targetSuites!, m.Config.NLayers);
            var tgt = (targetSuites ?? src.Select(s => s.Suite)).DistinctBy(s => s.Name).ToArray();
            foreach (var s in src)
            {
                InputParsing.CheckLayer(s.Layer, m.Config.NLayers, $"--source {s.Spec}");
                InputParsing.CheckCount(s.Count, m.Config.DMlp, $"--source {s.Spec}");
            }
            string? csvPath = r.GetValue(csv);
            var inputs = src.Select(s => s.Suite.Source).Concat(tgt.Select(t => t.Source)).ToArray();
            if (csvPath is not null) AtomicFile.RefuseInputs(csvPath, inputs);
            if (src.Select(s => s.Spec).Distinct().Count() != src.Length) throw new SnaInputException("the same source is given twice");
            InterferenceResult res;
            using (var progress = new Sna.Cli.Output.ProgressLine("evaluations"))
                res = InterferenceRunner.Run(m, tok, src, tgt, pos, policy, r.GetValue(noCache) ? null : DiscoveryCache.Default(), steps: progress.Report);
            var csvFile = csvPath is null ? null : new FileInfo(csvPath);
            if (csvFile is not null) AtomicFile.Write(csvFile.FullName, t => res.WriteCsv(t), inputs);
            var asym = res.Matrix.Analyze();
            var tests = res.AsymmetryTests();

            if (r.GetValue(json))
            {
                var run = Common.RunRecord(m, tok, policy, PositionsModes.Name(pos));
                run["score"] = "first-token";
                run["neuron_source"] = "differential";
                run["delta"] = "improvement_pct: mean over the target's prompts of the relative % change 100 (P_post - P_base) / P_base (not percentage points; delta_pp is its old name)";
                run["preset"] = presetName;
                Common.PrintJson(new JsonObject
                {
                    ["sources"] = Strings(res.SourceLabels),
                    ["targets"] = Strings(res.Targets),
                    ["matrix"] = Grid(res, e => e.ImprovementPct),
                    ["matrix_metric"] = InterferenceMatrix.DefaultMetric,
                    ["mean_p_change"] = Grid(res, e => e.MeanPChange),
                    ["configurations"] = new JsonArray(res.Sources.Select((s, i) => (JsonNode)new JsonObject
                    {
                        ["label"] = res.SourceLabels[i], ["task"] = s.Suite.Name, ["layer"] = s.Layer, ["count"] = s.Count,
                        ["multiplier"] = s.Multiplier, ["neurons"] = new JsonArray(res.SourceNeurons[i].Select(n => (JsonNode)n).ToArray()),
                    }).ToArray()),
                    ["cells"] = new JsonArray(res.Entries.Select(e => (JsonNode)new JsonObject
                    {
                        ["source"] = e.Source, ["target"] = e.Target, ["improvement_pct"] = MethodOptions.Num(e.ImprovementPct), ["delta_pp"] = MethodOptions.Num(e.ImprovementPct),
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
                    ["mean_diagonal_pct"] = MethodOptions.Num(asym.MeanDiagonal),
                    ["mean_off_diagonal_pct"] = MethodOptions.Num(asym.MeanOffDiagonal),
                    ["asymmetry_test"] = Sna.Research.Reporting.ReportWriter.AsymmetryTestJson(tests),
                    ["csv"] = csvFile?.FullName,
                    ["run"] = run,
                });
                return 0;
            }

            var t = new Table().Title("improvement_pct: mean per-prompt relative % change of the target's P (column) with the source's (row) neurons amplified");
            t.AddColumn("source \\ target");
            foreach (var n in res.Targets) t.AddColumn(Markup.Escape(n));
            for (int i = 0; i < res.Sources.Count; i++)
            {
                var cells = new List<string> { Markup.Escape($"{res.SourceLabels[i]} (L{res.Sources[i].Layer} k={res.Sources[i].Count} x{res.Sources[i].Multiplier})") };
                for (int j = 0; j < res.Targets.Count; j++)
                {
                    string v = MethodOptions.Pct(res[i, j].ImprovementPct).TrimEnd('%');
                    cells.Add(res.SourceLabels[i] == res.Targets[j] ? $"[bold]{v}[/]" : v);
                }
                t.AddRow(cells.ToArray());
            }
            AnsiConsole.Write(t);
            if (asym.Pairs.Count > 0)
            {
                var a = new Table().Title("Asymmetry (mean relative % change; p: two-sided permutation test of A→B's per-prompt changes vs B→A's, Holm over pairs)")
                    .AddColumn("A").AddColumn("B").AddColumn("A→B").AddColumn("B→A").AddColumn("difference").AddColumn("p").AddColumn("Holm p");
                foreach (var p in tests.Pairs)
                    a.AddRow(Markup.Escape(p.A), Markup.Escape(p.B), F(p.AToB), F(p.BToA), F(p.Difference), Sna.Research.Formatting.Num.P(p.PValue), Sna.Research.Formatting.Num.P(p.PHolm));
                AnsiConsole.Write(a);
                AnsiConsole.MarkupLine(Markup.Escape($"asymmetry index {F(asym.AsymmetryIndex)} (0 symmetric, 0.5 unrelated, 1 antisymmetric)"));
                if (tests.Direction is { } d)
                    AnsiConsole.MarkupLine(Markup.Escape($"paired test across {d.Pairs} pairs ({d.Orientation}): mean difference {F(d.MeanDifference)} %, {d.PositivePairs}/{d.Pairs} positive, p = {Sna.Research.Formatting.Num.P(d.PValue)} ({d.Method})"));
            }
            AnsiConsole.MarkupLine("[grey]bold = on-task gain (diagonal); positions " + PositionsModes.Name(pos) + (csvFile is null ? "" : $"; wrote {Markup.Escape(csvFile.FullName)}") + "[/]");
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
