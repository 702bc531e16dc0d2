using Sna.Runtime;
using Sna.Runtime.Numerics;
using Sna.Research.Analysis;

namespace Sna.Research.Classification;

/// <summary>Which data rows an experiment evaluates on, and which (disjoint) rows it chooses neurons on.</summary>
public sealed record DataSplit(int[] Eval, int[] Train, ulong Seed);

/// <summary>
/// Deterministic sampling of data rows, identical on every machine and .NET version:
/// a Fisher–Yates shuffle of the row indices 0..count−1 driven by <see cref="DeterministicRandom"/> (xoshiro256** seeded
/// by SplitMix64 from the seed; integer-only, unbiased bounded draws). For i = count−1 down to 1, j = NextInt(i + 1) and
/// rows i and j are swapped. The evaluation rows are the first n of the permutation and the training rows the next
/// nTrain, so the two are disjoint by construction and a larger n keeps the smaller n's rows as its prefix.
/// <see cref="System.Random"/> is never used: its seeded algorithm is not specified.
/// </summary>
public static class DatasetSampler
{
    /// <summary>The seeded permutation of 0..count−1.</summary>
    public static int[] Permutation(int count, ulong seed)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        var p = new int[count];
        for (int i = 0; i < count; i++) p[i] = i;
        var rng = new DeterministicRandom(seed);
        for (int i = count - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    /// <summary>First <paramref name="nEval"/> rows of the permutation for evaluation, the next <paramref name="nTrain"/> for neuron discovery.</summary>
    public static DataSplit Split(int count, int nEval, int nTrain, ulong seed)
    {
        if (nEval <= 0) throw new ArgumentOutOfRangeException(nameof(nEval), $"the evaluation sample size must be positive, got {nEval}");
        if (nTrain < 0) throw new ArgumentOutOfRangeException(nameof(nTrain), $"the training sample size must not be negative, got {nTrain}");
        if ((long)nEval + nTrain > count)
            throw new SnaInputException($"the data has {count} rows; {nEval} evaluation + {nTrain} training rows do not fit (they must be disjoint)");
        var p = Permutation(count, seed);
        return new DataSplit(p[..nEval], p[nEval..(nEval + nTrain)], seed);
    }
}
