namespace Sna.Runtime.Caching;

/// <summary>
/// The one place that decides where SNA keeps its own caches (discovery means, file hashes, …):
/// <c>$SNA_CACHE_DIR</c> if set and non-empty, else <c>$XDG_CACHE_HOME/sna</c>, else <c>~/.cache/sna</c>.
/// A leading <c>~</c> and <c>$VAR</c> / <c>${VAR}</c> references in the variables are expanded; the result is absolute.
/// Each cache lives in a subfolder (<see cref="For"/>), e.g. <c>neurons</c>. Hugging Face files are not here: they use the
/// hub's own cache (<see cref="Hub.HubSettings"/>).
/// </summary>
public static class SnaCacheDir
{
    /// <summary>The environment variable that overrides the cache root.</summary>
    public const string EnvironmentVariable = "SNA_CACHE_DIR";

    /// <summary>The cache root for the current process environment.</summary>
    public static string Root => Resolve(Environment.GetEnvironmentVariable, UserHome);

    /// <summary><c>Root/&lt;name&gt;</c>, e.g. <c>For("neurons")</c>. Not created.</summary>
    public static string For(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return Path.Combine(Root, name);
    }

    /// <summary>Pure resolution from an environment lookup and a home directory (testable without the process environment).</summary>
    public static string Resolve(Func<string, string?> getEnv, string userHome)
    {
        ArgumentNullException.ThrowIfNull(getEnv);
        string? Get(string name) => getEnv(name) is { Length: > 0 } v && v.Trim().Length > 0 ? v.Trim() : null;
        if (Get(EnvironmentVariable) is { } root) return Path.GetFullPath(Expand(root, getEnv, userHome));
        if (Get("XDG_CACHE_HOME") is { } xdg) return Path.GetFullPath(Path.Combine(Expand(xdg, getEnv, userHome), "sna"));
        return Path.GetFullPath(Path.Combine(userHome, ".cache", "sna"));
    }

    /// <summary>
    /// Expands a leading <c>~</c> (alone or followed by a separator) to <paramref name="userHome"/>, and every <c>$NAME</c> or
    /// <c>${NAME}</c> (NAME = letters, digits, underscores) to its value; an unset variable expands to the empty string,
    /// as in a POSIX shell. <c>$</c> not followed by a name is kept.
    /// </summary>
    public static string Expand(string path, Func<string, string?> getEnv, string userHome)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(getEnv);
        var sb = new System.Text.StringBuilder(path.Length + 16);
        int i = 0;
        if (path == "~") return userHome;
        if (path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
        {
            sb.Append(userHome.TrimEnd('/', '\\'));
            i = 1;
        }
        while (i < path.Length)
        {
            char c = path[i];
            if (c != '$' || i + 1 >= path.Length) { sb.Append(c); i++; continue; }
            if (path[i + 1] == '{')
            {
                int close = path.IndexOf('}', i + 2);
                if (close > i + 2 && IsName(path.AsSpan(i + 2, close - i - 2)))
                {
                    sb.Append(getEnv(path[(i + 2)..close]) ?? "");
                    i = close + 1;
                    continue;
                }
                sb.Append(c); i++;
                continue;
            }
            int j = i + 1;
            while (j < path.Length && IsNameChar(path[j]) && !(j == i + 1 && char.IsAsciiDigit(path[j]))) j++;
            if (j == i + 1) { sb.Append(c); i++; continue; }
            sb.Append(getEnv(path[(i + 1)..j]) ?? "");
            i = j;
        }
        return sb.ToString();
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static bool IsName(ReadOnlySpan<char> s)
    {
        if (s.Length == 0 || char.IsAsciiDigit(s[0])) return false;
        foreach (char c in s) if (!IsNameChar(c)) return false;
        return true;
    }

    private static string UserHome => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
}
