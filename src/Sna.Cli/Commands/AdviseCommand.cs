using Sna.Research.Formatting;
using Sna.Runtime;
using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Sna.Research.Method;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna advise --model M (--task T | --prompt TEXT --target TEXT) [--zones 0.07:0.10] [--margin-zones 0.30:0.60]
/// [--score first-token|sequence] [--no-bos] --json</c> →
/// <c>{"task","mean_p_base","zone","verdict","advice","prompts":[{"prompt_index","text","target","p_base","logprob","rank","zone"}],
/// "thresholds":{"low","high"},"run"}</c>.
/// </summary>
public static class AdviseCommand
{
    public static Command Build()
    {
        var model = Options.Model();
        var task = Options.Task();
        var tasksDir = Options.TasksDir();
        var prompt = Options.Prompt("A single prompt (instead of --task).");
        var target = Options.Target("Its expected continuation (with --prompt).");
        var zones = Options.Zones();
        var marginZones = Options.MarginZones();
        var score = Options.Score();
        var bos = Options.Bos(); var noBos = Options.NoBos(); var json = Options.Json(); var dtype = Options.WeightsDType();
        var cmd = new Command("advise", "Baseline first: measure the task's confidence, assign its zone and say whether SNA is likely to help.")
        { model, task, tasksDir, prompt, target, zones, marginZones, score, bos, noBos, json, dtype };
        cmd.SetAction(r =>
        {
            bool? bosAsked = Common.BosAsked(r, bos, noBos);
            var z = r.GetValue(zones)!;
            var mz = r.GetValue(marginZones)!;
            var kind = MethodOptions.ParseScore(r.GetValue(score)!);
            var suite = MethodOptions.TaskOrPrompt(r.GetValue(task), r.GetValue(prompt), r.GetValue(target), Options.TaskDirs(r, tasksDir));
            var (m, tok, _) = Common.Load(r.GetValue(model), r.GetValue(dtype)!);
            var policy = tok.BosPolicyFor(bosAsked);
            using var _m = m;
            var rep = Advisor.Advise(m, tok, suite, policy, z, mz, kind);
            var targets = EncodedTask.Encode(suite, tok, policy, kind).TargetEncodings;
            if (r.GetValue(json))
            {
                var o = new JsonObject
                {
                    ["task"] = rep.Task,
                    ["mean_p_base"] = rep.MeanPBase,
                    ["zone"] = rep.Zone,
                    ["verdict"] = rep.Verdict,
                    ["advice"] = rep.Advice,
                    ["classification"] = rep.Classification,
                };
                if (rep.MeanMargin is { } mm) o["mean_margin"] = mm;
                o["below_zone_1"] = rep.BelowZone1;
                o["median_rank"] = rep.MedianRank;
                o["targets_beyond_rank_1000"] = rep.BeyondKnowledgeRank;
                o["zone_counts"] = new JsonArray(rep.ZoneCounts.Select(c => (JsonNode)c).ToArray());
                o["prompts"] = new JsonArray(rep.Prompts.Select(p =>
                {
                    var po = new JsonObject
                    {
                        ["prompt_index"] = p.PromptIndex, ["text"] = p.Text, ["target"] = p.Target, ["p_base"] = p.PBase,
                        ["logprob"] = p.LogProb, ["rank"] = p.Rank, ["zone"] = p.Zone,
                    };
                    if (p.Margin is { } mg) { po["margin"] = mg; po["p_a"] = p.PA; po["p_b"] = p.PB; }
                    return (JsonNode)po;
                }).ToArray());
                o["thresholds"] = new JsonObject { ["low"] = rep.Low, ["high"] = rep.High, ["on"] = rep.Classification ? "margin" : "p_base" };
                o["score"] = MethodOptions.ScoreText(kind);
                var run = Common.RunRecord(m, tok, policy);
                run["task_source"] = suite.Source;
                o["run"] = run;
                Common.AddTargets(o, targets);
                Common.PrintJson(o);
                return 0;
            }
            Common.WarnTargets(Common.TargetWarnings(targets));
            string what = rep.Classification ? $"mean margin {Num.Prob(rep.MeanMargin!.Value)}, mean P_base {Num.Prob(rep.MeanPBase)}" : $"mean P_base {Num.Prob(rep.MeanPBase)}";
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(rep.Task)}[/]: {rep.Prompts.Count} prompts, {what}, [bold]{(rep.BelowZone1 ? "below Zone 1" : $"Zone {rep.Zone}")}[/] — SNA {rep.Verdict} to help");
            var t = new Table().AddColumn("#").AddColumn("P_base").AddColumn("log P").AddColumn("rank");
            if (rep.Classification) t.AddColumn("margin");
            t.AddColumn("zone").AddColumn("prompt").AddColumn("target");
            foreach (var p in rep.Prompts)
            {
                var cells = new List<string> { p.PromptIndex.ToString(), Num.Prob(p.PBase), p.LogProb.ToString("F3", CultureInfo.InvariantCulture), p.Rank.ToString() };
                if (rep.Classification) cells.Add(Num.Prob(p.Margin ?? 0));
                cells.Add(p.Zone.ToString());
                cells.Add(Markup.Escape(MethodOptions.Clip(Common.Printable(p.Text), 60)));
                cells.Add(Markup.Escape(Common.Printable(p.Target)));
                t.AddRow(cells.ToArray());
            }
            AnsiConsole.Write(t);
            AnsiConsole.WriteLine(rep.Advice);
            return 0;
        });
        return cmd;
    }
}

/// <summary>Options and helpers shared by the method commands (tasks, neurons, advise, amplify --task).</summary>
internal static class MethodOptions
{
    /// <summary>A JSON number, or null for NaN/±∞ (e.g. an improvement over a P_base that underflowed to 0).</summary>
    public static JsonNode? Num(double x) => double.IsFinite(x) ? JsonValue.Create(x) : null;

    public static ScoreKind ParseScore(string s) => s.ToLowerInvariant() switch
    {
        "first-token" or "first" => ScoreKind.FirstToken,
        "sequence" or "seq" => ScoreKind.Sequence,
        _ => throw new SnaInputException($"--score must be first-token or sequence, got '{s}'"),
    };

    public static string ScoreText(ScoreKind k) => k == ScoreKind.FirstToken ? "first-token" : "sequence";

    /// <summary>The one task resolver (<see cref="TaskResolver"/>): a file, a built-in, or a name in ./tasks or --tasks-dir.</summary>
    public static TaskSuite ResolveTask(string nameOrPath, string[] dirs) => TaskResolver.Resolve(nameOrPath, dirs).Suite;

    /// <summary>--task, or a one-prompt task from --prompt/--target.</summary>
    public static TaskSuite TaskOrPrompt(string? task, string? prompt, string? target, string[] dirs)
    {
        if (task is not null)
        {
            if (prompt is not null || target is not null) throw new SnaInputException("give either --task or --prompt/--target, not both");
            return ResolveTask(task, dirs);
        }
        if (prompt is null || target is null) throw new SnaInputException("give --task NAME|FILE, or --prompt and --target");
        if (target.Length == 0) throw new SnaInputException("the target is empty: give the text the model should produce next, e.g. \" 12\"");
        return new TaskSuite { Name = "prompt", Prompts = [new TaskPrompt(prompt, target)], Source = "--prompt" };
    }

    public static string Clip(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";

    public static string Pct(double x) => double.IsFinite(x) ? x.ToString("+0.00;-0.00", CultureInfo.InvariantCulture) + "%" : x.ToString(CultureInfo.InvariantCulture);
}
