using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Sna.Cli.Output;
using Sna.Runtime.Models;
using Sna.Research.Storage;
using Sna.Research.Sweeps;
using Sna.Runtime.Tokenization;

namespace Sna.Cli.Commands;

/// <summary>
/// <c>sna sweep --model DIR --tasks a,b --out results.db [--layers all] [--counts 3,5,...] [--multipliers 1.1:2.4:12]
/// [--positions all|last|all,last] [--neuron-source differential|contrastive|random:SEED] [--no-bos] [--resume]
/// [--shard i/n|auto] [--shard-count N] [--no-cache] [--threads N] [--name NAME]</c>: the paper's full-factorial sweep into SQLite.
/// Ctrl+C stops after the batches in flight, everything committed; rerun with --resume.
/// </summary>
public static class SweepCommand
{
    public static Command Build()
    {
        var model = Common.Model();
        var tasks = new Option<string>("--tasks", "-t") { Description = "Comma-separated task names or task files, or all (the 12 built-in suites).", Required = true };
        var output = new Option<string>("--db", "--out", "-o") { Description = "Results database (SQLite).", Required = true };
        var name = new Option<string>("--name") { Description = "Sweep name.", DefaultValueFactory = _ => "sweep" };
        var layers = new Option<string>("--layers") { Description = "all, or a list/ranges such as 0-5,12.", DefaultValueFactory = _ => "all" };
        var counts = new Option<string>("--counts") { Description = "Neuron counts.", DefaultValueFactory = _ => string.Join(',', SweepDefinition.DefaultCounts) };
        var mults = new Option<string>("--multipliers") { Description = "start:stop:count (evenly spaced, ends included) or a list.", DefaultValueFactory = _ => SweepDefinition.DefaultMultipliers };
        var positions = new Option<string>("--positions") { Description = "all, last or all,last.", DefaultValueFactory = _ => "all" };
        var source = new Option<string>("--neuron-source") { Description = "differential | contrastive (each task vs the others) | bottom (lowest-k control) | random:SEED.", DefaultValueFactory = _ => "differential" };
        var noBos = new Option<bool>("--no-bos") { Description = "Do not prepend BOS (default: prepend, as TransformerLens)." };
        var resume = new Option<bool>("--resume") { Description = "Continue a database holding this sweep's results." };
        var shard = new Option<string?>("--shard") { Description = "i/n, or auto (Slurm array / Kubernetes Indexed Job)." };
        var shardCount = new Option<int?>("--shard-count") { Description = "Shard count for --shard auto (else SLURM_ARRAY_TASK_COUNT / SNA_SHARD_COUNT)." };
        var noCache = MethodOptions.NoCache();
        var threads = new Option<int>("--threads") { Description = "Batches evaluated concurrently.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var cmd = new Command("sweep", "Run a full-factorial amplification sweep (tasks × layers × counts × multipliers) into a SQLite database.")
        { model, tasks, output, name, layers, counts, mults, positions, source, noBos, resume, shard, shardCount, noCache, threads };
        cmd.SetAction((r, ct) =>
        {
            string dir = Common.ResolveModelDir(r.GetValue(model));
            using var m = ModelLoader.Load(dir);
            var def = new SweepDefinition
            {
                Name = r.GetValue(name)!,
                Model = new SweepModel(m.Provenance.Source, m.Provenance.ContentHash),
                Tasks = r.GetValue(tasks)!.Trim().Equals("all", StringComparison.OrdinalIgnoreCase)
                    ? Sna.Research.Method.TaskLibrary.BuiltInNames.ToArray()
                    : r.GetValue(tasks)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Layers = SweepDefinition.ParseLayers(r.GetValue(layers)!),
                Counts = SweepDefinition.ParseCounts(r.GetValue(counts)!),
                Multipliers = SweepDefinition.ParseMultipliers(r.GetValue(mults)!),
                Positions = SweepDefinition.ParsePositions(r.GetValue(positions)!),
                NeuronSource = r.GetValue(source)!.Trim().ToLowerInvariant(),
                Bos = r.GetValue(noBos) ? BosPolicy.None : BosPolicy.Prepend,
            };
            var shardSpec = ShardSpec.Parse(r.GetValue(shard), r.GetValue(shardCount));
            var engine = new SweepEngine(m, def, SweepInputs.Resolve(m, dir, def, useCache: !r.GetValue(noCache)));
            using var store = ResultStore.Open(r.GetValue(output)!);
            var opts = new SweepOptions { Shard = shardSpec, Resume = r.GetValue(resume), Threads = Math.Max(1, r.GetValue(threads)) };
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
