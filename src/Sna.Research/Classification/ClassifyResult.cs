using System.Text.Json.Nodes;

namespace Sna.Research.Classification;

/// <summary>One evaluated example: its data row, true class, baseline decision and prompt length in tokens.</summary>
public sealed record ExampleResult(int Row, int Line, int Label, ClassPrediction Baseline, int Tokens)
{
    public bool Correct => Baseline.Predicted == Label;
}

/// <summary>
/// One grid cell (layer × multiplier): accuracy after amplification in each baseline-margin zone (index 1..3; 0 = all),
/// the change in percentage points, and how many examples went wrong → right (fixed) and right → wrong (broken).
/// </summary>
public sealed record GridCell(int Layer, float Multiplier, ZoneAccuracy[] After, double?[] DeltaPp, int[] Fixed, int[] Broken, ClassPrediction[] Predictions)
{
    public static GridCell Build(int layer, float multiplier, IReadOnlyList<ExampleResult> examples, ClassPrediction[] after, ZoneAccuracy[] before)
    {
        var zones = examples.Select(e => e.Baseline.Zone).ToArray();
        var correct = examples.Select((e, i) => after[i].Predicted == e.Label).ToArray();
        var acc = ZoneAccuracy.PerZone(zones, correct);
        var fixedN = new int[4]; var broken = new int[4];
        for (int i = 0; i < examples.Count; i++)
        {
            bool was = examples[i].Correct, now = correct[i];
            if (was == now) continue;
            var counts = now ? fixedN : broken;
            counts[0]++; counts[zones[i]]++;
        }
        var delta = Enumerable.Range(0, 4).Select(z => DeltaPercentagePoints(before[z], acc[z])).ToArray();
        return new GridCell(layer, multiplier, acc, delta, fixedN, broken, after);
    }

    /// <summary>(accuracy after − accuracy before) × 100, or null for an empty zone.</summary>
    public static double? DeltaPercentagePoints(ZoneAccuracy before, ZoneAccuracy after) =>
        before.N == 0 ? null : (after.Correct - before.Correct) * 100.0 / before.N;   // integers first: 14 of 200 is exactly 7.0
}

/// <summary>
/// Wall times and counts of a run. Rates are examples × configurations per second. <see cref="GridForwards"/>: forward
/// passes of the batched and naive engines; for the prefix engine, base runs plus evaluator calls.
/// </summary>
public sealed record ClassifyTiming(double BaselineSeconds, double DiscoverySeconds, double GridSeconds, long GridForwards, long GridSequences,
    long ExampleConfigurations, double? NaiveSecondsPerPair, int NaiveSample)
{
    /// <summary>Grid rate: examples × configurations / grid wall time (identity cells included, as they are answered too).</summary>
    public double GridRate => GridSeconds > 0 ? ExampleConfigurations / GridSeconds : double.PositiveInfinity;
    /// <summary>Grid rate counting only the pairs that were actually run through a forward pass.</summary>
    public double ForwardRate => GridSeconds > 0 ? GridSequences / GridSeconds : double.PositiveInfinity;
    /// <summary>One full forward per (example, configuration): 1 / seconds per pair, from the timed sample.</summary>
    public double? NaiveRate => NaiveSecondsPerPair is double s && s > 0 ? 1.0 / s : null;
}

/// <summary>Everything a classification experiment produced.</summary>
public sealed record ClassifyResult
{
    public required ClassifyOptions Options { get; init; }
    public required int[] Layers { get; init; }
    public required DataSplit Split { get; init; }
    public required string DataSource { get; init; }
    public required string DataSha256 { get; init; }
    public required int DataRows { get; init; }
    public required int[] LabelTokenIds { get; init; }
    public required ExampleResult[] Examples { get; init; }
    /// <summary>Baseline accuracy per zone (index 1..3; 0 = all).</summary>
    public required ZoneAccuracy[] Before { get; init; }
    /// <summary>The lists the grid amplified (the chosen method), one per grid layer.</summary>
    public required ClassNeuronLists[] Neurons { get; init; }
    public required ClassNeuronLists[] NeuronsNeutral { get; init; }
    public required ClassNeuronLists[] NeuronsContrastive { get; init; }
    public required int[] TrainPerClass { get; init; }
    public required GridCell[] Grid { get; init; }
    public required ClassifyTiming Timing { get; init; }

