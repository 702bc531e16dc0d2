using Sna.Runtime;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Method;

/// <summary>
/// Finds the neurons that respond to a task, as the SNA paper does: record <c>blocks.{L}.mlp.hook_post</c> of every layer,
/// average each text over its real positions, average over texts, and subtract the neutral texts' mean
/// (<see cref="DifferentialResult"/>). Texts run in left-padded batches (one forward per batch records every layer; padding
/// positions are excluded through <see cref="HookContext.PadLeft"/>). Deterministic; set means are cached on disk when a
/// <see cref="DiscoveryCache"/> is given.
/// </summary>
public sealed class NeuronDiscovery
{
    private readonly TransformerModel _model;
    private readonly ModelTokenizer? _tokenizer;

    public NeuronDiscovery(TransformerModel model, ModelTokenizer? tokenizer = null, DiscoveryCache? cache = null)
    {
        _model = model; _tokenizer = tokenizer; Cache = cache;
    }

    /// <summary>
    /// Discovery on a loaded model: its weights, its tokenizer and its BOS policy (<see cref="LanguageModel.Bos"/>), so the
    /// texts are encoded as <see cref="LanguageModel.Run(string, LogitsMode)"/> encodes a prompt (an initializer's <see cref="Bos"/> still wins).
    /// </summary>
    public NeuronDiscovery(LanguageModel lm, DiscoveryCache? cache = null) : this(lm.Model, lm.Tokenizer, cache)
    {
        Bos = lm.Bos;
    }

    /// <summary>Texts per forward pass.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>
    /// BOS policy when encoding texts; use the same policy as scoring. Default: the <see cref="LanguageModel"/>'s policy when
    /// constructed from one, else prepend (as TransformerLens does).
    /// </summary>
    public BosPolicy Bos { get; init; } = BosPolicy.Prepend;
    public DiscoveryCache? Cache { get; }
    /// <summary>Which positions enter a text's mean and how texts are weighted (default: all positions, per text; part of the cache key).</summary>
    public DiscoveryMeanOptions Means { get; init; } = DiscoveryMeanOptions.Default;

    /// <summary>The same discovery (model, tokenizer, cache, BOS, batch size) with other <see cref="Means"/>.</summary>
    public NeuronDiscovery With(DiscoveryMeanOptions means) =>
        new(_model, _tokenizer, Cache) { BatchSize = BatchSize, Bos = Bos, Means = means };

    /// <summary>Encodes texts with <see cref="Bos"/>; an empty result is an error.</summary>
    public IReadOnlyList<int[]> Encode(IReadOnlyList<string> texts)
    {
        var tok = _tokenizer ?? throw new InvalidOperationException("this NeuronDiscovery has no tokenizer: pass token ids instead");
        var list = new int[texts.Count][];
        for (int i = 0; i < texts.Count; i++)
        {
            list[i] = tok.Encode(texts[i], Bos);
            if (list[i].Length == 0) throw new ArgumentException($"text {i} is empty and no BOS is prepended: nothing to record");
        }
        return list;
    }

    public MeanActivations Mean(IReadOnlyList<string> texts) => Mean(Encode(texts));

    /// <summary>Mean activations of a set of token sequences, from the cache when it holds them.</summary>
    public MeanActivations Mean(IReadOnlyList<int[]> sequences)
    {
        if (sequences.Count == 0) throw new ArgumentException("no texts to record");
        string? key = Cache?.Key(_model, sequences, Means);
        if (key is not null && Cache!.TryLoad(key, _model.Config, out var cached)) return cached;
        var m = Compute(sequences);
        if (key is not null) Cache!.Store(key, m);
        return m;
    }

    public DifferentialResult Differential(IReadOnlyList<string> taskTexts, IReadOnlyList<string> neutralTexts) =>
        new(Mean(taskTexts), Mean(neutralTexts));

