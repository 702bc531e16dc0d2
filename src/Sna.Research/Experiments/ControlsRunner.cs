using SweepConfiguration = Sna.Research.Analysis.SweepConfiguration;
using Sna.Research.Analysis;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Research.Sweeps;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Experiments;

/// <summary>Control neuron sets for a layer: random (deterministic per seed) and bottom-k.</summary>
public static class ControlNeurons
{
    /// <summary>
    /// <paramref name="count"/> random neurons of <paramref name="layer"/>, sorted ascending, deterministic per (seed, layer,
    /// count, excluded set) on every platform. Without <paramref name="exclude"/> this is exactly
    /// <see cref="NeuronSources.Random"/> (the sweep's <c>random:SEED</c>); with it, the same seeded Fisher–Yates runs over
    /// the neurons not in <paramref name="exclude"/> (ascending), so a random set never shares a neuron with the task's list.
    /// </summary>
    public static int[] Random(int seed, int layer, int count, int dMlp, IReadOnlyCollection<int>? exclude = null)
    {
        if (exclude is null || exclude.Count == 0) return NeuronSources.Random(seed, dMlp)(layer, count);
        var ex = new HashSet<int>(exclude);
        var pool = Enumerable.Range(0, dMlp).Where(n => !ex.Contains(n)).ToArray();
        if (count < 1 || count > pool.Length)
            throw new ArgumentOutOfRangeException(nameof(count), $"count {count} must be in 1..{pool.Length} (d_mlp {dMlp} minus {dMlp - pool.Length} excluded neurons)");
        return NeuronSources.RandomSubset(seed, layer, pool, count);
    }

    /// <summary>The <paramref name="count"/> neurons of <paramref name="layer"/> with the lowest differential score, lowest first (ties by lower index); the sweep's <c>bottom</c> source.</summary>
    public static int[] Bottom(DifferentialResult diff, int layer, int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"count must be at least 1, got {count}");
        return diff.BottomIndices(layer, count);
    }
}

/// <summary>Options of <see cref="ControlsRunner.Run"/>.</summary>
public sealed record ControlsOptions
{
    /// <summary>Random neuron sets (seeds <see cref="FirstSeed"/> … FirstSeed + Seeds − 1); the paper-style control uses 20.</summary>
    public int Seeds { get; init; } = 20;
    public int FirstSeed { get; init; }
    /// <summary>Draw random sets from the neurons outside the task's list (default). False: exactly the sweep's <c>random:SEED</c> sets.</summary>
    public bool ExcludeTaskNeurons { get; init; } = true;
    /// <summary>Also measure the bottom-k neurons.</summary>
    public bool BottomK { get; init; } = true;
    /// <summary>Also measure the collateral cost of the task-neuron configuration on neutral text.</summary>
    public bool Collateral { get; init; } = true;
    /// <summary>Also measure the collateral cost of the bottom-k and of the first random set (a reference for the task's cost).</summary>
    public bool ControlCollateral { get; init; }
    /// <summary>Neutral texts for the collateral cost (default <see cref="TaskLibrary.NeutralCorpus"/>).</summary>
    public IReadOnlyList<string>? NeutralTexts { get; init; }
    public BosPolicy Bos { get; init; } = BosPolicy.Prepend;
    public DiscoveryCache? Cache { get; init; }
    /// <summary>
    /// Evaluate the random sets together (<see cref="TaskEvaluator.EvaluateSets"/>: the blocks before the layer run once per
    /// prompt batch and many sets share each resumed forward) instead of one full forward per set. Bit-identical either way;
    /// false is the one-by-one reference path.
    /// </summary>
    public bool BatchRandomSets { get; init; } = true;
    /// <summary>Prompts × sets per resumed forward when <see cref="BatchRandomSets"/>.</summary>
    public int RowsPerBatch { get; init; } = TaskEvaluator.DefaultRowsPerBatch;
    /// <summary>The neurons under test (e.g. from a neuron set file) instead of the task's differential top-K; bottom-K still
    /// comes from the task's differential ranking. Their count must equal the run's count.</summary>
    public int[]? TaskNeurons { get; init; }
    /// <summary>Progress in neuron-set evaluations: (stage, done, total); total = 1 (task) + seeds + bottom-K + collateral measurements.</summary>
    public Action<string, long, long>? Steps { get; init; }
    /// <summary>How <see cref="TaskNeurons"/> were chosen, recorded as the configuration's neuron source (default <c>file</c>).</summary>
    public string GivenNeuronSource { get; init; } = "file";
}

