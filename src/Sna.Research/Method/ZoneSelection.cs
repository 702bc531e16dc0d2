using Sna.Runtime;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Method;

/// <summary>The outcome of a zone-targeted selection: the new task and how the pool scored.</summary>
public sealed record ZoneSelectionResult(TaskSuite Task, int PoolSize, int Qualified, IReadOnlyList<(TaskPrompt Prompt, double PBase)> Selected,
    IReadOnlyList<double> PoolPBase);

/// <summary>
/// Builds zone-targeted tasks: scores a pool of prompt/target pairs (first-token P_base, batched) and keeps those whose
/// P_base lies in the band [low, high] (inclusive), in pool order, at most n of them.
/// </summary>
public static class ZoneSelection
{
    /// <summary>Parses a band "0.07:0.10" (0 ≤ low ≤ high ≤ 1; <see cref="InputParsing.Band"/>).</summary>
    public static (double Low, double High) ParseBand(string s) => InputParsing.Band(s, "--band");

    public static ZoneSelectionResult Select(TransformerModel model, ModelTokenizer tok, IReadOnlyList<TaskPrompt> pool, double low, double high,
        int n, BosPolicy bos, string name, string domain = "", string level = "", IReadOnlyList<string>? neutral = null)
    {
        if (pool.Count == 0) throw new SnaInputException("the pool is empty");
        if (n < 1) throw new SnaInputException($"n must be at least 1, got {n}");
        var poolSuite = new TaskSuite { Name = "pool", Prompts = pool.Select(p => p with { Label = null }).ToArray() };
        var enc = EncodedTask.Encode(poolSuite, tok, bos);
        var scores = TaskScoring.FirstToken(model, enc.Prompts, enc.FirstTargetIds);
        var inBand = Enumerable.Range(0, pool.Count).Where(i => scores[i].Probability >= low && scores[i].Probability <= high).ToArray();
        var chosen = inBand.Take(n).Select(i => (pool[i] with { Label = null }, scores[i].Probability)).ToArray();
        if (chosen.Length == 0)
            throw new SnaInputException($"no prompt of the pool ({pool.Count}) has P_base in [{low}, {high}]; pool P_base ranges over "
                + $"[{scores.Min(s => s.Probability):G3}, {scores.Max(s => s.Probability):G3}]");
        var task = new TaskSuite
        {
            Name = name, Domain = domain, Level = level,
            Description = $"Selected on {model.Provenance.Source} (sha256 {Short(model.Provenance.ContentHash)}, BOS {ModelTokenizer.BosDescription(bos)}): "
                          + $"{chosen.Length} of {pool.Count} pool prompts with P_base in [{low}, {high}].",
            Prompts = chosen.Select(c => c.Item1).ToArray(),
            Neutral = neutral,
        };
        return new ZoneSelectionResult(task, pool.Count, inBand.Length, chosen, scores.Select(s => s.Probability).ToArray());
    }

    private static string Short(string h) => h.Length > 12 ? h[..12] : h;
}
