using Sna.Runtime;
using System.Diagnostics;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Research.Sweeps;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Classification;

/// <summary>Whose neurons are amplified for an example.</summary>
public enum AmplifyTarget
{
    /// <summary>The neurons of the class the unmodified model predicts (default; uses no label, so nothing leaks).</summary>
    Predicted,
    /// <summary>Both classes' neurons (the union of the two lists).</summary>
    Both,
    /// <summary>One fixed class's neurons for every example (<see cref="ClassifyOptions.FixedClass"/>); uses no label.</summary>
    Fixed,
    /// <summary>
    /// ORACLE: the neurons of each example's TRUE class. It reads the label, so it is not a classifier; it measures how far
    /// amplification can move the decision when told the answer (the only target that can flip most wrong predictions).
    /// </summary>
    TrueLabel,
}

/// <summary>Names and flags of <see cref="AmplifyTarget"/> as the CLI, JSON, database and report spell them.</summary>
public static class AmplifyTargets
{
    /// <summary>The one-line warning printed wherever a true-label run is shown.</summary>
    public const string OracleNote = "ORACLE: --amplify true-label amplifies each example's true class, so it reads the label; its accuracies are an upper bound, not a classifier's";

    /// <summary>"predicted", "both", "fixed:LABEL" (the label value) or "true-label".</summary>
    public static string Name(AmplifyTarget target, int fixedClass, ClassifierSpec spec) => target switch
    {
        AmplifyTarget.Predicted => "predicted",
        AmplifyTarget.Both => "both",
        AmplifyTarget.Fixed => "fixed:" + spec.LabelValues[fixedClass],
        AmplifyTarget.TrueLabel => "true-label",
        _ => throw new ArgumentOutOfRangeException(nameof(target)),
    };

    /// <summary>True for a stored/printed target name that reads the label.</summary>
    public static bool IsOracle(string name) => name == "true-label";

    /// <summary>
    /// Parses <c>predicted|both|fixed:LABEL|true-label</c>; LABEL is a label value (e.g. 1) or a label word without its
    /// leading space (e.g. positive). Bad input is an <see cref="SnaInputException"/>.
    /// </summary>
    public static (AmplifyTarget Target, int FixedClass) Parse(string text, ClassifierSpec spec)
    {
        string t = text.Trim();
        string lower = t.ToLowerInvariant();
        if (lower == "predicted") return (AmplifyTarget.Predicted, 0);
        if (lower == "both") return (AmplifyTarget.Both, 0);
        if (lower is "true-label" or "true_label" or "truelabel") return (AmplifyTarget.TrueLabel, 0);
        if (lower.StartsWith("fixed:", StringComparison.Ordinal))
        {
            string label = t["fixed:".Length..].Trim();
            for (int c = 0; c < 2; c++)
                if (label == spec.LabelValues[c] || string.Equals(label, spec.LabelWords[c].Trim(), StringComparison.OrdinalIgnoreCase)) return (AmplifyTarget.Fixed, c);
            throw new SnaInputException($"--amplify fixed:LABEL: '{label}' is not a label value ({spec.LabelValues[0]}, {spec.LabelValues[1]}) or word ({spec.LabelWords[0].Trim()}, {spec.LabelWords[1].Trim()})");
        }
        throw new SnaInputException($"--amplify must be predicted, both, fixed:LABEL or true-label (an oracle that reads the label), got '{text}'");
    }
}

/// <summary>How the grid's (example, configuration) pairs are evaluated. All three give the same predictions up to float rounding.</summary>
public enum ClassifyEngine
{
    /// <summary>
    /// The sweep engine's prefix cache (default): one unmodified forward per example keeps the residual stream after each
    /// block and the scaled neurons' activations; a configuration at layer L adds the rank-k MLP change to the cached
    /// residual after block L and runs only layers L+1.. (the example's configurations at L as batch rows), then one
    /// unembedding row scores both label tokens.
    /// </summary>
    Prefix,
    /// <summary>Every pair is one sequence of a batched full forward whose hooks scale each row by its own configuration.</summary>
    Batched,
    /// <summary>One full batch-1 hooked forward per pair (the reference the others are measured against; slow).</summary>
    Naive,
}

