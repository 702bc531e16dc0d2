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
            throw new HubException(HubErrorKind.InvalidModel, $"local model directory not found: {Path.GetFullPath(name)}");

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
        var snap = await client.DownloadModelAsync(spec.RepoId!, spec.Revision, options.Progress, cancellationToken).ConfigureAwait(false);
        return new ResolvedModel(snap.Directory, snap.BytesDownloaded > 0 ? ModelSource.Downloaded : ModelSource.Cache,
            spec, snap.Commit, snap.BytesDownloaded, snap.Warning);
    }
}
