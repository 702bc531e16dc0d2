using Sna.Runtime;
using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Cli.Commands;

/// <summary>Options shared by the commands, and the loaded model they act on.</summary>
internal static class Common
{
    /// <summary>What <c>--bos</c>/<c>--no-bos</c> ask for: true, false, or null (neither: the library's default,
    /// <see cref="ModelTokenizer.BosPolicyFor"/>, prepend when the tokenizer has a BOS token).</summary>
    public static bool? BosAsked(ParseResult r, Option<bool> bos, Option<bool> noBos)
    {
        if (r.GetValue(bos) && r.GetValue(noBos)) throw new SnaInputException("--bos and --no-bos are mutually exclusive");
        return r.GetValue(noBos) ? false : r.GetValue(bos) ? true : null;
    }

    /// <summary>The bundled model, shipped next to the executable (and in the repository under models/).</summary>
    public static string BundledModelDir()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "models", "sna-demo-gpt2");
        if (Directory.Exists(beside)) return beside;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, "models", "sna-demo-gpt2");
            if (Directory.Exists(p)) return p;
        }
        throw new SnaInputException("the bundled model models/sna-demo-gpt2 was not found; pass --model DIR");
    }

    /// <summary>The model argument, or the bundled model when none is given.</summary>
    public static string ModelSpec(string? model) => string.IsNullOrEmpty(model) ? BundledModelDir() : model;

    public static WeightsDTypeOption ParseDType(string s) => s.ToLowerInvariant() switch
    {
        "as-stored" or "stored" or "auto" => WeightsDTypeOption.AsStored,
        "f32" or "float32" => WeightsDTypeOption.F32,
        "f16" or "float16" => WeightsDTypeOption.F16,
        "bf16" or "bfloat16" => WeightsDTypeOption.BF16,
        _ => throw new SnaInputException($"--weights-dtype must be as-stored, f32, f16 or bf16, got '{s}'"),
    };

    /// <summary>The model (default: the bundled one) through the library's <see cref="LanguageModel.Load"/>: a directory, an alias
    /// or a hub id resolved through the Hugging Face cache; bad files and a missing path are input errors.</summary>
    public static LanguageModel Load(string? model, string dtype = "as-stored") =>
        LanguageModel.Load(ModelSpec(model), new LoadOptions { WeightsDType = ParseDType(dtype) });

    /// <summary>Adds <c>target_rule</c> and, when there is one, <c>target_warning</c> (docs/cli.md).</summary>
    public static void AddTarget(JsonObject o, TargetTokens t)
    {
        o["target_rule"] = t.Rule;
        if (t.Warning is string w) o["target_warning"] = w;
    }

    /// <summary>A task's targets: <c>target_rule</c> (in_context, standalone or mixed) and <c>target_warnings</c>
    /// ("prompt i: …", only when there are any).</summary>
    public static void AddTargets(JsonObject o, IReadOnlyList<TargetTokens> targets)
    {
        o["target_rule"] = TargetTokens.AggregateRule(targets);
        var warnings = TargetWarnings(targets);
        if (warnings.Count > 0) o["target_warnings"] = new JsonArray(warnings.Select(w => (JsonNode)w).ToArray());
    }

    /// <summary>The warnings of a task's targets, one line each ("prompt i: …").</summary>
    public static List<string> TargetWarnings(IReadOnlyList<TargetTokens> targets) =>
        targets.Select((t, i) => t.Warning is string w ? $"prompt {i}: {w}" : null).OfType<string>().ToList();

    /// <summary>Target warnings on stderr (table output; JSON output carries them instead).</summary>
    public static void WarnTargets(IEnumerable<string> warnings)
    {
        foreach (string w in warnings) Console.Error.WriteLine("warning: " + w);
    }

    /// <summary>Compact JSON; only what JSON requires is escaped ("+" and "&lt;" stay readable).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void PrintJson(JsonNode node) => Console.Out.WriteLine(node.ToJsonString(JsonOptions));

    /// <summary>The run record attached to every JSON result: what was run, on what, how.</summary>
    public static JsonObject RunRecord(TransformerModel m, ModelTokenizer tok, BosPolicy bos, string? positions = null, long? seed = null)
    {
        var o = new JsonObject
        {
            ["model"] = m.Provenance.Source,
            ["model_sha256"] = m.Provenance.ContentHash,
            ["architecture"] = m.Config.SourceArchitecture,
            ["weights_dtype"] = m.Provenance.ComputeWeightsDType,
            ["tokenizer_sha256"] = tok.SourceHash,
            ["bos"] = ModelTokenizer.BosText(bos),
            ["gemm"] = m.Gemm.Name,
            ["sna_version"] = Version,
        };
        if (positions is not null) o["positions"] = positions;
        if (seed is not null) o["seed"] = seed;
        return o;
    }

    /// <summary>The version <c>sna --version</c> prints, with the commit (<c>0.2.0+e52b821…</c>); every JSON <c>run</c> record carries it.</summary>
    public static string Version { get; } =
        typeof(Common).Assembly.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(Common).Assembly.GetName().Version?.ToString() ?? "unknown";

    public static string Printable(string s) => s.Replace("\n", "\\n").Replace("\t", "\\t").Replace("\r", "\\r");
}
