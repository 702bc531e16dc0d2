namespace Sna.Runtime.Hub;

/// <summary>Options for <see cref="ModelResolver"/>.</summary>
public sealed class ResolveOptions
{
    /// <summary>Revision (branch, tag, commit sha, Pythia <c>step{N}</c>). A <c>model@rev</c> suffix is equivalent;
    /// giving both with different values is an error. Default <c>main</c>.</summary>
    public string? Revision { get; init; }

    /// <summary>Force cache-only mode (in addition to <see cref="HubSettings.Offline"/> / <c>HF_HUB_OFFLINE</c>).</summary>
    public bool Offline { get; init; }

    /// <summary>Hub settings; default <see cref="HubSettings.FromEnvironment()"/>.</summary>
    public HubSettings? Settings { get; init; }

    /// <summary>Download progress sink.</summary>
    public IProgress<DownloadProgress>? Progress { get; init; }

    /// <summary>HTTP handler for the hub client (tests); it is not disposed.</summary>
    public HttpMessageHandler? Handler { get; init; }
}

public enum ModelSpecKind
{
    /// <summary>An existing local directory.</summary>
    LocalDirectory,
    /// <summary>A hub repo (from an alias or a repo id).</summary>
    Hub,
}

/// <summary>A parsed model argument.</summary>
/// <param name="Input">What the user typed.</param>
/// <param name="Kind">Local directory or hub repo.</param>
/// <param name="LocalPath">Full path, for <see cref="ModelSpecKind.LocalDirectory"/>.</param>
/// <param name="RepoId">Hub repo id, for <see cref="ModelSpecKind.Hub"/>.</param>
/// <param name="Revision">Revision, for <see cref="ModelSpecKind.Hub"/> (default <c>main</c>).</param>
/// <param name="Alias">The known alias, when the input was one (or its repo id).</param>
public sealed record ModelSpec(string Input, ModelSpecKind Kind, string? LocalPath, string? RepoId, string? Revision, ModelAlias? Alias);

public enum ModelSource
{
    /// <summary>A local directory given directly.</summary>
    LocalDirectory,
    /// <summary>Everything was already in the hub cache.</summary>
    Cache,
    /// <summary>At least one file was downloaded.</summary>
    Downloaded,
}

/// <summary>A model directory ready to load.</summary>
public sealed record ResolvedModel(
    string Directory,
    ModelSource Source,
    ModelSpec Spec,
    string? Commit,
    long BytesDownloaded,
    string? Warning);

/// <summary>
/// Turns a model argument into a local directory, like TransformerLens' <c>from_pretrained</c>:
/// <list type="number">
/// <item>an existing local directory wins;</item>
/// <item>else a known alias (<see cref="ModelAliases"/>) or hub id (<c>org/name</c> or bare <c>gpt2</c>),
/// with an optional <c>@revision</c> suffix, is fetched into / read from the shared Hugging Face cache;</item>
/// <item>offline (option or <c>HF_HUB_OFFLINE=1</c>), only the cache is used.</item>
/// </list>
/// </summary>
public static class ModelResolver
{
    /// <summary>Parses a model argument without touching the network or the cache.</summary>
    public static ModelSpec Parse(string model, string? revision = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        string input = model.Trim();
        if (input.Length == 0) throw new HubException(HubErrorKind.InvalidModel, "no model given");
        if (Directory.Exists(input))
            return new ModelSpec(model, ModelSpecKind.LocalDirectory, Path.GetFullPath(input), null, null, null);

        string name = input;
        string? suffixRev = null;
        int at = input.LastIndexOf('@');
        if (at >= 0)
        {
            name = input[..at];
            suffixRev = input[(at + 1)..];
            if (suffixRev.Length == 0) throw new HubException(HubErrorKind.InvalidModel, $"empty revision after '@' in '{model}'");
        }
        if (suffixRev is not null && !string.IsNullOrWhiteSpace(revision) && suffixRev != revision)
            throw new HubException(HubErrorKind.InvalidModel, $"conflicting revisions: '{model}' and --revision {revision}");
        string rev = suffixRev ?? (string.IsNullOrWhiteSpace(revision) ? "main" : revision.Trim());

        if (LooksLikePath(name))
            throw new HubException(HubErrorKind.InvalidModel, $"local model directory not found: {Path.GetFullPath(name)}" +
                (NearDirectory(name, name) is { } near ? $" ({near})" : ""));

        // The id as typed: 'openai-community/gpt2-medium' stays itself (cached as models--openai-community--gpt2-medium,
        // like huggingface_hub); only a bare alias such as 'pythia-160m' is expanded to its repo id.
        var alias = ModelAliases.Find(name);
        string repoId = name.Contains('/') ? name : alias?.RepoId ?? name;
        if (!HubClient.IsValidRepoId(repoId))
            throw new HubException(HubErrorKind.InvalidModel,
                $"'{model}' is not a local directory, a known alias ({string.Join(", ", ModelAliases.All.Select(a => a.Alias))}) or a hub repo id ('name' or 'org/name', optionally @revision)");
        return new ModelSpec(model, ModelSpecKind.Hub, null, repoId, rev, alias);
    }

