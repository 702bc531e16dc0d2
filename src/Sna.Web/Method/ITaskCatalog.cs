using Sna.Research.Method;

namespace Sna.Web.Method;

/// <summary>One prompt of a task and the continuation whose first token is scored.</summary>
public sealed record TaskExample(string Prompt, string Target);

/// <summary>A built-in task: examples to measure and amplify, and the texts neurons are discovered on.</summary>
public sealed record TaskInfo(string Id, string Name, string Description, IReadOnlyList<TaskExample> Examples)
{
    /// <summary>Discovery texts: each prompt followed by its target.</summary>
    public IReadOnlyList<string> DiscoveryTexts => Examples.Select(e => e.Prompt + e.Target).ToArray();
}

/// <summary>The built-in tasks offered by the page. Served from the library's <see cref="TaskLibrary"/>.</summary>
public interface ITaskCatalog
{
    IReadOnlyList<TaskInfo> Tasks { get; }
}

/// <summary>The library's built-in suites (math, poetry, code, logic × easy, medium, hard), as the page shows them.</summary>
public sealed class LibraryTaskCatalog : ITaskCatalog
{
    public IReadOnlyList<TaskInfo> Tasks { get; } = TaskLibrary.BuiltIns
        .Select(s => new TaskInfo(s.Name, $"{s.Domain} ({s.Level})", s.Description ?? $"{s.Domain}, {s.Level}: {s.Prompts.Count} prompts",
                                  s.Prompts.Select(p => new TaskExample(p.Text, p.Target)).ToArray()))
        .ToArray();
}
