using Sna.Research.Method;

namespace Sna.Core.Tests.Method;

/// <summary>The task-suite format: what it accepts, what it rejects (with file and line), and the built-in suites.</summary>
public class TaskSuiteTests
{
    private const string Minimal = """{"name": "t", "domain": "math", "level": "easy", "prompts": [{"text": "What is 3 + 4? Answer:", "target": " 7"}], "neutral": ["The house is on a quiet street."]}""";

    [Fact]
    public void Minimal_json_is_accepted()
    {
        var s = TaskSuiteJson.Parse(Minimal, "min.json");
        Assert.Equal("t", s.Name);
        Assert.Equal(("math", "easy"), (s.Domain, s.Level));
        Assert.Equal([new TaskPrompt("What is 3 + 4? Answer:", " 7")], s.Prompts);
        Assert.Equal(["The house is on a quiet street."], s.Neutral);
        Assert.Null(s.Texts);
        Assert.False(s.IsClassification);
        Assert.Equal(["What is 3 + 4? Answer:"], s.DiscoveryTexts);
    }

    [Fact]
    public void Suites_round_trip_through_json_and_files()
    {
        var s = new TaskSuite
        {
            Name = "sentiment", Domain = "reviews", Level = "medium", Description = "d \"quoted\" é\nline",
            Classes = new Dictionary<string, string> { ["a"] = " positive", ["b"] = " negative" },
            Prompts = [new("Review: great. Sentiment:", " positive", "a"), new("Review: dull. Sentiment:", " negative", "b")],
            Texts = ["great", "dull"], Neutral = ["A table.", "A chair."],
        };
        var back = TaskSuiteJson.Parse(s.ToJson(), "x");
        Assert.Equal(s.Name, back.Name);
        Assert.Equal(s.Description, back.Description);
        Assert.Equal(s.Prompts, back.Prompts);
        Assert.Equal(s.Texts, back.Texts);
        Assert.Equal(s.Neutral, back.Neutral);
        Assert.Equal(s.Classes, back.Classes);
        Assert.Equal(["Review: great. Sentiment:"], back.ClassTexts("a"));

        var dir = MethodFixtures.TempDir();
        try
        {
            foreach (var b in TaskLibrary.BuiltIns)
            {
                var path = Path.Combine(dir, b.Name + ".json");
                File.WriteAllText(path, b.ToJson());
                var loaded = TaskSuiteJson.Load(path);
                Assert.Equal(b.Prompts, loaded.Prompts);
                Assert.Equal(b.ToJson(), loaded.ToJson());
            }
            var listed = TaskLibrary.List(dir);
            Assert.Equal(2 * TaskLibrary.BuiltIns.Count, listed.Count);
            Assert.All(listed, l => Assert.Null(l.Error));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_classification_prompt_without_target_takes_its_class_continuation()
    {
        var s = TaskSuiteJson.Parse("""{"name":"c","classes":{"pos":" positive","neg":" negative"},"prompts":[{"text":"a","label":"pos"},{"text":"b","label":"neg","target":" negative"}]}""", "c.json");
        Assert.Equal(" positive", s.Prompts[0].Target);
        Assert.True(s.IsClassification);
    }

    public static TheoryData<string, int, string> Malformed() => new()
    {
        // json, expected line, expected words in the reason
        { "{\n  \"name\": \"t\",\n  \"prompts\": [\n    {\"text\": \"a\", \"target\": \" b\"}\n    {\"text\": \"c\", \"target\": \" d\"}\n  ]\n}", 5, "invalid JSON" },
        { "{\n  \"domain\": \"math\",\n  \"prompts\": [{\"text\": \"a\", \"target\": \" b\"}]\n}", 1, "no \"name\"" },
        { "{\n  \"name\": \"t\"\n}", 1, "no \"prompts\"" },
        { "{\n  \"name\": \"t\",\n  \"prompts\": []\n}", 3, "\"prompts\" is empty" },
        { "{\n  \"name\": \"t\",\n  \"prompts\": [\n    {\"text\": \"a\", \"target\": \" b\"},\n    {\"text\": \"c\",\n     \"target\": \"\"}\n  ]\n}", 6, "target is empty" },
        { "{\n  \"name\": \"t\",\n  \"prompts\": [\n    {\"text\": \"a\", \"target\": \" b\"},\n    {\"text\": \"a\", \"target\": \" c\"}\n  ]\n}", 5, "duplicates prompt 0" },
        { "{\n  \"name\": \"t\",\n  \"promtps\": []\n}", 3, "unknown field \"promtps\"" },
        { "{\n  \"name\": \"t\",\n  \"prompts\": [{\"text\": \"a\"}]\n}", 3, "no \"target\"" },
        { "{\n  \"name\": \"t\",\n  \"prompts\": [{\"text\": \"a\", \"target\": \" b\", \"label\": \"x\"}]\n}", 3, "no \"classes\"" },
        { "{\n  \"name\": \"t\",\n  \"prompts\": [{\"text\": \"a\", \"target\": \" b\"}],\n  \"neutral\": [\"x\", \"x\"]\n}", 4, "duplicates" },
        { "{\n  \"name\": \"t\",\n  \"name\": \"u\",\n  \"prompts\": [{\"text\": \"a\", \"target\": \" b\"}]\n}", 3, "duplicate field" },
        { "[1, 2]", 1, "must be a JSON object" },
        { "", 1, "" },
        { "{\n  \"name\": \"my task\",\n  \"prompts\": [{\"text\": \"a\", \"target\": \" b\"}]\n}", 2, "whitespace" },
        { "{\"name\":\"t\",\n\"classes\":{\"a\":\" x\"},\n\"prompts\":[{\"text\":\"a\",\"label\":\"a\"}]}", 2, "exactly two" },
    };

    [Theory, MemberData(nameof(Malformed))]
    public void Malformed_suites_fail_naming_file_line_and_reason(string json, int line, string reason)
    {
        var dir = MethodFixtures.TempDir();
        try
        {
            var path = Path.Combine(dir, "bad.json");
            File.WriteAllText(path, json);
            var e = Assert.Throws<TaskSuiteException>(() => TaskSuiteJson.Load(path));
            Assert.Equal(path, e.File);
            Assert.Equal(line, e.Line);
            Assert.Contains(reason, e.Reason);
            Assert.StartsWith($"{path}:{line}: ", e.Message);
            Assert.IsAssignableFrom<Sna.Runtime.SnaInputException>(e);   // the CLI reports it as a one-line input error (exit 2)
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Every_builtin_suite_loads_with_at_least_20_prompts_whose_targets_tokenize()
    {
        string[] expected = [.. from d in new[] { "math", "poetry", "code", "logic" } from l in new[] { "easy", "medium", "hard" } select $"{d}-{l}"];
        Assert.Equal(expected, TaskLibrary.BuiltInNames.Take(12));
        var tok = MethodFixtures.DemoTokenizer();
        foreach (var s in TaskLibrary.BuiltIns)
        {
            Assert.Equal($"builtin:{s.Name}", s.Source);
            Assert.True(s.Prompts.Count >= 20, $"{s.Name} has {s.Prompts.Count} prompts");
            foreach (var p in s.Prompts)
            {
                Assert.True(tok.Encode(p.Target).Length >= 1, $"{s.Name}: target '{p.Target}' has no tokens");
                Assert.True(tok.Encode(p.Text).Length >= 1);
            }
            var again = TaskLibrary.Resolve(s.Name);
            Assert.Same(s, again);
        }
    }

    [Fact]
    public void Math_targets_are_single_tokens_holding_the_answer()
    {
        var tok = MethodFixtures.DemoTokenizer();
        foreach (var name in new[] { "math-easy", "math-medium", "math-hard" })
            foreach (var p in TaskLibrary.BuiltIn(name).Prompts)
                Assert.Equal(p.Target, tok.TokenText(Assert.Single(tok.Encode(p.Target))));
    }

    [Fact]
    public void Neutral_corpus_has_at_least_100_distinct_sentences()
    {
        var n = TaskLibrary.NeutralCorpus;
        Assert.True(n.Count >= 100, $"{n.Count} sentences");
        Assert.Equal(n.Count, n.Distinct().Count());
        Assert.All(n, s => Assert.True(s.Length > 10 && s.EndsWith('.')));
    }

    [Fact]
    public void Resolve_reports_unknown_names_and_missing_files()
    {
        var e = Assert.Throws<Sna.Runtime.SnaInputException>(() => TaskLibrary.Resolve("no-such-task"));
        Assert.Contains("math-easy", e.Message);
        Assert.Throws<Sna.Runtime.SnaInputException>(() => TaskLibrary.Resolve("missing/file.json"));
    }
}