/// <summary>What a <see cref="ClassificationExperiment"/> runs. Defaults follow the SNA paper's SST-2 experiment.</summary>
public sealed record ClassifyOptions
{
    /// <summary>Evaluation rows sampled from the data.</summary>
    public int N { get; init; } = 200;
    public ulong Seed { get; init; } = 42;
    /// <summary>Rows for choosing neurons: the rows after the evaluation rows in the same permutation (disjoint).</summary>
    public int TrainN { get; init; } = 100;
    /// <summary>Layers of the grid; null = <see cref="DefaultLayers"/>.</summary>
    public IReadOnlyList<int>? Layers { get; init; }
    public IReadOnlyList<float> Multipliers { get; init; } = [1, 2, 4, 8, 12, 16];
    public NeuronMethod Method { get; init; } = NeuronMethod.Contrastive;
    /// <summary>Neurons per class per layer.</summary>
    public int K { get; init; } = 10;
    public AmplifyTarget Amplify { get; init; } = AmplifyTarget.Predicted;
    /// <summary>The class whose neurons <see cref="AmplifyTarget.Fixed"/> amplifies (0 or 1).</summary>
    public int FixedClass { get; init; }
    /// <summary>The name of the grid preset the layers and multipliers came from ("paper"), or null for explicit/default ones.</summary>
    public string? GridPreset { get; init; }
    public ClassifierSpec Spec { get; init; } = new();
    /// <summary>Sequences per forward pass (baseline and discovery batches; grid rows of the batched engine; configurations per call of the prefix engine).</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>
    /// How the grid is evaluated (<see cref="ClassifyEngine.Prefix"/> by default). Results agree up to float rounding. The prefix
    /// engine needs a model without persistent hooks (it measures the plain model).
    /// </summary>
    public ClassifyEngine Engine { get; init; } = ClassifyEngine.Prefix;
    /// <summary>
    /// A multiplier of 1 is the identity (x·1 = x exactly), so its cells are the baseline by construction and are not re-run.
    /// Set false to run them anyway (a check of the batched path).
    /// </summary>
    public bool ReuseBaselineForIdentity { get; init; } = true;
    /// <summary>How many (example, configuration) pairs to time as one full forward each (the naive rate); 0 = don't.</summary>
    public int NaiveSample { get; init; }
    /// <summary>Reference texts for the neutral-text method; null = <see cref="NeutralTexts.BuiltIn"/>.</summary>
    public IReadOnlyList<string>? NeutralTexts { get; init; }

    /// <summary>Five layers spread over the depth: floor((i + 0.5)·L/5) for i = 0..4 (24 layers: 2, 7, 12, 16, 21); all layers when L ≤ 5.</summary>
    public static int[] DefaultLayers(int nLayers) =>
        nLayers <= 5 ? Enumerable.Range(0, nLayers).ToArray()
                     : Enumerable.Range(0, 5).Select(i => (int)Math.Floor((i + 0.5) * nLayers / 5)).Distinct().ToArray();

    /// <summary>
    /// The paper's SST-2 grid (<c>--grid paper</c>): five layers spread over the depth (<see cref="DefaultLayers"/>: 2, 7, 12,
    /// 16, 21 on GPT-2 Medium) × four multipliers 2, 4, 8, 16, with no identity cell, so every one of its 20 cells is an
    /// intervention and "Zone 3 unchanged" counts only real changes.
    /// </summary>
    public static (int[] Layers, float[] Multipliers) PaperGrid(int nLayers) => (DefaultLayers(nLayers), [2f, 4f, 8f, 16f]);

    /// <summary>The name of the amplification target: predicted, both, fixed:LABEL or true-label.</summary>
    public string AmplifyName => AmplifyTargets.Name(Amplify, FixedClass, Spec);

    /// <summary>True when the target reads each example's label (<see cref="AmplifyTarget.TrueLabel"/>).</summary>
    public bool AmplifyIsOracle => Amplify == AmplifyTarget.TrueLabel;

    /// <summary>Most (layer, multiplier) configurations one run may evaluate.</summary>
    public const int MaxGrid = 10_000;

