using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Sna.Core.Method;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna amplify --prompt TEXT --target TEXT --layer L --neurons i,j,k --multiplier M [--positions all|last] [--no-bos] --json</c> →
/// <c>{"baseline":{"probability","logprob"},"amplified":{"probability","logprob"},"improvement_pct":x}</c>.
/// </summary>
public static class AmplifyCommand
{
    public static Command Build()
    {
        var model = Common.Model();
        var prompt = new Option<string>("--prompt", "-p") { Description = "The prompt." };
        var target = new Option<string>("--target") { Description = "The expected continuation; its first token is scored." };
        var layer = new Option<int>("--layer", "-l") { Description = "Layer whose blocks.{L}.mlp.hook_post is scaled.", Required = true };
        var neurons = new Option<string>("--neurons") { Description = "Comma-separated neuron indices." };
        var multiplier = new Option<double>("--multiplier") { Description = "Scale factor (1 = unchanged, 0 = ablation).", Required = true };
        var positions = new Option<string>("--positions") { Description = "all (default) or last.", DefaultValueFactory = _ => "all" };
        var bos = Common.Bos(); var noBos = Common.NoBos(); var json = Common.Json(); var dtype = Common.WeightsDType();
        var cmd = new Command("amplify", "Scale chosen MLP neurons and compare the target's probability before and after.")
        { model, prompt, target, layer, neurons, multiplier, positions, bos, noBos, json, dtype };
        cmd.SetAction(r =>
        {
            var policy = Common.Policy(r, bos, noBos);
            var pos = ParsePositions(r.GetValue(positions)!);
            string? p = r.GetValue(prompt), t = r.GetValue(target), n = r.GetValue(neurons);
            if (p is null || t is null) throw new UserException("give --prompt and --target");
            if (n is null) throw new UserException("give --neurons i,j,k");
            var (m, tok, _) = Common.Load(r.GetValue(model), r.GetValue(dtype)!);
            using var _m = m;
            var amp = Amplification.Single(r.GetValue(layer), Common.ParseIntList(n, "--neurons"), (float)r.GetValue(multiplier), pos);
            amp.Validate(m.Config);
            var ids = tok.Encode(p, policy);
            if (ids.Length == 0) throw new UserException("the prompt is empty and no BOS is prepended");
            int targetId = Common.TargetFirstToken(tok, t);
            var before = Scoring.Score(m.ForwardLast(ids), targetId);
            var after = Scoring.Score(m.ForwardLast(ids, amp.ToHooks(m.Config)), targetId);
            double imp = Scoring.ImprovementPct(before.Probability, after.Probability);
            if (r.GetValue(json))
            {
                Common.PrintJson(new JsonObject
                {
                    ["baseline"] = new JsonObject { ["probability"] = before.Probability, ["logprob"] = before.LogProb, ["rank"] = before.Rank },
                    ["amplified"] = new JsonObject { ["probability"] = after.Probability, ["logprob"] = after.LogProb, ["rank"] = after.Rank },
                    ["improvement_pct"] = imp,
                    ["target_id"] = targetId,
                    ["layer"] = amp.Sites[0].Layer,
                    ["neurons"] = new JsonArray(amp.Sites[0].Neurons.Select(i => (JsonNode)i).ToArray()),
                    ["multiplier"] = r.GetValue(multiplier),
                    ["run"] = Common.RunRecord(m, tok, policy, PositionsText(pos)),
                });
                return 0;
            }
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(amp.ToString())}[/] on target {Markup.Escape(Common.Printable(tok.TokenText(targetId)))} (id {targetId})");
            var table = new Table().AddColumn("").AddColumn("probability").AddColumn("log P").AddColumn("rank");
            table.AddRow("baseline", Common.Fmt(before.Probability), before.LogProb.ToString("F4", CultureInfo.InvariantCulture), before.Rank.ToString());
            table.AddRow("amplified", Common.Fmt(after.Probability), after.LogProb.ToString("F4", CultureInfo.InvariantCulture), after.Rank.ToString());
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"improvement: [bold]{imp.ToString("+0.00;-0.00", CultureInfo.InvariantCulture)}%[/]");
            return 0;
        });
        return cmd;
    }

    public static PositionsMode ParsePositions(string s) => s.ToLowerInvariant() switch
    {
        "all" => PositionsMode.All,
        "last" => PositionsMode.Last,
        _ => throw new UserException($"--positions must be all or last, got '{s}'"),
    };

    public static string PositionsText(PositionsMode p) => p == PositionsMode.All ? "all" : "last";
}
