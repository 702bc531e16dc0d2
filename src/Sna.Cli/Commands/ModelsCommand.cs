using System.CommandLine;
using System.Text.Json;
using Sna.Runtime.Hub;
using Spectre.Console;

namespace Sna.Cli.Commands;

/// <summary><c>sna models [--json]</c>: known aliases with sizes, and what the Hugging Face cache holds.</summary>
public static class ModelsCommand
{
    public static Command Build()
    {
        var json = Options.Json("the aliases and the cached models");
        var command = new Command("models", "List known model aliases with their sizes and which are in the Hugging Face cache")
        {
            json,
        };
        command.SetAction(parse => Run(parse.GetValue(json)));
        return command;
    }

    private sealed record Row(ModelAlias Alias, CachedSnapshot? Snapshot);

    private static int Run(bool json)
    {
        var settings = HubSettings.FromEnvironment();
        var cache = new HubCache(settings.CacheDir);
        IReadOnlyList<CachedRepo> repos;
        try { repos = cache.ListRepos(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: cannot read the Hugging Face cache at {settings.CacheDir}: {e.Message}");
            return 1;
        }

        var byId = repos.ToDictionary(r => r.RepoId, StringComparer.OrdinalIgnoreCase);
        var rows = ModelAliases.All
            .Select(a => new Row(a, byId.TryGetValue(a.RepoId, out var r) ? r.BestComplete() : null))
            .ToList();
        var aliasRepos = new HashSet<string>(ModelAliases.All.Select(a => a.RepoId), StringComparer.OrdinalIgnoreCase);
        var others = repos.Where(r => !aliasRepos.Contains(r.RepoId)).ToList();

        if (json) WriteJson(settings, rows, repos);
        else WriteTable(settings, rows, others);
        return 0;
    }

    private static void WriteJson(HubSettings settings, List<Row> rows, IReadOnlyList<CachedRepo> repos)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("cache_dir", settings.CacheDir);
            w.WriteBoolean("offline", settings.Offline);
            // The model used when --model is not given (added in issue #16).
            if (Bundled() is { } b)
            {
                w.WriteStartObject("default_model");
                w.WriteString("name", "sna-demo-gpt2");
                w.WriteString("path", b.Path);
                w.WriteBoolean("default", true);
                w.WriteNumber("size_bytes", b.Bytes);
                w.WriteEndObject();
            }
            else w.WriteNull("default_model");
            w.WriteStartArray("models");
            foreach (var r in rows)
            {
                w.WriteStartObject();
                w.WriteString("alias", r.Alias.Alias);
                w.WriteString("repo", r.Alias.RepoId);
                w.WriteNumber("parameters", r.Alias.Parameters);
                w.WriteNumber("size_bytes", r.Alias.SafetensorsBytes);
                w.WriteBoolean("size_approximate", r.Alias.SizeIsApproximate);
                w.WriteString("dtype", r.Alias.Dtype);
                w.WriteString("architecture", r.Alias.Architecture);
                w.WriteBoolean("cached", r.Snapshot is not null);
                if (r.Snapshot is null) w.WriteNull("path");
                else w.WriteString("path", r.Snapshot.Path);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("cached_repos");
            foreach (var repo in repos)
            {
                w.WriteStartObject();
                w.WriteString("repo", repo.RepoId);
                w.WriteString("path", repo.Path);
                w.WriteNumber("size_on_disk_bytes", repo.SizeOnDiskBytes);
                w.WriteNumber("incomplete_bytes", repo.IncompleteBytes);
                w.WriteStartArray("snapshots");
                foreach (var s in repo.Snapshots)
                {
                    w.WriteStartObject();
                    w.WriteString("commit", s.Commit);
                    w.WriteStartArray("refs");
                    foreach (var rf in s.Refs) w.WriteStringValue(rf);
                    w.WriteEndArray();
                    w.WriteNumber("size_bytes", s.SizeBytes);
                    w.WriteBoolean("complete", s.IsCompleteModel);
                    w.WriteString("path", s.Path);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stdout.Write("\n"u8);
    }

    /// <summary>The bundled model the CLI uses without --model (<see cref="Common.BundledModelDir"/>), or null when it is missing.</summary>
    private static (string Path, long Bytes)? Bundled()
    {
        try
        {
            string dir = Path.GetFullPath(Common.BundledModelDir());
            long bytes = Directory.EnumerateFiles(dir, "*.safetensors").Sum(f => new FileInfo(f).Length);
            return (dir, bytes);
        }
        catch (Sna.Runtime.SnaInputException) { return null; }
    }

    private static void WriteTable(HubSettings settings, List<Row> rows, List<CachedRepo> others)
    {
        if (Bundled() is { } b)
            AnsiConsole.MarkupLine($"[bold]default[/] (used without --model): [green]sna-demo-gpt2[/] (bundled, {ModelAliases.FormatBytes(b.Bytes)}) {Markup.Escape(b.Path)} — 'sna inspect' describes it");
        else
            AnsiConsole.MarkupLine("[yellow]default[/]: the bundled model models/sna-demo-gpt2 was not found; pass --model DIR");
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("Alias").AddColumn("Repo")
            .AddColumn(new TableColumn("Params").RightAligned())
            .AddColumn(new TableColumn("Size").RightAligned())
            .AddColumn("Cached");
        foreach (var r in rows)
        {
            table.AddRow(
                Markup.Escape(r.Alias.Alias),
                Markup.Escape(r.Alias.RepoId),
                ModelAliases.FormatParameters(r.Alias.Parameters),
                $"≈{ModelAliases.FormatBytes(r.Alias.SafetensorsBytes)} {r.Alias.Dtype.ToLowerInvariant()}",
                r.Snapshot is null ? "[grey]no[/]" : "[green]yes[/]");
        }
        AnsiConsole.Write(table);
        foreach (var r in rows.Where(r => r.Snapshot is not null))
            AnsiConsole.MarkupLine($"  [green]{Markup.Escape(r.Alias.Alias)}[/]: {Markup.Escape(r.Snapshot!.Path)}");

        if (others.Count > 0)
        {
            var t2 = new Table().Border(TableBorder.Rounded).Title("Other cached repos")
                .AddColumn("Repo").AddColumn("Revisions").AddColumn(new TableColumn("On disk").RightAligned()).AddColumn("Loadable");
            foreach (var repo in others)
            {
                string revs = repo.Snapshots.Count == 0 ? "-"
                    : string.Join(", ", repo.Snapshots.Select(s => s.Refs.Count > 0 ? string.Join("/", s.Refs) : s.Commit[..Math.Min(12, s.Commit.Length)]));
                bool loadable = repo.Snapshots.Any(s => s.IsCompleteModel);
                t2.AddRow(Markup.Escape(repo.RepoId), Markup.Escape(revs), ModelAliases.FormatBytes(repo.SizeOnDiskBytes),
                    loadable ? "[green]yes[/]" : "[grey]no (not a complete safetensors model)[/]");
            }
            AnsiConsole.Write(t2);
        }
        AnsiConsole.MarkupLine($"[grey]Hugging Face cache: {Markup.Escape(settings.CacheDir)}{(settings.Offline ? " (offline)" : "")}. " +
                               "Fetch with [bold]sna download MODEL[/]; any local directory or org/name[[@revision]] also works.[/]");
    }
}
