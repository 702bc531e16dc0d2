using Sna.Runtime;
using Sna.Research.Analysis;
using System.Globalization;
using System.Text;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Experiments;

/// <summary>
/// A source configuration of an interference run: task <paramref name="Task"/>'s differential top-<paramref name="Count"/>
/// neurons at <paramref name="Layer"/>, scaled by <paramref name="Multiplier"/>. Text form <c>TASK@LAYER[:COUNT[:MULT]]</c>.
/// </summary>
public sealed record InterferenceSourceSpec(string Task, int Layer, int Count = InterferenceSourceSpec.DefaultCount, float Multiplier = InterferenceSourceSpec.DefaultMultiplier)
{
    public const int DefaultCount = 10;
    public const float DefaultMultiplier = 2f;

    /// <summary>The paper's interference configuration: 15 neurons × 2.5 at layer 8 of GPT-2 Medium's 24.</summary>
    public const int PaperCount = 15;
    public const float PaperMultiplier = 2.5f;
    public const int PaperLayerOf24 = 8;

    /// <summary>
    /// The paper's layer 8 of 24 scaled to the model's depth: round(8 · L / 24) (one third of the depth, halves away from
    /// zero), clamped to 0..L−1: 8 for 24 layers, 4 for 12, 2 for 6, 1 for 3.
    /// </summary>
    public static int PaperLayer(int nLayers)
    {
        if (nLayers < 1) throw new ArgumentOutOfRangeException(nameof(nLayers), $"the model must have at least one layer, got {nLayers}");
        return Math.Clamp((int)Math.Round(PaperLayerOf24 * (double)nLayers / 24, MidpointRounding.AwayFromZero), 0, nLayers - 1);
    }

    /// <summary>The paper's configuration for <paramref name="task"/> on a model of <paramref name="nLayers"/> layers.</summary>
    public static InterferenceSourceSpec Paper(string task, int nLayers) => new(task, PaperLayer(nLayers), PaperCount, PaperMultiplier);

    /// <summary>Parses <c>TASK@LAYER[:COUNT[:MULT]]</c> (e.g. <c>math-easy@3</c>, <c>code-hard@4:20:3.5</c>); the task may itself contain <c>@</c> (the last one splits).</summary>
    public static InterferenceSourceSpec Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int at = spec.LastIndexOf('@');
        if (at <= 0 || at == spec.Length - 1) throw new SnaInputException("--source", $"--source must be TASK@LAYER[:COUNT[:MULT]], got '{InputParsing.Clip(spec)}'");
        string task = spec[..at].Trim();
        var parts = spec[(at + 1)..].Split(':');
        if (parts.Length > 3) throw new SnaInputException("--source", $"--source must be TASK@LAYER[:COUNT[:MULT]], got '{InputParsing.Clip(spec)}'");
        string where = $"--source {InputParsing.Clip(spec)}: ";
        int layer = InputParsing.Int(parts[0], where + "LAYER", 0, InputParsing.MaxLayerIndex);
        int count = parts.Length > 1 ? InputParsing.Int(parts[1], where + "COUNT", 1, InputParsing.MaxNeurons) : DefaultCount;
        float mult = parts.Length > 2 ? (float)InputParsing.Multiplier(parts[2], where + "MULT") : DefaultMultiplier;
        return new InterferenceSourceSpec(task, layer, count, mult);
    }

    public override string ToString() =>
        $"{Task}@{Layer.ToString(CultureInfo.InvariantCulture)}:{Count.ToString(CultureInfo.InvariantCulture)}:{Multiplier.ToString("R", CultureInfo.InvariantCulture)}";
}

/// <summary>A resolved source: the suite whose neurons are amplified and the configuration.</summary>
public sealed record InterferenceSource(TaskSuite Suite, int Layer, int Count = InterferenceSourceSpec.DefaultCount, float Multiplier = InterferenceSourceSpec.DefaultMultiplier)
{
    public InterferenceSourceSpec Spec => new(Suite.Name, Layer, Count, Multiplier);

    /// <summary>The paper's preset (<c>sna interference --preset paper</c>): every task as a source at the paper's configuration
    /// (<see cref="InterferenceSourceSpec.Paper"/>: 15 neurons × 2.5 at the layer one third of the depth), one per task name.</summary>
    public static InterferenceSource[] Paper(IEnumerable<TaskSuite> tasks, int nLayers) =>
        tasks.DistinctBy(t => t.Name).Select(t => new InterferenceSource(t, InterferenceSourceSpec.PaperLayer(nLayers),
            InterferenceSourceSpec.PaperCount, InterferenceSourceSpec.PaperMultiplier)).ToArray();
}

