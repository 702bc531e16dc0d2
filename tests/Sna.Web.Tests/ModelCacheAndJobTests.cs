using Sna.Runtime.Hub;
using Sna.Web;
using Sna.Web.Api;
using Sna.Web.Models;

namespace Sna.Web.Tests;

/// <summary>
/// The server's resources are bounded: at most <see cref="WebOptions.MaxLoadedModels"/> models stay loaded (least recently
/// used released first, never one in use), a job's cancellation source is disposed when the job ends, and the job table's
/// check-and-add is atomic under concurrent submissions. Uses the bundled model (in the repository) under three local ids.
/// </summary>
public sealed class ModelCacheAndJobTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private ModelCatalog Catalog(int capacity) => new(new WebOptions
    {
        IncludeBundledModel = false, IncludeFixtures = false, MaxLoadedModels = capacity,
        ModelDirectories = [TestPaths.BundledModelDir, TestPaths.BundledModelDir, TestPaths.BundledModelDir],
        Hub = new HubSettings(Path.Combine(_tmp.Path, "hub"), "http://127.0.0.1:9", offline: true),
    });

    [Fact]
    public void At_most_capacity_models_stay_loaded_and_a_model_in_use_is_never_released()
    {
        using var catalog = Catalog(capacity: 2);
        var local = catalog.Entries.Where(e => e.Kind == ModelKind.Local).ToArray();
        Assert.Equal(3, local.Length);
        var (a, b, c) = (local[0], local[1], local[2]);

        using (var la = catalog.Acquire(a))
        {
            using (catalog.Acquire(b)) { }
            Assert.Equal(2, catalog.LoadedCount);
            // a is held, b is idle: loading c releases b (least recently used among the idle), never a
            using (var lc = catalog.Acquire(c))
            {
                Assert.True(catalog.IsLoaded(a));
                Assert.False(catalog.IsLoaded(b));
                Assert.True(catalog.IsLoaded(c));
                // a still computes: it was not disposed under its lease
                Assert.True(la.Model.Model.ForwardLast([464, 3139]).Length > 0);
                Assert.Equal(2, catalog.LoadedCount);
            }
            // both held models over capacity: a third lease on b loads it; the count falls back when leases end
            using (catalog.Acquire(b))
            using (catalog.Acquire(c))
                Assert.Equal(3, catalog.LoadedCount);
            Assert.Equal(2, catalog.LoadedCount);
            Assert.True(catalog.IsLoaded(a));
        }
        // the same entry again reuses the loaded model (same key), it does not load a second copy
        using var l1 = catalog.Acquire(a);
        using var l2 = catalog.Acquire(a);
        Assert.Same(l1.Model, l2.Model);
        Assert.True(catalog.LoadedCount <= 2);
    }

    [Fact]
    public void A_hub_model_is_keyed_by_its_commit_not_its_download_path()
    {
        using var catalog = Catalog(capacity: 1);
        // a hub snapshot of one commit, reached by two paths (a re-download into another cache location): one key
        string commit = new('a', 40);
        string d1 = Path.Combine(_tmp.Path, "cache1", "models--x--y", "snapshots", commit);
        string d2 = Path.Combine(_tmp.Path, "cache2", "models--x--y", "snapshots", commit);
        foreach (var d in new[] { d1, d2 })
        {
            Directory.CreateDirectory(d);
            foreach (var f in Directory.GetFiles(TestPaths.BundledModelDir)) File.Copy(f, Path.Combine(d, Path.GetFileName(f)));
        }
        var e1 = new ModelEntry("hub:x", "x", ModelKind.Hub, d1, true, null, 6, 512, 128);
        var e2 = e1 with { Directory = d2 };
        using var l1 = catalog.Acquire(e1);
        using var l2 = catalog.Acquire(e2);
        Assert.Same(l1.Model, l2.Model);
        Assert.Equal(1, catalog.LoadedCount);
    }

    private sealed class TestJob(string id) : JobBase(id, new CancellationTokenSource())
    {
        public override object Status() => Id;
    }

    [Fact]
    public void Concurrent_submissions_never_exceed_the_job_limit()
    {
        const int max = 5, tries = 64;
        var table = new JobTable<TestJob>("test", max);
        int added = 0, refused = 0;
        using var start = new ManualResetEventSlim();
        var threads = Enumerable.Range(0, tries).Select(i => new Thread(() =>
        {
            start.Wait();
            try { table.Add(new TestJob("job" + i)); Interlocked.Increment(ref added); }
            catch (ServerBusyException) { Interlocked.Increment(ref refused); }
        })).ToList();
        threads.ForEach(t => t.Start());
        start.Set();
        threads.ForEach(t => t.Join());
        Assert.Equal(max, added);
        Assert.Equal(tries - max, refused);
        Assert.Equal(max, table.Count);
    }

    [Fact]
    public void A_jobs_cancellation_source_is_disposed_when_it_ends_and_cancel_after_that_is_harmless()
    {
        var job = new TestJob("j");
        var cts = job.Cts;
        job.End();
        Assert.Throws<ObjectDisposedException>(() => cts.Token);
        job.Cancel();      // a DELETE after the end: no ObjectDisposedException, nothing to stop
        job.End();         // idempotent
        var table = new JobTable<TestJob>("test", 2);
        table.Add(job);
        table.Cancel("j");
        table.CancelAll();
    }
}
