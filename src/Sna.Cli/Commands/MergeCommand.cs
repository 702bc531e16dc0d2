using System.CommandLine;
using Spectre.Console;
using Sna.Core.Storage;

namespace Sna.Cli.Commands;

/// <summary><c>sna merge --out all.db shard0.db shard1.db ...</c>: combines shard databases of one sweep.</summary>
public static class MergeCommand
{
    public static Command Build()
    {
        var output = new Option<string>("--out", "-o") { Description = "New merged database.", Required = true };
        var inputs = new Argument<string[]>("inputs") { Description = "Shard databases of the same sweep.", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("merge", "Merge shard databases (same sweep definition; a row stored twice must be identical).") { output, inputs };
        cmd.SetAction(r =>
        {
            var rep = ResultMerge.Merge(r.GetValue(output)!, r.GetValue(inputs)!);
            AnsiConsole.MarkupLine($"merged {rep.Inputs} databases: {rep.ResultRows} rows, {rep.CompletedConfigs}/{rep.ConfigsInGrid} configurations complete" +
                (rep.IdenticalDuplicateRows > 0 ? $", [yellow]{rep.IdenticalDuplicateRows} identical duplicate rows stored once[/]" : ""));
            return 0;
        });
        return cmd;
    }
}
