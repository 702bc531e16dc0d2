using Sna.Runtime.Numerics;
using Sna.Research.Analysis;

namespace Sna.Core.Tests.Reporting;

/// <summary>
/// Synthetic sweeps with planted structure: 12 tasks (4 domains × easy/medium/hard), baselines log-spaced from 0.005 to 0.5,
/// a gain that falls with ln(baseline) (so rho &lt; 0), a layer profile peaking at a layer that rises with difficulty
/// (easy → 2, medium → 3, hard → 4), gains growing with the multiplier, and seeded noise.
/// </summary>
internal static class SyntheticSweep
{
    public static readonly string[] Domains = ["math", "code", "fact", "logic"];
    public static readonly string[] Levels = ["easy", "medium", "hard"];
    public static readonly int[] Layers = [0, 1, 2, 3, 4, 5];
    public static readonly int[] Counts = [16, 64];
    public static readonly double[] Multipliers = [2, 5, 10];
    public const int Prompts = 3;

    public static SweepResultSet Create(ulong seed = 7, double noise = 2.0, int randomControlSets = 0, int controlTasks = 0, double taskNoise = 0.4)
    {
        var rng = new DeterministicRandom(seed);
        var rows = new List<SweepRow>();
        var names = Domains.SelectMany(d => Levels.Select(l => (d, l))).ToArray();
        // Interleave baselines across domains/levels so that domain is not confounded with baseline.
        var order = new[] { 0, 7, 2, 9, 4, 11, 6, 1, 8, 3, 10, 5 };
        for (int ti = 0; ti < names.Length; ti++)
        {
            var (domain, level) = names[ti];
            string task = $"{domain}-{level}";
            double baseline = 0.005 * Math.Pow(100, order[ti] / 11.0);                      // 0.005 … 0.5
            double gain = Math.Max(0.5, 45 - 9.5 * Math.Log(baseline / 0.005))             // ~45% → ~1%
                          * Math.Exp(taskNoise * rng.NextGaussian());                           // task-level scatter
            int peak = 2 + Array.IndexOf(Levels, level);
            var pBase = Enumerable.Range(0, Prompts).Select(_ => baseline * Math.Exp(0.2 * rng.NextGaussian())).ToArray();
            void Add(int layer, int count, double m, string source, double scale)
            {
                double profile = Math.Exp(-0.5 * Math.Pow((layer - peak) / 0.9, 2));
                double multFactor = Math.Log(m) / Math.Log(10);
                for (int p = 0; p < Prompts; p++)
                {
                    double imp = scale * gain * profile * multFactor * (count == 64 ? 1.2 : 1.0) - 1.0 + noise * rng.NextGaussian();
                    double post = pBase[p] * (1 + imp / 100);
                    rows.Add(new SweepRow(task, domain, level, p, layer, count, m, "all", source, pBase[p], post,
                        Math.Log(pBase[p]), Math.Log(post), imp));
                }
            }
            foreach (int layer in Layers)
                foreach (int count in Counts)
                    foreach (double m in Multipliers)
                    {
                        Add(layer, count, m, "task", 1.0);
                        if (ti < controlTasks)
                        {
                            for (int s = 0; s < randomControlSets; s++) Add(layer, count, m, $"random:{s}", 0.15);
                            Add(layer, count, m, "bottom", 0.05);
                        }
                    }
        }
        return new SweepResultSet(rows, "synthetic", "synthetic-gpt2", "0123abcd");
    }
}
