using Sna.Runtime;
using System.CommandLine;
using Spectre.Console;
using Sna.Research.Storage;

namespace Sna.Cli.Commands;

/// <summary><c>sna merge OUT.db IN1.db IN2.db ...</c> (or <c>--out OUT.db IN...</c>): combines shard databases of one sweep.</summary>
public static class MergeCommand
{
    public static Command Build()
    {
        var output = new Option<string?>("--out", "-o") { Description = "New merged database (or give it as the first argument)." };
        var inputs = new Argument<string[]>("databases") { Description = "OUT.db then the shard databases of the same sweep (or only the shards with --out).", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("merge", "Merge shard databases (same sweep definition; a row stored twice must be identical).") { output, inputs };
        cmd.SetAction(r =>
        {
            var dbs = r.GetValue(inputs)!;
            string? outDb = r.GetValue(output);
            if (outDb is null)
            {
                if (dbs.Length < 2) throw new SnaInputException("usage: sna merge OUT.db IN1.db [IN2.db ...]");
                outDb = dbs[0];
                dbs = dbs[1..];
            }
            var rep = ResultMerge.Merge(outDb, dbs);
            AnsiConsole.MarkupLine($"merged {rep.Inputs} databases: {rep.ResultRows} rows, {rep.CompletedConfigs}/{rep.ConfigsInGrid} configurations complete" +
                (rep.IdenticalDuplicateRows > 0 ? $", [yellow]{rep.IdenticalDuplicateRows} identical duplicate rows stored once[/]" : ""));
            return 0;
        });
        return cmd;
    }
}
