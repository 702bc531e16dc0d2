using Sna.Runtime.Hub;
using Sna.Runtime.Models;
using Sna.Runtime.Numerics;
using Sna.Runtime.Tokenization;

namespace Sna.Runtime;

/// <summary>How <see cref="LanguageModel.Load(string, LoadOptions?)"/> finds and loads a model.</summary>
public sealed record LoadOptions
{
    /// <summary>Hub revision (branch, tag, commit); an <c>@rev</c> suffix on the spec is equivalent. Default <c>main</c>.</summary>
    public string? Revision { get; init; }
    /// <summary>Use only the hub cache (also <c>HF_HUB_OFFLINE=1</c>).</summary>
    public bool Offline { get; init; }
    /// <summary>Hub settings; default <see cref="HubSettings.FromEnvironment()"/>.</summary>
    public HubSettings? Hub { get; init; }
    /// <summary>Download progress sink.</summary>
    public IProgress<DownloadProgress>? Progress { get; init; }
    /// <summary>HTTP handler for the hub client (tests); not disposed.</summary>
    public HttpMessageHandler? Handler { get; init; }
    /// <summary>How weight matrices are held (compute is float32 either way).</summary>
    public WeightsDTypeOption WeightsDType { get; init; } = WeightsDTypeOption.AsStored;
    /// <summary>GEMM provider; default <see cref="GemmProviders.Default"/>.</summary>
    public IGemmProvider? Gemm { get; init; }
    /// <summary>Default BOS policy of <see cref="LanguageModel.ToTokens(string, bool?)"/>; default: prepend when the tokenizer
    /// has a BOS token (TransformerLens' <c>default_prepend_bos=True</c>), else none.</summary>
    public BosPolicy? Bos { get; init; }
}

/// <summary>Where a <see cref="LanguageModel"/> came from and how it tokenizes: recorded with every run.</summary>
/// <param name="Spec">The model argument as given (alias, path or <c>org/name@rev</c>).</param>
/// <param name="Directory">The resolved local directory.</param>
/// <param name="Sha256">SHA-256 of the checkpoint (<see cref="ModelProvenance.ContentHash"/>, through the hash cache).</param>
/// <param name="TokenizerSha256">SHA-256 of the tokenizer files read (<see cref="ModelTokenizer.SourceHash"/>).</param>
/// <param name="Architecture">config.json's architecture (e.g. <c>GPT2LMHeadModel</c>).</param>
/// <param name="Bos">The default BOS policy.</param>
/// <param name="RepoId">Hub repo id, for hub models.</param>
/// <param name="Revision">Hub revision asked for, for hub models.</param>
/// <param name="Commit">Hub commit resolved, when known.</param>
/// <param name="Source">A local directory, the hub cache, or a download.</param>
/// <param name="WeightsDType">How the weights are held for compute.</param>
public sealed record LanguageModelProvenance(string Spec, string Directory, string Sha256, string TokenizerSha256, string Architecture,
    BosPolicy Bos, string? RepoId, string? Revision, string? Commit, ModelSource Source, string WeightsDType);

/// <summary>A continuation from <see cref="LanguageModel.Generate(string, int, GenerationOptions?)"/>.</summary>
/// <param name="Text">The new tokens decoded (without the prompt).</param>
/// <param name="Tokens">The new token ids.</param>
/// <param name="Reason">Why generation stopped.</param>
public sealed record Completion(string Text, int[] Tokens, StopReason Reason);

/// <summary>
/// A model, its tokenizer and their provenance, driven like TransformerLens' <c>HookedTransformer</c>:
/// <code>
/// using var model = LanguageModel.Load("gpt2-medium");              // alias, local path or "org/name@rev"
/// var (logits, cache) = model.RunWithCache("text", n => n.EndsWith("mlp.hook_post"));
/// float a = cache["blocks.8.mlp.hook_post"][0, 3, 1234];             // [batch, pos, d_mlp]
/// </code>
/// Every run goes through the one <see cref="TransformerModel.Forward(IReadOnlyList{int[]}, ForwardOptions)"/>; the facade adds
/// tokenization and shapes, nothing else. Thread-safe like the model (each run has its own buffers).
/// </summary>
public sealed class LanguageModel : IDisposable
{
    private readonly bool _owns;

    private LanguageModel(TransformerModel model, ModelTokenizer tokenizer, LanguageModelProvenance provenance, bool owns)
    {
        Model = model; Tokenizer = tokenizer; Provenance = provenance; _owns = owns;
    }

    /// <summary>The transformer (use it directly for KV caches, start/stop layers and the other <see cref="ForwardOptions"/>).</summary>
    public TransformerModel Model { get; }
    public ModelTokenizer Tokenizer { get; }
    public LanguageModelProvenance Provenance { get; }
    public ModelConfig Config => Model.Config;
    /// <summary>The default BOS policy of <see cref="ToTokens(string, bool?)"/> and the text overloads.</summary>
    public BosPolicy Bos => Provenance.Bos;

