using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Sna.Runtime.Checkpoints;

namespace Sna.Cli.Tests;

/// <summary>
/// A property over the whole CLI: walk the System.CommandLine tree and, for every command and each of its options, run the
/// command in-process (against a tiny random GPT-2 written at test time with the bundled tokenizer, in a temp directory) with
/// random, out-of-range, negative, non-finite, empty and huge values. Every run must end with exit 0 or 2 — never 70 (a bug),
/// 1 or anything else — print no stack trace, and leave every input file byte-identical (SHA-256 before and after). Seeded, so
/// a failure reproduces; the failures are listed with the exact command line. <c>serve</c> (starts a server) is not run.
/// </summary>
[Collection("cli")]
public sealed class CliPropertyTests : IDisposable
{
    private const int Seed = 20261206;
    private const int ValuesPerOption = 2;

    private readonly TempDir _tmp = new();
    private readonly string _in, _model, _task, _task2, _pool, _db, _tasksDir;
    private readonly Dictionary<string, string?> _oldEnv = new();

    public CliPropertyTests()
    {
        _in = Path.Combine(_tmp.Path, "in");
        Directory.CreateDirectory(_in);
        foreach (var (k, v) in new Dictionary<string, string>
                 {
                     // caches and the hub cache are the test process's temporary ones (tests/Shared/TestEnvironment)
                     ["SNA_LOG_DIR"] = Path.Combine(_tmp.Path, "logs"), ["HF_HUB_OFFLINE"] = "1", ["SNA_PROGRESS_INTERVAL"] = "1000",
                 })
        {
            _oldEnv[k] = Environment.GetEnvironmentVariable(k);
            Environment.SetEnvironmentVariable(k, v);
        }
        _model = WriteTinyModel(Path.Combine(_in, "model"));
        _tasksDir = Path.Combine(_in, "tasks");
        _task = InputHandlingTests.WriteTask(_tasksDir, "caps.json");
        _task2 = InputHandlingTests.WriteTask(_tasksDir, "caps2.json", name: "more-capitals",
            extraPrompt: ",\n    {\"text\": \"The capital of Germany is\", \"target\": \" Berlin\"}");
        _pool = Path.Combine(_in, "pool.json");
        File.WriteAllText(_pool, """[{"text": "What is 2 + 3? Answer:", "target": " 5"}, {"text": "The sky is", "target": " blue"}]""");
        _db = Path.Combine(_in, "s.db");
        var r = CliHarness.Run("sweep", "--model", _model, "--tasks", _task, "--layers", "0-1", "--counts", "2", "--multipliers", "2", "--db", _db);
        Assert.True(r.Exit == 0, "setup sweep: " + r.Err);
    }

    public void Dispose()
    {
        foreach (var (k, v) in _oldEnv) Environment.SetEnvironmentVariable(k, v);
        _tmp.Dispose();
    }