    public DifferentialResult Differential(IReadOnlyList<int[]> task, IReadOnlyList<int[]> neutral) => new(Mean(task), Mean(neutral));

    /// <summary>A task's neurons: its discovery texts against its neutral texts (default: the built-in neutral corpus).</summary>
    public DifferentialResult ForTask(TaskSuite suite) =>
        Differential(suite.DiscoveryTexts, suite.Neutral ?? TaskLibrary.NeutralCorpus);

    /// <summary>
    /// The "rest" of <see cref="DiscoveryMethod.TaskVsRest"/>: the discovery texts of every task in <paramref name="tasks"/>
    /// whose name is not <paramref name="task"/>'s, task by task in the order given. The set of tasks is the caller's:
    /// <c>sna neurons --method task-vs-rest</c> passes the built-in tasks, the sweep's <c>task-vs-rest</c> source its own tasks.
    /// </summary>
    public static IReadOnlyList<string> RestTexts(TaskSuite task, IEnumerable<TaskSuite> tasks) =>
        tasks.Where(s => s.Name != task.Name).SelectMany(s => s.DiscoveryTexts).ToArray();

    /// <summary>
    /// <see cref="DiscoveryMethod.TaskVsRest"/> at any layer: (layer, k) → top-k of mean(<paramref name="task"/>'s discovery
    /// texts) − mean(<see cref="RestTexts"/>) among positive differences. No other task in <paramref name="tasks"/> is an input error.
    /// </summary>
    public Func<int, int, NeuronScore[]> TaskVsRest(TaskSuite task, IEnumerable<TaskSuite> tasks)
    {
        var rest = RestTexts(task, tasks);
        if (rest.Count == 0) throw new SnaInputException($"task-vs-rest compares task '{task.Name}' with the other tasks' texts, and there are none");
        var mean = Mean(task.DiscoveryTexts); var restMean = Mean(rest);
        return (layer, k) => DiscoveryMethods.TaskVsRest(mean.Layer(layer), restMean.Layer(layer), k);
    }

    /// <summary>
    /// Two classes' lists at every layer by <paramref name="method"/>: <see cref="DiscoveryMethod.Contrastive"/> (A against B
    /// directly, the paper's) or <see cref="DiscoveryMethod.Exclusive"/> (each against <paramref name="neutralTexts"/>, shared removed).
    /// </summary>
    public IReadOnlyList<TwoClassNeurons> TwoClass(DiscoveryMethod method, IReadOnlyList<string> classA, IReadOnlyList<string> classB,
        IReadOnlyList<string> neutralTexts, int k)
    {
        var a = Mean(classA); var b = Mean(classB);
        return method switch
        {
            DiscoveryMethod.Contrastive => Enumerable.Range(0, a.Layers).Select(l => DiscoveryMethods.Contrastive(l, a.Layer(l), b.Layer(l), k)).ToArray(),
            DiscoveryMethod.Exclusive => Mean(neutralTexts) is var n
                ? Enumerable.Range(0, a.Layers).Select(l => DiscoveryMethods.Exclusive(l, a.Layer(l), b.Layer(l), n.Layer(l), k)).ToArray() : [],
            _ => throw new ArgumentException($"{DiscoveryMethods.Name(method)} is not a two-class method (use contrastive or exclusive)"),
        };
    }

    /// <summary>Two classes, each against <paramref name="neutralTexts"/>, made exclusive (see <see cref="ContrastiveResult"/>; the <see cref="DiscoveryMethod.Exclusive"/> method).</summary>
    public ContrastiveResult Contrastive(IReadOnlyList<string> classA, IReadOnlyList<string> classB, IReadOnlyList<string> neutralTexts, int k)
    {
        var neutral = Mean(neutralTexts);
        return new ContrastiveResult(new DifferentialResult(Mean(classA), neutral), new DifferentialResult(Mean(classB), neutral), k);
    }