/// <summary>
/// One cell: source's amplification applied while scoring the target.
/// <see cref="ImprovementPct"/> = mean over the target's prompts of 100 (P_post − P_base) / P_base: a mean RELATIVE % change
/// of P(target), not percentage points (the sweep's "configuration improvement"; the JSON/CSV keep its old name
/// <c>delta_pp</c> beside <c>improvement_pct</c>); <see cref="MeanPChange"/> = mean P_post − mean P_base (absolute
/// probability); <see cref="ImprovementOfMeansPct"/> = 100 (mean P_post − mean P_base) / mean P_base.
/// </summary>
public sealed record InterferenceEntry(string Source, string Target, TaskOutcome Outcome)
{
    /// <summary>Mean over the target's prompts of the per-prompt relative % change 100 (P_post − P_base) / P_base.</summary>
    public double ImprovementPct => Outcome.ImprovementPct;
    public double MeanPBase => Outcome.MeanPBase;
    public double MeanPPost => Outcome.MeanPPost;
    public double MeanPChange => Outcome.MeanPPost - Outcome.MeanPBase;
    public double ImprovementOfMeansPct => Outcome.ImprovementOfMeansPct;
}

/// <summary>
/// The result of <see cref="InterferenceRunner.Run"/>: sources × targets. Source labels are the task names when every source
/// is a different task (so the diagonal of <see cref="Matrix"/> is each task's on-task gain), else <c>TASK@L:K:M</c>.
/// </summary>
public sealed class InterferenceResult
{
    internal InterferenceResult(IReadOnlyList<InterferenceSource> sources, IReadOnlyList<string> sourceLabels, IReadOnlyList<int[]> sourceNeurons,
        IReadOnlyList<string> targets, InterferenceEntry[,] entries, PositionsMode positions)
    {
        Sources = sources; SourceLabels = sourceLabels; SourceNeurons = sourceNeurons; Targets = targets; _entries = entries; Positions = positions;
    }

    private readonly InterferenceEntry[,] _entries;

    public IReadOnlyList<InterferenceSource> Sources { get; }
    /// <summary>Row labels (see the class summary).</summary>
    public IReadOnlyList<string> SourceLabels { get; }
    /// <summary>The neurons amplified for each source (its differential top-count at its layer, largest difference first).</summary>
    public IReadOnlyList<int[]> SourceNeurons { get; }
    public IReadOnlyList<string> Targets { get; }
    public PositionsMode Positions { get; }

    /// <summary>Source <paramref name="s"/> applied to target <paramref name="t"/>.</summary>
    public InterferenceEntry this[int s, int t] => _entries[s, t];

    /// <summary>All cells, row-major (source, then target).</summary>
    public IEnumerable<InterferenceEntry> Entries
    {
        get { for (int s = 0; s < Sources.Count; s++) for (int t = 0; t < Targets.Count; t++) yield return _entries[s, t]; }
    }

    /// <summary>improvement_pct [source, target] (sources × targets, not necessarily square).</summary>
    public double[,] ImprovementPct()
    {
        var v = new double[Sources.Count, Targets.Count];
        for (int s = 0; s < Sources.Count; s++) for (int t = 0; t < Targets.Count; t++) v[s, t] = _entries[s, t].ImprovementPct;
        return v;
    }

    /// <summary>What <see cref="Matrix"/>'s values measure.</summary>
    public const string Metric = InterferenceMatrix.DefaultMetric;

    /// <summary>The cells for the report: <c>source,target,improvement_pct</c>.</summary>
    public IReadOnlyList<InterferenceCell> Cells => Entries.Select(e => new InterferenceCell(e.Source, e.Target, e.ImprovementPct)).ToArray();

    /// <summary>
    /// The asymmetry tests (<see cref="InterferenceAsymmetryTests"/>) over the tasks that are both a source label and a target:
    /// per pair a two-sided two-sample permutation test of A→B's per-prompt changes against B→A's (Holm across pairs), and
    /// the paired sign-flip test across pairs, oriented from the lower-baseline task to the higher.
    /// </summary>
    public InterferenceAsymmetryTests AsymmetryTests(int resamples = Bootstrap.DefaultResamples, ulong seed = Bootstrap.DefaultSeed)
    {
        var src = SourceLabels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i, StringComparer.Ordinal);
        var tgt = Targets.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i, StringComparer.Ordinal);
        var tasks = SourceLabels.Where(tgt.ContainsKey).ToArray();
        double Baseline(string t) => _entries[0, tgt[t]].MeanPBase;
        IReadOnlyList<double>? Prompts(string s, string t) =>
            src.TryGetValue(s, out int i) && tgt.TryGetValue(t, out int j) ? _entries[i, j].Outcome.Prompts.Select(p => p.ImprovementPct).ToArray() : null;
        return InterferenceAsymmetryTests.Run(tasks, Prompts, Baseline, resamples, seed);
    }

    /// <summary>
    /// The square matrix the report shows, over the source labels then the targets not among them (unmeasured cells NaN).
    /// A non-finite delta (a P_base that underflowed to 0) is left out (NaN) because the matrix holds finite values only.
    /// </summary>
    public InterferenceMatrix Matrix
    {
        get
        {
            var order = SourceLabels.Concat(Targets).Distinct(StringComparer.Ordinal).ToArray();
            var m = InterferenceMatrix.FromCells(Cells.Where(c => double.IsFinite(c.ImprovementPct)), order);
            return new InterferenceMatrix(m.Tasks, m.ToArray(), Metric);
        }
    }

    /// <summary>
    /// Writes <c>source,target,delta_pp,mean_p_base,mean_p_post,mean_p_change,improvement_of_means_pct,improvement_pct</c>
    /// (what <see cref="InterferenceMatrix.FromCsv"/> reads). <c>delta_pp</c> is the old name of <c>improvement_pct</c> (the same
    /// value, a relative % change despite its name), kept in its column for readers of the documented format.
    /// </summary>
    public void WriteCsv(TextWriter w)
    {
        w.WriteLine("source,target,delta_pp,mean_p_base,mean_p_post,mean_p_change,improvement_of_means_pct,improvement_pct");
        foreach (var e in Entries)
        {
            if (!double.IsFinite(e.ImprovementPct)) continue;
            w.WriteLine(string.Join(',', Field(e.Source), Field(e.Target), R(e.ImprovementPct), R(e.MeanPBase), R(e.MeanPPost), R(e.MeanPChange), R(e.ImprovementOfMeansPct), R(e.ImprovementPct)));
        }
    }

    public void WriteCsv(string path)
    {
        using var w = new StreamWriter(path, false, new UTF8Encoding(false));
        WriteCsv(w);
    }

    private static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Field(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}