    // ---------------------------------------------------------------------------------------------------------------
    // Loading

    /// <summary>
    /// Loads a model (TransformerLens <c>from_pretrained</c>): <paramref name="spec"/> is an existing local directory, a
    /// built-in alias (<c>gpt2-medium</c>, <c>pythia-160m</c>, …) or a hub id <c>org/name</c>, optionally <c>@revision</c>,
    /// fetched into / read from the Hugging Face cache (<see cref="ModelResolver"/>).
    /// </summary>
    /// <exception cref="SnaInputException">A path-like spec that does not exist, or unusable checkpoint/tokenizer files.</exception>
    /// <exception cref="HubException">The hub refused or could not serve the model (message for the user).</exception>
    public static LanguageModel Load(string spec, LoadOptions? options = null) =>
        LoadAsync(spec, options).GetAwaiter().GetResult();

    /// <inheritdoc cref="Load(string, LoadOptions?)"/>
    public static async Task<LanguageModel> LoadAsync(string spec, LoadOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LoadOptions();
        var resolved = await ResolveAsync(spec, options, cancellationToken).ConfigureAwait(false);
        string dir = resolved.Directory;
        var model = ModelLoader.Load(dir, options.WeightsDType, options.Gemm);
        try
        {
            var tok = ReadTokenizer(dir);
            var bos = tok.BosPolicyFor(options.Bos is { } b ? b == BosPolicy.Prepend : null);
            var p = new LanguageModelProvenance(spec, Path.GetFullPath(dir), model.Provenance.ContentHash, tok.SourceHash, model.Config.SourceArchitecture,
                bos, resolved.Spec.RepoId, resolved.Spec.Revision, resolved.Commit, resolved.Source, model.Provenance.ComputeWeightsDType);
            return new LanguageModel(model, tok, p, owns: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Wraps an already loaded model and tokenizer (tests, custom loaders); disposing the result disposes the model.</summary>
    public static LanguageModel FromParts(TransformerModel model, ModelTokenizer tokenizer, BosPolicy? bos = null, string? spec = null)
    {
        var policy = tokenizer.BosPolicyFor(bos is { } b ? b == BosPolicy.Prepend : null);
        string dir = model.Provenance.Source;
        var p = new LanguageModelProvenance(spec ?? dir, dir, model.Provenance.ContentHash, tokenizer.SourceHash, model.Config.SourceArchitecture,
            policy, null, null, null, ModelSource.LocalDirectory, model.Provenance.ComputeWeightsDType);
        return new LanguageModel(model, tokenizer, p, owns: true);
    }

    /// <summary>The tokenizer of <paramref name="spec"/>, resolved exactly as <see cref="Load"/> resolves it, without loading the weights.</summary>
    public static ModelTokenizer LoadTokenizer(string spec, LoadOptions? options = null) =>
        ReadTokenizer(ResolveAsync(spec, options ?? new LoadOptions(), default).GetAwaiter().GetResult().Directory);

    /// <summary>
    /// <see cref="ModelResolver.ResolveAsync"/>, with what is wrong with the spec itself (a missing path, an empty name or
    /// revision, a malformed id) as an input error; what the hub answers stays a <see cref="HubException"/>.
    /// </summary>
    private static async Task<ResolvedModel> ResolveAsync(string spec, LoadOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (!Directory.Exists(spec) && ModelResolver.LooksLikePath(spec.Trim()))
            throw new SnaInputException("model", $"model directory not found: {spec}" +
                (ModelResolver.NearDirectory(spec.Trim(), spec.Trim()) is { } near ? $" ({near})" : ""));
        try
        {
            return await ModelResolver.ResolveAsync(spec, new ResolveOptions
            {
                Revision = options.Revision, Offline = options.Offline, Settings = options.Hub, Progress = options.Progress, Handler = options.Handler,
            }, ct).ConfigureAwait(false);
        }
        catch (HubException e) when (e.Kind == HubErrorKind.InvalidModel)
        {
            throw new SnaInputException("model", e.Message, e);
        }
    }

    /// <summary>The directory's tokenizer; malformed tokenizer files are an input error naming the directory.</summary>
    private static ModelTokenizer ReadTokenizer(string dir)
    {
        try { return ModelTokenizer.FromDirectory(dir); }
        catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException or FormatException)
        {
            throw new SnaInputException("model", $"the tokenizer files in {dir} cannot be used: {e.Message}", e);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Tokens

    /// <summary>Token ids of <paramref name="text"/>, with BOS first when <paramref name="prependBos"/> (default: <see cref="Bos"/>).</summary>
    public int[] ToTokens(string text, bool? prependBos = null)
    {
        var policy = prependBos is null ? Bos : Tokenizer.BosPolicyFor(prependBos);
        try { return Tokenizer.Encode(text, policy); }
        catch (InvalidOperationException e) { throw new SnaInputException("bos", e.Message, e); }
    }

    /// <summary>Decodes ids to text (Hugging Face's decoder; special tokens kept as text).</summary>
    public string ToText(ReadOnlySpan<int> ids) => Tokenizer.Decode(ids);

    /// <summary>Each token of <paramref name="text"/> as display text (TransformerLens <c>to_str_tokens</c>).</summary>
    public string[] ToStrTokens(string text, bool? prependBos = null) => ToStrTokens(ToTokens(text, prependBos));

    /// <summary>Each id as display text.</summary>
    public string[] ToStrTokens(ReadOnlySpan<int> ids)
    {
        var r = new string[ids.Length];
        for (int i = 0; i < r.Length; i++) r[i] = Tokenizer.TokenText(ids[i]);
        return r;
    }

    /// <summary><c>var (model, tokenizer, provenance) = languageModel;</c></summary>
    public void Deconstruct(out TransformerModel model, out ModelTokenizer tokenizer, out LanguageModelProvenance provenance)
    {
        model = Model; tokenizer = Tokenizer; provenance = Provenance;
    }

    /// <summary>All hook point names of the model, in firing order.</summary>
    public IEnumerable<string> HookPointNames => Model.HookPointNames();

    // ---------------------------------------------------------------------------------------------------------------
    // Runs

    /// <summary>Logits <c>[1, pos, d_vocab]</c> (or <c>[1, 1, d_vocab]</c> with <see cref="LogitsMode.Last"/>) of <paramref name="text"/>.</summary>
    public Activation Run(string text, LogitsMode mode = LogitsMode.All) => Run([ToTokens(text)], null, mode);

    /// <summary>Logits of one token sequence.</summary>
    public Activation Run(int[] ids, LogitsMode mode = LogitsMode.All) => Run([ids], null, mode);

    /// <summary>Logits <c>[batch, pos, d_vocab]</c> of a batch (rows left-padded to the longest; see <see cref="Activation.PadLeft"/>).</summary>
    public Activation Run(IReadOnlyList<int[]> batch, HookSet? hooks = null, LogitsMode mode = LogitsMode.All) =>
        Logits(Model.Forward(batch, new ForwardOptions { Hooks = hooks, Mode = mode }));

    /// <inheritdoc cref="Run(IReadOnlyList{int[]}, HookSet?, LogitsMode)"/>
    public Activation Run(IReadOnlyList<int[]> batch, LogitsMode mode) => Run(batch, null, mode);

    /// <summary>Logits with <paramref name="hooks"/> applied for this run only (TransformerLens <c>run_with_hooks</c>).</summary>
    public Activation RunWithHooks(string text, HookSet hooks, LogitsMode mode = LogitsMode.All) => Run([ToTokens(text)], hooks, mode);

    /// <inheritdoc cref="RunWithHooks(string, HookSet, LogitsMode)"/>
    public Activation RunWithHooks(int[] ids, HookSet hooks, LogitsMode mode = LogitsMode.All) => Run([ids], hooks, mode);

    /// <summary>Logits with the given <c>(name, fn)</c> hooks for this run only.</summary>
    public Activation RunWithHooks(string text, params (string Name, HookFn Fn)[] hooks) => Run([ToTokens(text)], Set(hooks));

    /// <inheritdoc cref="RunWithHooks(string, ValueTuple{string, HookFn}[])"/>
    public Activation RunWithHooks(int[] ids, params (string Name, HookFn Fn)[] hooks) => Run([ids], Set(hooks));

    /// <summary>
    /// Logits and a copy of every activation whose hook name passes <paramref name="namesFilter"/> (all when null), each shaped as
    /// TransformerLens shapes it (TransformerLens <c>run_with_cache(names_filter=...)</c>).
    /// </summary>
    public (Activation Logits, ActivationCache Cache) RunWithCache(string text, Func<string, bool>? namesFilter = null, HookSet? hooks = null,
        LogitsMode mode = LogitsMode.All) => RunWithCache([ToTokens(text)], namesFilter, hooks, mode);

    /// <inheritdoc cref="RunWithCache(string, Func{string, bool}?, HookSet?, LogitsMode)"/>
    public (Activation Logits, ActivationCache Cache) RunWithCache(int[] ids, Func<string, bool>? namesFilter = null, HookSet? hooks = null,
        LogitsMode mode = LogitsMode.All) => RunWithCache([ids], namesFilter, hooks, mode);

    /// <inheritdoc cref="RunWithCache(string, Func{string, bool}?, HookSet?, LogitsMode)"/>
    public (Activation Logits, ActivationCache Cache) RunWithCache(IReadOnlyList<int[]> batch, Func<string, bool>? namesFilter = null,
        HookSet? hooks = null, LogitsMode mode = LogitsMode.All)
    {
        var names = namesFilter is null ? Model.HookPointNames() : Model.HookPointNames().Where(namesFilter);
        var (r, cache) = Model.RunWithCache(batch, names, hooks, mode);
        return (Logits(r), cache);
    }

    /// <summary>
    /// Continues <paramref name="text"/> by up to <paramref name="maxNewTokens"/> tokens (TransformerLens <c>generate</c>) on the
    /// KV-cached <see cref="TransformerModel.Generate(int[], GenerationOptions, CancellationToken)"/>: greedy unless
    /// <see cref="GenerationOptions.Temperature"/> &gt; 0 (then seeded sampling, optionally top-k), ending early after the
    /// model's end-of-sequence token unless <see cref="GenerationOptions.StopAtEos"/> is off. <paramref name="maxNewTokens"/>,
    /// when given, replaces <see cref="GenerationOptions.MaxNewTokens"/>; otherwise the options' value (default 20) holds.
    /// </summary>
    public Completion Generate(string text, int? maxNewTokens = null, GenerationOptions? options = null, CancellationToken ct = default) =>
        Generate(ToTokens(text), maxNewTokens, options, ct);

    /// <inheritdoc cref="Generate(string, int?, GenerationOptions?, CancellationToken)"/>
    public Completion Generate(int[] ids, int? maxNewTokens = null, GenerationOptions? options = null, CancellationToken ct = default) =>
        Generate([ids], Options(maxNewTokens, options), ct)[0];

    /// <summary>
    /// Continues <paramref name="text"/> as <paramref name="generation"/> says (<see cref="GenerationOptions.MaxNewTokens"/>
    /// included; null: the defaults). The parameter is not called <c>options</c> so that <c>Generate(text, options: ...)</c> binds to the overload
    /// above without ambiguity.
    /// </summary>
    public Completion Generate(string text, GenerationOptions? generation, CancellationToken ct = default) =>
        Generate([ToTokens(text)], generation ?? new GenerationOptions(), ct)[0];

    /// <inheritdoc cref="Generate(string, GenerationOptions?, CancellationToken)"/>
    public Completion Generate(int[] ids, GenerationOptions? generation, CancellationToken ct = default) =>
        Generate([ids], generation ?? new GenerationOptions(), ct)[0];

    /// <summary>
    /// Continues a batch of token sequences (lengths may differ, each on its own KV cache; see
    /// <see cref="TransformerModel.Generate(IReadOnlyList{int[]}, GenerationOptions, CancellationToken)"/>).
    /// </summary>
    public Completion[] Generate(IReadOnlyList<int[]> batch, GenerationOptions options, CancellationToken ct = default) =>
        Model.Generate(batch, options, ct).Select(g => new Completion(ToText(g.Tokens), g.Tokens, g.Reason)).ToArray();

    private static GenerationOptions Options(int? maxNewTokens, GenerationOptions? options)
    {
        options ??= new GenerationOptions();
        return maxNewTokens is { } n ? options with { MaxNewTokens = n } : options;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Views

    /// <summary>A view whose every run also applies <paramref name="hooks"/> (<see cref="TransformerModel.WithHooks(HookSet)"/>);
    /// same weights and tokenizer, this model unchanged. Disposing the view releases nothing.</summary>
    public LanguageModel WithHooks(HookSet hooks) => new(Model.WithHooks(hooks), Tokenizer, Provenance, owns: false);

    /// <inheritdoc cref="WithHooks(HookSet)"/>
    public LanguageModel WithHooks(params (string Name, HookFn Fn)[] hooks) => new(Model.WithHooks(hooks), Tokenizer, Provenance, owns: false);

    /// <summary>A view of the same weights and tokenizer with no persistent hooks.</summary>
    public LanguageModel WithoutHooks() => new(Model.WithoutHooks(), Tokenizer, Provenance, owns: false);

    /// <summary>Releases the weights (a view from <see cref="WithHooks(HookSet)"/> releases nothing).</summary>
    public void Dispose() { if (_owns) Model.Dispose(); }

    private static Activation Logits(ForwardResult r) => new("logits", r.Logits, [r.Batch, r.Positions, r.Vocab], r.PadLeft);

    private static HookSet Set((string Name, HookFn Fn)[] hooks)
    {
        var s = new HookSet();
        foreach (var (n, f) in hooks) s.Add(n, f);
        return s;
    }
}
