using System.Text.Json;
using Sna.Runtime.Models;
using Sna.Runtime.Numerics;

namespace Sna.Core.Tests.Models;

/// <summary>
/// The forward pass against float64 goldens from independent PyTorch implementations (../shared/fixtures).
/// Tolerances (README of the fixtures): float32 log-probabilities within 1e-4; amplified runs within 1e-3;
/// activations to a relative error of about 1e-4.
/// </summary>
public class GoldenForwardTests
{
    public static TheoryData<string> AllFixtures() => new(ModelFixtures.Gpt2.Concat(ModelFixtures.NeoX).Concat(ModelFixtures.Llama));

    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void Last_position_logits_match_golden(string fixture)
    {
        var model = ModelFixtures.Model(fixture);
        var golden = ModelFixtures.Golden(fixture);
        int n = 0;
        foreach (var p in golden.GetProperty("prompts").EnumerateObject())
        {
            var ids = ModelFixtures.Ids(p.Value.GetProperty("ids"));
            var logits = model.ForwardLast(ids);
            var expected = ModelFixtures.GoldenTensor(fixture, "logits." + p.Name, out _);
            Assert.Equal(expected.Length, logits.Length);
            double maxErr = 0;
            for (int i = 0; i < logits.Length; i++) maxErr = Math.Max(maxErr, Math.Abs(logits[i] - expected[i]));
            // golden.safetensors holds the float64 logits rounded to float32 (~1e-6 at |logit| ~ 8)
            Assert.True(maxErr <= 1e-4, $"{fixture}/{p.Name}: max |logit error| = {maxErr:E3}");

            // log-probabilities of the golden top-10 against the float64 logsumexp
            double lse = Softmax.LogSumExp(logits);
            double lseGolden = p.Value.GetProperty("logsumexp").GetDouble();
            var topIds = ModelFixtures.Ids(p.Value.GetProperty("top10_ids"));
            var topLogits = p.Value.GetProperty("top10_logits").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            for (int j = 0; j < topIds.Length; j++)
            {
                double lp = logits[topIds[j]] - lse, lpGolden = topLogits[j] - lseGolden;
                Assert.True(Math.Abs(lp - lpGolden) <= 1e-4, $"{fixture}/{p.Name}: logprob of {topIds[j]} off by {Math.Abs(lp - lpGolden):E3}");
            }
            n++;
        }
        Assert.True(n >= 5, "expected the golden prompts");
    }

    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void Every_layer_mlp_hook_post_matches_golden(string fixture)
    {
        var model = ModelFixtures.Model(fixture);
        var golden = ModelFixtures.Golden(fixture);
        foreach (var p in golden.GetProperty("prompts").EnumerateObject())
        {
            var ids = ModelFixtures.Ids(p.Value.GetProperty("ids"));
            var names = Enumerable.Range(0, model.Config.NLayers).Select(HookNames.MlpPost).ToArray();
            var (_, cache) = model.RunWithCache([ids], names);
            for (int l = 0; l < model.Config.NLayers; l++)
            {
                var act = cache[HookNames.MlpPost(l)];
                var expected = ModelFixtures.GoldenTensor(fixture, $"mlp_post.{p.Name}.{l}", out var shape);
                Assert.Equal([1, shape[0], shape[1]], act.Shape);
                double maxAbs = expected.Max(Math.Abs), maxErr = 0;
                for (int i = 0; i < expected.Length; i++) maxErr = Math.Max(maxErr, Math.Abs(act.Data[i] - expected[i]));
                Assert.True(maxErr <= 1e-4 * Math.Max(1, maxAbs), $"{fixture}/{p.Name} layer {l}: max error {maxErr:E3} (max |act| {maxAbs:F3})");
            }
        }
    }

    [SharedTheory, MemberData(nameof(AllFixtures))]
    public void Amplified_runs_match_golden_target_logprob(string fixture)
    {
        var model = ModelFixtures.Model(fixture);
        var golden = ModelFixtures.Golden(fixture);
        var prompts = golden.GetProperty("prompts");
        int n = 0;
        foreach (var a in golden.GetProperty("amplified").EnumerateArray())
        {
            var ids = ModelFixtures.Ids(prompts.GetProperty(a.GetProperty("prompt").GetString()!).GetProperty("ids"));
            int layer = a.GetProperty("layer").GetInt32();
            var neurons = ModelFixtures.Ids(a.GetProperty("neurons"));
            float mult = (float)a.GetProperty("multiplier").GetDouble();
            bool lastOnly = a.GetProperty("positions").GetString() == "last";
            var hooks = new HookSet();
            hooks.Add(HookNames.MlpPost(layer), ctx =>
            {
                int T = ctx.Shape[1], M = ctx.Shape[2];
                for (int t = lastOnly ? T - 1 : 0; t < T; t++)
                    foreach (int i in neurons) ctx.Data[t * M + i] *= mult;
            });
            var logits = model.Forward([ids], hooks).Last(0).ToArray();
            int target = a.GetProperty("target_id").GetInt32();
            double lp = logits[target] - Softmax.LogSumExp(logits);
            double expected = a.GetProperty("target_logprob").GetDouble();
            Assert.True(Math.Abs(lp - expected) <= 1e-3, $"{fixture} amplified #{n}: logprob {lp} vs {expected}");
            var top5 = ModelFixtures.Ids(a.GetProperty("top5_ids"));
            var ours = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).Take(5).ToArray();
            Assert.Equal(top5[0], ours[0]);
            n++;
        }
        Assert.Equal(12, n);
    }
}
