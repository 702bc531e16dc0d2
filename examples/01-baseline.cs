#:project ../src/Sna.Research/Sna.Research.csproj
// Baseline first (the paper's central finding): how confident is the unmodified model in the target, and which zone is that?
// dotnet run examples/01-baseline.cs [MODEL] [PROMPT] [TARGET]
// MODEL is a directory, an alias (gpt2-medium) or org/name@rev; default $SNA_MODEL, else the bundled models/sna-demo-gpt2.
using Sna.Research.Method;
using Sna.Runtime;
using Sna.Runtime.Models;

string spec = args.ElementAtOrDefault(0) ?? Environment.GetEnvironmentVariable("SNA_MODEL")    // else the bundled model
    ?? Path.Combine(AppContext.GetData("EntryPointFileDirectoryPath") as string ?? "examples", "..", "models", "sna-demo-gpt2");
string prompt = args.ElementAtOrDefault(1) ?? "What is 3 + 4? Answer:";
string target = args.ElementAtOrDefault(2) ?? " 7";

using var model = LanguageModel.Load(spec);
var ids = model.ToTokens(prompt);                                       // BOS first, as TransformerLens does by default
var targetTokens = model.Tokenizer.EncodeTarget(prompt, target);
int targetId = targetTokens.FirstId;                                    // the target's first token, which the paper scores
var logits = model.Run(ids, LogitsMode.Last).Row(0, 0);                 // [1, 1, d_vocab] → the last position's logits
var score = Scoring.Score(logits, targetId);
int zone = ZoneThresholds.Paper.Zone(score.Probability);

var p = model.Provenance;
Console.WriteLine($"model   {p.Directory} (sha256 {p.Sha256[..12]}…, {p.Architecture}, BOS {p.Bos})");
Console.WriteLine($"tokens  {string.Join(" | ", model.ToStrTokens(ids))}");
Console.WriteLine($"P_base  {score.Probability:G4} (log p {score.LogProb:F3}, rank {score.Rank}) for '{model.ToText([targetId])}'");
if (targetTokens.Warning is { } warning) Console.WriteLine($"note    {warning}");   // e.g. a target of several tokens
Console.WriteLine($"zone    {ZoneAdvice.Label(zone, ZoneThresholds.Paper)}: {ZoneAdvice.Advice(zone, ZoneThresholds.Paper)}");
Console.WriteLine("top 5   " + string.Join(", ", Scoring.Top(logits, 5).Select(t => $"'{model.ToText([t.Id]).Replace("\n", "\\n")}' {t.Probability:F3}")));
