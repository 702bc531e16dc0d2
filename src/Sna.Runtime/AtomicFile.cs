namespace Sna.Runtime;

/// <summary>
/// Writes an output file so that it never destroys data: the content goes to a temporary file in the same directory, which
/// replaces the destination by a rename only once it is complete (a crash or an error leaves the old file, or none, never a
/// half-written one); and an output path that is one of the inputs (compared as real paths, through symlinks) is refused
/// before anything is written.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> through <paramref name="write"/>, which receives the temporary path to create. Refuses a
    /// path equal to any of <paramref name="inputs"/> (an <see cref="SnaInputException"/> naming <paramref name="option"/>).
    /// </summary>
    public static T Write<T>(string path, Func<string, T> write, IEnumerable<string?>? inputs = null, string option = "--out")
    {
        var (full, tmp) = Prepare(path, inputs, option);
        try
        {
            T result = write(tmp);
            File.Move(tmp, full, overwrite: true);
            return result;
        }
        finally
        {
            TryDelete(tmp);
        }
    }

    /// <summary>The asynchronous form of <see cref="Write{T}"/>: the rename happens after <paramref name="write"/> completes.</summary>
    public static async Task<T> WriteAsync<T>(string path, Func<string, Task<T>> write, IEnumerable<string?>? inputs = null, string option = "--out")
    {
        var (full, tmp) = Prepare(path, inputs, option);
        try
        {
            T result = await write(tmp).ConfigureAwait(false);
            File.Move(tmp, full, overwrite: true);
            return result;
        }
        finally
        {
            TryDelete(tmp);
        }
    }

    /// <summary>
    /// What both forms check and create before writing: refuses an output that is an input or a directory, creates the
    /// destination's directory; returns the destination's full path and the temporary path beside it.
    /// </summary>
    private static (string Full, string Tmp) Prepare(string path, IEnumerable<string?>? inputs, string option)
    {
        RefuseInputs(path, inputs, option);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new SnaInputException(option, $"{option} {path} is a directory; give a file name");
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return (full, TempName(full));
    }

    private static string TempName(string full) =>
        Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.tmp-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");

    private static void TryDelete(string tmp)
    {
        try { if (File.Exists(tmp)) File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public static void Write(string path, Action<string> write, IEnumerable<string?>? inputs = null, string option = "--out") =>
        Write<int>(path, t => { write(t); return 0; }, inputs, option);

    public static void WriteAllText(string path, string text, IEnumerable<string?>? inputs = null, string option = "--out") =>
        Write(path, t => File.WriteAllText(t, text), inputs, option);

    /// <summary>Refuses <paramref name="output"/> when it is (through symlinks) the same file as one of <paramref name="inputs"/>.</summary>
    public static void RefuseInputs(string output, IEnumerable<string?>? inputs, string option = "--out")
    {
        if (inputs is null) return;
        string o = RealPath(output);
        foreach (var i in inputs)
            if (!string.IsNullOrEmpty(i) && SamePath(o, RealPath(i)))
                throw new SnaInputException(option, $"{option} {output} is also an input ({i}); refusing to overwrite it: choose another output file");
    }

    private static bool SamePath(string a, string b) =>
        string.Equals(a, b, OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    /// <summary>The absolute path with every symlink along it resolved (components that do not exist are kept as given).</summary>
    public static string RealPath(string path) => RealPath(path, 0);

    private static string RealPath(string path, int depth)
    {
        string full = Path.GetFullPath(path);
        if (depth > 40) return full; // a symlink loop: compare as given
        string root = Path.GetPathRoot(full) ?? "/";
        var parts = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        string cur = root;
        foreach (var part in parts)
        {
            string next = Path.Combine(cur, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            cur = info.Exists && info.LinkTarget is { } target
                ? RealPath(Path.GetFullPath(target, cur), depth + 1)
                : next;
        }
        return cur;
    }
}
