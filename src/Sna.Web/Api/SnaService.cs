using System.Diagnostics;
using Sna.Research.Experiments;
using Sna.Research.Method;
using Sna.Runtime.Tokenization;
using Sna.Web.Models;

namespace Sna.Web.Api;

/// <summary>
/// The library calls behind the JSON API: validation first (fields, then against the model's shape, then against its
/// tokenizer), then a slot from the <see cref="ComputeGate"/>, then the computation on a pool thread, cancelled
/// between forward passes when the request is aborted.
/// </summary>
public sealed class SnaService(WebOptions options, ModelCatalog catalog, ComputeGate gate, ITaskCatalog tasks)
{
    public const double MaxMultiplier = 100;
    public const int MaxGenerate = 32, MaxTop = 100, MaxTopK = 256, MaxNeurons = 1024, MaxMultipliers = 16;
    public static readonly ZoneThresholds Zones = ZoneThresholds.Paper;

    public WebOptions Options => options;

    // ------------------------------------------------------------------------------------------------------------
    // Endpoints' work

    public async Task<BaselineResponse> Baseline(BaselineRequest r, CancellationToken ct)
    {
        var v = new Validator();
        var entry = v.Model(r.Model, catalog);
        string prompt = v.Text("prompt", r.Prompt, options.MaxPromptChars);
        string target = v.Text("target", r.Target, options.MaxPromptChars);
        int top = v.Range("top", r.Top ?? 10, 1, MaxTop);
        v.ThrowIfAny();
        return await Compute(entry!, ct, (lm, c) =>
        {
            var sw = Stopwatch.StartNew();
            var policy = Policy(lm, r.Bos);
            bool bos = policy == BosPolicy.Prepend;
            var b = PromptBaseline.Run(lm.Language, Encode(lm, prompt, target, policy), top, ScoreKind.FirstToken, c);
            var (ids, targetId, s, targetTokens) = (b.Input.Ids, b.Input.TargetId, b.Score, b.Input.Target);
            return new BaselineResponse(entry!.Id, ids.Select(i => new TokenInfo(i, lm.Tokenizer.TokenText(i))).ToArray(), targetId,
                lm.Tokenizer.TokenText(targetId), targetTokens.Ids.Length, s.Probability, s.LogProb, s.Rank, Zone(s.Probability, s.Rank),
                b.Top.Select(t => new TopToken(t.Id, lm.Tokenizer.TokenText(t.Id), t.Probability)).ToArray(),
                CliCommand.Baseline(entry, prompt, target, bos, top), sw.Elapsed.TotalMilliseconds)
            { TargetRule = targetTokens.Rule, TargetWarning = targetTokens.Warning };
        });
    }

    public async Task<DiscoverResponse> Discover(DiscoverRequest r, CancellationToken ct)
    {
        var v = new Validator();
        var entry = v.Model(r.Model, catalog);
        var task = v.Task(r.Task, tasks);
        string? prompt = task is null ? v.Text("prompt", r.Prompt, options.MaxPromptChars) : null;
        int topK = v.Range("topK", r.TopK ?? 10, 1, Math.Min(MaxTopK, entry?.DMlp ?? MaxTopK));
        int layer = v.Layer("layer", r.Layer, entry);
        v.ThrowIfAny();
        return await Compute(entry!, ct, (lm, c) =>
        {
            var sw = Stopwatch.StartNew();
            var policy = Policy(lm, r.Bos);
            var suite = DiscoverySuite(task, prompt!);
            var d = Discover(lm, suite, policy, c);
            var taskMean = d.Task.Layer(layer).ToArray(); var neutralMean = d.Reference.Layer(layer).ToArray();
            return new DiscoverResponse(entry!.Id, layer, topK, suite.DiscoveryTexts.Count, (suite.Neutral ?? TaskLibrary.NeutralCorpus).Count,
                d.Top(layer, topK).Select(n => new NeuronInfo(n.Index, n.Difference, taskMean[n.Index], neutralMean[n.Index])).ToArray(), sw.Elapsed.TotalMilliseconds);
        });
    }

