using System.CommandLine;
using System.CommandLine.Parsing;
using Sna.Research.Method;
using Sna.Runtime;

namespace Sna.Cli;

/// <summary>
/// The one place where the CLI's options are defined, so every command uses the same name, syntax, range and help text for
/// the same thing:
/// <list type="bullet">
/// <item><c>--count</c>/<c>-k</c>: neurons per layer (<c>sweep --counts</c> is the grid's list);</item>
/// <item><c>--layer</c>/<c>-l</c>: one layer; <c>--layers</c>: <c>all</c> or a list with ranges (<c>1-3,5</c>);</item>
/// <item><c>--db</c>: a SQLite database; <c>--out</c>: an output file; <c>--out-dir</c>: an output directory;</item>
/// <item><c>--task</c>/<c>-t</c> (and <c>--tasks</c>): a built-in name, a task file or a name in <c>./tasks</c> or <c>--tasks-dir</c>;</item>
/// <item><c>--score</c>: first-token or sequence.</item>
/// </list>
/// Numbers are parsed checked (<see cref="InputParsing"/>): a value that does not fit, is not finite or is out of range is
/// a one-line error (exit 2), never a wrap-around, a clamp or a crash. Each numeric option states its range in <c>--help</c>.
/// Old spellings are rewritten by <see cref="RewriteDeprecated"/> with a one-line note.
/// </summary>
public static class Options
{
    // ---------------------------------------------------------------------------------------------------------------
    // Model and run

    public static Option<string?> Model() => new("--model", "-m")
    {
        Description = "Model: a local Hugging Face directory (config.json + model.safetensors + tokenizer files), an alias (gpt2, gpt2-medium, ...) or a hub id org/name[@rev]. Default: the bundled sna-demo-gpt2.",
    };

    /// <summary><c>--json</c>; <paramref name="what"/> names what the document holds, after the one shared sentence.</summary>
    public static Option<bool> Json(string? what = null) => new("--json")
    {
        Description = "Print machine-readable JSON (a stable contract) instead of a table." + (what is null ? "" : $" It holds {what}."),
    };

    /// <summary><c>--prompt</c>/<c>-p</c>: one prompt; <paramref name="description"/> says what the command does with it.</summary>
    public static Option<string> Prompt(string description = "The prompt.", bool required = false) => new("--prompt", "-p")
    {
        Description = description,
        Required = required,
    };

    /// <summary><c>--target</c>: the expected continuation of <c>--prompt</c>.</summary>
    public static Option<string> Target(string description = "The expected continuation; its first token is scored.", bool required = false) => new("--target")
    {
        Description = description,
        Required = required,
    };
    public static Option<bool> NoBos() => new("--no-bos") { Description = "Do not prepend the BOS token (<|endoftext|> for GPT-2). Default: prepend when the tokenizer has one, as TransformerLens does." };
    public static Option<bool> Bos() => new("--bos") { Description = "Prepend the BOS token (the default when the tokenizer has one; an error when it has none)." };

    public static Option<string> WeightsDType() => new("--weights-dtype")
    {
        Description = "Hold weights as stored (default) or convert: as-stored|f32|f16|bf16. Compute is float32 either way.",
        DefaultValueFactory = _ => "as-stored",
    };

    public static Option<bool> NoCache() => new("--no-cache")
    {
        Description = "Do not read or write the discovery cache ($SNA_CACHE_DIR/neurons, default ~/.cache/sna/neurons).",
    };

    public static Option<string> Score() => new("--score")
    {
        Description = "first-token (the paper: P of the target's first token) or sequence (P of the whole target by teacher forcing).",
        DefaultValueFactory = _ => "first-token",
    };

    public static Option<string> Positions(string what = "all (default) or last: scale the neurons at every position or only the last.") =>
        new("--positions") { Description = what, DefaultValueFactory = _ => "all" };

    /// <summary>
    /// Positions of the discovery means: <c>all</c> (default; every real position, BOS included), <c>all-but-bos</c> (without a
    /// leading BOS) or <c>last</c>. <c>sna neurons</c>, where nothing is amplified, also accepts it as <c>--positions</c>.
    /// </summary>
    public static Option<string> DiscoveryPositions(bool positionsAlias = false)
    {
        var o = new Option<string>("--discovery-positions")
        {
            Description = "Positions averaged for the discovery means: all (default; every real position, BOS included), all-but-bos (without a leading BOS) or last.",
            DefaultValueFactory = _ => "all",
        };
        if (positionsAlias) o.Aliases.Add("--positions");
        return o;
    }