    public void Validate(ModelConfig config)
    {
        Spec.Validate();
        if (N <= 0) throw new SnaInputException($"--n must be positive, got {N}");
        if (TrainN <= 0) throw new SnaInputException($"the training split must be positive, got {TrainN}");
        if (FixedClass is < 0 or > 1) throw new SnaInputException($"the fixed class must be 0 or 1, got {FixedClass}");
        if (K <= 0 || K > config.DMlp) throw new SnaInputException($"k must be in 1..{config.DMlp}, got {K}");
        if (BatchSize <= 0) throw new SnaInputException($"the batch size must be positive, got {BatchSize}");
        if (Multipliers.Count == 0) throw new SnaInputException("give at least one multiplier");
        foreach (var m in Multipliers) if (!float.IsFinite(m)) throw new SnaInputException($"multiplier {m} is not finite");
        if (Multipliers.Distinct().Count() != Multipliers.Count) throw new SnaInputException("the multipliers repeat");
        var layers = Layers ?? DefaultLayers(config.NLayers);
        if (layers.Count == 0) throw new SnaInputException("give at least one layer");
        foreach (int l in layers)
            if (l < 0 || l >= config.NLayers) throw new SnaInputException($"layer {l} is out of range: the model has {config.NLayers} layers (0..{config.NLayers - 1})");
        if (layers.Distinct().Count() != layers.Count) throw new SnaInputException("the layers repeat");
        if ((long)layers.Count * Multipliers.Count > MaxGrid)
            throw new SnaInputException($"the grid has {(long)layers.Count * Multipliers.Count} configurations ({layers.Count} layers × {Multipliers.Count} multipliers); at most {MaxGrid}");
    }
}

/// <summary>Progress of a run: the stage ("baseline", "neurons", "grid", "naive") and how far it is.</summary>
public readonly record struct ClassifyProgress(string Stage, long Done, long Total);