    public async Task<AmplifyResponse> Amplify(AmplifyRequest r, CancellationToken ct)
    {
        var v = new Validator();
        var entry = v.Model(r.Model, catalog);
        var task = v.Task(r.Task, tasks);
        string prompt = v.Text("prompt", r.Prompt, options.MaxPromptChars);
        string target = v.Text("target", r.Target, options.MaxPromptChars);
        int layer = v.Layer("layer", r.Layer, entry);
        var (neurons, count) = v.NeuronChoice(r.Neurons, r.Count, entry);
        double mult = v.Multiplier("multiplier", r.Multiplier);
        var positions = v.Positions("positions", r.Positions);
        int generate = v.Range("generate", r.Generate ?? 12, 0, MaxGenerate);
        v.ThrowIfAny();
        return await Compute(entry!, ct, (lm, c) =>
        {
            var sw = Stopwatch.StartNew();
            var policy = Policy(lm, r.Bos);
            bool bos = policy == BosPolicy.Prepend;
            var input = Encode(lm, prompt, target, policy);
            string source = "given";
            if (neurons is null)
            {
                neurons = Discover(lm, DiscoverySuite(task, prompt, target), policy, c).TopIndices(layer, count);
                source = task is null ? "discovered on the prompt" : $"discovered on task '{task.Id}'";
            }
            var res = PromptAmplification.Run(lm.Language, input, Amplification.Single(layer, neurons, (float)mult, positions), 0, generate, c);
            var (targetId, before, after, targetTokens) = (input.TargetId, res.Before, res.After, input.Target);
            Continuation? cont = null;
            if (res.ContinuationBefore is { } a && res.ContinuationAfter is { } b)
                cont = new Continuation(generate, lm.Tokenizer.Decode(a), lm.Tokenizer.Decode(b),
                    a.Select(i => new TokenInfo(i, lm.Tokenizer.TokenText(i))).ToArray(), b.Select(i => new TokenInfo(i, lm.Tokenizer.TokenText(i))).ToArray());
            string pos = PositionsModes.Name(positions);
            return new AmplifyResponse(entry!.Id, layer, neurons, source, mult, pos, bos, targetId, lm.Tokenizer.TokenText(targetId),
                Score(before), Score(after), res.ImprovementPct, cont,
                CliCommand.Amplify(entry, prompt, target, bos, layer, neurons, mult, pos), sw.Elapsed.TotalMilliseconds)
            { TargetRule = targetTokens.Rule, TargetWarning = targetTokens.Warning };
        });
    }

