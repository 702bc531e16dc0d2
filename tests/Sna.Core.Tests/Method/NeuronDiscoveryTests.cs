using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Core.Tests.Models;
using Sna.Runtime;
using Sna.Runtime.Tokenization;
using Sna.Tests;

namespace Sna.Core.Tests.Method;

/// <summary>Differential neuron discovery against the float64 goldens of the shared fixtures, plus its cache and contrastive mode.</summary>
public class NeuronDiscoveryTests
{
    public static TheoryData<string, string> FixtureSets()
    {
        var d = new TheoryData<string, string>();
        foreach (var f in MethodFixtures.All.Concat(ModelFixtures.Llama)) foreach (var s in new[] { "arithmetic", "rhyme" }) d.Add(f, s);
        return d;
    }

    [SharedTheory, MemberData(nameof(FixtureSets))]
    public void Differential_top25_matches_golden(string fixture, string set)
    {
        var (model, tok) = MethodFixtures.Get(fixture);
        var prompts = MethodFixtures.PromptsJson();
        var texts = MethodFixtures.Strings(prompts.GetProperty("sets").GetProperty(set));
        var neutral = MethodFixtures.Strings(prompts.GetProperty("neutral"));
        var disc = new NeuronDiscovery(model, tok) { Bos = BosPolicy.None, BatchSize = 3 };

        // the texts encode to exactly the golden ids (no BOS)
        var tokens = ModelFixtures.PromptTokensOf(fixture);
        var goldenIds = tokens.GetProperty("sets").GetProperty(set).GetProperty("task").EnumerateArray().Select(ModelFixtures.Ids).ToArray();
        Assert.Equal(goldenIds, disc.Encode(texts));

        var r = disc.Differential(texts, neutral);
        var diff = ModelFixtures.GoldenTensor(fixture, "diff." + set, out var shape);
        Assert.Equal([model.Config.NLayers, model.Config.DMlp], shape);
        var golden = ModelFixtures.Golden(fixture).GetProperty("differential").GetProperty(set);
        for (int l = 0; l < model.Config.NLayers; l++)
        {
            var mine = r.Difference(l);
            var want = diff.AsSpan(l * shape[1], shape[1]);
            double scale = 0;
            foreach (double x in want) scale = Math.Max(scale, Math.Abs(x));
            for (int n = 0; n < mine.Length; n++)
                Assert.True(Math.Abs(mine[n] - want[n]) <= 1e-4 * Math.Max(scale, 1e-3),
                    $"{fixture}/{set} L{l} n{n}: {mine[n]:G9} vs {want[n]:G9}");

            var top = r.TopIndices(l, 25);
            var gold = ModelFixtures.Ids(golden.GetProperty($"layer{l}"));
            int shared = top.Intersect(gold).Count();
            Assert.True(shared >= 24, $"{fixture}/{set} L{l}: only {shared}/25 shared with the golden top-25");
            // ranks descend, ties by lower index
            var t = r.Top(l, 25);
            for (int i = 1; i < t.Count; i++)
                Assert.True(t[i - 1].Difference > t[i].Difference || (t[i - 1].Difference == t[i].Difference && t[i - 1].Index < t[i].Index));
        }
    }

    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void Batched_means_equal_one_text_at_a_time(string fixture)
    {
        var (model, tok) = MethodFixtures.Get(fixture);
        var p = MethodFixtures.PromptsJson();
        var texts = MethodFixtures.Strings(p.GetProperty("sets").GetProperty("arithmetic")).Concat(MethodFixtures.Strings(p.GetProperty("neutral"))).ToArray();
        var batched = new NeuronDiscovery(model, tok) { BatchSize = 16 }.Mean(texts);
        var single = new NeuronDiscovery(model, tok) { BatchSize = 1 }.Mean(texts);
        Assert.Equal(texts.Length, batched.TextCount);
        var a = batched.Values; var b = single.Values;
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-5 * Math.Max(1, Math.Abs(b[i])), $"value {i}: {a[i]} vs {b[i]}");
    }

    public static TheoryData<string> AllFixtures() => new(MethodFixtures.All);

    [SharedFact]
    public void Cache_hit_returns_identical_values_and_a_different_set_misses()
    {
        var (model, tok) = MethodFixtures.Get("gpt2-tiny-f32");
        var dir = MethodFixtures.TempDir();
        try
        {
            var p = MethodFixtures.PromptsJson();
            var arith = MethodFixtures.Strings(p.GetProperty("sets").GetProperty("arithmetic"));
            var rhyme = MethodFixtures.Strings(p.GetProperty("sets").GetProperty("rhyme"));
            var cache = new DiscoveryCache(dir);
            var disc = new NeuronDiscovery(model, tok, cache);
            var first = disc.Mean(arith);
            Assert.Equal((0, 1), (cache.Hits, cache.Misses));
            Assert.Single(Directory.GetFiles(dir, "*.bin"));

            var again = new NeuronDiscovery(model, tok, cache).Mean(arith);
            Assert.Equal((1, 1), (cache.Hits, cache.Misses));
            Assert.Equal(first.Values.ToArray(), again.Values.ToArray());   // bit-identical doubles
            Assert.Equal(first.TextCount, again.TextCount);

            new NeuronDiscovery(model, tok, cache).Mean(rhyme);              // another text set
            Assert.Equal((1, 2), (cache.Hits, cache.Misses));
            new NeuronDiscovery(model, tok, cache) { Bos = BosPolicy.None }.Mean(arith);   // same texts, other BOS policy
            Assert.Equal((1, 3), (cache.Hits, cache.Misses));
            Assert.Equal(3, Directory.GetFiles(dir, "*.bin").Length);
            Assert.NotEqual(cache.Key(model, disc.Encode(arith)), cache.Key(MethodFixtures.Get("gpt2-tiny-f16").Model, disc.Encode(arith)));
            // A forward-pass fix (version bump) is a miss, never a stale hit.
            var ids = disc.Encode(arith);
            Assert.Equal(cache.Key(model, ids), cache.Key(model, ids, Sna.Runtime.Models.ForwardPassVersion.Current));
            Assert.NotEqual(cache.Key(model, ids), cache.Key(model, ids, Sna.Runtime.Models.ForwardPassVersion.Current + 1));
        }
        finally { Directory.Delete(dir, true); }
    }

    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void Contrastive_lists_are_disjoint_and_overlap_is_reported(string fixture)
    {
        var (model, tok) = MethodFixtures.Get(fixture);
        var p = MethodFixtures.PromptsJson();
        var disc = new NeuronDiscovery(model, tok) { Bos = BosPolicy.None };
        const int k = 25;
        var c = disc.Contrastive(MethodFixtures.Strings(p.GetProperty("sets").GetProperty("arithmetic")),
                                 MethodFixtures.Strings(p.GetProperty("sets").GetProperty("rhyme")),
                                 MethodFixtures.Strings(p.GetProperty("neutral")), k);
        for (int l = 0; l < c.Layers; l++)
        {
            var a = c.ExclusiveA(l).Select(n => n.Index).ToArray();
            var b = c.ExclusiveB(l).Select(n => n.Index).ToArray();
            Assert.Empty(a.Intersect(b));
            int shared = c.Shared(l).Length;
            Assert.Equal(k - shared, a.Length);
            Assert.Equal(k - shared, b.Length);
            Assert.Equal(shared * 100.0 / k, c.OverlapPct(l), 9);
            Assert.Equal(c.OverlapPct(l), NeuronDiscovery.Overlap(c.A.TopIndices(l, k), c.B.TopIndices(l, k), k), 9);
        }
        Assert.Equal(40.0, NeuronDiscovery.Overlap([1, 2, 3, 4, 5], [4, 5, 6, 7, 8], 5));
    }

    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void Named_methods_contrastive_is_A_vs_B_directly_exclusive_is_each_vs_neutral_minus_shared(string fixture)
    {
        var (model, tok) = MethodFixtures.Get(fixture);
        var p = MethodFixtures.PromptsJson();
        var disc = new NeuronDiscovery(model, tok) { Bos = BosPolicy.None };
        var a = MethodFixtures.Strings(p.GetProperty("sets").GetProperty("arithmetic"));
        var b = MethodFixtures.Strings(p.GetProperty("sets").GetProperty("rhyme"));
        var n = MethodFixtures.Strings(p.GetProperty("neutral"));
        const int k = 10;
        var con = disc.TwoClass(DiscoveryMethod.Contrastive, a, b, n, k);
        var exc = disc.TwoClass(DiscoveryMethod.Exclusive, a, b, n, k);
        var old = disc.Contrastive(a, b, n, k);
        var mA = disc.Mean(a); var mB = disc.Mean(b);
        bool anyDifferent = false;
        for (int l = 0; l < con.Count; l++)
        {
            // contrastive = top k of A − B and of B − A (positive), computed here naively from the two means
            var dAB = Enumerable.Range(0, mA.DMlp).Select(i => (i, d: mA.Layer(l)[i] - mB.Layer(l)[i])).ToArray();
            var expA = dAB.Where(x => x.d > 0).OrderByDescending(x => x.d).ThenBy(x => x.i).Take(k).Select(x => x.i);
            var expB = dAB.Where(x => x.d < 0).OrderBy(x => x.d).ThenBy(x => x.i).Take(k).Select(x => x.i);
            Assert.Equal(expA, con[l].A.Select(x => x.Index));
            Assert.Equal(expB, con[l].B.Select(x => x.Index));
            Assert.Empty(con[l].A.Select(x => x.Index).Intersect(con[l].B.Select(x => x.Index)));
            // exclusive = the old --contrast-texts lists
            Assert.Equal(old.ExclusiveA(l).Select(x => x.Index), exc[l].A.Select(x => x.Index));
            Assert.Equal(old.ExclusiveB(l).Select(x => x.Index), exc[l].B.Select(x => x.Index));
            Assert.Equal(old.OverlapPct(l), exc[l].OverlapPct, 12);
            // and ClassNeurons (classification) uses the same contrastive implementation
            var cls = Sna.Research.Classification.ClassNeurons.Contrastive(l, mA.Layer(l).ToArray(), mB.Layer(l).ToArray(), k);
            Assert.Equal(con[l].A.Select(x => x.Index), cls.Class0);
            Assert.Equal(con[l].B.Select(x => x.Index), cls.Class1);
            anyDifferent |= !con[l].A.Select(x => x.Index).SequenceEqual(exc[l].A.Select(x => x.Index));
        }
        Assert.True(anyDifferent, "contrastive and exclusive lists should differ somewhere");
        Assert.Throws<ArgumentException>(() => disc.TwoClass(DiscoveryMethod.Differential, a, b, n, k));
        Assert.Equal(DiscoveryMethod.TaskVsRest, DiscoveryMethods.Parse("task-vs-rest"));
        Assert.Throws<ArgumentException>(() => DiscoveryMethods.Parse("contrast"));
    }

    /// <summary>
    /// Task-vs-rest has one definition of its "rest" (NeuronDiscovery.RestTexts) that the CLI (built-in tasks) and the sweep
    /// (its own tasks) both call: checked against the two spellings it replaced, and the sweep's selector against the library's.
    /// </summary>
    [SharedFact]
    public void Task_vs_rest_texts_and_lists_are_one_definition_for_the_cli_and_the_sweep()
    {
        var builtIn = TaskLibrary.BuiltIns[0];
        var cliOld = TaskLibrary.BuiltInNames.Where(n => n != builtIn.Name).SelectMany(n => TaskLibrary.BuiltIn(n).DiscoveryTexts).ToArray();
        Assert.Equal(cliOld, NeuronDiscovery.RestTexts(builtIn, TaskLibrary.BuiltIns));
        Assert.DoesNotContain(builtIn.DiscoveryTexts[0], NeuronDiscovery.RestTexts(builtIn, TaskLibrary.BuiltIns));

        var (model, tok) = MethodFixtures.Get("gpt2-tiny-f32");
        TaskSuite S(string name, params string[] texts) => new() { Name = name, Prompts = texts.Select(t => new TaskPrompt(t, " a")).ToArray() };
        TaskSuite[] suites = [S("x", "The sum of two and two is", "Three plus four makes"), S("y", "The cat sat on the", "A dog ran to the"), S("z", "Roses are red, violets are")];
        var disc = new NeuronDiscovery(model, tok) { Bos = BosPolicy.Prepend };
        var built = Sna.Research.Sweeps.SweepTaskBuilder.Build(model, tok, suites, "task-vs-rest", BosPolicy.Prepend);
        int k = 7;
        foreach (var (suite, task) in suites.Zip(built))
        {
            var sweepOld = suites.Where(s => s.Name != suite.Name).SelectMany(s => s.DiscoveryTexts).ToArray();
            Assert.Equal(sweepOld, NeuronDiscovery.RestTexts(suite, suites));
            var lists = disc.TaskVsRest(suite, suites);
            var (mt, mr) = (disc.Mean(suite.DiscoveryTexts), disc.Mean(sweepOld));
            for (int l = 0; l < model.Config.NLayers; l++)
            {
                var want = DiscoveryMethods.TaskVsRest(mt.Layer(l), mr.Layer(l), k);
                Assert.Equal(want, lists(l, k));
                Assert.Equal(want.Select(n => n.Index), task.Neurons(l, k));
            }
        }
        Assert.Throws<Sna.Runtime.SnaInputException>(() => disc.TaskVsRest(suites[0], [suites[0]]));
    }

    [Fact]
    public void Sweep_refuses_the_old_contrastive_source_name_with_a_pointer()
    {
        var e = Assert.Throws<Sna.Runtime.SnaInputException>(() => Sna.Research.Sweeps.NeuronSourceSpec.Parse("contrastive"));
        Assert.Contains("task-vs-rest", e.Message);
        Assert.Equal("task-vs-rest", Sna.Research.Sweeps.NeuronSourceSpec.Parse("task-vs-rest").Kind);
    }

    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void Multiplier_zero_ablates_the_chosen_neurons(string fixture)
    {
        var (model, tok) = MethodFixtures.Get(fixture);
        var ids = tok.Encode("The cat sat on the mat", BosPolicy.None);
        int[] neurons = [0, 5, model.Config.DMlp - 1];
        int layer = model.Config.NLayers - 1;
        var name = HookNames.MlpPost(layer);
        var (_, plain) = model.RunWithCache([ids], [name]);
        var amp = Amplification.Single(layer, neurons, 0f);
        var (_, ablated) = model.RunWithCache([ids], [name], amp.ToHooks(model.Config));
        var before = plain[name]; var after = ablated[name];
        int M = model.Config.DMlp;
        for (int t = 0; t < ids.Length; t++)
            for (int n = 0; n < M; n++)
            {
                float v = after.Data[t * M + n];
                if (neurons.Contains(n)) Assert.Equal(0f, v);
                else Assert.Equal(before.Data[t * M + n], v);
            }
        Assert.Contains(neurons, n => before.Data[n] != 0f);   // the ablation changed something
    }

    [Fact]
    public void A_language_model_gives_discovery_its_bos_policy()
    {
        const string text = "The cat sat on the mat";
        using var prepend = LanguageModel.FromParts(ModelLoader.Load(TestPaths.TinyDir), ModelTokenizer.FromDirectory(TestPaths.TinyDir));
        using var none = LanguageModel.FromParts(ModelLoader.Load(TestPaths.TinyDir), ModelTokenizer.FromDirectory(TestPaths.TinyDir), BosPolicy.None);
        Assert.Equal(BosPolicy.Prepend, prepend.Bos);   // the tokenizer's default: it has a BOS token

        // Texts are encoded exactly as the model encodes a prompt it runs, with or without BOS.
        Assert.Equal(prepend.ToTokens(text), new NeuronDiscovery(prepend).Encode([text])[0]);
        Assert.Equal(none.ToTokens(text), new NeuronDiscovery(none).Encode([text])[0]);
        Assert.Equal(none.ToTokens(text).Length + 1, prepend.ToTokens(text).Length);
        Assert.Equal(BosPolicy.None, new NeuronDiscovery(none).Bos);
        // An initializer still chooses, and With(...) keeps the policy.
        Assert.Equal(BosPolicy.Prepend, new NeuronDiscovery(none) { Bos = BosPolicy.Prepend }.Bos);
        Assert.Equal(BosPolicy.None, new NeuronDiscovery(none).With(DiscoveryMeanOptions.Default).Bos);

        // And the means differ: the BOS position enters every text's mean.
        var withBos = new NeuronDiscovery(prepend).Mean([text]).Layer(0).ToArray();
        var without = new NeuronDiscovery(none).Mean([text]).Layer(0).ToArray();
        Assert.NotEqual(withBos, without);
    }
}
