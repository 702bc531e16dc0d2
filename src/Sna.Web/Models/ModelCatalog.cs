using System.Collections.Concurrent;
using Sna.Core.Models;
using Sna.Core.Tokenization;

namespace Sna.Web.Models;

/// <summary>Where a listed model comes from.</summary>
public enum ModelKind { Bundled, Fixture, Local, Hub }

/// <summary>
/// One model the client may choose, by <see cref="Id"/> only. The directory never leaves the server except as the
/// <c>--model</c> argument of the reproducing CLI command, and is never taken from the client.
/// </summary>
public sealed record ModelEntry(string Id, string Name, ModelKind Kind, string? Directory, bool Available, string? Note,
    int? Layers, int? DMlp, int? Context);

/// <summary>A loaded model and its tokenizer, shared by all requests (forward passes are thread-safe; persistent hooks are never used).</summary>
public sealed class LoadedModel(ModelEntry entry, TransformerModel model, ModelTokenizer tokenizer) : IDisposable
{
    public ModelEntry Entry { get; } = entry;
    public TransformerModel Model { get; } = model;
    public ModelTokenizer Tokenizer { get; } = tokenizer;
    public void Dispose() => Model.Dispose();
}

/// <summary>The model could not be loaded (bad files); reported as a 500 problem without internals.</summary>
public sealed class ModelLoadException(string modelId, Exception inner) : Exception($"model '{modelId}' could not be loaded", inner)
{
    public string ModelId { get; } = modelId;
}

/// <summary>
/// The allow-list of models: the bundled model, fixtures when present, the operator's <c>--models</c> directories and the
/// hub models (available only when found in the local hub cache). Each model is loaded once, lazily, and cached.
/// </summary>
public sealed class ModelCatalog : IDisposable
{
    /// <summary>Hub models the toolkit knows (the paper's GPT-2 sizes and Pythia-160M).</summary>
    public static readonly (string Repo, string Name)[] HubModels =
    [
        ("gpt2", "GPT-2 Small (124M)"), ("gpt2-medium", "GPT-2 Medium (355M)"), ("gpt2-large", "GPT-2 Large (774M)"),
        ("gpt2-xl", "GPT-2 XL (1.5B)"), ("EleutherAI/pythia-160m", "Pythia-160M"),
    ];

    private readonly Dictionary<string, ModelEntry> _entries = new(StringComparer.Ordinal);
    private readonly List<ModelEntry> _ordered = new();
    private readonly ConcurrentDictionary<string, Lazy<LoadedModel>> _loaded = new(StringComparer.Ordinal);

