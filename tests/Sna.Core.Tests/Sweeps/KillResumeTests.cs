using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Sna.Research.Storage;
using Sna.Research.Sweeps;
using Sna.Core.Tests.Models;

namespace Sna.Core.Tests.Sweeps;

/// <summary>
/// A sweep process killed mid-run (Process.Kill, no chance to clean up) and then resumed gives exactly the rows of an
/// uninterrupted run. The child is a .NET 10 file-based app (<c>dotnet run child.cs</c>) referencing Sna.Research, so no extra
/// project is needed.
/// </summary>
public class KillResumeTests
{
    private const string ChildSource = """
        #:project {{CORE}}
        #:property TreatWarningsAsErrors=false
        #:property Nullable=enable
        #:property PublishAot=false
        using System.Text.Json;
        using Sna.Runtime.Models;
        using Sna.Research.Storage;
        using Sna.Research.Sweeps;

        var (modelDir, defPath, tasksPath, db) = (args[0], args[1], args[2], args[3]);
        var model = ModelLoader.Load(modelDir);
        var def = SweepDefinition.FromJson(File.ReadAllText(defPath));
        var tasks = JsonDocument.Parse(File.ReadAllText(tasksPath)).RootElement.EnumerateArray().Select(t => new SweepTask(
            t.GetProperty("name").GetString()!,
            t.GetProperty("prompts").EnumerateArray().Select(p => new SweepPrompt(p.GetProperty("text").GetString()!, p.GetProperty("target").GetString()!,
                p.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(), p.GetProperty("target_id").GetInt32())).ToList(),
            NeuronSources.Random(t.GetProperty("seed").GetInt32(), model.Config.DMlp))).ToList();
        using var store = ResultStore.Open(db);
        Console.WriteLine("started");
        new SweepEngine(model, def, tasks).Run(store, new SweepOptions { Threads = 1, MaxRowsLast = 7, MaxTokensAll = 40, Resume = true,
            AfterBatchCommitted = _ => Thread.Sleep(40) });
        Console.WriteLine("finished");
        """;

    [SharedFact]
    public void Killed_process_then_resume_equals_uninterrupted_run()
    {
        using var tmp = new TempDir();
        var reference = StoreResumeShardTests.Run(tmp.File("ref.db"));
        var model = StoreResumeShardTests.Model;
        var (def, tasks) = StoreResumeShardTests.Small(model);
        File.WriteAllText(tmp.File("def.json"), def.ToJson());
        int[] seeds = [1, 2];   // SweepTestData.Task seeds of "arith" and "poem"
        File.WriteAllText(tmp.File("tasks.json"), JsonSerializer.Serialize(tasks.Select((t, i) => new
        {
            name = t.Name, seed = seeds[i],
            prompts = t.Prompts.Select(p => new { text = p.Text, target = p.Target, ids = p.Ids, target_id = p.TargetId }),
        })));
        var core = Path.Combine(TestPaths.RepoRoot, "src", "Sna.Research", "Sna.Research.csproj");
        var childDir = Path.Combine(tmp.Path, "child");
        Directory.CreateDirectory(childDir);
        File.WriteAllText(Path.Combine(childDir, "child.cs"), ChildSource.Replace("{{CORE}}", core));
        string db = tmp.File("killed.db");

        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = childDir,
        };
        foreach (var a in new[] { "run", "child.cs", "--", ModelFixtures.Dir("gpt2-tiny-f32"), tmp.File("def.json"), tmp.File("tasks.json"), db })
            psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = new System.Text.StringBuilder();
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        p.BeginErrorReadLine();
        var sw = Stopwatch.StartNew();
        long rows = 0;
        while (sw.Elapsed < TimeSpan.FromMinutes(4) && !p.HasExited)
        {
            rows = CountRows(db);
            if (rows >= 30) break;
            Thread.Sleep(50);
        }
        Assert.False(p.HasExited, $"child exited early (code {(p.HasExited ? p.ExitCode : 0)}): {stderr}");
        p.Kill(entireProcessTree: true);
        p.WaitForExit();
        // What `cp shard-*.db` off a node takes: the main file alone, without -wal/-shm. It must be a sound database holding the
        // schema, the definition and at least the first committed batch (later ones up to the last checkpoint, ≤ 2 s old).
        long partial = CountRows(db);   // read-only: the files stay as the kill left them
        Assert.True(partial >= 30 && partial < reference.Count, $"killed with {partial} of {reference.Count} rows");
        string alone = tmp.File("copied-alone.db");
        File.Copy(db, alone);
        long inCopy = CountRows(alone);
        Assert.True(inCopy >= 1 && inCopy <= partial, $"the .db file alone holds {inCopy} of {partial} committed rows");
        using (var alone1 = ResultStore.OpenReadOnly(alone)) Assert.Equal(def.Hash(), alone1.ReadDefinition()!.Value.Hash);

        using var store = ResultStore.Open(db);
        var r = new SweepEngine(model, def, tasks).Run(store, StoreResumeShardTests.SmallBatches() with { Resume = true });
        Assert.True(r.Completed);
        Assert.Equal(partial, r.EvaluationsSkipped);
        Assert.Equal(reference, store.ReadResults().ToList());
    }

    private static long CountRows(string db)
    {
        if (!File.Exists(db)) return 0;
        try
        {
            using var c = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*) FROM results";
            return (long)cmd.ExecuteScalar()!;
        }
        catch (SqliteException) { return 0; }   // not created yet
    }
}