/// <summary>
/// Cross-task interference: each source task's configuration (its differential top-count neurons at its layer, × multiplier) is
/// applied while scoring every target task (first-token P over its prompts, batched). Baselines are scored once per target;
/// neurons are discovered once per source (same BOS policy as scoring; cached on disk with a <see cref="DiscoveryCache"/>).
/// A source applied to its own task gives exactly what <see cref="TaskAmplification.Evaluate"/> gives for that configuration.
/// </summary>
public static class InterferenceRunner
{
    public static InterferenceResult Run(TransformerModel model, ModelTokenizer tokenizer, IReadOnlyList<InterferenceSource> sources,
        IReadOnlyList<TaskSuite> targets, PositionsMode positions = PositionsMode.All, BosPolicy bos = BosPolicy.Prepend,
        DiscoveryCache? cache = null, Action<string>? progress = null, Action<string, long, long>? steps = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(targets);
        if (sources.Count == 0) throw new ArgumentException("give at least one source");
        if (targets.Count == 0) throw new ArgumentException("give at least one target");
        if (targets.Select(t => t.Name).Distinct(StringComparer.Ordinal).Count() != targets.Count)
            throw new ArgumentException("target tasks must be distinct");
        foreach (var s in sources)
        {
            if (s.Layer < 0 || s.Layer >= model.Config.NLayers)
                throw new ArgumentOutOfRangeException(nameof(sources), $"source {s.Spec}: layer {s.Layer} is out of range: the model has {model.Config.NLayers} layers (0..{model.Config.NLayers - 1})");
            if (s.Count < 1 || s.Count > model.Config.DMlp)
                throw new ArgumentOutOfRangeException(nameof(sources), $"source {s.Spec}: count must be in 1..{model.Config.DMlp}");
        }
        if (sources.Select(s => s.Spec).Distinct().Count() != sources.Count) throw new ArgumentException("sources must be distinct");

        bool uniqueTasks = sources.Select(s => s.Suite.Name).Distinct(StringComparer.Ordinal).Count() == sources.Count;
        var labels = sources.Select(s => uniqueTasks ? s.Suite.Name : s.Spec.ToString()).ToArray();

        var discovery = new NeuronDiscovery(model, tokenizer, cache) { Bos = bos };
        var diffs = new Dictionary<string, DifferentialResult>(StringComparer.Ordinal);
        var neurons = new int[sources.Count][];
        for (int i = 0; i < sources.Count; i++)
        {
            var s = sources[i];
            if (!diffs.TryGetValue(s.Suite.Name, out var d))
            {
                progress?.Invoke($"discovering neurons of {s.Suite.Name}");
                diffs[s.Suite.Name] = d = discovery.ForTask(s.Suite);
            }
            neurons[i] = d.TopIndices(s.Layer, s.Count);
        }

        var entries = new InterferenceEntry[sources.Count, targets.Count];
        long total = (long)sources.Count * targets.Count, done = 0;
        steps?.Invoke("scoring", 0, total);
        for (int t = 0; t < targets.Count; t++)
        {
            progress?.Invoke($"scoring {targets[t].Name}");
            var eval = new TaskEvaluator(model, tokenizer, targets[t], bos);
            for (int s = 0; s < sources.Count; s++)
            {
                var amp = Amplification.Single(sources[s].Layer, neurons[s], sources[s].Multiplier, positions);
                entries[s, t] = new InterferenceEntry(labels[s], targets[t].Name, eval.Evaluate(amp));
                steps?.Invoke($"target {targets[t].Name}", ++done, total);
            }
        }
        return new InterferenceResult(sources, labels, neurons, targets.Select(t => t.Name).ToArray(), entries, positions);
    }
}