    public ModelCatalog(WebOptions options)
    {
        if (options.IncludeBundledModel && FindBundled() is { } bundled)
            Add(FromDirectory("sna-demo-gpt2", "sna-demo-gpt2 (bundled)", ModelKind.Bundled, bundled));
        if (options.IncludeFixtures && (options.FixturesDirectory ?? FindFixtures()) is { } fx && System.IO.Directory.Exists(fx))
            foreach (var d in System.IO.Directory.GetDirectories(fx).Order(StringComparer.Ordinal))
                if (LooksLikeModel(d))
                    Add(FromDirectory("fixture:" + Path.GetFileName(d), Path.GetFileName(d) + " (fixture)", ModelKind.Fixture, d));
        foreach (var dir in options.ModelDirectories)
        {
            var full = Path.GetFullPath(dir);
            if (!System.IO.Directory.Exists(full)) throw new DirectoryNotFoundException($"model directory not found: {dir}");
            string baseId = "local:" + Sanitize(Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar)));
            string id = baseId;
            for (int i = 2; _entries.ContainsKey(id); i++) id = $"{baseId}-{i}";
            Add(FromDirectory(id, Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar)) + " (local)", ModelKind.Local, full));
        }
        string? hubCache = options.HubCacheDirectory ?? DefaultHubCache();
        foreach (var (repo, name) in HubModels)
        {
            string? snap = hubCache is null ? null : FindSnapshot(hubCache, repo);
            string id = "hub:" + repo;
            if (snap is not null) Add(FromDirectory(id, name, ModelKind.Hub, snap));
            else Add(new ModelEntry(id, name, ModelKind.Hub, null, false,
                $"not in the local hub cache; download it first (the hub client), then restart", null, null, null));
        }
    }

    public IReadOnlyList<ModelEntry> Entries => _ordered;

    public bool TryGet(string id, out ModelEntry entry) => _entries.TryGetValue(id, out entry!);

    /// <summary>The loaded model for an available entry; loads it on first use (once, even under concurrent requests).</summary>
    public LoadedModel Get(ModelEntry entry)
    {
        if (!entry.Available || entry.Directory is null) throw new InvalidOperationException($"model '{entry.Id}' is not available");
        var lazy = _loaded.GetOrAdd(entry.Id, _ => new Lazy<LoadedModel>(() => Load(entry), LazyThreadSafetyMode.ExecutionAndPublication));
        try { return lazy.Value; }
        catch
        {
            _loaded.TryRemove(new KeyValuePair<string, Lazy<LoadedModel>>(entry.Id, lazy)); // let a later request retry
            throw;
        }
    }

    private static LoadedModel Load(ModelEntry e)
    {
        try
        {
            var model = ModelLoader.Load(e.Directory!);
            try { return new LoadedModel(e, model, ModelTokenizer.FromDirectory(e.Directory!)); }
            catch { model.Dispose(); throw; }
        }
        catch (Exception ex) { throw new ModelLoadException(e.Id, ex); }
    }

    private void Add(ModelEntry e)
    {
        if (_entries.TryAdd(e.Id, e)) _ordered.Add(e);
    }

    private static ModelEntry FromDirectory(string id, string name, ModelKind kind, string dir)
    {
        try
        {
            var c = ModelConfig.Load(dir);
            return new ModelEntry(id, name, kind, Path.GetFullPath(dir), true, null, c.NLayers, c.DMlp, c.NCtx);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return new ModelEntry(id, name, kind, Path.GetFullPath(dir), false, "config.json could not be read: " + ex.Message.Replace(dir, Path.GetFileName(dir)), null, null, null);
        }
    }

    private static bool LooksLikeModel(string d) =>
        File.Exists(Path.Combine(d, "config.json")) && System.IO.Directory.EnumerateFiles(d, "*.safetensors").Any()
        && (File.Exists(Path.Combine(d, "tokenizer.json")) || File.Exists(Path.Combine(d, "vocab.json")));

    private static string Sanitize(string s)
    {
        var chars = s.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-').ToArray();
        var r = new string(chars).Trim('.');
        return r.Length == 0 ? "model" : r;
    }

    /// <summary>models/sna-demo-gpt2 beside the executable or in a parent directory (the repository).</summary>
    public static string? FindBundled()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, "models", "sna-demo-gpt2");
            if (System.IO.Directory.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>../shared/fixtures beside the repository root (the directory holding Sna.sln), when present.</summary>
    public static string? FindFixtures()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Sna.sln")))
            {
                var p = Path.GetFullPath(Path.Combine(d.FullName, "..", "shared", "fixtures"));
                return System.IO.Directory.Exists(p) ? p : null;
            }
        return null;
    }

    private static string? DefaultHubCache()
    {
        if (Environment.GetEnvironmentVariable("HF_HUB_CACHE") is { Length: > 0 } c) return c;
        if (Environment.GetEnvironmentVariable("HF_HOME") is { Length: > 0 } h) return Path.Combine(h, "hub");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return home.Length == 0 ? null : Path.Combine(home, ".cache", "huggingface", "hub");
    }

    /// <summary>A snapshot of <paramref name="repo"/> in a Hugging Face hub cache that holds a loadable model.</summary>
    private static string? FindSnapshot(string cache, string repo)
    {
        var snaps = Path.Combine(cache, "models--" + repo.Replace("/", "--"), "snapshots");
        if (!System.IO.Directory.Exists(snaps)) return null;
        return System.IO.Directory.GetDirectories(snaps).Where(LooksLikeModel).OrderByDescending(System.IO.Directory.GetLastWriteTimeUtc).FirstOrDefault();
    }

    public void Dispose()
    {
        foreach (var l in _loaded.Values)
            if (l.IsValueCreated) l.Value.Dispose();
        _loaded.Clear();
    }
}
