using Sna.Research.Method;

namespace Sna.Web.Api;

/// <summary>One prompt of a task and the continuation whose first token is scored.</summary>
public sealed record TaskExample(string Prompt, string Target);

/// <summary>A task the page offers: its id and display name, and the library's <see cref="TaskSuite"/> (examples to show;
/// discovery runs on the suite exactly as <c>sna neurons --task</c> does).</summary>
public sealed record TaskInfo(string Id, string Name, string Description, TaskSuite Suite)
{
    public IReadOnlyList<TaskExample> Examples { get; } = Suite.Prompts.Select(p => new TaskExample(p.Text, p.Target)).ToArray();
}

/// <summary>The built-in tasks offered by the page. Served from the library's <see cref="TaskLibrary"/>.</summary>
public interface ITaskCatalog
{
    IReadOnlyList<TaskInfo> Tasks { get; }
}

/// <summary>
/// The tasks the page offers: the library's built-in suites (math, poetry, code, logic × easy, medium, hard), then the task
/// files in <see cref="WebOptions.TaskDirectories"/> (<c>sna serve --tasks-dir</c>), each resolved by the one
/// <see cref="TaskResolver"/> from its file name, exactly as <c>--task NAME</c> resolves it on the command line. A file that
/// does not load is left out (and named in the server log by <c>sna tasks --tasks-dir</c>); clients only ever send ids.
/// </summary>
public sealed class LibraryTaskCatalog(WebOptions options) : ITaskCatalog
{
    public IReadOnlyList<TaskInfo> Tasks { get; } = Load(options.TaskDirectories);

    private static TaskInfo Info(string id, TaskSuite s) =>
        new(id, $"{s.Domain} ({s.Level})", s.Description ?? $"{s.Domain}, {s.Level}: {s.Prompts.Count} prompts", s);

    private static IReadOnlyList<TaskInfo> Load(IReadOnlyList<string> dirs)
    {
        var list = TaskLibrary.BuiltIns.Select(s => Info(s.Name, s)).ToList();
        var seen = new HashSet<string>(list.Select(t => t.Id), StringComparer.Ordinal);
        foreach (var dir in dirs.Where(Directory.Exists))
            foreach (var file in Directory.GetFiles(dir, "*.json").OrderBy(f => f, StringComparer.Ordinal))
            {
                string id = Path.GetFileNameWithoutExtension(file);
                if (!seen.Add(id)) continue;
                try { list.Add(Info(id, TaskResolver.Resolve(id, dirs).Suite)); }
                catch (Sna.Runtime.SnaInputException) { seen.Remove(id); }
            }
        return list;
    }
}
