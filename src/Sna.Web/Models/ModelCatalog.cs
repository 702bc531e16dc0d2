using System.Collections.Concurrent;
using Sna.Runtime;
using Sna.Runtime.Hub;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Web.Models;

/// <summary>Where a listed model comes from.</summary>
public enum ModelKind { Bundled, Fixture, Local, Hub }

/// <summary>
/// One model the client may choose, by <see cref="Id"/> only. The directory never leaves the server except as the
/// <c>--model</c> argument of the reproducing CLI command, and is never taken from the client.
/// </summary>
/// <param name="HubModel">For <see cref="ModelKind.Hub"/>: the known model (repo id, parameters, download size).</param>
public sealed record ModelEntry(string Id, string Name, ModelKind Kind, string? Directory, bool Available, string? Note,
    int? Layers, int? DMlp, int? Context, ModelAlias? HubModel = null)
{
    /// <summary>For hub models: whether a complete snapshot is in the hub cache; null for other kinds.</summary>
    public bool? Cached => Kind == ModelKind.Hub ? Directory is not null : null;
}

/// <summary>A loaded <see cref="LanguageModel"/> (model, tokenizer, provenance), shared by all requests (forward passes are
/// thread-safe; persistent hooks are never used).</summary>
public sealed class LoadedModel(ModelEntry entry, LanguageModel language) : IDisposable
{
    public ModelEntry Entry { get; } = entry;
    public LanguageModel Language { get; } = language;
    public TransformerModel Model => Language.Model;
    public ModelTokenizer Tokenizer => Language.Tokenizer;
    public void Dispose() => Language.Dispose();
}

/// <summary>A loaded model held by one request or job; the catalog does not release it before the lease is disposed.</summary>
public sealed class ModelLease(LoadedModel model, Action release) : IDisposable
{
    private Action? _release = release;
    public LoadedModel Model { get; } = model;
    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
}

/// <summary>The model could not be loaded (bad files); reported as a 500 problem without internals.</summary>
public sealed class ModelLoadException(string modelId, Exception inner) : Exception($"model '{modelId}' could not be loaded", inner)
{
    public string ModelId { get; } = modelId;
}

/// <summary>
/// The allow-list of models: the bundled model, fixtures when present, the operator's <c>--models</c> directories and the
/// paper's hub models (available when their snapshot is in the hub cache; <see cref="RefreshHub"/> looks again). Each
/// model is loaded once, lazily, and cached.
/// </summary>
public sealed class ModelCatalog : IDisposable
{
    /// <summary>The hub models offered (the paper's GPT-2 sizes and Pythia-160M), by <see cref="ModelAliases"/> alias, with
    /// their display names. Their ids are <c>hub:</c> + alias.</summary>
    public static readonly IReadOnlyList<(ModelAlias Model, string Name)> HubModels =
    [
        .. new[] { ("gpt2", "GPT-2 Small"), ("gpt2-medium", "GPT-2 Medium"), ("gpt2-large", "GPT-2 Large"), ("gpt2-xl", "GPT-2 XL"), ("pythia-160m", "Pythia-160M") }
            .Select(m => (ModelAliases.Find(m.Item1) ?? throw new InvalidOperationException($"unknown model alias {m.Item1}"), m.Item2)),
    ];

    private readonly List<ModelEntry> _local = new();
    private readonly Dictionary<(string Id, string Identity), Slot> _loaded = new();
    private readonly object _gate = new();
    private readonly int _capacity;
    private long _clock;
    private readonly object _refresh = new();
    private volatile Listing _listing = Listing.Empty;

    /// <summary>One consistent view of the entries, replaced as a whole by <see cref="RefreshHub"/>.</summary>
    private sealed record Listing(IReadOnlyList<ModelEntry> Ordered, IReadOnlyDictionary<string, ModelEntry> ById)
    {
        public static readonly Listing Empty = new([], new Dictionary<string, ModelEntry>());
    }

