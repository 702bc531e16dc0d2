using Sna.Runtime;
using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using Sna.Research.Method;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna tasks [--tasks-dir DIR] [--json]</c> lists the built-in suites and the task files in DIR (default ./tasks; a DIR
/// given that does not exist is an input error, a missing ./tasks is not):
/// <c>{"tasks":[{"name","domain","level","prompts","classes","source","builtin","error"?}],"neutral_corpus":N}</c>.
/// <c>sna tasks show NAME|FILE [--json]</c> prints one suite (its JSON file format).
/// <c>sna tasks select --pool FILE --band 0.07:0.10 [--n 20] --out FILE</c> writes a task of the pool prompts whose P_base is in the band.
/// </summary>
public static class TasksCommand
{
    public static Command Build()
    {
        var dir = Options.NonEmpty(new Option<string?>("--tasks-dir") { Description = "Directory of your task files (*.json); default ./tasks." });
        var json = Options.Json();
        var cmd = new Command("tasks", "List the built-in task suites and your task files; 'tasks select' builds zone-targeted tasks.") { dir, json };
        cmd.SetAction(r =>
        {
            string? given = r.GetValue(dir);
            if (given is not null && !Directory.Exists(given))
                throw new SnaInputException("--tasks-dir", $"--tasks-dir: no such directory: {InputParsing.Clip(given)}");
            string tasksDir = given ?? "tasks";
            var list = TaskLibrary.List(tasksDir);
            if (r.GetValue(json))
            {
                Common.PrintJson(new JsonObject
                {
                    ["tasks"] = new JsonArray(list.Select(t =>
                    {
                        var o = new JsonObject { ["name"] = t.Name, ["builtin"] = t.BuiltIn, ["source"] = t.Source };
                        if (t.Suite is { } s)
                        {
                            o["domain"] = s.Domain; o["level"] = s.Level; o["prompts"] = s.Prompts.Count;
                            o["classes"] = s.Classes is null ? null : new JsonArray(s.ClassLabels.Select(l => (JsonNode)l).ToArray());
                            o["description"] = s.Description;
                        }
                        else o["error"] = t.Error;
                        return (JsonNode)o;
                    }).ToArray()),
                    ["neutral_corpus"] = TaskLibrary.NeutralCorpus.Count,
                });
                return 0;
            }
            var table = new Table().AddColumn("name").AddColumn("domain").AddColumn("level").AddColumn("prompts").AddColumn("source / description");
            foreach (var t in list)
            {
                if (t.Suite is { } s)
                    table.AddRow(Markup.Escape(t.Name), Markup.Escape(s.Domain), Markup.Escape(s.Level), s.Prompts.Count.ToString(),
                        Markup.Escape(t.BuiltIn ? s.Description ?? "" : t.Source));
                else
                    table.AddRow(Markup.Escape(t.Name), "", "", "", $"[red]{Markup.Escape(t.Error ?? "")}[/]");
            }
            AnsiConsole.Write(table);
            string full = Path.GetFullPath(tasksDir);
            AnsiConsole.MarkupLine($"[grey]Built-in neutral corpus: {TaskLibrary.NeutralCorpus.Count} sentences. " +
                (Directory.Exists(tasksDir) ? $"Task files: {Markup.Escape(full)}" : $"Task files: none ({Markup.Escape(full)} does not exist; put *.json task files there or give --tasks-dir DIR)") + "[/]");
            return 0;
        });
        cmd.Subcommands.Add(BuildShow());
        cmd.Subcommands.Add(BuildSelect());
        return cmd;
    }

    private static Command BuildShow()
    {
        var task = new Argument<string>("task") { Description = $"The task: {Options.TaskHelp}." };
        var tasksDir = Options.TasksDir();
        var json = Options.Json();
        var cmd = new Command("show", "Print one task suite (as its JSON file with --json).") { task, tasksDir, json };
        cmd.SetAction(r =>
        {
            var s = MethodOptions.ResolveTask(r.GetValue(task)!, Options.TaskDirs(r, tasksDir));
            if (r.GetValue(json)) { Console.Out.Write(s.ToJson()); return 0; }
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(s.Name)}[/] ({Markup.Escape(s.Domain)}, {Markup.Escape(s.Level)}) — {Markup.Escape(s.Description ?? s.Source)}");
            var t = new Table().AddColumn("#").AddColumn("prompt").AddColumn("target");
            if (s.IsClassification) t.AddColumn("label");
            for (int i = 0; i < s.Prompts.Count; i++)
            {
                var cells = new List<string> { i.ToString(), Markup.Escape(Common.Printable(s.Prompts[i].Text)), Markup.Escape(Common.Printable(s.Prompts[i].Target)) };
                if (s.IsClassification) cells.Add(Markup.Escape(s.Prompts[i].Label ?? ""));
                t.AddRow(cells.ToArray());
            }
            AnsiConsole.Write(t);
            AnsiConsole.MarkupLine($"[grey]discovery texts: {(s.Texts is null ? "the prompts" : $"{s.Texts.Count} given")}; neutral: {(s.Neutral is null ? $"built-in corpus ({TaskLibrary.NeutralCorpus.Count})" : $"{s.Neutral.Count} given")}[/]");
            return 0;
        });
        return cmd;
    }

    private static Command BuildSelect()
    {
        var model = Options.Model();
        var pool = new Option<string>("--pool") { Description = "Candidate prompts: a task JSON file or a JSON array of {\"text\",\"target\"}.", Required = true };
        var band = Options.Band();
        var n = Options.Int("--n", "At most this many prompts (pool order).", 1, 1_000_000, 20);
        var output = new Option<string>("--out", "-o") { Description = "Where to write the new task JSON.", Required = true };
        var name = new Option<string>("--name") { Description = "Name of the new task (default: the output file's name)." };
        var force = new Option<bool>("--force") { Description = "Overwrite --out if it exists." };
        var bos = Options.Bos(); var noBos = Options.NoBos(); var json = Options.Json(); var dtype = Options.WeightsDType();
        var cmd = new Command("select", "Score a pool of prompts and write a task whose prompts all have P_base in a band (zone-targeted tasks).")
        { model, pool, band, n, output, name, force, bos, noBos, json, dtype };
        cmd.SetAction(r =>
        {
            bool? bosAsked = Common.BosAsked(r, bos, noBos);
            var (lo, hi) = r.GetValue(band);
            int count = r.GetValue(n);
            string outPath = r.GetValue(output)!;
            AtomicFile.RefuseInputs(outPath, [r.GetValue(pool)]);
            if (File.Exists(outPath) && !r.GetValue(force)) throw new SnaInputException($"{outPath} exists; pass --force to overwrite it");
            var (prompts, src) = TaskSuiteJson.LoadPool(r.GetValue(pool)!);
            // The name must load back (TaskSuiteJson.NameProblem): --name is checked against the rule, a name derived from the
            // file name has its whitespace replaced ("zone 1.json" → "zone-1").
            string taskName = r.GetValue(name) ?? TaskSuiteJson.NameFromFile(outPath)
                ?? throw new SnaInputException("--name", $"no task name can be derived from --out {outPath}; give --name (no whitespace, e.g. my-task)");
            if (TaskSuiteJson.NameProblem(taskName) is { } bad) throw new SnaInputException("--name", $"--name: {bad}");
            var (m, tok, _) = Common.Load(r.GetValue(model), r.GetValue(dtype)!);
            var policy = tok.BosPolicyFor(bosAsked);
            using var _m = m;
            var res = ZoneSelection.Select(m, tok, prompts, lo, hi, count, policy, taskName, src?.Domain ?? "",
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"band {lo}:{hi}"), src?.Neutral);
            var dirName = Path.GetDirectoryName(Path.GetFullPath(outPath));
            if (dirName is not null) Directory.CreateDirectory(dirName);
            AtomicFile.WriteAllText(outPath, res.Task.ToJson(), [r.GetValue(pool)]);
            if (r.GetValue(json))
            {
                Common.PrintJson(new JsonObject
                {
                    ["out"] = outPath, ["name"] = res.Task.Name, ["pool"] = res.PoolSize, ["qualified"] = res.Qualified, ["written"] = res.Selected.Count,
                    ["band"] = new JsonObject { ["low"] = lo, ["high"] = hi },
                    ["prompts"] = new JsonArray(res.Selected.Select(s => (JsonNode)new JsonObject { ["text"] = s.Prompt.Text, ["target"] = s.Prompt.Target, ["p_base"] = s.PBase }).ToArray()),
                    ["run"] = Common.RunRecord(m, tok, policy),
                });
                return 0;
            }
            AnsiConsole.MarkupLine($"{res.Qualified} of {res.PoolSize} pool prompts have P_base in {Markup.Escape($"[{lo}, {hi}]")}; wrote {res.Selected.Count} to [bold]{Markup.Escape(outPath)}[/] as task '{Markup.Escape(res.Task.Name)}'.");
            if (res.Qualified < count) AnsiConsole.MarkupLine($"[yellow]Fewer than --n {count} qualified: widen the band or grow the pool.[/]");
            return 0;
        });
        return cmd;
    }
}