/// <summary>One random control set and the task's outcome with it.</summary>
public sealed record RandomControl(int Seed, int[] Neurons, TaskOutcome Outcome)
{
    /// <summary>Mean over prompts of the per-prompt % improvement (as <see cref="ControlComparison.RandomImprovementsPct"/>).</summary>
    public double ImprovementPct => Outcome.ImprovementPct;
}

/// <summary>
/// What <see cref="ControlsRunner.Run"/> measured. Improvements are "configuration improvements" as in the sweep/report: the
/// mean over the task's prompts of 100 (P_post − P_base) / P_base.
/// </summary>
public sealed record ControlsResult(string Task, SweepConfiguration Configuration, int[] TaskNeurons, TaskOutcome TaskOutcome,
    IReadOnlyList<RandomControl> Random, int[]? BottomNeurons, TaskOutcome? BottomOutcome, CollateralMeasurement? Collateral,
    CollateralMeasurement? BottomCollateral, CollateralMeasurement? RandomCollateral)
{
    /// <summary>The report's record (<see cref="Reporting.ReportOptions.Controls"/>).</summary>
    public ControlComparison Comparison => new(Task, Configuration, TaskOutcome.ImprovementPct,
        Random.Select(r => r.ImprovementPct).ToArray(), BottomOutcome?.ImprovementPct);

    /// <summary>The report's record (<see cref="Reporting.ReportOptions.Collateral"/>), when measured.</summary>
    public CollateralCost? CollateralCost => Collateral?.ToCost(Task, Configuration);

    /// <summary>Randomisation test "task neurons beat random neurons": p = (1 + #{random ≥ task}) / (1 + m); null without random
    /// sets or when an improvement is not finite (a P_base that underflowed to 0).</summary>
    public PermutationTestResult? RandomTest
    {
        get
        {
            var c = Comparison;
            return c.RandomImprovementsPct.Count == 0 || !double.IsFinite(c.TaskNeuronImprovementPct) || c.RandomImprovementsPct.Any(v => !double.IsFinite(v))
                ? null : c.RandomTest;
        }
    }
}

/// <summary>
/// The controls the paper lacks, for one configuration (layer, count, multiplier, positions) of a task: its differential top-k
/// neurons vs random neuron sets of the same size in the same layer (one per seed) and vs its bottom-k neurons (lowest
/// differential score); the randomisation p of "task neurons beat random neurons" (<see cref="PermutationTest.AgainstControls"/>);
/// and the collateral cost of the task configuration on neutral text (<see cref="CollateralRunner"/>). The task's baseline is
/// scored once; every neuron set is evaluated in the same batches, so the task-neuron numbers equal
/// <see cref="TaskAmplification.Evaluate"/>'s (first-token scoring).
/// </summary>
public static class ControlsRunner
{
    /// <summary>Runs the controls; typical use: the demo calls it with each task's best configuration.</summary>
    public static ControlsResult Run(TransformerModel model, ModelTokenizer tokenizer, TaskSuite suite, int layer, int count, float multiplier,
        PositionsMode positions = PositionsMode.All, ControlsOptions? options = null, Action<string>? progress = null)
    {
        options ??= new ControlsOptions();
        var cfg = model.Config;
        if (layer < 0 || layer >= cfg.NLayers) throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} is out of range: the model has {cfg.NLayers} layers (0..{cfg.NLayers - 1})");
        if (count < 1 || count > cfg.DMlp) throw new ArgumentOutOfRangeException(nameof(count), $"count must be in 1..{cfg.DMlp}, got {count}");
        if (options.Seeds < 0) throw new ArgumentOutOfRangeException(nameof(options), "seeds must be ≥ 0");
        if (options.ExcludeTaskNeurons && options.Seeds > 0 && 2 * count > cfg.DMlp)
            throw new ArgumentOutOfRangeException(nameof(count), $"count {count} leaves fewer than {count} neurons outside the task's list (d_mlp {cfg.DMlp})");