/// <summary>
/// The SNA paper's SST-2 experiment for any two-label dataset: zero-shot classification of a seeded sample, neurons per
/// class chosen on a disjoint training split, then amplification of the predicted class's neurons over a grid of
/// layers × multipliers (all positions), with accuracy per baseline-margin zone before and after.
/// <para>
/// Throughput (<see cref="ClassifyOptions.Engine"/>): by default the grid runs on the sweep engine's prefix cache
/// (<see cref="SweepEvaluator"/>): one unmodified forward per example, then each configuration at layer L resumes from the
/// cached residual after block L (plus the rank-k change of the scaled neurons) and runs only layers L+1.., the example's
/// configurations at L as batch rows; both label tokens are scored from one unembedding row. The batched engine runs every
/// pair as a row of a full hooked forward; the naive engine one full forward per pair.
/// </para>
/// </summary>
public static class ClassificationExperiment
{
    public static ClassifyResult Run(TransformerModel model, ModelTokenizer tokenizer, LabeledDataset data, ClassifyOptions options,
        IProgress<ClassifyProgress>? progress = null)
    {
        options.Validate(model.Config);
        var spec = options.Spec;
        var clf = new ZeroShotClassifier(model, tokenizer, spec);
        int[] layers = (options.Layers ?? ClassifyOptions.DefaultLayers(model.Config.NLayers)).ToArray();
        var split = DatasetSampler.Split(data.Count, options.N, options.TrainN, options.Seed);

        int LabelOf(int row)
        {
            var e = data[row];
            try { return spec.ClassOf(e.Label); }
            catch (SnaInputException ex) { throw new SnaInputException($"{data.Source}: line {e.Line}: {ex.Message}", ex); }
        }

        // 1. Baseline on the evaluation rows.
        var evalIds = split.Eval.Select(r => clf.Encode(data[r].Text)).ToArray();
        var evalLabels = split.Eval.Select(LabelOf).ToArray();
        var sw = Stopwatch.StartNew();
        var baseline = clf.Classify(evalIds, null, options.BatchSize, d => progress?.Report(new("baseline", d, evalIds.Length)));
        double baselineSeconds = sw.Elapsed.TotalSeconds;
        var examples = new ExampleResult[evalIds.Length];
        for (int i = 0; i < examples.Length; i++)
        {
            var e = data[split.Eval[i]];
            examples[i] = new ExampleResult(e.Row, e.Line, evalLabels[i], baseline[i], evalIds[i].Length);
        }

        // 2. Neurons on the training rows (both methods: the chosen one drives the grid, the other is reported).
        sw.Restart();
        var trainLabels = split.Train.Select(LabelOf).ToArray();
        var byClass = new List<int[]>[] { new(), new() };
        for (int i = 0; i < split.Train.Length; i++) byClass[trainLabels[i]].Add(clf.Encode(data[split.Train[i]].Text));
        for (int c = 0; c < 2; c++)
            if (byClass[c].Count == 0)
                throw new SnaInputException($"the training split ({split.Train.Length} rows) has no example of label '{spec.LabelValues[c]}'; use a larger training split");
        var neutral = (options.NeutralTexts ?? NeutralTexts.BuiltIn).Select(t => tokenizer.Encode(t, spec.Bos)).ToArray();
        if (neutral.Length == 0 || neutral.Any(n => n.Length == 0)) throw new SnaInputException("the neutral texts are empty");
        long discTotal = byClass[0].Count + byClass[1].Count + neutral.Length, discDone = 0;
        double[][] Means(IReadOnlyList<int[]> texts)
        {
            var m = ClassNeurons.MeanActivations(model, texts, layers, options.BatchSize);
            discDone += texts.Count;
            progress?.Report(new("neurons", discDone, discTotal));
            return m;
        }
        var mean0 = Means(byClass[0]); var mean1 = Means(byClass[1]); var meanN = Means(neutral);
        var neutralLists = layers.Select((l, i) => ClassNeurons.Neutral(l, mean0[i], mean1[i], meanN[i], options.K)).ToArray();
        var contrastiveLists = layers.Select((l, i) => ClassNeurons.Contrastive(l, mean0[i], mean1[i], options.K)).ToArray();
        var chosen = options.Method == NeuronMethod.Neutral ? neutralLists : contrastiveLists;
        double discoverySeconds = sw.Elapsed.TotalSeconds;
        foreach (var l in chosen)
            if (l.Class0.Length == 0 || l.Class1.Length == 0)
                throw new SnaInputException($"layer {l.Layer}: the {options.Method.ToString().ToLowerInvariant()} method found no neuron for one class");

        // 3. The grid.
        var cells = (from l in Enumerable.Range(0, layers.Length) from m in options.Multipliers select (LayerIndex: l, Multiplier: m)).ToArray();
        sw.Restart();
        var after = RunGrid(model, clf, evalIds, baseline, evalLabels, chosen, cells, options, options.Engine, progress, out long forwards, out long sequences);
        double gridSeconds = sw.Elapsed.TotalSeconds;

        // 4. Optional: the naive rate, one full forward per (example, configuration), timed on a sample.
        double? naiveSecondsPerPair = null;
        if (options.NaiveSample > 0)
            naiveSecondsPerPair = TimeNaive(model, clf, evalIds, baseline, evalLabels, chosen, cells, options, progress);

        var before = ZoneAccuracy.PerZone(examples.Select(e => e.Baseline.Zone).ToArray(), examples.Select(e => e.Correct).ToArray());
        var grid = new GridCell[cells.Length];
        for (int c = 0; c < cells.Length; c++)
            grid[c] = GridCell.Build(layers[cells[c].LayerIndex], cells[c].Multiplier, examples, after[c], before);

        return new ClassifyResult
        {
            Options = options,
            Layers = layers,
            Split = split,
            DataSource = data.Source,
            DataSha256 = data.Sha256,
            DataRows = data.Count,
            LabelTokenIds = clf.LabelTokenIds,
            Examples = examples,
            Before = before,
            Neurons = chosen,
            NeuronsNeutral = neutralLists,
            NeuronsContrastive = contrastiveLists,
            TrainPerClass = [byClass[0].Count, byClass[1].Count],
            Grid = grid,
            Timing = new ClassifyTiming(baselineSeconds, discoverySeconds, gridSeconds, forwards, sequences,
                (long)examples.Length * cells.Length, naiveSecondsPerPair, options.NaiveSample),
        };
    }

    /// <summary>
    /// The neurons amplified for an example whose baseline predicts <paramref name="predicted"/> and whose true class is
    /// <paramref name="label"/> (read only by the <see cref="AmplifyTarget.TrueLabel"/> oracle).
    /// </summary>
    public static int[] NeuronsFor(ClassNeuronLists lists, AmplifyTarget target, int predicted, int label, int fixedClass) => target switch
    {
        AmplifyTarget.Predicted => lists.Of(predicted),
        AmplifyTarget.Both => lists.Both,
        AmplifyTarget.Fixed => lists.Of(fixedClass),
        AmplifyTarget.TrueLabel => lists.Of(label),
        _ => throw new ArgumentOutOfRangeException(nameof(target)),
    };

