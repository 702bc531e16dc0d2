using Sna.Runtime;
using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Sna.Cli.Output;
using Sna.Runtime.Models;
using Sna.Research.Method;
using Sna.Research.Storage;
using Sna.Research.Sweeps;
using Sna.Runtime.Tokenization;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna sweep --model DIR --tasks a,b --db results.db [--tasks-dir DIR] [--layers all] [--counts 3,5,...] [--multipliers 1.1:2.4:12]
/// [--positions all|last|all,last] [--neuron-source differential|task-vs-rest|bottom|random:SEED] [--no-bos] [--resume]
/// [--shard i/n|auto] [--shard-count N] [--no-cache] [--threads N] [--name NAME]</c>: the paper's full-factorial sweep into SQLite.
/// Ctrl+C stops after the batches in flight, everything committed; rerun with --resume.
/// </summary>
public static class SweepCommand
{
    public static Command Build()
    {
        var model = Options.Model();
        var tasks = Options.Tasks();
        var tasksDir = Options.TasksDir();
        var output = Options.Db("Results database (SQLite), created if needed; with --resume, one holding this sweep.");
        var name = new Option<string>("--name") { Description = "Sweep name.", DefaultValueFactory = _ => "sweep" };
        var layers = Options.Layers("all");
        var counts = Options.Counts(string.Join(',', SweepDefinition.DefaultCounts));
        var mults = Options.Multipliers(SweepDefinition.DefaultMultipliers);
        var positions = new Option<string>("--positions") { Description = "all, last or all,last.", DefaultValueFactory = _ => "all" };
        var source = new Option<string>("--neuron-source") { Description = "differential | task-vs-rest (each task vs the others; formerly \"contrastive\") | bottom (lowest-k control) | random:SEED.", DefaultValueFactory = _ => "differential" };
        var discPositions = Options.DiscoveryPositions(); var discWeighting = Options.DiscoveryWeighting();
        var neuronsFile = new Option<string?>("--neurons-file") { Description = "Sweep exactly the neurons of this neuron set file ('sna neurons --out'): layers default to the set's, counts to its size (or the first K of each --counts); the file's sha256 is part of the sweep definition, so --resume refuses a changed file." };
        var noBos = Options.NoBos();
        var resume = new Option<bool>("--resume") { Description = "Continue a database holding this sweep's results." };
        var shard = new Option<string?>("--shard") { Description = "i/n, or auto (Slurm array / Kubernetes Indexed Job)." };
        var shardCount = Options.IntOptional("--shard-count", "Shard count for --shard auto (else SLURM_ARRAY_TASK_COUNT / SNA_SHARD_COUNT).", 1, 1_000_000);
        var noCache = Options.NoCache();
        var threads = Options.Int("--threads", "Batches evaluated concurrently.", 1, 1024, Math.Clamp(Environment.ProcessorCount, 1, 1024));
        var cmd = new Command("sweep", $"Run a full-factorial amplification sweep (tasks × layers × counts × multipliers, at most {SweepDefinition.MaxConfigurations:N0} configurations) into a SQLite database.")
        { model, tasks, tasksDir, output, name, layers, counts, mults, positions, source, discPositions, discWeighting, neuronsFile, noBos, resume, shard, shardCount, noCache, threads };
        cmd.SetAction((r, ct) =>
        {
            var resolved = TaskResolver.ResolveList(r.GetValue(tasks)!, Options.TaskDirs(r, tasksDir));
            string dbPath = r.GetValue(output)!;
            AtomicFile.RefuseInputs(dbPath, resolved.Select(t => t.File), "--db");
            var positionsList = SweepDefinition.ParsePositions(r.GetValue(positions)!);
            string neuronSource = r.GetValue(source)!.Trim().ToLowerInvariant();
            NeuronSourceSpec.Parse(neuronSource);
            NeuronSetFile? set = null; string? setPath = r.GetValue(neuronsFile);
            IReadOnlyList<int>? layerList = r.GetValue(layers)!.Indices;
            IReadOnlyList<int> countList = r.GetValue(counts)!;
            if (setPath is not null)
            {
                if (setPath.StartsWith('@')) setPath = setPath[1..];
                if (r.GetResult(source) is { Implicit: false } && neuronSource != "file")
                    throw new SnaInputException("--neurons-file", $"--neurons-file sets the neuron source to 'file'; drop --neuron-source {neuronSource}");
                neuronSource = "file";
                AtomicFile.RefuseInputs(dbPath, [setPath], "--db");
                set = NeuronSetFile.Read(setPath);
                if (layerList is null) layerList = set.Layers.Select(x => x.Layer).ToArray();
                else foreach (int l in layerList) set.Layer(l, setPath, "--layers");
                int smallest = layerList.Min(l => set.Layer(l, setPath).Neurons.Count);
                if (r.GetResult(counts) is not { Implicit: false }) countList = [smallest];
                else if (countList.Max() > smallest)
                    throw new SnaInputException("--counts", $"--counts {countList.Max()} but {setPath} holds {smallest} neurons at one of the layers");
            }
            using var lm = Common.Load(r.GetValue(model));
            var m = lm.Model;
            if (set?.ModelMismatch(m, setPath!) is { } mismatch) Console.Error.WriteLine("warning: " + mismatch);
            var def = new SweepDefinition
            {
                Name = r.GetValue(name)!,
                Model = new SweepModel(m.Provenance.Source, m.Provenance.ContentHash),
                Tasks = resolved.Select(t => t.Name).ToArray(),
                TaskSources = resolved.Select(t => new SweepTaskSource(t.Name, t.Sha256, t.Given)).ToArray(),
                Layers = layerList,
                Counts = countList,
                Multipliers = r.GetValue(mults)!,
                Positions = positionsList,
                NeuronSource = neuronSource,
                Bos = lm.Tokenizer.BosPolicyFor(r.GetValue(noBos) ? false : null),
                NeuronSet = set is null ? null : new SweepNeuronSet(NeuronSetFile.FileHash(setPath!), setPath),
            };
            var means = Options.DiscoveryMeans(r, discPositions, discWeighting);
            if (means.Positions != DiscoveryPositions.All) def = def with { DiscoveryPositions = means.PositionsName };
            if (means.Weighting != DiscoveryWeighting.PerText) def = def with { DiscoveryWeighting = means.WeightingName };
            def.Validate(m.Config.NLayers, m.Config.DMlp);
            var shardSpec = ShardSpec.Parse(r.GetValue(shard), r.GetValue(shardCount));
            var engine = new SweepEngine(m, def, SweepInputs.Build(lm, def, resolved, useCache: !r.GetValue(noCache), neuronSet: set));
            using var store = ResultStore.Open(dbPath);
            var opts = new SweepOptions { Shard = shardSpec, Resume = r.GetValue(resume), Threads = r.GetValue(threads) };
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(def.Name)}[/] {engine.Grid.Count} configurations, shard {shardSpec}, definition {def.Hash()[..12]}…, gemm {Markup.Escape(m.Gemm.Name)}");
            SweepRunResult result;
            using (var progress = new ProgressLine("rows"))
                result = engine.Run(store, opts, new Reporter(p => progress.Report(
                    $"{p.Stage} ({p.ConfigsDone}/{p.ConfigsTotal} configs complete)", p.EvaluationsDone, p.EvaluationsTotal)), ct);
            var res = result;
            AnsiConsole.MarkupLine(res.Completed
                ? $"[green]done[/]: {res.EvaluationsWritten} rows written, {res.EvaluationsSkipped} already stored, {res.Elapsed.TotalSeconds:F1} s → {Markup.Escape(store.Path)}"
                : $"[yellow]stopped[/] after {res.Batches} batches ({res.EvaluationsWritten} rows committed); rerun with --resume");
            return Task.FromResult(res.Completed ? 0 : 130);
        });
        return cmd;
    }

    private sealed class Reporter(Action<SweepProgress> f) : IProgress<SweepProgress>
    {
        public void Report(SweepProgress value) => f(value);
    }
}
