using System.Text.Json.Nodes;
using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Web.Tests;

/// <summary>
/// Issue #12: the web page runs on a task file the user wrote (<c>sna serve --tasks-dir DIR</c>), resolved by the same
/// <see cref="TaskResolver"/> as <c>--task NAME</c> on the command line; a file that does not load is left out.
/// </summary>
public sealed class UserTaskFileTests
{
    [SharedFact(Needs = TestPaths.TinyFixture)]
    public async Task A_task_file_in_the_tasks_dir_is_listed_and_discovery_runs_on_it()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"sna-web-tasks-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "capitals.json"), """
                {"name": "capitals", "description": "Capital cities, written by a researcher",
                 "prompts": [
                   {"text": "The capital of France is", "target": " Paris"},
                   {"text": "The capital of Italy is", "target": " Rome"},
                   {"text": "The capital of Spain is", "target": " Madrid"},
                   {"text": "The capital of Germany is", "target": " Berlin"}]}
                """);
            File.WriteAllText(Path.Combine(dir, "broken.json"), """{"name": "broken", "prompts": [{"text": 3}]}""");
            await using var s = await WebServer.StartAsync(o => o with { TaskDirectories = [dir] });

            var (status, body, _) = await s.SendAsync(HttpMethod.Get, "/api/tasks");
            Assert.Equal(200, status);
            var ids = body!.AsArray().Select(t => (string?)t!["id"]).ToList();
            Assert.Contains("capitals", ids);
            Assert.Contains("math-easy", ids);           // the built-ins stay
            Assert.DoesNotContain("broken", ids);        // a file that does not load is left out, not a 500
            var capitals = body.AsArray().Single(t => (string?)t!["id"] == "capitals")!;
            Assert.Equal(" Madrid", (string?)capitals["examples"]![2]!["target"]);

            var d = await s.PostAsync("/api/discover", new { model = WebServer.TinyId, task = "capitals", layer = 1, topK = 4 });
            Assert.True(d.Status == 200, d.Body?.ToJsonString());
            // The library's one discovery on the suite the resolver loads from the file, as `sna neurons --task capitals --tasks-dir DIR`.
            var suite = TaskResolver.Resolve("capitals", [dir]).Suite;
            Assert.Equal(suite.DiscoveryTexts.Count, (int)d.Body!["taskTexts"]!);
            using var model = ModelLoader.Load(TestPaths.TinyDir);
            var want = new NeuronDiscovery(model, ModelTokenizer.FromDirectory(TestPaths.TinyDir)).ForTask(suite).Top(1, 4);
            Assert.Equal(want.Select(n => n.Index), d.Body["neurons"]!.AsArray().Select(n => (int)n!["neuron"]!));
            Assert.Equal(want.Select(n => n.Difference), d.Body["neurons"]!.AsArray().Select(n => (double)n!["difference"]!));

            var bad = await s.PostAsync("/api/discover", new { model = WebServer.TinyId, task = "broken", layer = 1, topK = 4 });
            Assert.Equal(400, bad.Status);

            // Does the answer change? The exact-match panel on the user's task: the library's GenerationEvaluator on the resolved suite.
            var em = await s.PostAsync("/api/exact-match", new { model = WebServer.TinyId, task = "capitals", layer = 1, count = 4, multiplier = 3, generate = 4 });
            Assert.True(em.Status == 200, em.Body?.ToJsonString());
            var neurons = want.Select(n => n.Index).ToArray();
            Assert.Equal(neurons, em.Body!["neurons"]!.AsArray().Select(n => (int)n!).ToArray());
            var g = Sna.Research.Experiments.GenerationEvaluator.Evaluate(model, ModelTokenizer.FromDirectory(TestPaths.TinyDir), suite,
                Amplification.Single(1, neurons, 3f), BosPolicy.Prepend, 0, 4);
            Assert.Equal(suite.Prompts.Count, (int)em.Body["n"]!);
            Assert.Equal(g.ExactMatch.CorrectBefore, (int)em.Body["correctBefore"]!);
            Assert.Equal(g.ExactMatch.CorrectAfter, (int)em.Body["correctAfter"]!);
            var tok = ModelTokenizer.FromDirectory(TestPaths.TinyDir);
            Assert.Equal(g.Prompts.Select(p => tok.Decode(p.After)), em.Body["prompts"]!.AsArray().Select(p => (string)p!["amplified"]!));
            Assert.Equal(suite.Prompts.Select(p => p.Target), em.Body["prompts"]!.AsArray().Select(p => (string)p!["target"]!));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
