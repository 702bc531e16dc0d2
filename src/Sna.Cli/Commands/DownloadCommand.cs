using System.CommandLine;
using Sna.Runtime.Hub;
using Spectre.Console;

namespace Sna.Cli.Commands;

/// <summary><c>sna download MODEL [--revision R] [--offline]</c>: fetch a model into the shared Hugging Face cache.</summary>
public static class DownloadCommand
{
    public static Command Build()
    {
        var model = new Argument<string>("model")
        {
            Description = "Alias (gpt2, gpt2-medium, pythia-160m, …), hub id (org/name, optionally @revision) or local directory",
        };
        var revision = new Option<string?>("--revision", "-r")
        {
            Description = "Branch, tag, commit sha, or Pythia checkpoint (step{N}); default main",
        };
        var offline = new Option<bool>("--offline")
        {
            Description = "Use the cache only and report what is missing (also HF_HUB_OFFLINE=1)",
        };
        var command = new Command("download",
            "Download a model's config, safetensors weights and tokenizer into the Hugging Face cache " +
            "(HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub) and print the snapshot path")
        {
            model, revision, offline,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(model)!, parse.GetValue(revision), parse.GetValue(offline), ct));
        return command;
    }

    private static async Task<int> RunAsync(string model, string? revision, bool offline, CancellationToken ct)
    {
        var err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        try
        {
            var spec = ModelResolver.Parse(model, revision);
            if (spec.Kind == ModelSpecKind.LocalDirectory)
            {
                var missingLocal = ModelFiles.FindMissing(spec.LocalPath!);
                if (missingLocal.Count > 0)
                {
                    Console.Error.WriteLine($"error: {spec.LocalPath} is a local directory but lacks: {string.Join(", ", missingLocal)}");
                    return 2;
                }
                Console.Error.WriteLine($"{model} is a local directory; nothing to download.");
                Console.Out.WriteLine(spec.LocalPath);
                return 0;
            }

            var settings = HubSettings.FromEnvironment();
            if (offline) settings = settings.With(offline: true);
            using var client = new HubClient(settings);

            ModelSnapshot snap;
            if (settings.Offline)
            {
                snap = client.GetCachedModel(spec.RepoId!, spec.Revision);
            }
            else
            {
                string label = spec.Revision == "main" ? spec.RepoId! : $"{spec.RepoId}@{spec.Revision}";
                err.MarkupLine($"Fetching [bold]{Markup.Escape(label)}[/] from {Markup.Escape(settings.Endpoint)} into {Markup.Escape(settings.CacheDir)}");
                ModelSnapshot? result = null;
                await err.Progress()
                    .AutoClear(false)
                    .HideCompleted(false)
                    .Columns(
                        new TaskDescriptionColumn { Alignment = Justify.Left },
                        new ProgressBarColumn(),
                        new PercentageColumn(),
                        new DownloadedColumn(),
                        new TransferSpeedColumn(),
                        new RemainingTimeColumn())
                    .StartAsync(async ctx =>
                    {
                        result = await client.DownloadModelAsync(spec.RepoId!, spec.Revision, new SpectreProgress(ctx), ct);
                    });
                snap = result!;
            }

            if (snap.Warning is not null) Console.Error.WriteLine($"warning: {snap.Warning}");
            string how = settings.Offline ? "found in cache (offline)"
                : snap.BytesDownloaded > 0 ? $"downloaded {ModelAliases.FormatBytes(snap.BytesDownloaded)}"
                : "already cached";
            Console.Error.WriteLine($"{spec.RepoId}@{spec.Revision} (commit {snap.Commit}): {how}; {snap.Files.Count} files");
            Console.Out.WriteLine(snap.Directory);
            return 0;
        }
        catch (HubException e)
        {
            // exit 2 like every hub refusal elsewhere (CliRunner); the message lists the missing files when offline
            Console.Error.WriteLine($"error: {e.Message}");
            return CliRunner.ExitInput;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Console.Error.WriteLine("cancelled; partial downloads are kept and resume on the next run");
            return 130;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"error: cache I/O failed: {e.Message}");
            return 1;
        }
        catch (UnauthorizedAccessException e)
        {
            Console.Error.WriteLine($"error: no permission to write the cache: {e.Message}");
            return 1;
        }
    }

    /// <summary>Maps per-file download progress onto Spectre progress tasks (called synchronously from the download).</summary>
    private sealed class SpectreProgress(ProgressContext ctx) : IProgress<DownloadProgress>
    {
        private readonly Dictionary<string, ProgressTask> _tasks = new(StringComparer.Ordinal);

        public void Report(DownloadProgress p)
        {
            lock (_tasks)
            {
                if (!_tasks.TryGetValue(p.File, out var task))
                {
                    task = ctx.AddTask(Markup.Escape(p.File), autoStart: true, maxValue: p.TotalBytes is > 0 ? p.TotalBytes.Value : 1);
                    task.IsIndeterminate = p.TotalBytes is null;
                    _tasks[p.File] = task;
                }
                if (p.TotalBytes is > 0 && task.MaxValue != p.TotalBytes.Value) task.MaxValue = p.TotalBytes.Value;
                task.Value = p.BytesDone;
                if (p.Completed)
                {
                    task.IsIndeterminate = false;
                    task.Value = task.MaxValue;
                    task.StopTask();
                }
            }
        }
    }
}
