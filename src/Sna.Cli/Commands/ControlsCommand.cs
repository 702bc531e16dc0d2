using Sna.Research.Formatting;
using Sna.Runtime;
using Sna.Research.Experiments;
using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Sna.Research.Analysis;
using Sna.Research.Method;
using Spectre.Console;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna controls --task T --layer L [--count K] --multiplier M [--seeds 20] [--positions all|last] [--json]</c>: the task's
/// differential top-K neurons vs random sets of K neurons of the same layer (one per seed) and vs its bottom-K neurons, the
/// randomisation p of "task neurons beat random neurons", and the collateral cost (KL, perplexity) on neutral text.
/// </summary>
public static class ControlsCommand
{
    public static Command Build()
    {
        var model = Options.Model();
        var task = Options.Task(required: true);
        var tasksDir = Options.TasksDir();
        var layer = Options.LayerOptional("Layer of the configuration (required unless --neurons gives a one-layer set file).");
        var count = Options.CountOptional("Neurons per set: the task's top K by differential activation (default 10), or the first K of the --neurons set file (default all).");
        var neurons = Options.Neurons("The neurons under test: a neuron set file FILE.json / @FILE.json from 'sna neurons --out' (default: the task's differential top K). Bottom-K still comes from the task's ranking.");
        var multiplier = Options.Multiplier();
        var seeds = Options.Int("--seeds", "Random neuron sets (seeds FIRST..FIRST+N-1).", 0, 10_000, 20);
        var firstSeed = Options.Int("--first-seed", "First random seed.", 0, int.MaxValue - 10_000, 0);
        var positions = Options.Positions();
        var withTask = new Option<bool>("--random-may-overlap") { Description = "Draw random sets from all neurons of the layer, exactly as `sna sweep --neuron-source random:SEED` (default: from the neurons outside the task's list)." };
        var noBottom = new Option<bool>("--no-bottom") { Description = "Skip the bottom-K control." };
        var noCollateral = new Option<bool>("--no-collateral") { Description = "Skip the collateral cost on neutral text." };
        var controlCollateral = new Option<bool>("--control-collateral") { Description = "Also measure the collateral cost of the bottom-K set and of the first random set." };
        var bos = Options.Bos(); var noBos = Options.NoBos(); var json = Options.Json(); var dtype = Options.WeightsDType();
        var noCache = Options.NoCache();
        var cmd = new Command("controls", "Task neurons vs random neurons and bottom-k for one configuration (permutation p), and its collateral cost on neutral text (KL, perplexity).")
        { model, task, tasksDir, layer, count, neurons, multiplier, seeds, firstSeed, positions, withTask, noBottom, noCollateral, controlCollateral, bos, noBos, json, dtype, noCache };
        cmd.SetAction(r =>
        {
            bool? bosAsked = Common.BosAsked(r, bos, noBos);
            var pos = PositionsModes.Parse(r.GetValue(positions)!);
            int n = r.GetValue(seeds);
            double mult = r.GetValue(multiplier);
            NeuronsArg? given = null;
            if (r.GetValue(neurons) is { } nv)
            {
                if (!Options.IsNeuronSetFile(nv, out _)) throw new SnaInputException("--neurons", "controls --neurons takes a neuron set file (FILE.json or @FILE.json); the default is the task's top K");
                given = NeuronsArg.Parse(nv, r.GetValue(layer), r.GetValue(count));
            }
            else if (r.GetValue(layer) is null) throw new SnaInputException("--layer", "give --layer L (or --neurons set.json)");
            var suite = MethodOptions.ResolveTask(r.GetValue(task)!, Options.TaskDirs(r, tasksDir));
            var (m, tok, _) = Common.Load(r.GetValue(model), r.GetValue(dtype)!);
            var policy = tok.BosPolicyFor(bosAsked);
            using var _m = m;
            int l; int[]? givenNeurons = null;
            if (given is not null) { var (gl, gn) = given.Resolve(m); l = gl; givenNeurons = gn.ToArray(); }
            else l = InputParsing.CheckLayer(r.GetValue(layer)!.Value, m.Config.NLayers);
            int k = givenNeurons?.Length ?? r.GetValue(count) ?? 10;
            InputParsing.CheckCount(k, m.Config.DMlp);
            if (!r.GetValue(withTask) && n > 0 && 2 * k > m.Config.DMlp)
                throw new SnaInputException("--count", $"--count {k} leaves fewer than {k} neurons outside the task's list (d_mlp {m.Config.DMlp}); use --random-may-overlap or a smaller count");
            var options = new ControlsOptions
            {
                Seeds = n, FirstSeed = r.GetValue(firstSeed), ExcludeTaskNeurons = !r.GetValue(withTask), BottomK = !r.GetValue(noBottom),
                Collateral = !r.GetValue(noCollateral), ControlCollateral = r.GetValue(controlCollateral), Bos = policy,
                Cache = r.GetValue(noCache) ? null : DiscoveryCache.Default(),
                TaskNeurons = givenNeurons,
            };
            ControlsResult res;
            using (var progress = new Sna.Cli.Output.ProgressLine("sets"))
                res = ControlsRunner.Run(m, tok, suite, l, k, (float)mult, pos, options with { Steps = progress.Report });
            var c = res.Comparison;
            var test = res.RandomTest;

            if (r.GetValue(json))
            {
                var run = Common.RunRecord(m, tok, policy, PositionsModes.Name(pos));
                run["task_source"] = suite.Source;
                run["score"] = "first-token";
                run["improvement"] = "mean over the task's prompts of 100 (P_post - P_base) / P_base";
                given?.AddTo(run);
                Common.PrintJson(new JsonObject
                {
                    ["task"] = res.Task,
                    ["configuration"] = new JsonObject
                    {
                        ["layer"] = l, ["count"] = k, ["multiplier"] = mult, ["positions"] = res.Configuration.Positions, ["neuron_source"] = res.Configuration.NeuronSource,
                    },
                    ["task_neurons"] = Outcome(res.TaskNeurons, res.TaskOutcome),
                    ["random"] = new JsonObject
                    {
                        ["exclude_task_neurons"] = options.ExcludeTaskNeurons,
                        ["sets"] = new JsonArray(res.Random.Select(x => (JsonNode)new JsonObject
                        {
                            ["seed"] = x.Seed, ["neurons"] = Ints(x.Neurons), ["improvement_pct"] = MethodOptions.Num(x.ImprovementPct),
                        }).ToArray()),
                        ["mean_pct"] = MethodOptions.Num(c.RandomMeanPct),
                        ["sd_pct"] = MethodOptions.Num(c.RandomSdPct),
                        ["max_pct"] = res.Random.Count == 0 ? null : MethodOptions.Num(res.Random.Max(x => x.ImprovementPct)),
                    },
                    ["p_vs_random"] = test is null ? null : MethodOptions.Num(test.PValue),
                    ["random_at_least_task"] = test?.Extreme,
                    ["bottom_k"] = res.BottomOutcome is null ? null : Outcome(res.BottomNeurons!, res.BottomOutcome),
                    ["advantage_over_bottom_k_pct"] = MethodOptions.Num(c.AdvantageOverBottomKPct),
                    ["collateral"] = Collateral(res.Collateral),
                    ["control_collateral"] = options.ControlCollateral && options.Collateral
                        ? new JsonObject { ["bottom_k"] = Collateral(res.BottomCollateral), ["random_first_seed"] = Collateral(res.RandomCollateral) } : null,
                    ["run"] = run,
                });
                return 0;
            }

            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(res.Task)}[/]: {Markup.Escape(res.Configuration.ToString())}; improvement = mean over prompts of the per-prompt %");
            var t = new Table().AddColumn("neurons").AddColumn("improvement").AddColumn("mean P_base").AddColumn("mean P_post");
            t.AddRow("task top-k", MethodOptions.Pct(c.TaskNeuronImprovementPct), Num.Prob(res.TaskOutcome.MeanPBase), Num.Prob(res.TaskOutcome.MeanPPost));
            if (res.Random.Count > 0)
                t.AddRow($"random x{res.Random.Count}", Sna.Research.Formatting.Num.PlusMinus(c.RandomMeanPct, c.RandomSdPct, Sna.Research.Formatting.Num.Spread.SD, "%"), "", "");
            if (res.BottomOutcome is { } b)
                t.AddRow("bottom-k", MethodOptions.Pct(b.ImprovementPct), Num.Prob(b.MeanPBase), Num.Prob(b.MeanPPost));
            AnsiConsole.Write(t);
            if (res.Random.Count > 1) AnsiConsole.MarkupLine("[grey]random: mean ± SD over the random sets, in % improvement[/]");
            AnsiConsole.MarkupLine(Markup.Escape($"task neurons: {string.Join(", ", res.TaskNeurons)}" + (res.BottomNeurons is { } bn ? $"; bottom-k: {string.Join(", ", bn)}" : "")));
            if (res.Random.Count > 0)
                AnsiConsole.MarkupLine(Markup.Escape($"random sets: seeds {res.Random[0].Seed}..{res.Random[^1].Seed}, best {MethodOptions.Pct(res.Random.Max(x => x.ImprovementPct))}, "
                    + (options.ExcludeTaskNeurons ? "drawn outside the task's neurons" : "drawn from the whole layer (sweep's random:SEED)")));
            if (test is not null)
                AnsiConsole.MarkupLine(Markup.Escape($"task neurons > random: p = {test.PValue.ToString("0.####", CultureInfo.InvariantCulture)} ({test.Extreme} of {test.NullCount} random sets at least as good; smallest attainable p = 1/{test.NullCount + 1})"));
            if (res.Collateral is { } col)
                AnsiConsole.MarkupLine(Markup.Escape($"collateral on {col.Texts} neutral texts: mean KL {col.MeanKl.ToString("G4", CultureInfo.InvariantCulture)} nats over {col.KlPositions} positions (max {col.MaxKl.ToString("G4", CultureInfo.InvariantCulture)}); " +
                    $"perplexity {Fmt(col.PerplexityBase)} → {Fmt(col.PerplexityPost)} ({MethodOptions.Pct(col.PerplexityChangePct)})"));
            return 0;
        });
        return cmd;
    }

    private static JsonArray Ints(IEnumerable<int> xs) => new(xs.Select(x => (JsonNode)x).ToArray());

    private static JsonObject Outcome(int[] neurons, TaskOutcome o) => new()
    {
        ["neurons"] = Ints(neurons),
        ["improvement_pct"] = MethodOptions.Num(o.ImprovementPct),
        ["mean_p_base"] = o.MeanPBase,
        ["mean_p_post"] = o.MeanPPost,
        ["improvement_of_means_pct"] = MethodOptions.Num(o.ImprovementOfMeansPct),
    };

    private static JsonObject? Collateral(CollateralMeasurement? c) => c is null ? null : new JsonObject
    {
        ["texts"] = c.Texts,
        ["positions"] = c.KlPositions,
        ["mean_kl"] = MethodOptions.Num(c.MeanKl),
        ["max_kl"] = MethodOptions.Num(c.MaxKl),
        ["predicted_tokens"] = c.PredictedTokens,
        ["perplexity_base"] = MethodOptions.Num(c.PerplexityBase),
        ["perplexity_post"] = MethodOptions.Num(c.PerplexityPost),
        ["perplexity_change_pct"] = MethodOptions.Num(c.PerplexityChangePct),
    };

    private static string Fmt(double v) => double.IsFinite(v) ? v.ToString("0.000", CultureInfo.InvariantCulture) : "—";
}