    /// <summary>Whether a model argument is meant as a filesystem path (starts with '.', '/' or '~', has a backslash, is rooted
    /// or has more than one '/'), so that a missing directory is reported as such rather than looked up on the hub.</summary>
    public static bool LooksLikePath(string s) =>
        s.StartsWith('.') || s.StartsWith('/') || s.StartsWith('~') || s.Contains('\\') || Path.IsPathRooted(s) || s.Count(c => c == '/') > 1;

    /// <summary>Synchronous <see cref="ResolveAsync"/>; returns the model directory.</summary>
    public static string Resolve(string model, ResolveOptions? options = null) =>
        ResolveAsync(model, options).GetAwaiter().GetResult().Directory;

    /// <summary>Resolves <paramref name="model"/> to a local directory, downloading into the cache if needed.</summary>
    /// <exception cref="HubException">With a user-facing message (missing files offline, auth, not found, network, integrity).</exception>
    public static async Task<ResolvedModel> ResolveAsync(string model, ResolveOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ResolveOptions();
        var spec = Parse(model, options.Revision);
        if (spec.Kind == ModelSpecKind.LocalDirectory)
            return new ResolvedModel(spec.LocalPath!, ModelSource.LocalDirectory, spec, null, 0, null);

        var settings = options.Settings ?? HubSettings.FromEnvironment();
        if (options.Offline && !settings.Offline) settings = settings.With(offline: true);
        using var client = new HubClient(settings, options.Handler, disposeHandler: options.Handler is null);
        ModelSnapshot snap;
        try
        {
            snap = await client.DownloadModelAsync(spec.RepoId!, spec.Revision, options.Progress, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException e) when (e.Kind is not (HubErrorKind.Integrity or HubErrorKind.Unsupported) && TypoHint(spec) is { } hint)
        {
            // On the first line (an offline miss goes on to list the missing files and how to get them).
            int nl = e.Message.IndexOf('\n');
            string first = nl < 0 ? e.Message : e.Message[..nl], rest = nl < 0 ? "" : e.Message[nl..];
            bool stop = first.EndsWith('.');
            throw new HubException(e.Kind, $"{first.TrimEnd('.')} ({hint}){(stop ? "." : "")}{rest}", e.InnerException, e.MissingFiles);
        }
        return new ResolvedModel(snap.Directory, snap.BytesDownloaded > 0 ? ModelSource.Downloaded : ModelSource.Cache,
            spec, snap.Commit, snap.BytesDownloaded, snap.Warning);
    }

    /// <summary>
    /// When a hub lookup fails, what the user may have meant instead: a known alias or repo id a typo away ('gpt2-medum',
    /// 'EleutherAI/pythia-160n'), or, for
    /// 'folder/name' where 'folder' is a folder under <paramref name="baseDirectory"/> (default: the current one), a local
    /// directory (a mistyped relative path has one '/' and so reads as a repo id). Null when nothing is close.
    /// </summary>
    internal static string? TypoHint(ModelSpec spec, string? baseDirectory = null)
    {
        string name = spec.Input.Trim();
        int at = name.LastIndexOf('@');
        if (at >= 0) name = name[..at];
        if (spec.Alias is null)
        {
            // 'gpt2-medum' against the aliases; 'EleutherAI/pythia-160n' against the repo ids they stand for.
            var known = name.Contains('/')
                ? ModelAliases.All.SelectMany(a => a.OtherNames.Prepend(a.RepoId)).Where(n => n.Contains('/')).Distinct()
                : ModelAliases.All.Select(a => a.Alias);
            var near = Spelling.Closest(name, known, maxDistance: 1);   // 'pythia-14m' is a real model two edits from 'pythia-70m'
            if (near.Count > 0) return $"did you mean {string.Join(" or ", near.Take(3).Select(n => $"'{n}'"))}?";
        }
        int slash = name.IndexOf('/');
        bool localFolder;
        try { localFolder = slash > 0 && Directory.Exists(Path.Combine(baseDirectory ?? ".", name[..slash])); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { localFolder = false; }
        if (localFolder)
            return $"'{name[..slash]}' is a local folder: " + (NearDirectory(Path.Combine(baseDirectory ?? ".", name), name) ?? $"it has no directory '{name[(slash + 1)..]}'");
        return null;
    }

    /// <summary>"did you mean the directory X?" for a missing directory whose parent exists and holds one a typo away.</summary>
    internal static string? NearDirectory(string path, string shownAs)
    {
        string full = Path.GetFullPath(path).TrimEnd('/');
        string? parent = Path.GetDirectoryName(full), leaf = Path.GetFileName(full);
        if (parent is null || string.IsNullOrEmpty(leaf) || !Directory.Exists(parent)) return null;
        IReadOnlyList<string> near;
        try
        {
            near = Spelling.Closest(leaf, Directory.EnumerateDirectories(parent).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;   // a folder we may not list: no hint, and the error being reported stays the one the user gets
        }
        if (near.Count == 0) return null;
        string shownParent = Path.GetDirectoryName(shownAs.TrimEnd('/')) is { Length: > 0 } sp ? sp + "/" : "";
        return $"did you mean the directory {string.Join(" or ", near.Take(3).Select(n => $"'{shownParent}{n}'"))}?";
    }
}
