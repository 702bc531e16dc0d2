using System.Globalization;
using Sna.Research.Formatting;
using Sna.Runtime;
using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using Sna.Research.Method;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna baseline --model DIR --prompt TEXT --target TEXT [--bos|--no-bos] [--zones 0.07:0.10] [--top K]
/// [--score first-token|sequence] --json</c> → <c>{"ids","target_id","probability","logprob","rank","zone","score","top":[{"id","token","probability"}]}</c>.
/// With <c>--score sequence</c> the probability is P(whole target | prompt) by teacher forcing and the rank is the first token's.
/// </summary>
public static class BaselineCommand
{
    public static Command Build()
    {
        var model = Options.Model();
        var prompt = Options.Prompt(required: true);
        var target = Options.Target(required: true);
        var bos = Options.Bos(); var noBos = Options.NoBos(); var json = Options.Json();
        var zones = Options.Zones();
        var top = Options.Int("--top", "How many of the most likely next tokens to list.", 1, 1000, 10);
        var dtype = Options.WeightsDType();
        var score = Options.Score();
        var cmd = new Command("baseline", "Measure baseline confidence: P(target's first token) at the last position of the unmodified model.")
        { model, prompt, target, bos, noBos, zones, top, score, json, dtype };
        cmd.SetAction(r =>
        {
            bool? bosAsked = Common.BosAsked(r, bos, noBos);
            var z = r.GetValue(zones)!;
            int k = r.GetValue(top);
            var kind = MethodOptions.ParseScore(r.GetValue(score)!);
            using var lm = Common.Load(r.GetValue(model), r.GetValue(dtype)!);
            var (m, tok, _) = lm;
            var policy = tok.BosPolicyFor(bosAsked);
            var res = PromptBaseline.Run(lm, r.GetValue(prompt)!, r.GetValue(target)!, policy, k, kind);
            var (ids, targetTokens, s, topK) = (res.Input.Ids, res.Input.Target, res.Score, res.Top);
            int targetId = targetTokens.FirstId;
            int zone = z.Zone(s.Probability);
            if (r.GetValue(json))
            {
                var o = new JsonObject
                {
                    ["ids"] = new JsonArray(ids.Select(i => (JsonNode)i).ToArray()),
                    ["target_id"] = targetId,
                    ["probability"] = s.Probability,
                    ["logprob"] = s.LogProb,
                    ["rank"] = s.Rank,
                    ["zone"] = zone,
                    ["below_zone_1"] = ZoneAdvice.IsBelowZone1(zone, s.Rank),
                    ["score"] = MethodOptions.ScoreText(kind),
                    ["top"] = new JsonArray(topK.Select(t => (JsonNode)new JsonObject { ["id"] = t.Id, ["token"] = tok.TokenText(t.Id), ["probability"] = t.Probability }).ToArray()),
                    ["run"] = Common.RunRecord(m, tok, policy),
                };
                Common.AddTarget(o, targetTokens);
                Common.PrintJson(o);
                return 0;
            }
            Common.WarnTargets(targetTokens.Warnings);
            AnsiConsole.MarkupLine($"[bold]Prompt[/] {Markup.Escape(Common.Printable(r.GetValue(prompt)!))}  ([grey]{ids.Length} tokens, BOS {Sna.Runtime.Tokenization.ModelTokenizer.BosDescription(policy)}[/])");
            AnsiConsole.MarkupLine($"[bold]Target[/] {Markup.Escape(Common.Printable(tok.TokenText(targetId)))} (id {targetId})");
            var summary = new Table().AddColumn("P_base").AddColumn("log P").AddColumn("rank").AddColumn("zone");
            bool below = ZoneAdvice.IsBelowZone1(zone, s.Rank);
            summary.AddRow(Num.Prob(s.Probability), s.LogProb.ToString("F4", CultureInfo.InvariantCulture), s.Rank.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(ZoneAdvice.Cell(zone, s.Rank, z)));
            AnsiConsole.Write(summary);
            if (below) AnsiConsole.MarkupLine(Markup.Escape(ZoneAdvice.BelowZone1Advice()));
            var t = new Table().Title($"Top {k} next tokens").AddColumn("#").AddColumn("id").AddColumn("token").AddColumn("probability");
            for (int i = 0; i < topK.Length; i++)
                t.AddRow((i + 1).ToString(), topK[i].Id.ToString(), Markup.Escape(Common.Printable(tok.TokenText(topK[i].Id))), Num.Prob(topK[i].Probability));
            AnsiConsole.Write(t);
            AnsiConsole.MarkupLine($"[grey]model {Markup.Escape(m.Provenance.Source)} sha256 {m.Provenance.ContentHash[..12]}… gemm {m.Gemm.Name}[/]");
            return 0;
        });
        return cmd;
    }
}
