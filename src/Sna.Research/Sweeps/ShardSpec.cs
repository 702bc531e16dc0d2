using Sna.Runtime;
using System.Globalization;

namespace Sna.Research.Sweeps;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/>: owns the configurations whose id ≡ Index (mod Count).
/// <para>Why modulo and not contiguous blocks: a configuration's cost depends on its layer (an intervention at layer L
/// recomputes layers L+1..end), so contiguous blocks would give the early-layer shard most of the work; ids run
/// multiplier-fastest, so modulo spreads every (task, layer) evenly over the shards. The per-prompt base forward (the prefix
/// cache) is recomputed in each shard; it costs about one configuration per prompt.</para>
/// </summary>
public readonly record struct ShardSpec(int Index, int Count)
{
    public static readonly ShardSpec Whole = new(0, 1);

    public bool Owns(int configId) => configId % Count == Index;

    public override string ToString() => $"{Index}/{Count}";

    /// <summary>
    /// Parses <c>i/n</c> (0 ≤ i &lt; n) or <c>auto</c>: Slurm arrays (index (<c>SLURM_ARRAY_TASK_ID</c> − <c>SLURM_ARRAY_TASK_MIN</c>) /
    /// <c>SLURM_ARRAY_TASK_STEP</c> of <c>SLURM_ARRAY_TASK_COUNT</c>; an array that is not evenly spaced from MIN to
    /// <c>SLURM_ARRAY_TASK_MAX</c> is refused), else a Kubernetes Indexed Job (<c>JOB_COMPLETION_INDEX</c>, with the
    /// count from <paramref name="countOverride"/> or <c>SNA_SHARD_COUNT</c>), else the whole grid.
    /// </summary>
    public static ShardSpec Parse(string? s, int? countOverride = null, Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        if (string.IsNullOrWhiteSpace(s)) return Whole;
        s = s.Trim();
        if (s.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            var slurmId = env("SLURM_ARRAY_TASK_ID");
            if (!string.IsNullOrEmpty(slurmId))
            {
                int id = Int(slurmId, "SLURM_ARRAY_TASK_ID");
                int min = env("SLURM_ARRAY_TASK_MIN") is { Length: > 0 } m ? Int(m, "SLURM_ARRAY_TASK_MIN") : 0;
                int step = env("SLURM_ARRAY_TASK_STEP") is { Length: > 0 } st ? Int(st, "SLURM_ARRAY_TASK_STEP") : 1;
                int? max = env("SLURM_ARRAY_TASK_MAX") is { Length: > 0 } mx ? Int(mx, "SLURM_ARRAY_TASK_MAX") : null;
                int n = countOverride ?? (env("SLURM_ARRAY_TASK_COUNT") is { Length: > 0 } c ? Int(c, "SLURM_ARRAY_TASK_COUNT")
                    : throw new SnaInputException("--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not (pass --shard-count)"));
                // Slurm sets STEP for --array=0-14:2 and 1 for ranges and lists; an unevenly spaced list (--array=0,2,5) has
                // COUNT < (MAX − MIN)/STEP + 1, and its task ids cannot be numbered 0..COUNT−1 from the variables alone.
                if (step < 1 || (id - min) % step != 0 || (countOverride is null && max is int hi && (hi - min) / step + 1 != n))
                    throw new SnaInputException($"--shard auto needs an evenly spaced Slurm array (--array=0-7, 1-8 or 0-14:2); task {id} of " +
                        $"{n} tasks from {min} to {(max is int h2 ? h2.ToString(CultureInfo.InvariantCulture) : "?")} step {step} is not. Pass --shard i/n");
                return Checked((id - min) / step, n);
            }
            var k8s = env("JOB_COMPLETION_INDEX");
            if (!string.IsNullOrEmpty(k8s))
            {
                int n = countOverride ?? (env("SNA_SHARD_COUNT") is { Length: > 0 } c ? Int(c, "SNA_SHARD_COUNT")
                    : throw new SnaInputException("--shard auto: JOB_COMPLETION_INDEX is set; give the shard count with --shard-count or SNA_SHARD_COUNT (the Job's completions)"));
                return Checked(Int(k8s, "JOB_COMPLETION_INDEX"), n);
            }
            return Whole;
        }
        int slash = s.IndexOf('/');
        if (slash <= 0) throw new SnaInputException($"--shard must be i/n (e.g. 0/4) or auto, got '{s}'");
        return Checked(Int(s[..slash], "--shard"), Int(s[(slash + 1)..], "--shard"));

        static int Int(string v, string what) => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x)
            ? x : throw new SnaInputException($"{what}: '{v}' is not an integer");
    }

    private static ShardSpec Checked(int i, int n)
    {
        if (n < 1) throw new SnaInputException($"shard count must be ≥ 1, got {n}");
        if (i < 0 || i >= n) throw new SnaInputException($"shard index {i} must be in 0..{n - 1}");
        return new ShardSpec(i, n);
    }
}