    /// <summary>
    /// Exact match of a task's greedy answers before and after one amplification (the library's
    /// <see cref="GenerationEvaluator"/>, exactly as <c>sna amplify --task T --generate N</c>).
    /// </summary>
    public async Task<ExactMatchResponse> ExactMatch(ExactMatchRequest r, CancellationToken ct)
    {
        var v = new Validator();
        var entry = v.Model(r.Model, catalog);
        var task = v.Task(r.Task, tasks);
        if (string.IsNullOrEmpty(r.Task)) v.Add("task", "task is required: exact match is measured on a task's prompts (GET /api/tasks)");
        int layer = v.Layer("layer", r.Layer, entry);
        var (neurons, count) = v.NeuronChoice(r.Neurons, r.Count, entry);
        double mult = v.Multiplier("multiplier", r.Multiplier);
        var positions = v.Positions("positions", r.Positions);
        int generate = v.Range("generate", r.Generate ?? GenerationEvaluator.DefaultMaxNewTokens, 1, MaxGenerate);
        v.ThrowIfAny();
        return await Compute(entry!, ct, (lm, c) =>
        {
            var sw = Stopwatch.StartNew();
            var policy = Policy(lm, r.Bos);
            bool bos = policy == BosPolicy.Prepend;
            var suite = task!.Suite;
            string source = "given";
            if (neurons is null)
            {
                neurons = Discover(lm, suite, policy, c).TopIndices(layer, count).ToArray();
                source = $"discovered on task '{task.Id}'";
            }
            var amp = Amplification.Single(layer, neurons, (float)mult, positions);
            amp.Validate(lm.Model.Config);
            c.ThrowIfCancellationRequested();
            double meanPBase = TaskAmplification.Evaluate(lm.Model, lm.Tokenizer, suite, amp, policy).MeanPBase;
            c.ThrowIfCancellationRequested();
            var g = GenerationEvaluator.Evaluate(lm.Model, lm.Tokenizer, suite, amp, policy, ZoneThresholds.Paper.Zone(meanPBase), generate);
            var em = g.ExactMatch;
            string pos = PositionsModes.Name(positions);
            var prompts = g.Prompts.Select(p => new ExactMatchPrompt(p.PromptIndex, suite.Prompts[p.PromptIndex].Text, suite.Prompts[p.PromptIndex].Target,
                lm.Tokenizer.Decode(p.Before), lm.Tokenizer.Decode(p.After), p.CorrectBefore, p.CorrectAfter)).ToArray();
            double seq = g.MeanSequenceLogProbChange;
            return new ExactMatchResponse(entry!.Id, task.Id, g.Zone, meanPBase, layer, neurons, source, mult, pos, bos, generate, em.N, em.CorrectBefore, em.CorrectAfter,
                em.McNemar.Improved, em.McNemar.Worsened, em.McNemar.PValue, double.IsFinite(seq) ? seq : null, prompts,
                "exact match: the first |target| greedy tokens equal the target's tokens; McNemar: exact binomial test on the discordant prompts",
                CliCommand.ExactMatch(entry, task.Id, bos, layer, neurons, mult, pos, generate), sw.Elapsed.TotalMilliseconds);
        });
    }

