using Sna.Research.Sweeps;

namespace Sna.Core.Tests.Sweeps;

/// <summary>
/// <c>--shard auto</c> against the variables a real Slurm 22.05 array task sees (recorded from <c>env</c> inside array tasks on
/// the local cluster of tests/integration/slurm: --array=1-3, --array=0-6:3 and --array=0,2,5).
/// </summary>
public class ShardSpecSlurmTests
{
    private static ShardSpec Auto(int id, int count, int min, int max, int step, int? countOverride = null)
    {
        var env = new Dictionary<string, string>
        {
            ["SLURM_ARRAY_JOB_ID"] = "41", ["SLURM_ARRAY_TASK_ID"] = $"{id}", ["SLURM_ARRAY_TASK_COUNT"] = $"{count}",
            ["SLURM_ARRAY_TASK_MIN"] = $"{min}", ["SLURM_ARRAY_TASK_MAX"] = $"{max}", ["SLURM_ARRAY_TASK_STEP"] = $"{step}",
        };
        return ShardSpec.Parse("auto", countOverride, k => env.GetValueOrDefault(k));
    }

    [Fact]
    public void ZeroBasedRangeIsTheTaskId()
    {
        for (int id = 0; id < 3; id++) Assert.Equal(new ShardSpec(id, 3), Auto(id, 3, 0, 2, 1));
    }

    [Fact]
    public void NonZeroBasedRangeSubtractsMin()
    {
        Assert.Equal([new ShardSpec(0, 3), new ShardSpec(1, 3), new ShardSpec(2, 3)],
                     new[] { 1, 2, 3 }.Select(id => Auto(id, 3, 1, 3, 1)).ToArray());
    }

    [Fact]
    public void SteppedRangeDividesByStep()
    {
        Assert.Equal([new ShardSpec(0, 3), new ShardSpec(1, 3), new ShardSpec(2, 3)],
                     new[] { 0, 3, 6 }.Select(id => Auto(id, 3, 0, 6, 3)).ToArray());
    }

    [Fact]
    public void UnevenListIsRefusedForEveryTask()
    {
        // --array=0,2,5: Slurm reports COUNT=3, MIN=0, MAX=5, STEP=1 to each task.
        foreach (int id in new[] { 0, 2, 5 })
        {
            var e = Assert.Throws<Sna.Runtime.SnaInputException>(() => Auto(id, 3, 0, 5, 1));
            Assert.Contains("--shard i/n", e.Message);
        }
    }

    [Fact]
    public void EvenListIsARange()
    {
        // --array=4,5,6 is the range 4-6.
        Assert.Equal(new ShardSpec(2, 3), Auto(6, 3, 4, 6, 1));
    }
}