    /// <summary>Weighting of the discovery means: <c>per-text</c> (default) or <c>per-token</c>; <c>sna neurons</c> also accepts <c>--weighting</c>.</summary>
    public static Option<string> DiscoveryWeighting(bool weightingAlias = false)
    {
        var o = new Option<string>("--discovery-weighting")
        {
            Description = "Weighting of the discovery means: per-text (default; each text's mean over its positions, then the mean over texts) or per-token (every position of every text weighs the same).",
            DefaultValueFactory = _ => "per-text",
        };
        if (weightingAlias) o.Aliases.Add("--weighting");
        return o;
    }

    /// <summary>The discovery means the two options give (bad values are input errors naming the option).</summary>
    public static Sna.Research.Method.DiscoveryMeanOptions DiscoveryMeans(System.CommandLine.ParseResult r, Option<string> positions, Option<string> weighting) => new(
        Sna.Research.Method.DiscoveryMeanOptions.ParsePositions(r.GetValue(positions)!, "--discovery-positions"),
        Sna.Research.Method.DiscoveryMeanOptions.ParseWeighting(r.GetValue(weighting)!, "--discovery-weighting"));

    // ---------------------------------------------------------------------------------------------------------------
    // Tasks

    public const string TaskHelp = "a built-in name (see 'sna tasks'), a task JSON file, or NAME found as ./tasks/NAME.json or in --tasks-dir";

    public static Option<string?> Task(bool required = false) => new("--task", "-t") { Description = $"The task: {TaskHelp}.", Required = required };

    public static Option<string> Tasks(string? defaultValue = null)
    {
        var o = new Option<string>("--tasks", "-t") { Description = $"Comma-separated tasks, each {TaskHelp}; or all (the built-in suites).", Required = defaultValue is null };
        if (defaultValue is not null) o.DefaultValueFactory = _ => defaultValue;
        return o;
    }

    public static Option<string?> TasksDir() => new("--tasks-dir")
    {
        Description = "Another directory of task files: a task NAME is looked up as ./tasks/NAME.json, then DIR/NAME.json.",
    };

    /// <summary>The directories a task name is looked up in: ./tasks, then --tasks-dir.</summary>
    public static string[] TaskDirs(ParseResult r, Option<string?> tasksDir) => TaskResolver.Directories(r.GetValue(tasksDir));

    // ---------------------------------------------------------------------------------------------------------------
    // Files

    public static Option<string> Db(string description, bool required = true) => NonEmpty(new Option<string>("--db") { Description = description, Required = required });
    public static Option<string?> DbOptional(string description) => NonEmpty(new Option<string?>("--db") { Description = description });
    public static Option<string> Out(string description, bool required = true) => NonEmpty(new Option<string>("--out", "-o") { Description = description, Required = required });
    public static Option<string?> OutOptional(string description) => NonEmpty(new Option<string?>("--out", "-o") { Description = description });

    /// <summary>A path option refuses an empty or blank value at parse time (exit 2), before any file code sees it.</summary>
    public static T NonEmpty<T>(T option) where T : Option
    {
        option.Validators.Add(r =>
        {
            foreach (var t in r.Tokens)
                if (string.IsNullOrWhiteSpace(t.Value)) r.AddError($"{option.Name} must not be empty: give a path");
        });
        return option;
    }
    public static Option<string> OutDir(string description, string? defaultValue = null)
    {
        var o = new Option<string>("--out-dir") { Description = description, Required = defaultValue is null };
        if (defaultValue is not null) o.DefaultValueFactory = _ => defaultValue;
        return NonEmpty(o);
    }
    public static Option<string?> OutDirOptional(string description) => NonEmpty(new Option<string?>("--out-dir") { Description = description });

    /// <summary><c>neurons --out</c>: where to save the found set (a neuron set file, docs/cli.md).</summary>
    public static Option<string?> NeuronSetOut() => new("--out", "-o")
    {
        Description = "Also save the set as a neuron set file (JSON with model sha256, method, BOS, texts hash; docs/cli.md), read by amplify --neurons, sweep --neurons-file, controls --neurons and the web page.",
    };

