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
        var port = new Option<int>("--port") { Description = "TCP port (0 picks a free one).", DefaultValueFactory = _ => 5005 };
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
        var concurrency = new Option<int>("--max-concurrency") { Description = "Computations at once (default: the core count).", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount) };
        var queue = new Option<int>("--queue") { Description = "Computations that may wait; past that requests get 429.", DefaultValueFactory = _ => 64 };
        var noFixtures = new Option<bool>("--no-fixtures") { Description = "Do not list the test fixtures (../shared/fixtures) even when present." };
        var cmd = new Command("serve", "Serve the SNA web tool: baseline, neuron discovery, amplification, heat maps, export.")
        { port, host, models, concurrency, queue, noFixtures };
        cmd.SetAction(r =>
        {
            int c = r.GetValue(concurrency), q = r.GetValue(queue);
            if (c < 1 || c > 256) throw new UserException("--max-concurrency must be between 1 and 256");
            if (q < 0 || q > 10000) throw new UserException("--queue must be between 0 and 10000");
            var options = new WebOptions
            {
                Host = r.GetValue(host)!,
                Port = r.GetValue(port),
                ModelDirectories = r.GetValue(models) ?? [],
                IncludeFixtures = !r.GetValue(noFixtures),
                MaxConcurrency = c,
                QueueLimit = q,
                ConsoleLogging = true,
            };
            SnaWebApp.Run(options, Console.Out);
            return 0;
        });
        return cmd;
    }
}