    private static int[] NeuronsFor(ClassNeuronLists lists, ClassifyOptions o, ClassPrediction baseline, int label) =>
        NeuronsFor(lists, o.Amplify, baseline.Predicted, label, o.FixedClass);

    /// <summary>
    /// Re-evaluates the grid of a finished run with another engine on its evaluation examples
    /// <paramref name="first"/>..first+count−1 (same baseline, same neurons): after-predictions per cell and example (index 0 =
    /// example <paramref name="first"/>), the wall time, and the pairs run (identity cells reused as
    /// <see cref="ClassifyOptions.ReuseBaselineForIdentity"/> says). For benchmarks and checks.
    /// </summary>
    internal static (ClassPrediction[][] After, double Seconds, long Sequences) RerunGrid(TransformerModel model, ModelTokenizer tokenizer,
        LabeledDataset data, ClassifyResult r, ClassifyEngine engine, int first, int count, IProgress<ClassifyProgress>? progress = null)
    {
        first = Math.Clamp(first, 0, r.Examples.Length);
        count = Math.Clamp(count, 0, r.Examples.Length - first);
        var clf = new ZeroShotClassifier(model, tokenizer, r.Options.Spec);
        var ids = r.Split.Eval.Skip(first).Take(count).Select(row => clf.Encode(data[row].Text)).ToArray();
        var baseline = r.Examples.Skip(first).Take(count).Select(e => e.Baseline).ToArray();
        var labels = r.Examples.Skip(first).Take(count).Select(e => e.Label).ToArray();
        var cells = r.Grid.Select(c => (LayerIndex: Array.IndexOf(r.Layers, c.Layer), c.Multiplier)).ToArray();
        var sw = Stopwatch.StartNew();
        var after = RunGrid(model, clf, ids, baseline, labels, r.Neurons, cells, r.Options, engine, progress, out _, out long sequences);
        return (after, sw.Elapsed.TotalSeconds, sequences);
    }

    /// <summary>After-predictions per cell and example: result[cell][example].</summary>
    private static ClassPrediction[][] RunGrid(TransformerModel model, ZeroShotClassifier clf, int[][] ids, ClassPrediction[] baseline, int[] labels,
        ClassNeuronLists[] lists, (int LayerIndex, float Multiplier)[] cells, ClassifyOptions o, ClassifyEngine engine,
        IProgress<ClassifyProgress>? progress, out long forwards, out long sequences) => engine switch
    {
        ClassifyEngine.Prefix => RunGridPrefix(model, clf, ids, baseline, labels, lists, cells, o, progress, out forwards, out sequences),
        ClassifyEngine.Batched => RunGridBatched(model, clf, ids, baseline, labels, lists, cells, o, progress, out forwards, out sequences),
        ClassifyEngine.Naive => RunGridNaive(model, clf, ids, baseline, labels, lists, cells, o, progress, out forwards, out sequences),
        _ => throw new ArgumentOutOfRangeException(nameof(engine)),
    };