    public ModelCatalog(WebOptions options)
    {
        _capacity = Math.Max(1, options.MaxLoadedModels);
        Hub = new HubClient(options.Hub ?? HubSettings.FromEnvironment());
        if (options.IncludeBundledModel && FindBundled() is { } bundled)
            Add(FromDirectory("sna-demo-gpt2", "sna-demo-gpt2 (bundled)", ModelKind.Bundled, bundled));
        if (options.IncludeFixtures && (options.FixturesDirectory ?? FindFixtures()) is { } fx && System.IO.Directory.Exists(fx))
            foreach (var d in System.IO.Directory.GetDirectories(fx).Order(StringComparer.Ordinal))
                if (ModelFiles.FindMissing(d).Count == 0)
                    Add(FromDirectory("fixture:" + Path.GetFileName(d), Path.GetFileName(d) + " (fixture)", ModelKind.Fixture, d));
        foreach (var dir in options.ModelDirectories)
        {
            var full = Path.GetFullPath(dir);
            if (!System.IO.Directory.Exists(full)) throw new DirectoryNotFoundException($"model directory not found: {dir}");
            string baseId = "local:" + Sanitize(Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar)));
            string id = baseId;
            for (int i = 2; _local.Any(e => e.Id == id); i++) id = $"{baseId}-{i}";
            Add(FromDirectory(id, Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar)) + " (local)", ModelKind.Local, full));
        }
        RefreshHub();
    }

    /// <summary>The hub client: its cache is where the hub models are looked up and downloaded to.</summary>
    public HubClient Hub { get; }

    public IReadOnlyList<ModelEntry> Entries => _listing.Ordered;

    public bool TryGet(string id, out ModelEntry entry) => _listing.ById.TryGetValue(id, out entry!);

    /// <summary>Looks in the hub cache again for the hub models (after a download, or one made by another tool).</summary>
    public void RefreshHub()
    {
        lock (_refresh)
        {
            var all = _local.Concat(HubModels.Select(m => HubEntry(m.Model, m.Name))).ToList();
            _listing = new Listing(all, all.ToDictionary(e => e.Id, StringComparer.Ordinal));
        }
    }

    /// <summary>A hub model: available when <see cref="HubClient.GetCachedModel"/> finds a complete snapshot of main.</summary>
    private ModelEntry HubEntry(ModelAlias model, string name)
    {
        string id = "hub:" + model.Alias;
        try
        {
            return FromDirectory(id, name, ModelKind.Hub, Hub.GetCachedModel(model.RepoId).Directory) with { HubModel = model };
        }
        catch (HubException e) when (e.Kind == HubErrorKind.Offline)
        {
            return new ModelEntry(id, name, ModelKind.Hub, null, false,
                $"not in the local hub cache; download it first ({ModelAliases.FormatBytes(model.SafetensorsBytes)})", null, null, null, model);
        }
    }

    /// <summary>A loaded model, its users (leases) and when it was last used.</summary>
    private sealed class Slot(Lazy<LoadedModel> model)
    {
        public readonly Lazy<LoadedModel> Model = model;
        public int Leases;
        public long LastUsed;
    }

    /// <summary>
    /// The loaded model for an available entry, held until the lease is disposed; loads it on first use (once, even under
    /// concurrent requests). At most <see cref="WebOptions.MaxLoadedModels"/> models stay loaded: when a lease ends, the least
    /// recently used models nobody holds are released. A model is keyed by its entry and its identity — for a hub model the
    /// commit it resolved to (a re-download of the same commit reuses the loaded model; a new commit loads anew and the old one
    /// is released when idle), else its directory.
    /// </summary>
    public ModelLease Acquire(ModelEntry entry)
    {
        if (!entry.Available || entry.Directory is null) throw new InvalidOperationException($"model '{entry.Id}' is not available");
        var key = (entry.Id, Identity(entry));
        Slot slot;
        lock (_gate)
        {
            if (!_loaded.TryGetValue(key, out slot!))
                _loaded[key] = slot = new Slot(new Lazy<LoadedModel>(() => Load(entry), LazyThreadSafetyMode.ExecutionAndPublication));
            slot.Leases++;
            slot.LastUsed = ++_clock;
        }
        LoadedModel model;
        try { model = slot.Model.Value; }
        catch
        {
            lock (_gate)
            {
                slot.Leases--;
                if (_loaded.TryGetValue(key, out var s) && ReferenceEquals(s, slot)) _loaded.Remove(key);   // a later request retries
            }
            throw;
        }
        ReleaseIdle();
        return new ModelLease(model, () => { lock (_gate) slot.Leases--; ReleaseIdle(); });
    }

    /// <summary>How many models are loaded now (for tests and the status page).</summary>
    public int LoadedCount { get { lock (_gate) return _loaded.Values.Count(s => s.Model.IsValueCreated); } }

    /// <summary>Whether <paramref name="entry"/> is loaded now.</summary>
    public bool IsLoaded(ModelEntry entry)
    {
        if (entry.Directory is null) return false;
        lock (_gate) return _loaded.TryGetValue((entry.Id, Identity(entry)), out var s) && s.Model.IsValueCreated;
    }

    /// <summary>The part of a model's key that changes when its files do: a hub snapshot's commit, else the directory.</summary>
    private static string Identity(ModelEntry e)
    {
        string dir = Path.GetFullPath(e.Directory!).TrimEnd(Path.DirectorySeparatorChar);
        string leaf = Path.GetFileName(dir);
        return e.Kind == ModelKind.Hub && HubCache.IsCommitHash(leaf) ? "commit:" + leaf : "dir:" + dir;
    }

    /// <summary>Releases the least recently used models nobody holds until at most the capacity is loaded.</summary>
    private void ReleaseIdle()
    {
        var release = new List<LoadedModel>();
        lock (_gate)
        {
            while (_loaded.Count > _capacity)
            {
                var idle = _loaded.Where(kv => kv.Value.Leases == 0 && kv.Value.Model.IsValueCreated)
                                  .OrderBy(kv => kv.Value.LastUsed).Select(kv => (KeyValuePair<(string, string), Slot>?)kv).FirstOrDefault();
                if (idle is not { } victim) break;   // every loaded model is in use: over capacity until a lease ends
                _loaded.Remove(victim.Key);
                release.Add(victim.Value.Model.Value);
            }
        }
        foreach (var m in release) m.Dispose();
    }

    private static LoadedModel Load(ModelEntry e)
    {
        try { return new LoadedModel(e, LanguageModel.Load(e.Directory!)); }
        catch (Exception ex) { throw new ModelLoadException(e.Id, ex); }
    }

    private void Add(ModelEntry e)
    {
        if (!_local.Any(x => x.Id == e.Id)) _local.Add(e);
    }

    private static ModelEntry FromDirectory(string id, string name, ModelKind kind, string dir)
    {
        try
        {
            var c = ModelConfig.Load(dir);
            return new ModelEntry(id, name, kind, Path.GetFullPath(dir), true, null, c.NLayers, c.DMlp, c.NCtx);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or Sna.Runtime.SnaInputException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return new ModelEntry(id, name, kind, Path.GetFullPath(dir), false, "config.json could not be read: " + ex.Message.Replace(dir, Path.GetFileName(dir)), null, null, null);
        }
    }

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

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var l in _loaded.Values)
                if (l.Model.IsValueCreated) l.Model.Value.Dispose();
            _loaded.Clear();
        }
        Hub.Dispose();
    }
}
