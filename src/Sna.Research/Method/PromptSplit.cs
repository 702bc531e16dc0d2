using System.Text;
using Sna.Runtime.Numerics;

namespace Sna.Research.Method;

/// <summary>
/// The held-out protocol's split of one task's prompts: split A (selection: neurons are discovered and the configuration is
/// chosen on it) and split B (measurement: gains, controls and p-values are computed on it). Deterministic in (task name,
/// prompt count, seed) on every platform: a SplitMix64 Fisher–Yates shuffle seeded by the seed and the task name's FNV-1a hash;
/// A = the first ⌈n/2⌉ shuffled indices, B = the rest, each ascending.
/// </summary>
public sealed record PromptSplit(string Task, int Prompts, ulong Seed, int[] Selection, int[] Measurement)
{
    /// <summary>The demo's and the report's default seed.</summary>
    public const ulong DefaultSeed = 20260407;

    public static PromptSplit Of(string task, int prompts, ulong seed = DefaultSeed)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (prompts < 2) throw new ArgumentException($"task '{task}' has {prompts} prompt(s): a held-out split needs at least 2");
        ulong h = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(task)) { h ^= b; h *= 1099511628211UL; }
        ulong state = seed ^ h;
        var idx = Enumerable.Range(0, prompts).ToArray();
        for (int i = prompts - 1; i > 0; i--)
        {
            int j = (int)(DeterministicRandom.SplitMix64(ref state) % (ulong)(i + 1));
            (idx[i], idx[j]) = (idx[j], idx[i]);
        }
        int a = (prompts + 1) / 2;
        return new PromptSplit(task, prompts, seed, idx[..a].Order().ToArray(), idx[a..].Order().ToArray());
    }

    /// <summary>True when prompt <paramref name="index"/> is in the selection split A.</summary>
    public bool InSelection(int index) => Array.BinarySearch(Selection, index) >= 0;

    /// <summary>The suite restricted to split A, whose discovery texts are split A's prompts (unless it has its own texts).</summary>
    public TaskSuite SelectionSuite(TaskSuite suite) => Restrict(suite, Selection, suite.Texts ?? Selection.Select(i => suite.Prompts[i].Text).ToArray());

    /// <summary>The suite restricted to split B, with split A's discovery texts: neurons never see a measured prompt.</summary>
    public TaskSuite MeasurementSuite(TaskSuite suite) => Restrict(suite, Measurement, suite.Texts ?? Selection.Select(i => suite.Prompts[i].Text).ToArray());

    /// <summary>All prompts, with split A's discovery texts (a sweep whose rows are then split by <see cref="InSelection"/>).</summary>
    public TaskSuite DiscoverOnSelection(TaskSuite suite)
    {
        Check(suite);
        return suite with { Texts = suite.Texts ?? Selection.Select(i => suite.Prompts[i].Text).ToArray() };
    }

    private TaskSuite Restrict(TaskSuite suite, int[] which, IReadOnlyList<string> texts)
    {
        Check(suite);
        return suite with { Prompts = which.Select(i => suite.Prompts[i]).ToArray(), Texts = texts };
    }

    private void Check(TaskSuite suite)
    {
        if (suite.Prompts.Count != Prompts) throw new ArgumentException($"the split was made for {Prompts} prompts of '{Task}', the suite '{suite.Name}' has {suite.Prompts.Count}");
    }
}