    /// <summary>
    /// The prefix-cache grid: per example one unmodified forward (<see cref="SweepEvaluator.BuildCache"/>, keeping the
    /// activations of the neurons amplified for that example's predicted class), then per grid layer the configurations of
    /// the examples of one prompt length as batch rows (up to <see cref="ClassifyOptions.BatchSize"/> per call) from layer
    /// L+1 on (positions = all), each row scored for both label tokens from one unembedding.
    /// <paramref name="forwards"/> counts base runs + evaluator calls; <paramref name="sequences"/> the pairs run.
    /// </summary>
    private static ClassPrediction[][] RunGridPrefix(TransformerModel model, ZeroShotClassifier clf, int[][] ids, ClassPrediction[] baseline, int[] labels,
        ClassNeuronLists[] lists, (int LayerIndex, float Multiplier)[] cells, ClassifyOptions o, IProgress<ClassifyProgress>? progress,
        out long forwards, out long sequences)
    {
        var after = cells.Select(_ => new ClassPrediction[ids.Length]).ToArray();
        var ev = new SweepEvaluator(model);
        int[] labelIds = clf.LabelTokenIds;
        var zones = clf.Spec.Zones;
        forwards = 0; sequences = 0;
        long total = (long)ids.Length * cells.Length, done = 0;
        progress?.Report(new("grid", done, total));
        var scores = new TargetScore[o.BatchSize * labelIds.Length];
        // Examples of one token length share evaluator calls (rows of equal length need no padding, so they stay exact and
        // independent): order by length, then take up to BatchSize examples of one length at a time.
        var order = Enumerable.Range(0, ids.Length).OrderBy(e => ids[e].Length).ThenBy(e => e).ToArray();
        for (int g0 = 0; g0 < order.Length;)
        {
            int len = ids[order[g0]].Length, g1 = g0;
            while (g1 < order.Length && ids[order[g1]].Length == len && g1 - g0 < o.BatchSize) g1++;
            var work = new SortedDictionary<int, List<(int Example, int Cell)>>();   // grid layer index → pairs to run
            var caches = new Dictionary<int, (PrefixCache Cache, Dictionary<int, int[]> Neurons)>();
            for (int gi = g0; gi < g1; gi++)
            {
                int e = order[gi];
                var layersHere = new HashSet<int>();
                for (int c = 0; c < cells.Length; c++)
                {
                    // Identity cells are the baseline by construction.
                    if (o.ReuseBaselineForIdentity && cells[c].Multiplier == 1f) { after[c][e] = baseline[e]; done++; continue; }
                    if (!work.TryGetValue(cells[c].LayerIndex, out var list)) work[cells[c].LayerIndex] = list = new();
                    list.Add((e, c));
                    layersHere.Add(cells[c].LayerIndex);
                }
                if (layersHere.Count == 0) continue;
                var neurons = layersHere.ToDictionary(li => lists[li].Layer, li => NeuronsFor(lists[li], o, baseline[e], labels[e]));
                caches[e] = (ev.BuildCache(ids[e], labelIds[0], neurons, keepKeysValues: false), neurons);
                forwards++;
            }
            progress?.Report(new("grid", done, total));
            foreach (var (li, pairs) in work)
            {
                int layer = lists[li].Layer;
                for (int start = 0; start < pairs.Count; start += o.BatchSize)
                {
                    int n = Math.Min(o.BatchSize, pairs.Count - start);
                    var items = new SweepItem[n];
                    for (int i = 0; i < n; i++)
                    {
                        var (e, c) = pairs[start + i];
                        var (cache, neurons) = caches[e];
                        items[i] = new SweepItem(cache, neurons[layer], cells[c].Multiplier);
                    }
                    var sc = scores.AsSpan(0, n * labelIds.Length);
                    ev.Evaluate(layer, PositionsMode.All, items, labelIds, sc);
                    forwards++;
                    for (int i = 0; i < n; i++)
                    {
                        var (e, c) = pairs[start + i];
                        after[c][e] = ZeroShotClassifier.FromProbabilities(sc[2 * i].Probability, sc[2 * i + 1].Probability, zones);
                    }
                    sequences += n; done += n;
                    progress?.Report(new("grid", done, total));
                }
            }
            g0 = g1;
        }
        return after;
    }

    /// <summary>One full batch-1 hooked forward per (example, configuration) pair.</summary>
    private static ClassPrediction[][] RunGridNaive(TransformerModel model, ZeroShotClassifier clf, int[][] ids, ClassPrediction[] baseline, int[] labels,
        ClassNeuronLists[] lists, (int LayerIndex, float Multiplier)[] cells, ClassifyOptions o, IProgress<ClassifyProgress>? progress,
        out long forwards, out long sequences)
    {
        var after = cells.Select(_ => new ClassPrediction[ids.Length]).ToArray();
        forwards = 0; sequences = 0;
        long total = (long)ids.Length * cells.Length, done = 0;
        for (int e = 0; e < ids.Length; e++)
            for (int c = 0; c < cells.Length; c++)
            {
                if (o.ReuseBaselineForIdentity && cells[c].Multiplier == 1f) after[c][e] = baseline[e];
                else
                {
                    var l = lists[cells[c].LayerIndex];
                    var amp = Amplification.Single(l.Layer, NeuronsFor(l, o, baseline[e], labels[e]), cells[c].Multiplier);
                    after[c][e] = clf.Decide(model.Forward([ids[e]], amp.ToHooks(model.Config)).Last(0));
                    forwards++; sequences++;
                }
                progress?.Report(new("grid", ++done, total));
            }
        return after;
    }