    /// <summary>A classification suite's two classes (prompt texts by label) against its neutral texts.</summary>
    public ContrastiveResult ForClasses(TaskSuite suite, int k)
    {
        if (!suite.IsClassification) throw new ArgumentException($"task '{suite.Name}' has no classes");
        var labels = suite.ClassLabels;
        return Contrastive(suite.ClassTexts(labels[0]), suite.ClassTexts(labels[1]), suite.Neutral ?? TaskLibrary.NeutralCorpus, k);
    }

    /// <summary>Overlap of two neuron lists: |a ∩ b| / k × 100.</summary>
    public static double Overlap(IEnumerable<int> a, IEnumerable<int> b, int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), $"k must be at least 1, got {k}");
        return a.Distinct().Intersect(b).Count() * 100.0 / k;
    }

    /// <summary>The token id a leading BOS has (the tokenizer's, else the model config's; −1 = none).</summary>
    private int BosId => _tokenizer is { BosId: >= 0 } t ? t.BosId : _model.Config.BosTokenId;

    /// <summary>The first position of text <paramref name="b"/> that enters its mean (see <see cref="DiscoveryPositions"/>).</summary>
    private int FirstPosition(int[] text, int padLeft, int T) => Means.Positions switch
    {
        DiscoveryPositions.Last => T - 1,
        DiscoveryPositions.AllButBos when text[0] == BosId && BosId >= 0 => padLeft + 1,
        _ => padLeft,
    };

    private MeanActivations Compute(IReadOnlyList<int[]> sequences)
    {
        _model.ValidateBatch(sequences);
        int L = _model.Config.NLayers, M = _model.Config.DMlp;
        if (Means.Positions == DiscoveryPositions.AllButBos)
            for (int i = 0; i < sequences.Count; i++)
                if (sequences[i].Length == 1 && sequences[i][0] == BosId)
                    throw new SnaInputException($"text {i} is only the BOS token: with positions all-but-bos it has no position to average");
        bool perToken = Means.Weighting == DiscoveryWeighting.PerToken;
        long tokens = 0;
        var sums = new double[L * M];
        var textMean = new double[M];
        int[][] batchRows = [];
        var hooks = new HookSet();
        for (int l = 0; l < L; l++)
        {
            int layer = l;
            hooks.Add(HookNames.MlpPost(l), ctx =>
            {
                int B = ctx.Shape[0], T = ctx.Shape[1], D = ctx.Shape[2];
                var acc = sums.AsSpan(layer * M, M);
                for (int b = 0; b < B; b++)
                {
                    int first = FirstPosition(batchRows[b], ctx.PadLeft[b], T);
                    Array.Clear(textMean);
                    for (int t = first; t < T; t++)
                    {
                        var row = ctx.Data.Slice((b * T + t) * D, D);
                        for (int n = 0; n < D; n++) textMean[n] += row[n];
                    }
                    if (perToken)
                    {
                        for (int n = 0; n < D; n++) acc[n] += textMean[n];
                        if (layer == 0) tokens += T - first;
                    }
                    else
                    {
                        double inv = 1.0 / (T - first);
                        for (int n = 0; n < D; n++) acc[n] += textMean[n] * inv;
                    }
                }
            });
        }
        // Shortest first: similar lengths share a batch, so little padding is computed. The order is fixed by the texts alone.
        var order = Enumerable.Range(0, sequences.Count).OrderBy(i => sequences[i].Length).ThenBy(i => i).ToArray();
        int bs = Math.Max(1, BatchSize);
        for (int start = 0; start < order.Length; start += bs)
        {
            var batch = order.Skip(start).Take(bs).Select(i => sequences[i]).ToArray();
            batchRows = batch;
            _model.Forward(batch, hooks);
        }
        double invN = perToken ? 1.0 / tokens : 1.0 / sequences.Count;
        for (int i = 0; i < sums.Length; i++) sums[i] *= invN;
        return new MeanActivations(L, M, sequences.Count, sums);
    }
}
