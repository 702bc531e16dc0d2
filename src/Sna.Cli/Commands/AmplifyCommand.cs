using Sna.Runtime;
using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Sna.Research.Method;
using Sna.Research.Experiments;
using Sna.Research.Formatting;
using Sna.Runtime.Models;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna amplify --prompt TEXT --target TEXT --layer L --neurons i,j,k --multiplier M [--positions all|last] [--no-bos] --json</c> →
/// <c>{"baseline":{"probability","logprob"},"amplified":{"probability","logprob"},"improvement_pct":x}</c>.
/// <para>
/// Task mode: <c>sna amplify --task T --layer L (--count K | --neurons i,j) --multiplier M [--positions all|last]
/// [--score first-token|sequence] --json</c> → <c>{"neurons":[...],"prompts":[{"prompt_index","text","target","p_base","p_post",
/// "improvement_pct"}],"mean":{"p_base","p_post","improvement_pct"},"run":{...}}</c>; neurons from discovery (top K at L).
/// </para>
/// </summary>
public static class AmplifyCommand
{
    public static Command Build()
    {
        var model = Options.Model();
        var prompt = Options.Prompt();
        var target = Options.Target();
        var layer = Options.LayerOptional("Layer whose blocks.{L}.mlp.hook_post is scaled (required unless --neurons gives a one-layer set file).");
        var neurons = Options.Neurons();
        var multiplier = Options.Multiplier();
        var positions = Options.Positions();
        var bos = Options.Bos(); var noBos = Options.NoBos(); var json = Options.Json(); var dtype = Options.WeightsDType();
        var task = Options.Task();
        var tasksDir = Options.TasksDir();
        var count = Options.CountOptional("With --task: amplify the task's top K neurons at --layer, found by differential activation. With a set file: its first K neurons.");
        var score = Options.Score();
        var noCache = Options.NoCache();
        var top = Options.Int("--top", "One prompt: also list the N most likely next tokens before and after (0 = off).", 0, 1000, 0);
        var generate = Options.Int("--generate", "One prompt: also continue the prompt greedily by N tokens before and after (KV-cached, the hooks on every step). "
            + "With --task: greedy-decode each prompt's answer (up to N tokens) before and after and report exact-match accuracy with an exact McNemar test. 0 = off.", 0, 1024, 0);
        var cmd = new Command("amplify", "Scale chosen MLP neurons and compare the target's probability before and after (one prompt, or every prompt of --task).")
        { model, prompt, target, layer, neurons, multiplier, positions, bos, noBos, json, dtype, task, tasksDir, count, score, noCache, top, generate };
        cmd.SetAction(r =>
        {
            bool? bosAsked = Common.BosAsked(r, bos, noBos);
            var pos = PositionsModes.Parse(r.GetValue(positions)!);
            int nTop = r.GetValue(top), nGen = r.GetValue(generate);
            if (r.GetValue(task) is not null && nTop > 0)
                throw new SnaInputException("--top", "--top is for one prompt (--prompt/--target), not --task");
            if (r.GetValue(task) is not null) return RunTask(r, model, task, tasksDir, prompt, target, layer, neurons, multiplier, count, score, noCache, json, dtype, bosAsked, pos, nGen);
            string? p = r.GetValue(prompt), t = r.GetValue(target), n = r.GetValue(neurons);
            if (p is null || t is null) throw new SnaInputException("give --prompt and --target");
            if (n is null) throw new SnaInputException("give --neurons i,j,k or --neurons set.json");
            var given = NeuronsArg.Parse(n, r.GetValue(layer), r.GetValue(count));
            using var lm = Common.Load(r.GetValue(model), r.GetValue(dtype)!);
            var (m, tok, _) = lm;
            var policy = tok.BosPolicyFor(bosAsked);
            var (l, chosenNeurons) = given.Resolve(m);
            var amp = Amplification.Single(l, chosenNeurons, (float)r.GetValue(multiplier), pos);
            var res = PromptAmplification.Run(lm, EncodedPrompt.Encode(lm, p, t, policy), amp, nTop, nGen);
            var targetTokens = res.Input.Target;
            int targetId = res.Input.TargetId;
            var (before, after) = (res.Before, res.After);
            double? imp = res.ImprovementPct;
            var topBefore = nTop > 0 ? res.TopBefore : null;
            var topAfter = nTop > 0 ? res.TopAfter : null;
            var (genBefore, genAfter) = (res.ContinuationBefore, res.ContinuationAfter);
            JsonArray TopJson(TokenProbability[] t) => new(t.Select(x => (JsonNode)new JsonObject { ["id"] = x.Id, ["token"] = tok.TokenText(x.Id), ["probability"] = x.Probability }).ToArray());
            if (r.GetValue(json))
            {
                var jo = new JsonObject
                {
                    ["baseline"] = new JsonObject { ["probability"] = before.Probability, ["logprob"] = before.LogProb, ["rank"] = before.Rank },
                    ["amplified"] = new JsonObject { ["probability"] = after.Probability, ["logprob"] = after.LogProb, ["rank"] = after.Rank },
                    ["improvement_pct"] = imp,
                    ["target_id"] = targetId,
                    ["layer"] = amp.Sites[0].Layer,
                    ["neurons"] = new JsonArray(amp.Sites[0].Neurons.Select(i => (JsonNode)i).ToArray()),
                    ["multiplier"] = r.GetValue(multiplier),
                    ["run"] = Common.RunRecord(m, tok, policy, PositionsModes.Name(pos)),
                };
                given.AddTo((JsonObject)jo["run"]!);
                if (topBefore is not null)
                {
                    ((JsonObject)jo["baseline"]!)["top"] = TopJson(topBefore);
                    ((JsonObject)jo["amplified"]!)["top"] = TopJson(topAfter!);
                }
                if (genBefore is not null)
                    jo["continuation"] = new JsonObject
                    {
                        ["max_new_tokens"] = nGen,
                        ["baseline"] = tok.Decode(genBefore),
                        ["amplified"] = tok.Decode(genAfter!),
                        ["baseline_ids"] = new JsonArray(genBefore.Select(i => (JsonNode)i).ToArray()),
                        ["amplified_ids"] = new JsonArray(genAfter!.Select(i => (JsonNode)i).ToArray()),
                        ["first_difference"] = res.FirstDifference,
                    };
                Common.AddTarget(jo, targetTokens);
                Common.PrintJson(jo);
                return 0;
            }
            Common.WarnTargets(targetTokens.Warnings);
            if (given.Set is not null) Console.Error.WriteLine($"neurons from {given.Path} ({given.Set.Method}, {chosenNeurons.Count} of {given.Set.Layer(l, given.Path!).Neurons.Count} at layer {l})");
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(amp.ToString())}[/] on target {Markup.Escape(Common.Printable(tok.TokenText(targetId)))} (id {targetId})");
            var table = new Table().AddColumn("").AddColumn("probability").AddColumn("log P").AddColumn("rank");
            table.AddRow("baseline", Num.Prob(before.Probability), before.LogProb.ToString("F4", CultureInfo.InvariantCulture), before.Rank.ToString());
            table.AddRow("amplified", Num.Prob(after.Probability), after.LogProb.ToString("F4", CultureInfo.InvariantCulture), after.Rank.ToString());
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"improvement: [bold]{(imp is double x ? x.ToString("+0.00;-0.00", CultureInfo.InvariantCulture) + "%" : "n/a (P_base is 0)")}[/]");
            if (topBefore is not null)
            {
                var tt = new Table().Title($"Top {topBefore.Length} next tokens").AddColumn("#").AddColumn("baseline").AddColumn("P").AddColumn("amplified").AddColumn("P");
                for (int i = 0; i < topBefore.Length; i++)
                    tt.AddRow((i + 1).ToString(CultureInfo.InvariantCulture),
                        Markup.Escape(Common.Printable(tok.TokenText(topBefore[i].Id))) + (topBefore[i].Id == targetId ? " *" : ""), Num.Prob(topBefore[i].Probability),
                        Markup.Escape(Common.Printable(tok.TokenText(topAfter![i].Id))) + (topAfter[i].Id == targetId ? " *" : ""), Num.Prob(topAfter[i].Probability));
                AnsiConsole.Write(tt);
                AnsiConsole.MarkupLine("[grey]* the target[/]");
            }
            if (genBefore is not null)
            {
                AnsiConsole.MarkupLine($"[bold]greedy continuation[/] ({nGen} tokens at most)");
                AnsiConsole.MarkupLine("  baseline:  " + Markup.Escape(Common.Printable(tok.Decode(genBefore))));
                AnsiConsole.MarkupLine("  amplified: " + Markup.Escape(Common.Printable(tok.Decode(genAfter!))));
                int d = res.FirstDifference;
                AnsiConsole.MarkupLine(d < 0 ? "[grey]  identical[/]" : $"[grey]  first differs at new token {d}[/]");
            }
            return 0;
        });
        return cmd;
    }

    private static int RunTask(ParseResult r, Option<string?> model, Option<string?> task, Option<string?> tasksDir, Option<string> prompt, Option<string> target, Option<int?> layer,
        Option<string?> neurons, Option<double> multiplier, Option<int?> count, Option<string> score, Option<bool> noCache, Option<bool> json,
        Option<string> dtype, bool? bosAsked, PositionsMode pos, int generate)
    {
        if (r.GetValue(prompt) is not null || r.GetValue(target) is not null) throw new SnaInputException("give either --task or --prompt/--target, not both");
        string? explicitNeurons = r.GetValue(neurons);
        int? k = r.GetValue(count);
        var given = explicitNeurons is null ? null : NeuronsArg.Parse(explicitNeurons, r.GetValue(layer), k);
        if (given is { Set: null } && k is not null || given is null && k is null)
            throw new SnaInputException("with --task give --count K (discovered neurons), --neurons i,j,k or --neurons set.json (one of them)");
        if (given is null && r.GetValue(layer) is null) throw new SnaInputException("give --layer L");
        var kind = MethodOptions.ParseScore(r.GetValue(score)!);
        var suite = MethodOptions.ResolveTask(r.GetValue(task)!, Options.TaskDirs(r, tasksDir));
        var (m, tok, _) = Common.Load(r.GetValue(model), r.GetValue(dtype)!);
        using var _m = m;
        var policy = tok.BosPolicyFor(bosAsked);
        IReadOnlyList<int> chosen;
        IReadOnlyList<NeuronScore>? discovered = null;
        int l;
        if (given is not null) (l, chosen) = given.Resolve(m);
        else
        {
            l = InputParsing.CheckLayer(r.GetValue(layer)!.Value, m.Config.NLayers);
            int kk = k!.Value;
            InputParsing.CheckCount(kk, m.Config.DMlp);
            discovered = NeuronsCommand.ForTask(m, tok, suite, l, kk, policy, r.GetValue(noCache));
            chosen = discovered.Select(n => n.Index).ToArray();
        }
        var amp = Amplification.Single(l, chosen, (float)r.GetValue(multiplier), pos);
        amp.Validate(m.Config);
        var o = TaskAmplification.Evaluate(m, tok, suite, amp, policy, kind);
        var targets = EncodedTask.Encode(suite, tok, policy, kind).TargetEncodings;
        // Beyond the paper: does the answer change? Greedy answers before and after, exact match, McNemar (the demo's evaluation).
        var gen = generate > 0 ? GenerationEvaluator.Evaluate(m, tok, suite, amp, policy, ZoneThresholds.Paper.Zone(o.MeanPBase), generate) : null;
        if (r.GetValue(json))
        {
            var run = Common.RunRecord(m, tok, policy, PositionsModes.Name(pos));
            run["task"] = suite.Name;
            run["task_source"] = suite.Source;
            run["layer"] = l;
            run["multiplier"] = r.GetValue(multiplier);
            run["score"] = MethodOptions.ScoreText(kind);
            run["neuron_source"] = discovered is not null ? "discovery" : given?.Set is not null ? "file" : "explicit";
            given?.AddTo(run);
            if (discovered is not null) run["differences"] = new JsonArray(discovered.Select(n => (JsonNode)n.Difference).ToArray());
            run["improvement_definition"] = "improvement_pct = mean over prompts of 100 (P_post - P_base) / P_base";
            var jo = new JsonObject
            {
                ["neurons"] = new JsonArray(chosen.Select(i => (JsonNode)i).ToArray()),
                ["prompts"] = new JsonArray(o.Prompts.Select(p => (JsonNode)new JsonObject
                {
                    ["prompt_index"] = p.PromptIndex, ["text"] = p.Text, ["target"] = p.Target,
                    ["p_base"] = p.Base.Probability, ["p_post"] = p.Post.Probability, ["improvement_pct"] = MethodOptions.Num(p.ImprovementPct),
                }).ToArray()),
                ["mean"] = new JsonObject
                {
                    ["p_base"] = o.MeanPBase, ["p_post"] = o.MeanPPost, ["improvement_pct"] = MethodOptions.Num(o.ImprovementPct),
                    ["improvement_of_means_pct"] = MethodOptions.Num(o.ImprovementOfMeansPct), ["median_improvement_pct"] = MethodOptions.Num(o.MedianImprovementPct),
                },
                ["run"] = run,
            };
            if (gen is not null) jo["exact_match"] = ExactMatchJson(gen, tok);
            Common.AddTargets(jo, targets);
            Common.PrintJson(jo);
            return 0;
        }
        Common.WarnTargets(Common.TargetWarnings(targets));
        if (given?.Set is not null) Console.Error.WriteLine($"neurons from {given.Path} ({given.Set.Method}, {chosen.Count} at layer {l})");
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(suite.Name)}[/]: {Markup.Escape(amp.ToString())}" + (discovered is null ? "" : " (top neurons by differential activation)")
            + $", {MethodOptions.ScoreText(kind)} scoring");
        var table = new Table().AddColumn("#").AddColumn("P_base").AddColumn("P_post").AddColumn("improvement").AddColumn("prompt").AddColumn("target");
        foreach (var p in o.Prompts)
            table.AddRow(p.PromptIndex.ToString(), Num.Prob(p.Base.Probability), Num.Prob(p.Post.Probability), MethodOptions.Pct(p.ImprovementPct),
                Markup.Escape(MethodOptions.Clip(Common.Printable(p.Text), 50)), Markup.Escape(Common.Printable(p.Target)));
        table.AddRow("[bold]mean[/]", Num.Prob(o.MeanPBase), Num.Prob(o.MeanPPost), $"[bold]{MethodOptions.Pct(o.ImprovementPct)}[/]", "", "");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("[grey]mean improvement = mean over prompts of (P_post − P_base) / P_base; improvement of the means = "
            + $"{Markup.Escape(MethodOptions.Pct(o.ImprovementOfMeansPct))}; median improvement = {Markup.Escape(MethodOptions.Pct(o.MedianImprovementPct))}[/]");
        if (gen is not null)
        {
            var em = gen.ExactMatch;
            AnsiConsole.MarkupLine($"exact match (greedy, up to {generate} tokens, the whole target): [bold]{em.CorrectBefore}/{em.N} -> {em.CorrectAfter}/{em.N}[/] "
                + $"({em.McNemar.Improved} fixed, {em.McNemar.Worsened} broken; exact McNemar p = {Num.P(em.McNemar.PValue)})");
            foreach (var p in gen.Prompts.Where(p => p.CorrectBefore != p.CorrectAfter))
                AnsiConsole.MarkupLine($"  [grey]#{p.PromptIndex}: {Markup.Escape(Common.Printable(tok.Decode(p.Before)))} -> {Markup.Escape(Common.Printable(tok.Decode(p.After)))} "
                    + $"({(p.CorrectAfter ? "now right" : "now wrong")})[/]");
        }
        return 0;
    }

    /// <summary>The <c>exact_match</c> object of <c>amplify --task --generate N --json</c> (documented in docs/cli.md).</summary>
    public static JsonObject ExactMatchJson(GenerationOutcome g, Sna.Runtime.Tokenization.ModelTokenizer tok)
    {
        var em = g.ExactMatch;
        return new JsonObject
        {
            ["max_new_tokens"] = g.MaxNewTokens,
            ["n"] = em.N,
            ["correct_before"] = em.CorrectBefore,
            ["correct_after"] = em.CorrectAfter,
            ["fixed"] = em.McNemar.Improved,
            ["broken"] = em.McNemar.Worsened,
            ["mcnemar_p"] = em.McNemar.PValue,
            ["mean_sequence_logprob_change"] = MethodOptions.Num(g.MeanSequenceLogProbChange),
            ["definition"] = "exact match: the first |target| greedy tokens equal the target's tokens; McNemar: exact binomial test on the discordant prompts",
            ["prompts"] = new JsonArray(g.Prompts.Select(p => (JsonNode)new JsonObject
            {
                ["prompt_index"] = p.PromptIndex,
                ["baseline"] = tok.Decode(p.Before),
                ["amplified"] = tok.Decode(p.After),
                ["correct_before"] = p.CorrectBefore,
                ["correct_after"] = p.CorrectAfter,
                ["sequence_logprob_base"] = p.SequenceLogProbBase,
                ["sequence_logprob_post"] = p.SequenceLogProbPost,
            }).ToArray()),
        };
    }

}
