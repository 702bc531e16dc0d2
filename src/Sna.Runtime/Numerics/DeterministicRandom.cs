namespace Sna.Runtime.Numerics;

/// <summary>
/// Seeded pseudo-random generator for resampling: xoshiro256** (Blackman &amp; Vigna, 2018) whose 256-bit state is
/// filled from the 64-bit seed by SplitMix64, as the authors recommend. Only integer operations are used, so the
/// stream for a given seed is bit-identical on every machine, runtime and .NET version (unlike <see cref="Random"/>,
/// whose seeded algorithm is an implementation detail). Not thread-safe; not cryptographic.
/// </summary>
public sealed class DeterministicRandom
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Creates a generator whose whole output is a function of <paramref name="seed"/>.</summary>
    public DeterministicRandom(ulong seed)
    {
        ulong sm = seed;
        _s0 = SplitMix64(ref sm);
        _s1 = SplitMix64(ref sm);
        _s2 = SplitMix64(ref sm);
        _s3 = SplitMix64(ref sm);
    }

    /// <summary>One SplitMix64 step (Steele, Lea &amp; Flood 2014): advances <paramref name="state"/> and returns the mixed output.</summary>
    public static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Next 64 uniformly distributed bits (xoshiro256**).</summary>
    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform integer in [0, <paramref name="bound"/>), without modulo bias (Lemire's multiply-and-reject).</summary>
    public int NextInt(int bound)
    {
        if (bound <= 0) throw new ArgumentOutOfRangeException(nameof(bound), bound, "bound must be positive.");
        ulong b = (ulong)bound;
        UInt128 m = (UInt128)NextUInt64() * b;
        ulong low = (ulong)m;
        if (low < b)
        {
            ulong threshold = (0UL - b) % b;
            while (low < threshold)
            {
                m = (UInt128)NextUInt64() * b;
                low = (ulong)m;
            }
        }
        return (int)(m >> 64);
    }

    /// <summary>Uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>
    /// Standard normal deviate (Box–Muller; two uniforms per call, no caching). Meant for synthetic test data: it calls
    /// <see cref="Math.Log"/> and <see cref="Math.Cos"/>, whose last bit may differ between platforms, so unlike the
    /// integer/uniform outputs it is not promised bit-identical across machines.
    /// </summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble();                       // (0, 1]
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
