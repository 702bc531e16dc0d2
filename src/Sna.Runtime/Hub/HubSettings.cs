namespace Sna.Runtime.Hub;

/// <summary>
/// Where the hub is and where its files are cached. Mirrors huggingface_hub's constants:
/// <c>HF_ENDPOINT</c>, <c>HF_HUB_CACHE</c> / <c>HUGGINGFACE_HUB_CACHE</c> / <c>HF_HOME</c> / <c>XDG_CACHE_HOME</c>,
/// <c>HF_HUB_OFFLINE</c> / <c>TRANSFORMERS_OFFLINE</c>, <c>HF_TOKEN</c> / <c>HUGGING_FACE_HUB_TOKEN</c> / the token file.
/// The token is never part of <see cref="ToString"/>.
/// </summary>
public sealed class HubSettings
{
    public const string DefaultEndpoint = "https://huggingface.co";

    public HubSettings(string cacheDir, string endpoint = DefaultEndpoint, string? token = null, bool offline = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(cacheDir);
        ArgumentException.ThrowIfNullOrWhiteSpace(endpoint);
        CacheDir = Path.GetFullPath(cacheDir);
        Endpoint = endpoint.TrimEnd('/');
        Token = string.IsNullOrWhiteSpace(token) ? null : token.Trim();
        Offline = offline;
    }

    /// <summary>The hub cache root (the folder holding <c>models--org--name</c>).</summary>
    public string CacheDir { get; }

    /// <summary>Hub base URL without trailing slash.</summary>
    public string Endpoint { get; }

    /// <summary>Bearer token; sent only to the endpoint's host, never printed.</summary>
    public string? Token { get; }

    /// <summary>Cache-only mode: no network request is made.</summary>
    public bool Offline { get; }

    public HubSettings With(string? cacheDir = null, string? endpoint = null, bool? offline = null) =>
        new(cacheDir ?? CacheDir, endpoint ?? Endpoint, Token, offline ?? Offline);

    public HubSettings WithToken(string? token) => new(CacheDir, Endpoint, token, Offline);

    public override string ToString() =>
        $"HubSettings {{ CacheDir = {CacheDir}, Endpoint = {Endpoint}, Token = {(Token is null ? "(none)" : "(set)")}, Offline = {Offline} }}";

    /// <summary>Reads the current process environment.</summary>
    public static HubSettings FromEnvironment()
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            env[(string)e.Key] = e.Value as string;
        return FromEnvironment(env, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), readTokenFile: true);
    }

    /// <summary>
    /// Pure resolution from an environment dictionary (testable without touching the process environment).
    /// When <paramref name="readTokenFile"/> is true and no token variable is set, the huggingface_hub token
    /// file (<c>HF_TOKEN_PATH</c>, else <c>$HF_HOME/token</c>) is read if it exists.
    /// </summary>
    public static HubSettings FromEnvironment(IReadOnlyDictionary<string, string?> env, string userHome, bool readTokenFile = false)
    {
        ArgumentNullException.ThrowIfNull(env);
        string? Get(string name) => env.TryGetValue(name, out var v) && !string.IsNullOrEmpty(v) ? v : null;
        string Expand(string p) => ExpandPath(p, env, userHome);

        string hfHome = ResolveHfHome(env, userHome);
        string cache = Get("HF_HUB_CACHE") is { } c ? Expand(c)
            : Get("HUGGINGFACE_HUB_CACHE") is { } legacy ? Expand(legacy)
            : Path.Combine(hfHome, "hub");

        string endpoint = (Get("HF_ENDPOINT") ?? DefaultEndpoint).TrimEnd('/');
        bool offline = IsTrue(Get("HF_HUB_OFFLINE") ?? Get("TRANSFORMERS_OFFLINE"));

        string? token = Get("HF_TOKEN") ?? Get("HUGGING_FACE_HUB_TOKEN");
        // HF_HUB_DISABLE_IMPLICIT_TOKEN: a token found in the environment or the token file is not sent. SNA never
        // passes an explicit token, so no token is sent at all (huggingface_hub's get_token_to_send).
        if (IsTrue(Get("HF_HUB_DISABLE_IMPLICIT_TOKEN"))) return new HubSettings(cache, endpoint, null, offline);
        if (token is null && readTokenFile)
        {
            string tokenPath = Get("HF_TOKEN_PATH") is { } tp ? Expand(tp) : Path.Combine(hfHome, "token");
            try
            {
                if (File.Exists(tokenPath)) token = File.ReadAllText(tokenPath).Trim();
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return new HubSettings(cache, endpoint, token, offline);
    }

    /// <summary><c>$HF_HOME</c>, else <c>$XDG_CACHE_HOME/huggingface</c>, else <c>~/.cache/huggingface</c>.</summary>
    public static string ResolveHfHome(IReadOnlyDictionary<string, string?> env, string userHome)
    {
        string? Get(string name) => env.TryGetValue(name, out var v) && !string.IsNullOrEmpty(v) ? v : null;
        if (Get("HF_HOME") is { } home) return ExpandPath(home, env, userHome);
        string xdg = Get("XDG_CACHE_HOME") is { } x ? ExpandPath(x, env, userHome) : Path.Combine(userHome, ".cache");
        return Path.Combine(xdg, "huggingface");
    }

    /// <summary>huggingface_hub's truthiness: 1, ON, YES, TRUE (case-insensitive).</summary>
    public static bool IsTrue(string? value) =>
        value is not null && value.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    /// <summary>
    /// huggingface_hub's <c>os.path.expandvars(os.path.expanduser(p))</c>: a leading <c>~</c> becomes the home directory,
    /// then <c>$NAME</c> and <c>${NAME}</c> (NAME of letters, digits, '_') are replaced by their values; a variable that is
    /// not set is left as written, as Python does.
    /// </summary>
    public static string ExpandPath(string path, IReadOnlyDictionary<string, string?> env, string userHome)
    {
        path = ExpandUser(path, userHome);
        return System.Text.RegularExpressions.Regex.Replace(path, @"\$(\w+|\{[^}]*\})", m =>
        {
            string name = m.Groups[1].Value;
            if (name.StartsWith('{')) name = name[1..^1];
            return env.TryGetValue(name, out var v) && v is not null ? v : m.Value;
        });
    }

    internal static string ExpandUser(string path, string userHome)
    {
        if (path == "~") return userHome;
        if (path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
            return Path.Combine(userHome, path[2..]);
        return path;
    }
}