    /// <summary>
    /// <c>--neurons</c>: comma-separated indices, or a neuron set file (<c>set.json</c> or <c>@set.json</c>; response files are
    /// off, so <c>@</c> reaches us).
    /// </summary>
    public static Option<string?> Neurons(string what = "Comma-separated neuron indices (each 0..d_mlp-1, no repeats), or a neuron set file FILE.json / @FILE.json written by 'sna neurons --out'.") =>
        new("--neurons") { Description = what };

    /// <summary>Whether a <c>--neurons</c> value names a set file rather than listing indices.</summary>
    public static bool IsNeuronSetFile(string value, out string path)
    {
        path = value.StartsWith('@') ? value[1..] : value;
        return value.StartsWith('@') || path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || (!path.All(c => char.IsDigit(c) || c is ',' or ' ' or '-') && File.Exists(path));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Numbers

    /// <summary>An integer option parsed checked, range in its help.</summary>
    public static Option<int> Int(string name, string description, int min, int max, int? defaultValue = null, bool required = false, params string[] aliases)
    {
        var o = new Option<int>(name, aliases)
        {
            Description = $"{description} Integer {RangeText(min, max)}.",
            Required = required,
            CustomParser = a => ParseOrError(a, t => InputParsing.Int(t, name, min, max)),
        };
        if (defaultValue is { } d) o.DefaultValueFactory = _ => d;
        return o;
    }

    /// <summary>An optional integer option (null when absent).</summary>
    public static Option<int?> IntOptional(string name, string description, int min, int max, params string[] aliases) => new(name, aliases)
    {
        Description = $"{description} Integer {RangeText(min, max)}.",
        CustomParser = a => ParseOrError<int?>(a, t => InputParsing.Int(t, name, min, max)),
    };

    public static Option<ulong> Seed(string name, string description, ulong defaultValue) => new(name)
    {
        Description = $"{description} Integer 0..{ulong.MaxValue}.",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = a => ParseOrError(a, t => InputParsing.UInt64(t, name)),
    };

    public static Option<double> Double(string name, string description, double min, double max, double? defaultValue = null, bool required = false)
    {
        var o = new Option<double>(name)
        {
            Description = $"{description} Finite number in [{min.ToString(System.Globalization.CultureInfo.InvariantCulture)}, {max.ToString(System.Globalization.CultureInfo.InvariantCulture)}].",
            Required = required,
            CustomParser = a => ParseOrError(a, t => InputParsing.Double(t, name, min, max)),
        };
        if (defaultValue is { } d) o.DefaultValueFactory = _ => d;
        return o;
    }

    public const string MultiplierMeaning = "1 leaves the model unchanged, 0 ablates the neurons, a negative value flips their sign; finite, |m| ≤ 1e6, not a non-zero value that rounds to 0 in float32";

    /// <summary>One multiplier (checked: finite, |m| ≤ 1e6, not rounding to 0 in float32).</summary>
    public static Option<double> Multiplier(bool required = true, double? defaultValue = null)
    {
        var o = new Option<double>("--multiplier")
        {
            Description = $"Scale factor for the neurons' outputs: {MultiplierMeaning}.",
            Required = required,
            CustomParser = a => ParseOrError(a, t => InputParsing.Multiplier(t, "--multiplier")),
        };
        if (defaultValue is { } d) o.DefaultValueFactory = _ => d;
        return o;
    }

    /// <summary>A multiplier list or <c>start:stop:count</c> (checked at parse time).</summary>
    public static Option<double[]> Multipliers(string defaultValue, string? what = null) => new("--multipliers")
    {
        Description = (what ?? "Multipliers") + $": start:stop:count (count 1..1000 values evenly spaced, ends included) or a comma-separated list; each {MultiplierMeaning}.",
        DefaultValueFactory = _ => InputParsing.Multipliers(defaultValue, "--multipliers"),
        CustomParser = a => ParseOrError(a, t => InputParsing.Multipliers(t, "--multipliers")),
    };

    /// <summary>One layer index (checked against the model once it is loaded).</summary>
    public static Option<int> Layer(bool required = true) => new("--layer", "-l")
    {
        Description = $"Layer whose blocks.{{L}}.mlp.hook_post is scaled. Integer 0..n_layers-1.",
        Required = required,
        CustomParser = a => ParseOrError(a, t => InputParsing.Int(t, "--layer", 0, InputParsing.MaxLayerIndex)),
    };

    public static Option<int?> LayerOptional(string description) => new("--layer", "-l")
    {
        Description = $"{description} Integer 0..n_layers-1.",
        CustomParser = a => ParseOrError<int?>(a, t => InputParsing.Int(t, "--layer", 0, InputParsing.MaxLayerIndex)),
    };

    /// <summary><c>--layers</c>: all, or indices and ranges (<c>1-3,5</c>). The value is never null (<see cref="LayerList.All"/> means every layer).</summary>
    public static Option<LayerList> Layers(string? defaultValue = "all", string? what = null)
    {
        var o = new Option<LayerList>("--layers")
        {
            Description = (what ?? "Layers") + ": all, or indices and ranges such as 1-3,5 (each 0..n_layers-1, no repeats).",
            CustomParser = a => ParseOrError(a, t => new LayerList(InputParsing.Layers(t, "--layers"))),
        };
        o.DefaultValueFactory = _ => defaultValue is null ? LayerList.Default : new LayerList(InputParsing.Layers(defaultValue, "--layers"));
        return o;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Zones and bands (low:high or low,high; InputParsing.Band)

    /// <summary><c>--zones</c>: P_base zone thresholds (default the paper's, GPT-2 Medium: 0.07:0.10).</summary>
    public static Option<ZoneThresholds> Zones() => new("--zones")
    {
        Description = "Zone thresholds low:high on P_base (paper, GPT-2 Medium: 0.07:0.10).",
        HelpName = "low:high",
        DefaultValueFactory = _ => ZoneThresholds.Paper,
        CustomParser = a => ParseOrError(a, ZoneThresholds.Parse),
    };

    /// <summary>Classification margin zones (default the paper's, SST-2: 0.30:0.60): <c>advise --margin-zones</c>, <c>classify --zones</c>.</summary>
    public static Option<MarginZones> MarginZones(string name = "--margin-zones") => new(name)
    {
        Description = "Margin zone thresholds low:high for classification tasks (paper, SST-2: 0.30:0.60).",
        HelpName = "low:high",
        DefaultValueFactory = _ => Sna.Research.Method.MarginZones.Paper,
        CustomParser = a => ParseOrError(a, Sna.Research.Method.MarginZones.Parse),
    };

    /// <summary><c>tasks select --band</c>: a P_base band low:high (0 ≤ low ≤ high ≤ 1).</summary>
    public static Option<(double Low, double High)> Band() => new("--band")
    {
        Description = "Keep prompts with low ≤ P_base ≤ high, e.g. 0.07:0.10 (Zone 2) or 0:0.07 (Zone 1).",
        HelpName = "low:high",
        Required = true,
        CustomParser = a => ParseOrError(a, ZoneSelection.ParseBand),
    };

    /// <summary><c>--count</c>/<c>-k</c>: neurons per layer.</summary>
    public static Option<int> Count(int defaultValue, string what = "Neurons per layer (the task's top K by differential activation).") => new("--count", "-k")
    {
        Description = $"{what} Integer 1..d_mlp.",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = a => ParseOrError(a, t => InputParsing.Int(t, "--count", 1, InputParsing.MaxNeurons)),
    };

    public static Option<int?> CountOptional(string what) => new("--count", "-k")
    {
        Description = $"{what} Integer 1..d_mlp.",
        CustomParser = a => ParseOrError<int?>(a, t => InputParsing.Int(t, "--count", 1, InputParsing.MaxNeurons)),
    };

    /// <summary><c>sweep --counts</c>: the grid's list of neuron counts.</summary>
    public static Option<int[]> Counts(string defaultValue) => new("--counts")
    {
        Description = "Neuron counts of the grid: a comma-separated list, each 1..d_mlp, no repeats.",
        DefaultValueFactory = _ => InputParsing.IntList(defaultValue, "--counts", 1, InputParsing.MaxNeurons, distinct: true),
        CustomParser = a => ParseOrError(a, t => InputParsing.IntList(t, "--counts", 1, InputParsing.MaxNeurons, distinct: true)),
    };

    /// <summary>Comma-separated neuron indices (each 0..d_mlp-1, checked against the model once loaded).</summary>
    public static int[] ParseNeurons(string text, string option = "--neurons") =>
        InputParsing.IntList(text, option, 0, InputParsing.MaxNeurons - 1, distinct: true);

    public static string RangeText(int min, int max) => max == int.MaxValue ? $"≥ {min}" : $"{min}..{max}";

    /// <summary>Runs a checked parser on the option's single token; a failure becomes a parse error (one line, exit 2).</summary>
    private static T ParseOrError<T>(ArgumentResult a, Func<string, T> parse)
    {
        string text = a.Tokens.Count > 0 ? a.Tokens[^1].Value : "";
        try { return parse(text); }
        catch (SnaInputException e)
        {
            a.AddError(e.Message);
            return default!;
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Deprecated spellings (kept for one release; hidden from --help)

    /// <summary>Per command path: old spelling → current one.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Deprecated =
        new Dictionary<string, IReadOnlyDictionary<string, string>>
        {
            ["neurons"] = new Dictionary<string, string> { ["--top"] = "--count" },
            ["classify"] = new Dictionary<string, string> { ["--k"] = "--count", ["--out"] = "--out-dir", ["-o"] = "--out-dir" },
            ["report"] = new Dictionary<string, string> { ["--out"] = "--out-dir", ["-o"] = "--out-dir" },
            ["demo"] = new Dictionary<string, string> { ["--out"] = "--out-dir", ["-o"] = "--out-dir" },
            ["sweep"] = new Dictionary<string, string> { ["--out"] = "--db", ["-o"] = "--db" },
            ["tasks"] = new Dictionary<string, string> { ["--dir"] = "--tasks-dir" },
            ["tokenize"] = new Dictionary<string, string> { ["-t"] = "--text" },
            ["interference"] = new Dictionary<string, string> { ["--csv"] = "--out" },
        };

    /// <summary>
    /// Rewrites old option spellings of the command being run to the current ones, printing one note per spelling on stderr.
    /// Only option tokens are rewritten (stops at <c>--</c>); values are left alone.
    /// </summary>
    public static string[] RewriteDeprecated(RootCommand root, string[] args, TextWriter notes)
    {
        // The command path: leading tokens naming subcommands.
        Command cmd = root;
        int i = 0;
        var path = new List<string>();
        while (i < args.Length && cmd.Subcommands.FirstOrDefault(c => c.Name == args[i]) is { } sub) { cmd = sub; path.Add(args[i]); i++; }
        if (path.Count == 0 || !Deprecated.TryGetValue(path[0], out var map)) return args;
        var result = args.ToArray();
        var noted = new HashSet<string>();
        for (; i < result.Length; i++)
        {
            string a = result[i];
            if (a == "--") break;
            int eq = a.IndexOf('=');
            string name = eq > 0 ? a[..eq] : a;
            if (!map.TryGetValue(name, out var now)) continue;
            // An option the command itself still defines (e.g. tasks select --out) is not deprecated there.
            if (cmd.Options.Any(o => o.Name == name || o.Aliases.Contains(name))) continue;
            result[i] = eq > 0 ? now + a[eq..] : now;
            if (noted.Add(name)) notes.WriteLine($"note: '{string.Join(' ', path)} {name}' is deprecated; use {now}");
        }
        return result;
    }
}

/// <summary>A parsed <c>--layers</c>: every layer (<see cref="IsAll"/>), or the listed indices in order.</summary>
public sealed record LayerList(int[]? Indices)
{
    /// <summary>No <c>--layers</c> given and no default: the command chooses (e.g. classify's five spread layers).</summary>
    public static readonly LayerList Default = new((int[]?)null) { IsDefault = true };

    public bool IsDefault { get; private init; }
    public bool IsAll => Indices is null && !IsDefault;

    /// <summary>The layers for a model of <paramref name="nLayers"/> layers (all of them when <see cref="IsAll"/>), range-checked.</summary>
    public int[] Resolve(int nLayers) => InputParsing.CheckLayers(Indices, nLayers, "--layers");

    /// <summary>As the user writes it (shown as the default in <c>--help</c>): <c>all</c>, <c>auto</c> (the command chooses) or <c>1,3,5</c>.</summary>
    public override string ToString() => IsDefault ? "auto" : Indices is null ? "all" : string.Join(",", Indices);
}
