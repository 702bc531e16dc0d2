using Sna.Runtime;
using System.CommandLine;
using Sna.Web;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna serve [--port 5005] [--host 127.0.0.1] [--models DIR...]</c>: the web tool. Binds loopback unless
/// <c>--host</c> says otherwise; clients choose models by id from the bundled model, the fixtures and the <c>--models</c> allow-list.
/// </summary>
public static class ServeCommand
{
    public static Command Build()
    {
        var port = Options.Int("--port", "TCP port (0 picks a free one).", 0, 65535, 5005);
        var host = new Option<string>("--host")
        {
            Description = "Address to bind. Default 127.0.0.1 (this machine only); 0.0.0.0 exposes the tool to the network.",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var models = new Option<string[]>("--models")
        {
            Description = "Local model directories to offer (the allow-list; clients choose by id and never send paths).",
            AllowMultipleArgumentsPerToken = true,
            Arity = ArgumentArity.ZeroOrMore,
        };
        var concurrency = Options.Int("--max-concurrency", "Computations at once (default: the core count).", 1, 256, Math.Clamp(Environment.ProcessorCount, 1, 256));
        var queue = Options.Int("--queue", "Computations that may wait; past that requests get 429.", 0, 10_000, 64);
        var tasksDir = Options.TasksDir();
        var noFixtures = new Option<bool>("--no-fixtures") { Description = "Do not list the test fixtures (../shared/fixtures) even when present." };
        var cmd = new Command("serve", "Serve the SNA web tool: baseline, neuron discovery, amplification, heat maps, export.")
        { port, host, models, concurrency, queue, noFixtures, tasksDir };
        cmd.SetAction(r =>
        {
            int c = r.GetValue(concurrency), q = r.GetValue(queue);
            var options = new WebOptions
            {
                Host = r.GetValue(host)!,
                Port = r.GetValue(port),
                ModelDirectories = r.GetValue(models) ?? [],
                IncludeFixtures = !r.GetValue(noFixtures),
                MaxConcurrency = c,
                QueueLimit = q,
                TaskDirectories = Options.TaskDirs(r, tasksDir),
                ConsoleLogging = true,
            };
            SnaWebApp.Run(options, Console.Out);
            return 0;
        });
        return cmd;
    }
}