    /// <summary>Every pair is one row of a batched full forward; one hook per layer scales each row by its own configuration.</summary>
    private static ClassPrediction[][] RunGridBatched(TransformerModel model, ZeroShotClassifier clf, int[][] ids, ClassPrediction[] baseline, int[] labels,
        ClassNeuronLists[] lists, (int LayerIndex, float Multiplier)[] cells, ClassifyOptions o, IProgress<ClassifyProgress>? progress,
        out long forwards, out long sequences)
    {
        var after = cells.Select(_ => new ClassPrediction[ids.Length]).ToArray();
        var work = new List<(int Example, int Cell)>();
        // Examples in order of length (less padding per batch), each with its configurations next to each other.
        foreach (int e in Enumerable.Range(0, ids.Length).OrderBy(e => ids[e].Length).ThenBy(e => e))
            for (int c = 0; c < cells.Length; c++)
            {
                if (o.ReuseBaselineForIdentity && cells[c].Multiplier == 1f) after[c][e] = baseline[e];
                else work.Add((e, c));
            }
        forwards = 0; sequences = work.Count;
        long total = (long)ids.Length * cells.Length, done = total - work.Count;
        progress?.Report(new("grid", done, total));
        for (int start = 0; start < work.Count; start += o.BatchSize)
        {
            int n = Math.Min(o.BatchSize, work.Count - start);
            var batch = new int[n][];
            var rows = new (int Row, int Layer, int[] Neurons, float M)[n];
            for (int i = 0; i < n; i++)
            {
                var (e, c) = work[start + i];
                batch[i] = ids[e];
                var lists0 = lists[cells[c].LayerIndex];
                rows[i] = (i, lists0.Layer, NeuronsFor(lists0, o, baseline[e], labels[e]), cells[c].Multiplier);
            }
            var r = model.Forward(batch, RowHooks(rows));
            forwards++;
            for (int i = 0; i < n; i++)
            {
                var (e, c) = work[start + i];
                after[c][e] = clf.Decide(r.Last(i));
            }
            done += n;
            progress?.Report(new("grid", done, total));
        }
        return after;
    }

    /// <summary>One hook per layer that scales each batch row's own neurons by its own multiplier at all its real positions.</summary>
    internal static HookSet RowHooks(IEnumerable<(int Row, int Layer, int[] Neurons, float M)> rows)
    {
        var hooks = new HookSet();
        foreach (var g in rows.GroupBy(r => r.Layer))
        {
            var mine = g.Select(r => (r.Row, r.Neurons, r.M)).ToArray();
            hooks.Add(HookNames.MlpPost(g.Key), ctx =>
            {
                int T = ctx.Shape[1], M = ctx.Shape[2];
                var data = ctx.Data;
                foreach (var (b, neurons, m) in mine)
                    for (int t = ctx.PadLeft[b]; t < T; t++)
                    {
                        var row = data.Slice((b * T + t) * M, M);
                        foreach (int n in neurons) row[n] *= m;
                    }
            });
        }
        return hooks;
    }

    private static double TimeNaive(TransformerModel model, ZeroShotClassifier clf, int[][] ids, ClassPrediction[] baseline, int[] labels,
        ClassNeuronLists[] lists, (int LayerIndex, float Multiplier)[] cells, ClassifyOptions o, IProgress<ClassifyProgress>? progress)
    {
        int n = o.NaiveSample;
        var sw = new Stopwatch();
        for (int i = 0; i < n; i++)
        {
            // Spread the sample over examples and configurations deterministically.
            int e = (int)((long)i * ids.Length / n), c = i % cells.Length;
            var l = lists[cells[c].LayerIndex];
            var amp = Amplification.Single(l.Layer, NeuronsFor(l, o, baseline[e], labels[e]), cells[c].Multiplier);
            var hooks = amp.ToHooks(model.Config);
            sw.Start();
            clf.Decide(model.Forward([ids[e]], hooks).Last(0));
            sw.Stop();
            progress?.Report(new("naive", i + 1, n));
        }
        return sw.Elapsed.TotalSeconds / n;
    }
}
