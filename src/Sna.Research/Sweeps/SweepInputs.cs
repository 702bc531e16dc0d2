using Sna.Runtime.Numerics;

namespace Sna.Research.Sweeps;

/// <summary>One prompt of a task: its text and target (for the record), the token ids scored and the target's first token.</summary>
public sealed record SweepPrompt(string Text, string Target, int[] Ids, int TargetId);

/// <summary>
/// A task as the engine sees it: prompts already tokenized (BOS applied per the definition's policy) and a neuron selector
/// <c>(layer, count) → neurons</c> (differential/contrastive top-k from discovery, or <see cref="NeuronSources.Random"/>).
/// The selector must be deterministic: resume and merge check that it picks the same neurons again.
/// </summary>
public sealed record SweepTask(string Name, IReadOnlyList<SweepPrompt> Prompts, Func<int, int, int[]> Neurons)
{
    public string Domain { get; init; } = "";
    public string Level { get; init; } = "";
}

/// <summary>Neuron sources the sweep engine provides itself.</summary>
public static class NeuronSources
{
    /// <summary>
    /// The random control: for each (seed, layer) a fixed pseudo-random permutation of 0..dMlp−1 (Fisher–Yates driven by
    /// SplitMix64 seeded with seed and layer, not <see cref="System.Random"/>, so it never changes with the runtime); count k takes
    /// the first k entries, returned sorted ascending. Deterministic per (seed, layer, count) on every platform, and nested
    /// like a top-k list (the 5 neurons contain the 3).
    /// </summary>
    public static Func<int, int, int[]> Random(int seed, int dMlp)
    {
        if (dMlp < 1) throw new ArgumentOutOfRangeException(nameof(dMlp));
        return (layer, count) =>
        {
            if (count < 1 || count > dMlp) throw new ArgumentOutOfRangeException(nameof(count), $"count {count} must be in 1..{dMlp}");
            return RandomSubset(seed, layer, Enumerable.Range(0, dMlp).ToArray(), count);
        };
    }

    /// <summary>
    /// The seeded draw behind <see cref="Random"/> and <see cref="Experiments.ControlNeurons.Random"/>: the first
    /// <paramref name="count"/> steps of a Fisher–Yates shuffle of <paramref name="pool"/> (in place) driven by
    /// <see cref="DeterministicRandom.SplitMix64"/> seeded with (seed, layer); those entries, sorted ascending.
    /// </summary>
    internal static int[] RandomSubset(int seed, int layer, int[] pool, int count)
    {
        ulong state = ((ulong)(uint)seed << 32) ^ (uint)layer ^ 0x5DEECE66DUL;
        for (int i = 0; i < count; i++)
        {
            int j = i + (int)(DeterministicRandom.SplitMix64(ref state) % (ulong)(pool.Length - i));
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }
        var r = pool.AsSpan(0, count).ToArray();
        Array.Sort(r);
        return r;
    }
}
