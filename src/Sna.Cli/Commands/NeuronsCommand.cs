using Sna.Runtime;
using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna neurons --model M (--task T | --task-texts FILE [--neutral-texts FILE]) [--layer L | --all-layers] [--count K]
/// [--contrast-texts FILE] [--no-bos] [--no-cache] --json</c>.
/// One layer: <c>{"layer":L,"neurons":[{"index":i,"difference":d},...]}</c>, largest difference first.
/// All layers (the default): <c>{"layers":[{"layer":0,"neurons":[...]},...],"run":{...}}</c>.
/// Contrastive (<c>--contrast-texts</c>, or a task with classes) adds <c>"contrast_neurons"</c>, <c>"shared"</c> and
/// <c>"overlap_pct"</c> to each layer object; both lists are then exclusive.
/// </summary>
public static class NeuronsCommand
{
    public static Command Build()
    {
        var model = Options.Model();
        var task = Options.Task();
        var tasksDir = Options.TasksDir();
        var taskTexts = new Option<string>("--task-texts") { Description = "JSON array of task texts (instead of --task)." };
        var neutralTexts = new Option<string>("--neutral-texts") { Description = "JSON array of neutral texts (default: the task's neutral texts, else the built-in corpus)." };
        var contrastTexts = new Option<string>("--contrast-texts") { Description = "JSON array of a second class's texts (for --method contrastive|exclusive)." };
        var method = new Option<string?>("--method") { Description = "differential (task − neutral; default) | contrastive (class A vs class B directly, the paper's; default with two classes) | exclusive (each class vs neutral, shared neurons removed) | task-vs-rest (task vs the other built-in tasks)." };
        var layer = Options.LayerOptional("Only this layer (prints one object).");
        var allLayers = new Option<bool>("--all-layers") { Description = "Every layer (the default)." };
        var top = Options.Count(25, "Neurons per layer, largest difference first.");
        var noCache = Options.NoCache();
        var discPositions = Options.DiscoveryPositions(positionsAlias: true); var discWeighting = Options.DiscoveryWeighting(weightingAlias: true);
        var outFile = Options.NeuronSetOut();
        var bos = Options.Bos(); var noBos = Options.NoBos(); var json = Options.Json(); var dtype = Options.WeightsDType();
        var cmd = new Command("neurons", "Find a task's neurons by differential activation (task mean − neutral mean of blocks.{L}.mlp.hook_post), per layer.")
        { model, task, tasksDir, taskTexts, neutralTexts, contrastTexts, method, layer, allLayers, top, discPositions, discWeighting, noCache, outFile, bos, noBos, json, dtype };
        cmd.SetAction(r =>
        {
            bool? bosAsked = Common.BosAsked(r, bos, noBos);
            int k = r.GetValue(top);
            int? onlyLayer = r.GetValue(layer);
            if (onlyLayer is not null && r.GetValue(allLayers)) throw new SnaInputException("--layer and --all-layers are mutually exclusive");
            string? taskArg = r.GetValue(task), textsArg = r.GetValue(taskTexts);
            if ((taskArg is null) == (textsArg is null)) throw new SnaInputException("give --task NAME|FILE or --task-texts FILE (one of them)");
            TaskSuite? suite = taskArg is null ? null : MethodOptions.ResolveTask(taskArg, Options.TaskDirs(r, tasksDir));
            IReadOnlyList<string> texts = suite?.DiscoveryTexts ?? TaskSuiteJson.LoadTextList(textsArg!);
            IReadOnlyList<string> neutral = r.GetValue(neutralTexts) is { } nf ? TaskSuiteJson.LoadTextList(nf) : suite?.Neutral ?? TaskLibrary.NeutralCorpus;
            IReadOnlyList<string>? contrast = r.GetValue(contrastTexts) is { } cf ? TaskSuiteJson.LoadTextList(cf) : null;
            string[]? classNames = null;
            if (contrast is null && suite is { IsClassification: true })
            {
                classNames = suite.ClassLabels.ToArray();
                texts = suite.ClassTexts(classNames[0]);
                contrast = suite.ClassTexts(classNames[1]);
            }

            DiscoveryMethod meth;
            try { meth = r.GetValue(method) is { } ms ? DiscoveryMethods.Parse(ms) : contrast is null ? DiscoveryMethod.Differential : DiscoveryMethod.Contrastive; }
            catch (ArgumentException e) { throw new SnaInputException(e.Message); }
            bool twoClass = meth is DiscoveryMethod.Contrastive or DiscoveryMethod.Exclusive;
            if (twoClass && contrast is null) throw new SnaInputException($"--method {DiscoveryMethods.Name(meth)} compares two classes: give --contrast-texts FILE or a task with classes");
            if (!twoClass && contrast is not null) throw new SnaInputException($"--method {DiscoveryMethods.Name(meth)} takes one class: drop --contrast-texts (or use --method contrastive|exclusive)");
            if (meth == DiscoveryMethod.TaskVsRest && suite is null) throw new SnaInputException("--method task-vs-rest needs --task (it compares the task with the other built-in tasks)");

            var (m, tok, _) = Common.Load(r.GetValue(model), r.GetValue(dtype)!);
            var policy = tok.BosPolicyFor(bosAsked);
            using var _m = m;
            if (onlyLayer is { } ol) InputParsing.CheckLayer(ol, m.Config.NLayers);
            InputParsing.CheckCount(k, m.Config.DMlp);
            var means = Options.DiscoveryMeans(r, discPositions, discWeighting);
            var disc = new NeuronDiscovery(m, tok, r.GetValue(noCache) ? null : DiscoveryCache.Default()) { Bos = policy, Means = means };
            int[] layers = onlyLayer is { } one ? [one] : Enumerable.Range(0, m.Config.NLayers).ToArray();

            // One implementation per method (Sna.Research.Method.DiscoveryMethods); the command only picks and renders.
            IReadOnlyList<TwoClassNeurons>? con = twoClass ? disc.TwoClass(meth, texts, contrast!, neutral, k) : null;
            Func<int, IReadOnlyList<NeuronScore>> single = meth switch
            {
                DiscoveryMethod.TaskVsRest => disc.TaskVsRest(suite!, TaskLibrary.BuiltIns) is var rest ? l => rest(l, k) : null!,
                _ => disc.Differential(texts, neutral) is var diff ? l => diff.Top(l, k) : null!,
            };
            IReadOnlyList<NeuronScore> ListA(int l) => con is null ? single(l) : con[l].A;

            JsonObject LayerJson(int l)
            {
                var o = new JsonObject { ["layer"] = l };
                o["neurons"] = NeuronArray(ListA(l));
                if (con is not null)
                {
                    o["contrast_neurons"] = NeuronArray(con[l].B);
                    o["shared"] = new JsonArray(con[l].Shared.Select(i => (JsonNode)i).ToArray());
                    o["overlap_pct"] = con[l].OverlapPct;
                }
                return o;
            }

            if (r.GetValue(outFile) is { } setPath)
            {
                var set = NeuronSetFile.FromDiscovery(m, meth, policy,
                    layers.Select(l => new NeuronSetLayer(l, ListA(l), con?[l].B)).ToArray(), texts, neutral, contrast, suite?.Name, means);
                var inputs = new[] { taskArg is not null && File.Exists(taskArg) ? taskArg : null, textsArg, r.GetValue(neutralTexts), r.GetValue(contrastTexts) };
                set.Write(setPath, inputs);
                Console.Error.WriteLine($"wrote {setPath}: {layers.Length} layer(s) × {k} neurons, {set.Method}, model sha256 {set.ModelSha256[..12]}…");
            }

            if (r.GetValue(json))
            {
                if (onlyLayer is not null) { Common.PrintJson(LayerJson(layers[0])); return 0; }
                var run = Common.RunRecord(m, tok, policy);
                run["task"] = suite?.Name;
                run["task_texts"] = texts.Count;
                run["neutral_texts"] = neutral.Count;
                if (contrast is not null) run["contrast_texts"] = contrast.Count;
                if (classNames is not null) run["classes"] = new JsonArray(classNames.Select(c => (JsonNode)c).ToArray());
                run["top"] = k; // the JSON contract keeps its key; the option is --count
                run["method"] = DiscoveryMethods.Name(meth);
                run["discovery_positions"] = means.PositionsName;
                run["discovery_weighting"] = means.WeightingName;
                Common.PrintJson(new JsonObject { ["layers"] = new JsonArray(layers.Select(l => (JsonNode)LayerJson(l)).ToArray()), ["run"] = run });
                return 0;
            }

            string what = suite is null ? $"{texts.Count} task texts" : $"task {suite.Name} ({texts.Count} texts)";
            AnsiConsole.MarkupLine($"[bold]{DiscoveryMethods.Name(meth)}[/]: {Markup.Escape(what)}" + meth switch
                {
                    DiscoveryMethod.Differential => $" vs {neutral.Count} neutral texts",
                    DiscoveryMethod.TaskVsRest => " vs the other built-in tasks' texts",
                    DiscoveryMethod.Contrastive => $" vs {contrast!.Count} texts of the other class directly (top k of A − B and of B − A)",
                    _ => $" and {contrast!.Count} texts of the other class, each vs {neutral.Count} neutral texts, shared neurons removed",
                } + (classNames is null ? "" : Markup.Escape($" (classes {classNames[0]} vs {classNames[1]})")) + $", BOS {ModelTokenizer.BosDescription(policy)}, means over {means.PositionsName} positions, {means.WeightingName}, top {k}");
            if (layers.Length == 1)
            {
                int l = layers[0];
                var t = new Table().AddColumn("rank").AddColumn("neuron").AddColumn("difference");
                var list = ListA(l);
                for (int i = 0; i < list.Count; i++) t.AddRow((i + 1).ToString(), list[i].Index.ToString(), Fmt(list[i].Difference));
                AnsiConsole.Write(t.Title($"layer {l}"));
                if (con is not null)
                    AnsiConsole.MarkupLine($"contrast neurons: {string.Join(", ", con[l].B.Select(n => n.Index))}; overlap {con[l].OverlapPct:F1}%");
                return 0;
            }
            var table = new Table().AddColumn("layer").AddColumn("neurons (largest difference first)").AddColumn("top difference");
            if (con is not null) table.AddColumn("contrast neurons").AddColumn("overlap");
            foreach (int l in layers)
            {
                var list = ListA(l);
                var cells = new List<string> { l.ToString(), string.Join(", ", list.Select(n => n.Index)), list.Count > 0 ? Fmt(list[0].Difference) : "" };
                if (con is not null) { cells.Add(string.Join(", ", con[l].B.Select(n => n.Index))); cells.Add($"{con[l].OverlapPct:F1}%"); }
                table.AddRow(cells.ToArray());
            }
            AnsiConsole.Write(table);
            if (disc.Cache is { } c) AnsiConsole.MarkupLine($"[grey]cache {Markup.Escape(c.Directory)}: {c.Hits} hit(s), {c.Misses} miss(es)[/]");
            return 0;
        });
        return cmd;
    }

    internal static JsonArray NeuronArray(IEnumerable<NeuronScore> list) =>
        new(list.Select(n => (JsonNode)new JsonObject { ["index"] = n.Index, ["difference"] = n.Difference }).ToArray());

    private static string Fmt(double d) => d.ToString("F6", CultureInfo.InvariantCulture);

    /// <summary>The neurons <c>amplify --task</c> uses: the top <paramref name="count"/> of the task's differential at <paramref name="layer"/>.</summary>
    internal static IReadOnlyList<NeuronScore> ForTask(TransformerModel m, ModelTokenizer tok, TaskSuite suite, int layer, int count, BosPolicy policy, bool noCache)
    {
        InputParsing.CheckLayer(layer, m.Config.NLayers);
        InputParsing.CheckCount(count, m.Config.DMlp);
        var disc = new NeuronDiscovery(m, tok, noCache ? null : DiscoveryCache.Default()) { Bos = policy };
        return disc.ForTask(suite).Top(layer, count);
    }
}
