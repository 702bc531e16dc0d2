using Sna.Runtime;
using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Sna.Cli.Output;
using Sna.Research.Formatting;
using Sna.Research.Classification;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna classify --model M --data FILE --n 200 --seed 42 [--layers ...] [--multipliers ...] [--method contrastive|neutral]
/// [--k 10] [--amplify predicted|both|fixed:LABEL|true-label] [--grid paper] --db results.db [--out DIR] [--json]</c>: the SNA paper's SST-2 experiment for any
/// two-label GLUE-format TSV. JSON: <c>{"n","rows","zones":{"1":{"n","accuracy_before"},…},"grid":[{"layer","multiplier",
/// "zones":{"1":{"accuracy_after","delta_pp"},…}}],…,"run":{…}}</c>.
/// </summary>
public static class ClassifyCommand
{
    public static Command Build()
    {
        var model = Options.Model();
        var data = new Option<string?>("--data", "-d") { Description = "GLUE-format TSV: a header naming the columns sentence and label (tab-separated), then one text<TAB>label per line. Default: the bundled SST-2 validation set data/sst2/dev.tsv." };
        var n = Options.Int("--n", "Evaluation rows, sampled with --seed.", 1, 1_000_000, 200);
        var seed = Options.Seed("--seed", "Sampling seed (Fisher–Yates with xoshiro256**; the same rows on every machine).", 42UL);
        var trainN = Options.Int("--train-n", "Rows for choosing neurons: the rows after the evaluation rows in the same permutation (disjoint).", 1, 1_000_000, 100);
        var layers = Options.Layers(null, "Layers (default: five spread over the depth; 24 layers: 2,7,12,16,21)");
        var mults = Options.Multipliers("1,2,4,8,12,16");
        var method = new Option<string>("--method") { Description = "contrastive (class vs class, exclusive lists) or neutral (class vs neutral texts).", DefaultValueFactory = _ => "contrastive" };
        var k = Options.Count(10, "Neurons per class per layer.");
        var amplify = new Option<string>("--amplify") { Description = "Whose neurons are amplified: predicted (the class the unmodified model predicts; default), both (both classes), fixed:LABEL (one class for every example; LABEL = a label value or word) or true-label (ORACLE: each example's true class; it reads the label, so its accuracy is an upper bound, not a classifier's).", DefaultValueFactory = _ => "predicted" };
        var gridPreset = new Option<string?>("--grid") { Description = "Grid preset instead of --layers/--multipliers: paper (the paper's SST-2 grid: five layers spread over the depth × multipliers 2,4,8,16, no identity cell)." };
        var template = new Option<string>("--template") { Description = "Prompt template; {sentence} is replaced by the text.", DefaultValueFactory = _ => "Review: {sentence} Sentiment:" };
        var labelValues = new Option<string>("--label-values") { Description = "The two label values of the data, comma-separated (class 0, class 1).", DefaultValueFactory = _ => "0,1" };
        var labelWords = new Option<string>("--label-words") { Description = "The words scored for the two labels, separated by '|', used verbatim (mind the leading space).", DefaultValueFactory = _ => " negative| positive" };
        var textCol = new Option<string>("--text-column") { Description = "Header name of the text column.", DefaultValueFactory = _ => "sentence" };
        var labelCol = new Option<string>("--label-column") { Description = "Header name of the label column.", DefaultValueFactory = _ => "label" };
        var zones = Options.MarginZones("--zones");
        var db = Options.DbOptional("SQLite file to store the run in (tables classify_runs, classify_examples, classify_grid).");
        var outDir = Options.OutDirOptional("Directory for summary.json and the figure (accuracy change vs multiplier per zone, SVG).");
        var batch = Options.Int("--batch", "Sequences per forward pass.", 1, 4096, 32);
        var engine = new Option<string>("--engine") { Description = "How the grid is evaluated: prefix (the sweep engine's prefix cache: resume from layer L), batched (pairs as rows of full forwards) or naive (one full forward per pair). Same results up to float rounding.", DefaultValueFactory = _ => "prefix" };
        var naive = Options.Int("--naive-sample", "Time this many (example, configuration) pairs as one full forward each, for the naive rate (0 = skip).", 0, 10_000, 4);
        var bos = Options.Bos(); var noBos = Options.NoBos(); var json = Options.Json(); var dtype = Options.WeightsDType(); var format = TableOutput.FormatOption();
        var cmd = new Command("classify", "Zero-shot two-label classification with SNA: accuracy per margin zone before and after amplifying the predicted class's neurons, over layers × multipliers.")
        { model, data, n, seed, trainN, layers, mults, gridPreset, method, k, amplify, template, labelValues, labelWords, textCol, labelCol, zones, db, outDir, batch, engine, naive, bos, noBos, json, dtype, format };
        cmd.SetAction(r =>
        {
            bool? bosAsked = Common.BosAsked(r, bos, noBos);
            var words = r.GetValue(labelWords)!.Split('|');
            var values = r.GetValue(labelValues)!.Split(',', StringSplitOptions.TrimEntries);
            if (words.Length != 2) throw new SnaInputException($"--label-words needs two words separated by '|', got '{r.GetValue(labelWords)}'");
            if (values.Length != 2) throw new SnaInputException($"--label-values needs two values separated by ',', got '{r.GetValue(labelValues)}'");
            var spec = new ClassifierSpec
            {
                Template = r.GetValue(template)!, LabelValues = values, LabelWords = words,
                Zones = r.GetValue(zones)!,
            };
            var (target, fixedClass) = AmplifyTargets.Parse(r.GetValue(amplify)!, spec);
            string? preset = r.GetValue(gridPreset)?.Trim().ToLowerInvariant();
            if (preset is not null && preset != "paper") throw new SnaInputException($"--grid must be paper, got '{r.GetValue(gridPreset)}'");
            if (preset is not null && (r.GetResult(layers) is { Implicit: false } || r.GetResult(mults) is { Implicit: false }))
                throw new SnaInputException("--grid paper sets the layers and multipliers; do not also give --layers or --multipliers");
            var options = new ClassifyOptions
            {
                N = r.GetValue(n), Seed = r.GetValue(seed), TrainN = r.GetValue(trainN), GridPreset = preset,
                Layers = r.GetValue(layers)!.IsDefault ? null : r.GetValue(layers)!.Indices,
                Multipliers = r.GetValue(mults)!.Select(x => (float)x).ToArray(),
                Method = r.GetValue(method)!.ToLowerInvariant() switch
                {
                    "contrastive" => NeuronMethod.Contrastive,
                    "neutral" => NeuronMethod.Neutral,
                    var s => throw new SnaInputException($"--method must be contrastive or neutral, got '{s}'"),
                },
                K = r.GetValue(k),
                Amplify = target, FixedClass = fixedClass,
                Spec = spec, BatchSize = r.GetValue(batch), NaiveSample = r.GetValue(naive),
                Engine = r.GetValue(engine)!.ToLowerInvariant() switch
                {
                    "prefix" => ClassifyEngine.Prefix,
                    "batched" => ClassifyEngine.Batched,
                    "naive" => ClassifyEngine.Naive,
                    var s => throw new SnaInputException($"--engine must be prefix, batched or naive, got '{s}'"),
                },
            };
            string dataPath = r.GetValue(data) ?? BundledDataPath();
            if (r.GetValue(db) is { } dbOut) AtomicFile.RefuseInputs(dbOut, [dataPath], "--db");
            var dataset = LabeledDataset.LoadTsv(dataPath, r.GetValue(textCol)!, r.GetValue(labelCol)!);
            var (m, tok, _) = Common.Load(r.GetValue(model), r.GetValue(dtype)!);
            using var _m = m;
            var policy = tok.BosPolicyFor(bosAsked);
            options = options with { Spec = spec with { Bos = policy } };
            if (preset == "paper")
            {
                var (pl, pm) = ClassifyOptions.PaperGrid(m.Config.NLayers);
                options = options with { Layers = pl, Multipliers = pm };
            }
            options.Validate(m.Config);
            if (options.AmplifyIsOracle) Console.Error.WriteLine("warning: " + AmplifyTargets.OracleNote);
            var fmt = TableOutput.Resolve(r.GetValue(format), r.GetValue(json));
            bool asJson = fmt == OutputFormat.Json;
            TableOutput.Note(fmt, $"classify {Path.GetFileName(dataPath)} ({dataset.Count} rows) on {m.Provenance.Source}: n={options.N}, seed={options.Seed}, train={options.TrainN}, method={options.Method.ToString().ToLowerInvariant()}, k={options.K}, amplify={options.AmplifyName}{(options.AmplifyIsOracle ? " (ORACLE: reads the label)" : "")}");
            ClassifyResult result;
            using (var progress = new ProgressLine("steps"))
                result = ClassificationExperiment.Run(m, tok, dataset, options, new SyncProgress(p => progress.Report(p.Stage, p.Done, p.Total)));

            var summary = result.ToJson();
            summary["run"] = Common.RunRecord(m, tok, policy, "all", (long)options.Seed);
            long? runId = null;
            if (r.GetValue(db) is { } dbPath)
            {
                runId = ClassifyStore.Save(dbPath, result, m.Provenance.Source, m.Provenance.ContentHash, summary);
                summary["db"] = new JsonObject { ["path"] = Path.GetFullPath(dbPath), ["run_id"] = runId };
            }
            if (r.GetValue(outDir) is { } dir)
            {
                Directory.CreateDirectory(dir);
                string fig = Path.Combine(dir, $"classify_zones_layer{result.BestLayer}.svg");
                AtomicFile.WriteAllText(fig, ClassifyFigure.Svg(result), [dataPath]);
                string sum = Path.Combine(dir, "summary.json");
                summary["out"] = new JsonObject { ["summary"] = Path.GetFullPath(sum), ["figure"] = Path.GetFullPath(fig) };
                AtomicFile.WriteAllText(sum, summary.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), [dataPath]);
            }
            if (asJson) { Common.PrintJson(summary); return 0; }
            PrintTables(fmt, result, runId, r.GetValue(db), r.GetValue(outDir));
            return 0;
        });
        return cmd;
    }

    /// <summary>The bundled SST-2 validation set, shipped beside the executable (and in the repository under data/).</summary>
    public static string BundledDataPath()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "data", "sst2", "dev.tsv");
        if (File.Exists(beside)) return beside;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, "data", "sst2", "dev.tsv");
            if (File.Exists(p)) return p;
        }
        throw new SnaInputException("the bundled data/sst2/dev.tsv was not found; pass --data FILE");
    }

    private static string Pct(double? v) => v is double d ? Num.Share(d) : Num.Missing;
    private static string Pp(double? v) => v is double d && double.IsFinite(d) ? (d > 0 ? "+" : "") + Num.Sig(d, 3) : Num.Missing;

    private static void PrintTables(OutputFormat fmt, ClassifyResult r, long? runId, string? db, string? outDir)
    {
        var spec = r.Options.Spec;
        var inv = CultureInfo.InvariantCulture;
        var zt = new TextTable("baseline", "zone", "margin", "n", "accuracy") { Title = "Baseline (unmodified model)" };
        string[] range = [$"all", $"< {Num.Sig(spec.Zones.Low)}", $"{Num.Sig(spec.Zones.Low)}-{Num.Sig(spec.Zones.High)}", $"> {Num.Sig(spec.Zones.High)}"];
        for (int z = 1; z <= 3; z++) zt.Add(z.ToString(inv), range[z], r.Before[z].N.ToString(inv), Pct(r.Before[z].Accuracy));
        zt.Add("all", "", r.Before[0].N.ToString(inv), Pct(r.Before[0].Accuracy));

        // Neuron lists are joined with ", " so that a terminal table can only wrap between neurons, never inside a number.
        var nt = new TextTable("neurons", "layer", $"contrastive {spec.LabelWords[0].Trim()}", $"contrastive {spec.LabelWords[1].Trim()}", "neutral-method overlap")
        { Title = $"Neurons (k={r.Options.K}; grid uses {r.Options.Method.ToString().ToLowerInvariant()})" };
        for (int i = 0; i < r.Layers.Length; i++)
        {
            var c = r.NeuronsContrastive[i]; var nl = r.NeuronsNeutral[i];
            nt.Add(r.Layers[i].ToString(inv), string.Join(", ", c.Class0), string.Join(", ", c.Class1), $"{nl.Shared}/{Math.Min(nl.Class0.Length, nl.Class1.Length)} ({Num.Share(nl.Overlap)})");
        }

        var gt = new TextTable("grid", "layer", "multiplier", "Zone 1 pp", "Zone 2 pp", "Zone 3 pp", "all pp", "fixed/broken") { Title = "Accuracy change (percentage points) by baseline margin zone" };
        foreach (var c in r.Grid)
            gt.Add(c.Layer.ToString(inv), Num.Sig(c.Multiplier, 4), Pp(c.DeltaPp[1]), Pp(c.DeltaPp[2]), Pp(c.DeltaPp[3]), Pp(c.DeltaPp[0]), $"{c.Fixed[0]}/{c.Broken[0]}");
        TableOutput.Write(fmt, zt, nt, gt);

        var best = r.BestZone1();
        TableOutput.Note(fmt, best.Length > 0
            ? "Zone 1 improves most: " + string.Join("; ", best.Select(c => $"L{c.Layer} x{Num.Sig(c.Multiplier, 4)} {Pp(c.DeltaPp[1])} pp"))
            : "Zone 1 is empty in this sample");
        int nInt = r.InterventionCells.Length;
        TableOutput.Note(fmt, r.Before[3].N == 0 ? "Zone 3 is empty in this sample"
            : nInt == 0 ? "the grid has only identity (x1) cells: Zone 3 cannot change"
            : r.Zone3Unchanged ? $"Zone 3 unchanged (0 pp in all {nInt} non-identity configurations{(r.Zone3CellsWithFlips > 0 ? $"; flips cancel in {r.Zone3CellsWithFlips}" : "")})"
            : $"Zone 3 changed in {r.InterventionCells.Count(c => c.DeltaPp[3] is double d && d != 0)} of {nInt} non-identity configurations");
        if (r.Options.AmplifyIsOracle) TableOutput.Note(fmt, AmplifyTargets.OracleNote);
        var t = r.Timing;
        TableOutput.Note(fmt, $"rate: {Num.Sig(t.GridRate, 3)} examples x configurations/s ({r.Options.Engine.ToString().ToLowerInvariant()} engine, {t.GridForwards} {(r.Options.Engine == ClassifyEngine.Prefix ? "base runs + evaluator calls" : "forwards")})"
            + (t.NaiveRate is double nr ? $"; naive (one forward per pair, {t.NaiveSample} timed): {Num.Sig(nr, 3)}/s, x{Num.Sig(t.GridRate / nr, 3)}" : ""));
        if (runId is not null) TableOutput.Note(fmt, $"stored as run {runId} in {db}");
        if (outDir is not null) TableOutput.Note(fmt, $"summary.json and the figure written to {outDir}");
    }

    /// <summary>Reports synchronously on the calling thread (Progress&lt;T&gt; would post to a thread-pool).</summary>
    private sealed class SyncProgress(Action<ClassifyProgress> report) : IProgress<ClassifyProgress>
    {
        public void Report(ClassifyProgress value) => report(value);
    }
}
