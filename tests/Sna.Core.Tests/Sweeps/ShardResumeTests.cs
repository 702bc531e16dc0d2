using Sna.Research.Storage;
using Sna.Research.Sweeps;

namespace Sna.Core.Tests.Sweeps;

/// <summary>A shard database resumes only as its own shard (a Slurm array index resubmitted alone looks like shard 0/1).</summary>
public class ShardResumeTests
{
    [SharedFact]
    public void A_shard_database_refuses_to_resume_as_another_shard()
    {
        using var tmp = new TempDir();
        var db = tmp.File("shard-1.db");
        var rows = StoreResumeShardTests.Run(db, StoreResumeShardTests.SmallBatches() with { Shard = new ShardSpec(1, 3) });
        Assert.NotEmpty(rows);

        var ex = Assert.Throws<Sna.Runtime.SnaInputException>(() =>
            StoreResumeShardTests.Run(db, StoreResumeShardTests.SmallBatches() with { Shard = ShardSpec.Whole, Resume = true }));
        Assert.Contains("shard 1/3", ex.Message);
        Assert.Contains("this run is shard 0/1", ex.Message);

        // as its own shard it resumes, writing nothing new
        Assert.Equal(rows, StoreResumeShardTests.Run(db, StoreResumeShardTests.SmallBatches() with { Shard = new ShardSpec(1, 3), Resume = true }));
    }
}
