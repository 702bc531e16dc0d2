using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using Sna.Runtime;

namespace Sna.Cli.Commands;

/// <summary><c>sna tokenize --model DIR --text TEXT [--json]</c> → <c>{"ids":[...]}</c>; never adds BOS.</summary>
public static class TokenizeCommand
{
    public static Command Build()
    {
        var model = Options.Model();
        var text = new Option<string>("--text") { Description = "Text to tokenize.", Required = true };
        var json = Options.Json();
        var cmd = new Command("tokenize", "Tokenize text with the model's tokenizer (never adds BOS).") { model, text, json };
        cmd.SetAction(r =>
        {
            var tok = LanguageModel.LoadTokenizer(Common.ModelSpec(r.GetValue(model)));
            string t = r.GetValue(text) ?? "";
            var ids = tok.Encode(t);
            if (r.GetValue(json))
            {
                Common.PrintJson(new JsonObject { ["ids"] = new JsonArray(ids.Select(i => (JsonNode)i).ToArray()) });
                return 0;
            }
            var table = new Table().AddColumn("#").AddColumn("id").AddColumn("token");
            for (int i = 0; i < ids.Length; i++)
                table.AddRow(i.ToString(), ids[i].ToString(), Markup.Escape(Common.Printable(tok.TokenText(ids[i]))));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"[grey]{ids.Length} tokens ({tok.Kind}); BOS id {tok.BosId} is not added here[/]");
            return 0;
        });
        return cmd;
    }
}