    /// <summary>Validates a heat-map request; the job itself runs in <see cref="HeatmapJobs"/>.</summary>
    public HeatmapPlan PlanHeatmap(HeatmapRequest r)
    {
        var v = new Validator();
        var entry = v.Model(r.Model, catalog);
        var task = v.Task(r.Task, tasks);
        string prompt = v.Text("prompt", r.Prompt, options.MaxPromptChars);
        string target = v.Text("target", r.Target, options.MaxPromptChars);
        int[] layers = r.Layers is { Length: > 0 } ? r.Layers.Distinct().ToArray() : entry?.Layers is int n ? Enumerable.Range(0, n).ToArray() : [];
        foreach (int l in layers) v.Layer("layers", l, entry);
        double[] mults = r.Multipliers is { Length: > 0 } ? r.Multipliers.Distinct().ToArray() : [.. PromptHeatmap.DefaultMultipliers];
        if (mults.Length > MaxMultipliers) v.Add("multipliers", $"at most {MaxMultipliers} multipliers");
        foreach (var m in mults) v.Multiplier("multipliers", m);
        int count = v.Range("count", r.Count ?? PromptHeatmap.DefaultCount, 1, Math.Min(MaxTopK, entry?.DMlp ?? MaxTopK));
        var positions = v.Positions("positions", r.Positions);
        if (layers.Length * mults.Length > options.MaxHeatmapCells)
            v.Add("layers", $"{layers.Length} layers × {mults.Length} multipliers = {layers.Length * mults.Length} cells; the limit is {options.MaxHeatmapCells}");
        v.ThrowIfAny();
        return new HeatmapPlan(entry!, prompt, target, task, layers, mults, count, positions, r.Bos);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Shared pieces

    /// <summary>Waits for a compute slot, loads the model (cached) and runs <paramref name="work"/> on a pool thread.</summary>
    public async Task<T> Compute<T>(ModelEntry entry, CancellationToken ct, Func<LoadedModel, CancellationToken, T> work)
    {
        using var lease = await gate.AcquireAsync(ct);
        ct.ThrowIfCancellationRequested();
        return await Task.Run(() =>
        {
            using var model = catalog.Acquire(entry);   // held until the work is done; released later if idle
            return work(model.Model, ct);
        }, ct);
    }

    /// <summary>The loaded model, held until the lease is disposed (<see cref="ModelCatalog.Acquire"/>).</summary>
    public ModelLease Acquire(ModelEntry entry) => catalog.Acquire(entry);

    /// <summary>The library's <see cref="EncodedPrompt.Encode"/>; its input errors about one field (prompt, target, bos) become
    /// that field's validation error.</summary>
    public static EncodedPrompt Encode(LoadedModel lm, string prompt, string target, BosPolicy bos)
    {
        try { return EncodedPrompt.Encode(lm.Language, prompt, target, bos); }
        catch (Sna.Runtime.SnaInputException e) when (e.Option is { } field) { throw new RequestValidationException(field, e.Message); }
    }

    /// <summary>The library's BOS rule (<see cref="ModelTokenizer.BosPolicyFor"/>): <c>bos</c> absent prepends when the model's
    /// tokenizer has a BOS token; <c>true</c> on a tokenizer without one is a validation error of <c>bos</c>.</summary>
    public static BosPolicy Policy(LoadedModel lm, bool? bos)
    {
        try { return lm.Tokenizer.BosPolicyFor(bos); }
        catch (Sna.Runtime.SnaInputException e) { throw new RequestValidationException("bos", e.Message); }
    }

    /// <summary>What discovery runs on: the task's suite, or the prompt alone (<see cref="PromptDiscovery.SuiteOf"/>).</summary>
    public static TaskSuite DiscoverySuite(TaskInfo? task, string prompt, string target = "") => PromptDiscovery.SuiteOf(task?.Suite, prompt, target);

    /// <summary>The library's discovery (<see cref="PromptDiscovery.Run"/>); a discovery text longer than the context is a
    /// validation error of <c>prompt</c>.</summary>
    public static DifferentialResult Discover(LoadedModel lm, TaskSuite suite, BosPolicy bos, CancellationToken ct)
    {
        try { return PromptDiscovery.Run(lm.Language, suite, bos, ct); }
        catch (Sna.Runtime.SnaInputException e) when (e.Option == "prompt") { throw new RequestValidationException("prompt", e.Message); }
    }

    public static ScoreInfo Score(TargetScore s) => new(s.Probability, s.LogProb, s.Rank, Zones.Zone(s.Probability));

    /// <summary>
    /// The zone of <paramref name="p"/> in the library's wording (<see cref="ZoneAdvice"/>); a Zone 1 target ranked beyond the
    /// model's top 1,000 (<see cref="Advisor.KnowledgeRank"/>) is "Below Zone 1", with the advice <c>sna advise</c> gives.
    /// </summary>
    public static ZoneInfo Zone(double p, int rank)
    {
        int z = Zones.Zone(p);
        return ZoneAdvice.IsBelowZone1(z, rank)
            ? new(z, ZoneAdvice.PromptLabel(z, rank, Zones), ZoneAdvice.BelowZone1Advice(), Zones.Low, Zones.High, true)
            : new(z, ZoneAdvice.Label(z, Zones), ZoneAdvice.Advice(z, Zones), Zones.Low, Zones.High);
    }

    /// <summary>Collects field errors so a request with several problems reports them all at once.</summary>
    private sealed class Validator
    {
        private readonly Dictionary<string, List<string>> _errors = new();

        public void Add(string field, string message)
        {
            if (!_errors.TryGetValue(field, out var l)) _errors[field] = l = new();
            l.Add(message);
        }

        public void ThrowIfAny()
        {
            if (_errors.Count > 0) throw new RequestValidationException(_errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));
        }

        /// <summary>Model ids only from the allow-list: anything path-like is refused (400), an unknown id is 404.</summary>
        public ModelEntry? Model(string? id, ModelCatalog catalog)
        {
            if (string.IsNullOrWhiteSpace(id)) { Add("model", "model is required: an id from GET /api/models"); return null; }
            if (id.Length > 200 || id.Contains("..") || id.Contains('\\') || id.StartsWith('/') || id.StartsWith('~') || id.Any(char.IsControl) || (id.Length > 1 && id[1] == ':' && char.IsAsciiLetter(id[0]) && !id.StartsWith("hub:") ))
            {
                Add("model", "model must be an id from GET /api/models; paths are not accepted");
                return null;
            }
            if (!catalog.TryGet(id, out var e))
            {
                ThrowIfAny();
                throw new NotFoundException("Unknown model.", $"there is no model with id '{id}'; GET /api/models lists the models this server offers");
            }
            if (!e.Available) { Add("model", $"model '{id}' is not available: {e.Note}"); return null; }
            return e;
        }

        public TaskInfo? Task(string? id, ITaskCatalog tasks)
        {
            if (string.IsNullOrEmpty(id)) return null;
            var t = tasks.Tasks.FirstOrDefault(t => t.Id == id);
            if (t is null) Add("task", $"unknown task '{(id.Length > 40 ? id[..40] + "…" : id)}'; GET /api/tasks lists them");
            return t;
        }

        public string Text(string field, string? s, int max)
        {
            if (string.IsNullOrEmpty(s)) { Add(field, $"{field} is required and must not be empty"); return ""; }
            if (s.Length > max) Add(field, $"{field} is {s.Length} characters; the limit is {max}");
            return s;
        }

        public int Range(string field, int value, int lo, int hi)
        {
            if (value < lo || value > hi) Add(field, $"{field} must be between {lo} and {hi}, got {value}");
            return value;
        }

        public int Layer(string field, int? layer, ModelEntry? e)
        {
            if (layer is null) { Add(field, $"{field} is required"); return 0; }
            if (e?.Layers is int n && (layer < 0 || layer >= n)) Add(field, $"layer {layer} is out of range: the model has {n} layers (0..{n - 1})");
            return layer.Value;
        }

        public int[] Neurons(string field, int[] neurons, ModelEntry? e)
        {
            if (neurons.Length > MaxNeurons) Add(field, $"at most {MaxNeurons} neurons, got {neurons.Length}");
            if (e?.DMlp is int d)
                foreach (int n in neurons.Distinct())
                    if (n < 0 || n >= d) { Add(field, $"neuron {n} is out of range: the model has {d} MLP neurons per layer (0..{d - 1})"); break; }
            return neurons.Distinct().ToArray();
        }

        /// <summary>Explicit <c>neurons</c>, or <c>count</c> discovered neurons (one of the two is required).</summary>
        public (int[]? Neurons, int Count) NeuronChoice(int[]? neurons, int? count, ModelEntry? e)
        {
            if (neurons is { Length: > 0 }) return (Neurons("neurons", neurons, e), 0);
            if (count is null) { Add("neurons", "give neurons (a list of indices) or count (how many discovered neurons to use)"); return (null, 0); }
            return (null, Range("count", count.Value, 1, Math.Min(MaxTopK, e?.DMlp ?? MaxTopK)));
        }

        public double Multiplier(string field, double? m)
        {
            if (m is null) { Add(field, $"{field} is required"); return 1; }
            if (!double.IsFinite(m.Value) || m < 0 || m > MaxMultiplier) Add(field, $"multiplier must be between 0 and {MaxMultiplier}, got {m}");
            return m.Value;
        }

        public PositionsMode Positions(string field, string? p)
        {
            try { return PositionsModes.Parse(p ?? "all", field); }
            catch (Sna.Runtime.SnaInputException e) { Add(field, e.Message); return PositionsMode.All; }
        }
    }
}

/// <summary>A validated heat-map request.</summary>
public sealed record HeatmapPlan(ModelEntry Model, string Prompt, string Target, TaskInfo? Task, int[] Layers, double[] Multipliers, int Count,
    PositionsMode Positions, bool? Bos);
