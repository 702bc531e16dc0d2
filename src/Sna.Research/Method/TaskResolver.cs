using System.Security.Cryptography;
using System.Text;
using Sna.Runtime;

namespace Sna.Research.Method;

/// <summary>
/// A task as resolved from what the user typed: the suite, the SHA-256 of its content (the file's bytes; for a built-in, its
/// canonical JSON as printed by <c>sna tasks show NAME --json</c>), what was given, and the file it was read from (null for a
/// built-in).
/// </summary>
public sealed record ResolvedTask(TaskSuite Suite, string Sha256, string Given, string? File)
{
    public string Name => Suite.Name;
}

/// <summary>
/// The one task resolver of every command (CLI and web). A task is given as
/// <list type="number">
/// <item>a path to a task file (an existing file);</item>
/// <item>a built-in name (<see cref="TaskLibrary.BuiltInNames"/>);</item>
/// <item>a name found as <c>{dir}/{name}.json</c> (or <c>{dir}/{name}</c>) in the task directories: <c>./tasks</c>, then any
/// <c>--tasks-dir</c>.</item>
/// </list>
/// Anything else is an input error that says where it looked.
/// </summary>
public static class TaskResolver
{
    /// <summary>The default task directory: <c>./tasks</c> under the current directory.</summary>
    public static string DefaultDirectory => Path.Combine(Environment.CurrentDirectory, "tasks");

    /// <summary>The directories searched for a bare name: <c>./tasks</c>, then <paramref name="extra"/> (e.g. <c>--tasks-dir</c>).</summary>
    public static string[] Directories(params string?[] extra) =>
        new[] { DefaultDirectory }.Concat(extra.Where(d => !string.IsNullOrWhiteSpace(d)).Select(d => Path.GetFullPath(d!))).Distinct().ToArray();

    public static ResolvedTask Resolve(string given, IReadOnlyList<string> dirs)
    {
        string g = given.Trim();
        if (g.Length == 0) throw new SnaInputException("--task", "the task is empty: give a built-in name (see 'sna tasks'), a task file, or a name in ./tasks");
        if (System.IO.File.Exists(g)) return FromFile(g, g);
        if (Directory.Exists(g)) throw new SnaInputException("--task", $"task '{g}' is a directory; give a task file (*.json) or use --tasks-dir {g} with a task name");
        if (TaskLibrary.TryGetBuiltIn(g, out var s)) return new ResolvedTask(s, Sha(Encoding.UTF8.GetBytes(s.ToJson())), g, null);
        bool pathLike = g.Contains('/') || g.Contains('\\') || g.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        if (!pathLike)
            foreach (var d in dirs)
                foreach (var candidate in new[] { Path.Combine(d, g + ".json"), Path.Combine(d, g) })
                    if (System.IO.File.Exists(candidate)) return FromFile(candidate, g);
        if (pathLike) throw new SnaInputException("--task", $"task file not found: {g}");
        throw new SnaInputException("--task", $"unknown task '{InputParsing.Clip(g)}': not a file, not a built-in ({string.Join(", ", TaskLibrary.BuiltInNames)})"
            + (dirs.Count > 0 ? $", and no {g}.json in {string.Join(" or ", dirs)}" : ""));
    }

    /// <summary>A comma-separated list (or <c>all</c>: the built-ins), resolved in order; names must be distinct.</summary>
    public static IReadOnlyList<ResolvedTask> ResolveList(string given, IReadOnlyList<string> dirs, string option = "--tasks")
    {
        string g = given.Trim();
        var items = g.Equals("all", StringComparison.OrdinalIgnoreCase)
            ? TaskLibrary.BuiltInNames.ToArray()
            : g.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (items.Length == 0) throw new SnaInputException(option, $"{option} needs at least one task (a built-in name, a task file or a name in ./tasks), or all");
        var list = items.Select(i => Resolve(i, dirs)).ToList();
        var dup = list.GroupBy(t => t.Name, StringComparer.Ordinal).FirstOrDefault(x => x.Count() > 1);
        if (dup is not null)
            throw new SnaInputException(option, $"two tasks are named '{dup.Key}' ({string.Join(", ", dup.Select(t => t.Given))}); task names must be distinct");
        return list;
    }

    private static ResolvedTask FromFile(string path, string given)
    {
        byte[] bytes;
        try { bytes = System.IO.File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SnaInputException("--task", $"task file {path} cannot be read: {e.Message}", e);
        }
        using var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return new ResolvedTask(TaskSuiteJson.Parse(reader.ReadToEnd(), path) with { Source = path }, Sha(bytes), given, Path.GetFullPath(path));
    }

    private static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));
}