    /// <summary>The cells where Zone 1 accuracy rises most (largest delta first; ties: smaller multiplier, then lower layer).</summary>
    public GridCell[] BestZone1(int top = 5) =>
        Grid.Where(c => c.DeltaPp[1] is not null)
            .OrderByDescending(c => c.DeltaPp[1]).ThenBy(c => c.Multiplier).ThenBy(c => c.Layer).Take(top).ToArray();

    /// <summary>The layer of the best Zone 1 cell (Zone 1 empty: the best overall cell), for the figure.</summary>
    public int BestLayer =>
        (BestZone1(1).FirstOrDefault()
         ?? Grid.OrderByDescending(c => c.DeltaPp[0] ?? double.NegativeInfinity).ThenBy(c => c.Multiplier).ThenBy(c => c.Layer).First()).Layer;

    /// <summary>
    /// The cells that intervene: every cell but the identity multiplier (×1 leaves the model exactly as it is, so counting
    /// it in "Zone 3 unchanged" would count a tautology).
    /// </summary>
    public GridCell[] InterventionCells => Grid.Where(c => c.Multiplier != 1f).ToArray();

    /// <summary>
    /// True when Zone 3 accuracy changes by exactly 0.0 pp in every non-identity cell (vacuously true when Zone 3 is empty
    /// or the grid has only identity cells; see <see cref="InterventionCells"/>).
    /// </summary>
    public bool Zone3Unchanged => InterventionCells.All(c => c.DeltaPp[3] is null or 0.0);

    /// <summary>Non-identity cells in which some Zone 3 example changed its prediction's correctness (flips can cancel in the accuracy).</summary>
    public int Zone3CellsWithFlips => InterventionCells.Count(c => c.Fixed[3] + c.Broken[3] > 0);

