using Sna.Runtime.Models;
using Sna.Research.Sweeps;

namespace Sna.Core.Tests.Sweeps;

/// <summary>Deterministic synthetic prompts and tasks for sweep tests, and the bundled demo model.</summary>
internal static class SweepTestData
{
    private static readonly Lazy<TransformerModel> s_demo = new(() => ModelLoader.Load(TestPaths.BundledModelDir));
    public static TransformerModel Demo() => s_demo.Value;

    /// <summary>n prompts of varied length (5..12 tokens, BOS first when bos ≥ 0) and a target each, from a fixed seed.</summary>
    public static SweepPrompt[] Prompts(int vocab, int bos, int n, int seed)
    {
        var r = new Random(seed);
        var list = new SweepPrompt[n];
        for (int i = 0; i < n; i++)
        {
            int len = 5 + (i * 3 + seed) % 8;
            var ids = new int[len];
            for (int t = 0; t < len; t++) ids[t] = r.Next(Math.Min(vocab, 5000));
            if (bos >= 0) ids[0] = bos;
            list[i] = new SweepPrompt($"prompt {i}", $"target {i}", ids, r.Next(Math.Min(vocab, 5000)));
        }
        return list;
    }

    public static SweepTask Task(string name, int vocab, int dMlp, int bos, int n, int seed) =>
        new(name, Prompts(vocab, bos, n, seed), NeuronSources.Random(seed, dMlp));
}