        progress?.Invoke($"discovering neurons of {suite.Name}");
        var diff = new NeuronDiscovery(model, tokenizer, options.Cache) { Bos = options.Bos }.ForTask(suite);
        if (options.TaskNeurons is { } given && given.Length != count)
            throw new ArgumentException($"{given.Length} given task neurons but count {count}", nameof(options));
        int[] taskNeurons = options.TaskNeurons ?? diff.TopIndices(layer, count);
        var configuration = new SweepConfiguration(layer, count, multiplier, SweepDefinition.PositionsName(positions),
            options.TaskNeurons is null ? "differential" : options.GivenNeuronSource);

        var eval = new TaskEvaluator(model, tokenizer, suite, options.Bos);
        Amplification Amp(int[] n) => Amplification.Single(layer, n, multiplier, positions);
        long total = 1 + options.Seeds + (options.BottomK ? 1 : 0)
                     + (options.Collateral ? 1 + (options.ControlCollateral ? (options.BottomK ? 1 : 0) + (options.Seeds > 0 ? 1 : 0) : 0) : 0);
        long done = 0;
        void Step(string stage) => options.Steps?.Invoke($"{suite.Name}: {stage}", ++done, total);
        options.Steps?.Invoke($"{suite.Name}: task neurons", 0, total);
        var taskOutcome = eval.Evaluate(Amp(taskNeurons));
        Step("task neurons");

        var random = new List<RandomControl>(options.Seeds);
        var sets = Enumerable.Range(options.FirstSeed, options.Seeds)
            .Select(seed => (Seed: seed, Neurons: ControlNeurons.Random(seed, layer, count, cfg.DMlp, options.ExcludeTaskNeurons ? taskNeurons : null))).ToArray();
        if (options.BatchRandomSets && sets.Length > 0)
        {
            var outcomes = eval.EvaluateSets(layer, sets.Select(x => x.Neurons).ToArray(), multiplier, positions, options.RowsPerBatch);
            for (int i = 0; i < sets.Length; i++) random.Add(new RandomControl(sets[i].Seed, sets[i].Neurons, outcomes[i]));
            done += sets.Length - 1;
            Step("random sets");   // evaluated together: one report for the batch
        }
        else
            foreach (var (seed, n) in sets) { random.Add(new RandomControl(seed, n, eval.Evaluate(Amp(n)))); Step("random sets"); }
        progress?.Invoke($"scored {suite.Name} with {random.Count} random set(s)");

        int[]? bottom = options.BottomK ? ControlNeurons.Bottom(diff, layer, count) : null;
        var bottomOutcome = bottom is null ? null : eval.Evaluate(Amp(bottom));
        if (bottom is not null) Step("bottom-k");

        CollateralMeasurement? Col(int[] n)
        {
            var c = CollateralRunner.Measure(model, tokenizer, Amp(n), options.NeutralTexts, options.Bos);
            Step("collateral");
            return c;
        }
        CollateralMeasurement? col = null, colBottom = null, colRandom = null;
        if (options.Collateral)
        {
            progress?.Invoke("measuring collateral cost on neutral text");
            col = Col(taskNeurons);
            if (options.ControlCollateral)
            {
                if (bottom is not null) colBottom = Col(bottom);
                if (random.Count > 0) colRandom = Col(random[0].Neurons);
            }
        }
        return new ControlsResult(suite.Name, configuration, taskNeurons, taskOutcome, random, bottom, bottomOutcome, col, colBottom, colRandom);
    }
}
