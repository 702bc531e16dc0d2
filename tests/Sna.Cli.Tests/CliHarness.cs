using System.CommandLine;
using System.Text.Json;

namespace Sna.Cli.Tests;

/// <summary>Runs the real command tree in-process with stdout/stderr captured. Console is global, so CLI tests share one collection.</summary>
public static class CliHarness
{
    private static readonly object Gate = new();

    public static (int Exit, string Out, string Err) Run(params string[] args)
    {
        lock (Gate)
        {
            var oldOut = Console.Out; var oldErr = Console.Error;
            var o = new StringWriter(); var e = new StringWriter();
            Console.SetOut(o); Console.SetError(e);
            // Spectre.Console binds its output when created: point it at this run's writer.
            var oldAnsi = Spectre.Console.AnsiConsole.Console;
            Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
            {
                Out = new Spectre.Console.AnsiConsoleOutput(o),
                Ansi = Spectre.Console.AnsiSupport.No,
                ColorSystem = Spectre.Console.ColorSystemSupport.NoColors,
            });
            try
            {
                int code = CliRunner.Invoke(Program.BuildRoot(), args);
                return (code, o.ToString(), e.ToString());
            }
            finally { Console.SetOut(oldOut); Console.SetError(oldErr); Spectre.Console.AnsiConsole.Console = oldAnsi; }
        }
    }

    public static JsonElement Json(params string[] args)
    {
        var (code, output, err) = Run(args);
        Assert.True(code == 0, $"exit {code}: {err}");
        return JsonDocument.Parse(output).RootElement;
    }
}

[CollectionDefinition("cli", DisableParallelization = true)]
public sealed class CliCollection;