    /// <summary>
    /// The JSON summary: <c>{"n", "rows", "zones":{"1":{"n","accuracy_before"},…}, "grid":[{"layer","multiplier","zones":{"1":{"accuracy_after","delta_pp"},…}}], …}</c>.
    /// Zone keys "1", "2", "3" are baseline-margin zones and "all" is every example; accuracies of empty zones are null.
    /// </summary>
    public JsonObject ToJson()
    {
        static JsonNode? Num(double? d) => d is double v ? JsonValue.Create(v) : null;
        string[] keys = ["all", "1", "2", "3"];
        var zones = new JsonObject();
        for (int z = 1; z <= 3; z++) zones[keys[z]] = ZoneBefore(z);
        JsonObject ZoneBefore(int z) => new() { ["n"] = Before[z].N, ["correct"] = Before[z].Correct, ["accuracy_before"] = Num(Before[z].Accuracy) };

        var grid = new JsonArray();
        foreach (var c in Grid)
        {
            var cz = new JsonObject();
            for (int z = 1; z <= 3; z++) cz[keys[z]] = CellZone(c, z);
            grid.Add(new JsonObject
            {
                ["layer"] = c.Layer,
                ["multiplier"] = c.Multiplier,
                ["zones"] = cz,
                ["all"] = CellZone(c, 0),
            });
        }
        JsonObject CellZone(GridCell c, int z) => new()
        {
            ["n"] = c.After[z].N,
            ["accuracy_after"] = Num(c.After[z].Accuracy),
            ["delta_pp"] = Num(c.DeltaPp[z]),
            ["fixed"] = c.Fixed[z],
            ["broken"] = c.Broken[z],
        };

        JsonArray NeuronsJson(ClassNeuronLists[] lists) => new(lists.Select(l => (JsonNode)new JsonObject
        {
            ["layer"] = l.Layer,
            ["class0"] = new JsonArray(l.Class0.Select(i => (JsonNode)i).ToArray()),
            ["class1"] = new JsonArray(l.Class1.Select(i => (JsonNode)i).ToArray()),
            ["shared"] = l.Shared,
            ["overlap"] = l.Overlap,
        }).ToArray());

        var best = BestZone1();
        var spec = Options.Spec;
        return new JsonObject
        {
            ["n"] = Examples.Length,
            ["seed"] = Split.Seed,
            ["rows"] = new JsonArray(Split.Eval.Select(r => (JsonNode)r).ToArray()),
            ["train_rows"] = new JsonArray(Split.Train.Select(r => (JsonNode)r).ToArray()),
            ["train_per_class"] = new JsonArray(TrainPerClass[0], TrainPerClass[1]),
            ["data"] = new JsonObject { ["source"] = DataSource, ["sha256"] = DataSha256, ["rows"] = DataRows },
            ["template"] = spec.Template,
            ["labels"] = new JsonArray(Enumerable.Range(0, 2).Select(c => (JsonNode)new JsonObject
            {
                ["value"] = spec.LabelValues[c], ["word"] = spec.LabelWords[c], ["token_id"] = LabelTokenIds[c],
            }).ToArray()),
            ["margin_zones"] = new JsonObject { ["low"] = spec.Zones.Low, ["high"] = spec.Zones.High },
            ["method"] = Options.Method.ToString().ToLowerInvariant(),
            ["k"] = Options.K,
            ["amplify"] = Options.AmplifyName,
            ["amplify_oracle"] = Options.AmplifyIsOracle,
            ["amplify_note"] = Options.AmplifyIsOracle ? AmplifyTargets.OracleNote : null,
            ["grid_preset"] = Options.GridPreset,
            ["positions"] = "all",
            ["engine"] = Options.Engine.ToString().ToLowerInvariant(),
            ["layers"] = new JsonArray(Layers.Select(l => (JsonNode)l).ToArray()),
            ["multipliers"] = new JsonArray(Options.Multipliers.Select(m => (JsonNode)m).ToArray()),
            ["zones"] = zones,
            ["all"] = ZoneBefore(0),
            ["neurons"] = NeuronsJson(Neurons),
            ["neurons_neutral"] = NeuronsJson(NeuronsNeutral),
            ["neurons_contrastive"] = NeuronsJson(NeuronsContrastive),
            ["grid"] = grid,
            ["best_zone1"] = new JsonArray(best.Select(c => (JsonNode)new JsonObject
            {
                ["layer"] = c.Layer, ["multiplier"] = c.Multiplier, ["delta_pp"] = Num(c.DeltaPp[1]),
            }).ToArray()),
            ["best_layer"] = BestLayer,
            ["zone3_unchanged"] = Zone3Unchanged,
            ["zone3_cells_with_flips"] = Zone3CellsWithFlips,
            ["zone3_configurations"] = InterventionCells.Length,
            ["timing"] = new JsonObject
            {
                ["engine"] = Options.Engine.ToString().ToLowerInvariant(),
                ["baseline_seconds"] = Timing.BaselineSeconds,
                ["discovery_seconds"] = Timing.DiscoverySeconds,
                ["grid_seconds"] = Timing.GridSeconds,
                ["grid_forwards"] = Timing.GridForwards,
                ["grid_sequences"] = Timing.GridSequences,
                ["example_configurations"] = Timing.ExampleConfigurations,
                ["rate_example_configs_per_second"] = Timing.GridRate,
                ["naive_rate_example_configs_per_second"] = Num(Timing.NaiveRate),
                ["naive_sample"] = Timing.NaiveSample,
            },
        };
    }
}
