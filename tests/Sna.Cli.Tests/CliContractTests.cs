using System.Globalization;
using System.Text.Json;
using Sna.Runtime.Checkpoints;

namespace Sna.Cli.Tests;

/// <summary>
/// The CLI's JSON contracts (issue 2) against the fixtures' float64 goldens, the same checks as
/// ../shared/tools/check_cli_contract.py, in C#: baseline --no-bos, amplify --no-bos, tokenize.
/// </summary>
[Collection("cli")]
public class CliContractTests
{
    public static TheoryData<string> Fixtures() => new("gpt2-tiny-f32", "gpt2-tiny-f16", "pythia-tiny-f32", "pythia-tiny-f16", "llama-tiny-f32", "Llama-3-tiny-bf16");

    private static string TokensFile(string fx) => fx switch
    {
        "llama-tiny-f32" => "prompt_tokens_llama2.json",
        "Llama-3-tiny-bf16" => "prompt_tokens_llama3.json",
        _ => fx.StartsWith("pythia", StringComparison.Ordinal) ? "prompt_tokens_neox.json" : "prompt_tokens.json",
    };

    private static JsonElement Load(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;

    [SharedTheory, MemberData(nameof(Fixtures))]
    public void Baseline_json_matches_golden(string fx)
    {
        string dir = TestPaths.Fixture(fx);
        var golden = Load(Path.Combine(dir, "golden.json"));
        var spec = Load(TestPaths.Fixture("prompts.json"));
        var toks = Load(TestPaths.Fixture(TokensFile(fx)));
        using var goldenLogits = SafetensorsFile.Open(Path.Combine(dir, "golden.safetensors"));
        foreach (var p in golden.GetProperty("prompts").EnumerateObject())
        {
            int target = toks.GetProperty("targets").GetProperty(p.Name).GetInt32();
            double want = goldenLogits.Get("logits." + p.Name).ToFloat32Array()[target] - p.Value.GetProperty("logsumexp").GetDouble();
            var prompt = spec.GetProperty("prompts").GetProperty(p.Name);
            var r = CliHarness.Json("baseline", "--model", dir, "--prompt", prompt.GetProperty("text").GetString()!,
                                    "--target", prompt.GetProperty("target").GetString()!, "--no-bos", "--json");
            Assert.Equal(p.Value.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()), r.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()));
            Assert.Equal(target, r.GetProperty("target_id").GetInt32()); // the target after the prompt (Llama 2: not encode(target)[0])
            Assert.Equal("in_context", r.GetProperty("target_rule").GetString());
            double tol = fx.EndsWith("f32") ? 1e-4 : 1e-3;
            Assert.True(Math.Abs(r.GetProperty("logprob").GetDouble() - want) < tol, $"{fx}/{p.Name}: {r.GetProperty("logprob").GetDouble()} vs {want}");
            Assert.True(Math.Abs(r.GetProperty("probability").GetDouble() - Math.Exp(want)) < 1e-4);
            Assert.InRange(r.GetProperty("zone").GetInt32(), 1, 3);
            Assert.Equal(10, r.GetProperty("top").GetArrayLength());
            Assert.True(r.GetProperty("rank").GetInt32() >= 1);
        }
    }

    [SharedTheory, MemberData(nameof(Fixtures))]
    public void Amplify_json_matches_golden(string fx)
    {
        string dir = TestPaths.Fixture(fx);
        var golden = Load(Path.Combine(dir, "golden.json"));
        var spec = Load(TestPaths.Fixture("prompts.json"));
        foreach (var a in golden.GetProperty("amplified").EnumerateArray())
        {
            var prompt = spec.GetProperty("prompts").GetProperty(a.GetProperty("prompt").GetString()!);
            var r = CliHarness.Json("amplify", "--model", dir, "--prompt", prompt.GetProperty("text").GetString()!,
                "--target", prompt.GetProperty("target").GetString()!, "--layer", a.GetProperty("layer").GetInt32().ToString(CultureInfo.InvariantCulture),
                "--neurons", string.Join(",", a.GetProperty("neurons").EnumerateArray().Select(x => x.GetInt32())),
                "--multiplier", a.GetProperty("multiplier").GetDouble().ToString("R", CultureInfo.InvariantCulture),
                "--positions", a.GetProperty("positions").GetString()!, "--no-bos", "--json");
            double got = r.GetProperty("amplified").GetProperty("logprob").GetDouble();
            Assert.True(Math.Abs(got - a.GetProperty("target_logprob").GetDouble()) < 1e-3, $"{fx}: {got} vs {a.GetProperty("target_logprob").GetDouble()}");
            double pb = r.GetProperty("baseline").GetProperty("probability").GetDouble(), pa = r.GetProperty("amplified").GetProperty("probability").GetDouble();
            Assert.Equal((pa - pb) / pb * 100, r.GetProperty("improvement_pct").GetDouble(), 9);
        }
    }

    [SharedTheory]   // the 16-bit fixtures carry the same tokenizer files as the float32 ones, and are vendored
    [InlineData("gpt2", "gpt2-tiny-f16")]
    [InlineData("gpt-neox-20b", "pythia-tiny-f16")]
    public void Tokenize_json_matches_golden_ids(string tokenizer, string fx)
    {
        var cases = Load(TestPaths.Data("tokenizers", tokenizer, "golden_tokens.json")).GetProperty("cases");
        foreach (var c in cases.EnumerateArray())
        {
            var r = CliHarness.Json("tokenize", "--model", TestPaths.Fixture(fx), "--text", c.GetProperty("text").GetString()!, "--json");
            Assert.Equal(c.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()), r.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()));
        }
    }

    [Fact]
    public void Baseline_on_the_bundled_model_prepends_bos_by_default_and_records_the_run()
    {
        var r = CliHarness.Json("baseline", "--prompt", "Roses are red, violets are", "--target", " blue", "--json");
        Assert.Equal(50256, r.GetProperty("ids")[0].GetInt32());
        var run = r.GetProperty("run");
        Assert.Equal("prepend", run.GetProperty("bos").GetString());
        Assert.Matches("^[0-9a-f]{64}$", run.GetProperty("model_sha256").GetString()!);
        Assert.EndsWith("sna-demo-gpt2", run.GetProperty("model").GetString()!);
    }

    [SharedFact]
    public void Readable_tables_are_printed_without_json()
    {
        var (code, output, _) = CliHarness.Run("baseline", "--model", TestPaths.Fixture("gpt2-tiny-f32"), "--prompt", "Q: What is 7 + 5? A:", "--target", " 12");
        Assert.Equal(0, code);
        Assert.Contains("P_base", output);
        Assert.Contains("Top 10 next tokens", output);
    }

    [SharedTheory]
    [InlineData("error: --layer: layer 9 is out of range", "amplify", "--prompt", "a b", "--target", " c", "--layer", "9", "--neurons", "1", "--multiplier", "2")]
    [InlineData("error: --neurons: neuron 999 is out of range", "amplify", "--prompt", "a b", "--target", " c", "--layer", "0", "--neurons", "1,999", "--multiplier", "2")]
    [InlineData("error: the target is empty", "baseline", "--prompt", "a b", "--target", "")]
    [InlineData("error: --positions must be all or last", "amplify", "--prompt", "a", "--target", " c", "--layer", "0", "--neurons", "1", "--multiplier", "2", "--positions", "first")]
    [InlineData("error: model directory not found: ./nope", "baseline", "--model", "./nope", "--prompt", "a", "--target", " b")]
    public void Bad_input_gets_one_clear_error_and_exit_code_2(string expected, params string[] args)
    {
        var withModel = args.Contains("--model") ? args : args.Concat(["--model", TestPaths.Fixture("gpt2-tiny-f32")]).ToArray();
        var (code, output, err) = CliHarness.Run(withModel);
        Assert.Equal(2, code);
        Assert.StartsWith(expected, err);
        Assert.DoesNotContain("   at ", err); // no stack trace
        Assert.Equal("", output);
    }
}
