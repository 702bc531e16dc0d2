using System.Reflection;
using System.Text.Json;

namespace Sna.Research.Method;

/// <summary>A suite found by <see cref="TaskLibrary.List"/>: loaded, or the reason it could not be.</summary>
public sealed record TaskListing(string Name, string Source, bool BuiltIn, TaskSuite? Suite, string? Error);

/// <summary>
/// The built-in task suites (the paper's design: {math, poetry, code, logic} × {easy, medium, hard}, embedded JSON), the
/// built-in neutral corpus, and lookup of user task files. <c>--task</c> takes a built-in name or a path.
/// </summary>
public static class TaskLibrary
{
    private const string SuitePrefix = "sna/suites/";
    private const string NeutralResource = "sna/suites/_neutral.json";
    private static readonly Lazy<IReadOnlyDictionary<string, TaskSuite>> s_builtIns = new(LoadBuiltIns);
    private static readonly Lazy<IReadOnlyList<string>> s_neutral = new(LoadNeutral);

    /// <summary>The paper's 12 tasks in canonical order, then any other built-in suites.</summary>
    public static IReadOnlyList<string> BuiltInNames => s_builtIns.Value.Keys.ToArray();

    public static IReadOnlyList<TaskSuite> BuiltIns => s_builtIns.Value.Values.ToArray();

    /// <summary>The built-in neutral reference corpus: plain descriptive sentences, the default "neutral" of every task.</summary>
    public static IReadOnlyList<string> NeutralCorpus => s_neutral.Value;

    public static bool TryGetBuiltIn(string name, out TaskSuite suite) => s_builtIns.Value.TryGetValue(name, out suite!);

    public static TaskSuite BuiltIn(string name) =>
        TryGetBuiltIn(name, out var s) ? s : throw new Sna.Runtime.SnaInputException("--task", $"no built-in task '{name}'; built-ins: {string.Join(", ", BuiltInNames)}");

    /// <summary>Resolves <c>--task</c> through <see cref="TaskResolver"/> (the one resolver): a file, a built-in, or a name in <paramref name="taskDirs"/>.</summary>
    public static TaskSuite Resolve(string nameOrPath, params string[] taskDirs) => TaskResolver.Resolve(nameOrPath, taskDirs).Suite;

    /// <summary>The built-ins, then every <c>*.json</c> in <paramref name="dir"/> (if it exists), sorted by file name.</summary>
    public static IReadOnlyList<TaskListing> List(string? dir)
    {
        var list = BuiltIns.Select(s => new TaskListing(s.Name, s.Source, true, s, null)).ToList();
        if (dir is not null && Directory.Exists(dir))
            foreach (var f in Directory.GetFiles(dir, "*.json").OrderBy(f => f, StringComparer.Ordinal))
            {
                try
                {
                    var s = TaskSuiteJson.Load(f);
                    list.Add(new TaskListing(s.Name, f, false, s, null));
                }
                catch (Exception e) when (e is TaskSuiteException or IOException or UnauthorizedAccessException)
                {
                    list.Add(new TaskListing(Path.GetFileNameWithoutExtension(f), f, false, null, e.Message));
                }
            }
        return list;
    }

    private static readonly string[] Domains = ["math", "poetry", "code", "logic"];
    private static readonly string[] Levels = ["easy", "medium", "hard"];

    private static IReadOnlyDictionary<string, TaskSuite> LoadBuiltIns()
    {
        var asm = typeof(TaskLibrary).Assembly;
        var found = new Dictionary<string, TaskSuite>(StringComparer.Ordinal);
        foreach (var res in asm.GetManifestResourceNames().Where(n => n.StartsWith(SuitePrefix, StringComparison.Ordinal) && n != NeutralResource))
        {
            string name = res[SuitePrefix.Length..^".json".Length];
            var s = TaskSuiteJson.Parse(ReadResource(asm, res), "builtin:" + name) with { Source = "builtin:" + name };
            if (s.Name != name) throw new InvalidDataException($"built-in suite {res} is named '{s.Name}'");
            found[name] = s;
        }
        // canonical order: the paper's grid first, then the rest by name
        var ordered = new List<string>();
        foreach (var d in Domains) foreach (var l in Levels) if (found.ContainsKey($"{d}-{l}")) ordered.Add($"{d}-{l}");
        ordered.AddRange(found.Keys.Where(k => !ordered.Contains(k)).OrderBy(k => k, StringComparer.Ordinal));
        var result = new OrderedDictionary<string, TaskSuite>(StringComparer.Ordinal);
        foreach (var k in ordered) result[k] = found[k];
        return result;
    }

    private static IReadOnlyList<string> LoadNeutral()
    {
        var asm = typeof(TaskLibrary).Assembly;
        using var doc = JsonDocument.Parse(ReadResource(asm, NeutralResource));
        return doc.RootElement.GetProperty("texts").EnumerateArray().Select(e => e.GetString()!).ToArray();
    }

    private static string ReadResource(Assembly asm, string name)
    {
        using var s = asm.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"embedded resource {name} is missing");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }
}