    /// <summary>A 2-layer GPT-2 (d_model 16, d_mlp 64, 64 positions) with random weights and the bundled GPT-2 tokenizer.</summary>
    private static string WriteTinyModel(string dir)
    {
        Directory.CreateDirectory(dir);
        const int D = 16, M = 64, L = 2, P = 64, V = 50257;
        var rng = new Random(7);
        float[] R(int n, double s) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * s); return a; }
        float[] Ones(int n) { var a = new float[n]; Array.Fill(a, 1f); return a; }
        var w = new SafetensorsWriter().AddMetadata("format", "pt");
        w.Add("wte.weight", [V, D], R(V * D, 0.5)).Add("wpe.weight", [P, D], R(P * D, 0.1));
        for (int l = 0; l < L; l++)
        {
            string p = $"h.{l}.";
            w.Add(p + "ln_1.weight", [D], Ones(D)).Add(p + "ln_1.bias", [D], R(D, 0.1))
             .Add(p + "attn.c_attn.weight", [D, 3 * D], R(D * 3 * D, 0.3)).Add(p + "attn.c_attn.bias", [3 * D], R(3 * D, 0.1))
             .Add(p + "attn.c_proj.weight", [D, D], R(D * D, 0.3)).Add(p + "attn.c_proj.bias", [D], R(D, 0.1))
             .Add(p + "ln_2.weight", [D], Ones(D)).Add(p + "ln_2.bias", [D], R(D, 0.1))
             .Add(p + "mlp.c_fc.weight", [D, M], R(D * M, 0.3)).Add(p + "mlp.c_fc.bias", [M], R(M, 0.1))
             .Add(p + "mlp.c_proj.weight", [M, D], R(M * D, 0.2)).Add(p + "mlp.c_proj.bias", [D], R(D, 0.1));
        }
        w.Add("ln_f.weight", [D], Ones(D)).Add("ln_f.bias", [D], R(D, 0.1));
        w.Save(Path.Combine(dir, "model.safetensors"));
        File.WriteAllText(Path.Combine(dir, "config.json"),
            $$"""{"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": {{D}}, "n_head": 2, "n_layer": {{L}}, "n_inner": {{M}}, "n_positions": {{P}}, "vocab_size": {{V}}, "bos_token_id": 50256}""");
        foreach (var f in new[] { "vocab.json", "merges.txt" }) File.Copy(Path.Combine(TestPaths.BundledModelDir, f), Path.Combine(dir, f));
        return dir;
    }

    /// <summary>Minimal valid arguments per command path ({OUT} = this case's fresh output directory).</summary>
    private Dictionary<string, string[]> BaseArgs() => new(StringComparer.Ordinal)
    {
        ["tokenize"] = ["--model", _model, "--text", "The capital of France is"],
        ["baseline"] = ["--model", _model, "--prompt", "The capital of France is", "--target", " Paris"],
        ["advise"] = ["--model", _model, "--task", _task],
        ["amplify"] = ["--model", _model, "--prompt", "The capital of France is", "--target", " Paris", "--layer", "0", "--neurons", "1,2", "--multiplier", "2"],
        ["neurons"] = ["--model", _model, "--task", _task, "--layer", "0"],
        ["tasks"] = ["--tasks-dir", _tasksDir],
        ["tasks show"] = [_task],
        ["tasks select"] = ["--model", _model, "--pool", _pool, "--band", "0:1", "--out", "{OUT}/sel.json"],
        ["interference"] = ["--model", _model, "--sources", $"{_task}@0:2:2", "--targets", $"{_task},{_task2}"],
        ["controls"] = ["--model", _model, "--task", _task, "--layer", "0", "--count", "2", "--multiplier", "2", "--seeds", "2"],
        ["sweep"] = ["--model", _model, "--tasks", _task, "--layers", "0", "--counts", "2", "--multipliers", "2", "--db", "{OUT}/s.db"],
        ["merge"] = ["{OUT}/m.db", _db],
        ["export"] = ["--db", _db, "--out", "{OUT}/e.csv"],
        ["summary"] = ["--db", _db],
        ["report"] = ["--db", _db, "--out-dir", "{OUT}/report", "--resamples", "20"],
        ["classify"] = ["--model", _model, "--n", "6", "--train-n", "6", "--layers", "0", "--multipliers", "1,2"],
        ["demo"] = ["--model", _model, "--tasks", $"{_task},{_task2}", "--layers", "0", "--counts", "2", "--multipliers", "2",
                    "--control-seeds", "2", "--generate-tokens", "0", "--out-dir", "{OUT}/demo"],
        ["models"] = [],
        ["download"] = ["gpt2"],
        ["inspect"] = ["--model", _model],
    };

    /// <summary>Hostile values for numeric and list options; <see cref="PathValues"/> for files and directories.</summary>
    private static readonly string[] NumberValues =
    [
        "", " ", "0", "-0", "-1", "1", "2", "NaN", "nan", "Infinity", "-Infinity", "∞", "1e309", "-1e309", "1e-46", "4.9e-324",
        "99999999999", "2147483647", "2147483648", "-2147483648", "-2147483649", "18446744073709551616", "0x10", "1.5", "1e3",
        "1,2,3", "1:2:99999999999", "1:2:0", "0:0:5", "0-99999999999", "99999999999-0", "3-1", ",", ",,", "1,,2", "0:0", "1:0",
        "0.07:0.10", "0.5:0.1", "-1:2", "abc", "all", "1,1", "--", "1e-40",
    ];

    private string[] PathValues(string outDir) =>
    [
        "", " ", "{OUT}/x", "{OUT}/nested/dir/x.out", "{OUT}", _task, _db, Path.Combine(_model, "config.json"), _model, _in,
        "/proc/sna-cannot-create", "zone 1.json", new string('a', 300), Path.Combine(outDir, "a b", "c.db"),
    ];

    private static readonly string[] TextValues = ["", " ", "x", "all", "none", "differential", "random:-1", "random:99999999999", "first-token", "sequence", "last", "all,last", "f16", "bf16", "\t", new string('z', 5000), "é✓", "@n.json"];

    private static bool IsPathOption(Option o) =>
        o.Name is "--out" or "--out-dir" or "--db" or "--csv" or "--pool" or "--data" or "--tasks-dir" or "--task-texts"
            or "--neutral-texts" or "--contrast-texts" or "--interference" or "--controls" or "--model" or "--neuron-set"
        || o.Description?.Contains("file", StringComparison.OrdinalIgnoreCase) == true && o.ValueType == typeof(string);

    private static bool IsNumeric(Option o) =>
        o.ValueType != typeof(string) && o.ValueType != typeof(string[]) && o.ValueType != typeof(bool)
        || o.Name is "--layers" or "--neurons" or "--band" or "--zones" or "--margin-zones" or "--sources" or "--source" or "--shard"
            or "--counts" or "--multipliers";

    private static IEnumerable<(string Path, Command Cmd)> Walk(Command c, string prefix)
    {
        foreach (var s in c.Subcommands)
        {
            string p = prefix.Length == 0 ? s.Name : prefix + " " + s.Name;
            yield return (p, s);
            foreach (var x in Walk(s, p)) yield return x;
        }
    }

    private Dictionary<string, string> InputHashes()
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in Directory.EnumerateFiles(_in, "*", SearchOption.AllDirectories))
            if (!f.EndsWith("-shm", StringComparison.Ordinal) && !f.EndsWith("-wal", StringComparison.Ordinal))
                d[f] = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)));
        return d;
    }

    /// <summary>The files a command line reads: the model's files (given or not: the model is always read) and every file or
    /// directory under in/ named by the command's base arguments.</summary>
    private HashSet<string> InputsOf(IEnumerable<string> baseArgs)
    {
        var inputs = new HashSet<string>(Directory.EnumerateFiles(_model), StringComparer.Ordinal);
        foreach (var a in baseArgs)
        {
            if (!a.StartsWith(_in, StringComparison.Ordinal)) continue;
            foreach (var part in a.Split(',', '@').Select(p => p.Split(':')[0]))
                if (File.Exists(part)) inputs.Add(part);
                else if (Directory.Exists(part)) inputs.UnionWith(Directory.EnumerateFiles(part, "*", SearchOption.AllDirectories));
        }
        return inputs;
    }

    /// <summary>Puts in/ back as it was (an output option may name a file there that is not this command's input).</summary>
    private void Restore(string pristine)
    {
        foreach (var f in Directory.EnumerateFiles(_in, "*", SearchOption.AllDirectories).ToList())
        {
            string orig = Path.Combine(pristine, Path.GetRelativePath(_in, f));
            if (!File.Exists(orig)) File.Delete(f);
            else if (!File.ReadAllBytes(f).AsSpan().SequenceEqual(File.ReadAllBytes(orig))) File.Copy(orig, f, overwrite: true);
        }
        foreach (var d in Directory.EnumerateDirectories(_in, "*", SearchOption.AllDirectories).OrderByDescending(x => x.Length).ToList())
            if (!Directory.Exists(Path.Combine(pristine, Path.GetRelativePath(_in, d)))) Directory.Delete(d, recursive: true);
    }

    [Fact]
    public void Every_option_of_every_command_with_hostile_values_exits_0_or_2_without_a_trace_and_leaves_inputs_unchanged()
    {
        var rng = new Random(Seed);
        var root = Program.BuildRoot();
        var bases = BaseArgs();
        var commands = Walk(root, "").Where(c => c.Path != "serve").ToList();
        var missing = commands.Where(c => !bases.ContainsKey(c.Path)).Select(c => c.Path).ToList();
        Assert.True(missing.Count == 0, $"no base arguments for: {string.Join(", ", missing)} (add them to BaseArgs)");

        var before = InputHashes();
        string pristine = Path.Combine(_tmp.Path, "in.orig");
        foreach (var f in before.Keys)
        {
            string dst = Path.Combine(pristine, Path.GetRelativePath(_in, f));
            Directory.CreateDirectory(Path.GetDirectoryName(dst)!);
            File.Copy(f, dst);
        }
        var failures = new List<string>();
        int cases = 0;
        string cwd = Directory.GetCurrentDirectory();
        try
        {
            foreach (var (path, cmd) in commands)
            {
                var options = cmd.Options.Where(o => !o.Hidden && o.Name is not ("--help" or "--version")).ToList();
                // the whole pipeline (demo) and the figure writers (report, classify) get one value per option, the rest two
                int perOption = path is "demo" or "report" or "classify" ? 1 : ValuesPerOption;
                foreach (var opt in options)
                    for (int v = 0; v < perOption; v++)
                    {
                        string outDir = Path.Combine(_tmp.Path, "out", (cases++).ToString(CultureInfo.InvariantCulture));
                        Directory.CreateDirectory(outDir);
                        // relative paths land in this case's output directory, never in the test's working directory
                        Directory.SetCurrentDirectory(outDir);
                        string value = opt.ValueType == typeof(bool) ? ""
                            : IsPathOption(opt) ? Pick(rng, PathValues(outDir))
                            : IsNumeric(opt) ? (rng.Next(3) == 0 ? RandomNumber(rng) : Pick(rng, NumberValues))
                            : Pick(rng, TextValues);
                        var args = Build(path, bases[path], opt, value, outDir);
                        var r = CliHarness.Run(args);
                        string all = r.Out + r.Err;
                        string line = string.Join(' ', args.Select(Quote));
                        if (r.Exit is not (0 or 2))
                            failures.Add($"exit {r.Exit}: sna {line}\n    {FirstLines(r.Err)}");
                        else if (all.Contains("   at ", StringComparison.Ordinal) || all.Contains("Exception:", StringComparison.Ordinal))
                            failures.Add($"stack trace: sna {line}\n    {FirstLines(r.Err)}");
                        var after = InputHashes();
                        foreach (var f in InputsOf(bases[path]))
                            if (!after.TryGetValue(f, out var h2) || h2 != before[f])
                                failures.Add($"input changed ({Path.GetRelativePath(_in, f)}): sna {line}");
                        Restore(pristine);
                    }
            }
        }
        finally { Directory.SetCurrentDirectory(cwd); }
        Assert.True(cases >= 150, $"only {cases} cases");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} runs failed (seed {Seed}):\n" + string.Join("\n", failures.Take(60)));
    }

    private string[] Build(string path, string[] baseArgs, Option opt, string value, string outDir)
    {
        var args = new List<string>(path.Split(' '));
        var rest = baseArgs.Select(a => a.Replace("{OUT}", outDir, StringComparison.Ordinal)).ToList();
        // drop the option (and its value) from the base when it is there, then add it with the hostile value
        var names = opt.Aliases.Append(opt.Name).ToHashSet(StringComparer.Ordinal);
        for (int i = 0; i < rest.Count; i++)
            if (names.Contains(rest[i]))
            {
                rest.RemoveAt(i);
                if (opt.ValueType != typeof(bool) && i < rest.Count) rest.RemoveAt(i);
                break;
            }
        args.AddRange(rest);
        args.Add(opt.Name);
        if (opt.ValueType != typeof(bool)) args.Add(value.Replace("{OUT}", outDir, StringComparison.Ordinal));
        return args.ToArray();
    }

    private static string Pick(Random rng, string[] values) => values[rng.Next(values.Length)];

    private static string RandomNumber(Random rng) => rng.Next(4) switch
    {
        0 => rng.Next(-5, 100).ToString(CultureInfo.InvariantCulture),
        1 => (rng.NextDouble() * 10 - 2).ToString("R", CultureInfo.InvariantCulture),
        2 => rng.NextInt64(long.MinValue, long.MaxValue).ToString(CultureInfo.InvariantCulture),
        _ => $"{rng.Next(-2, 4)}-{rng.Next(-2, 4)}",
    };

    private static string FirstLines(string s) => string.Join("\n    ", s.Split('\n').Take(3)).Trim();

    private static string Quote(string s) => s.Length > 0 && s.All(c => char.IsLetterOrDigit(c) || "-_./:,=@".Contains(c)) ? (s.Length > 80 ? s[..40] + "…" : s) : "'" + (s.Length > 80 ? s[..40] + "…" : s) + "'";
}
