using Sna.Research.Method;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Core.Tests.Method;

/// <summary>The built-in suites are graded: on the bundled demo model, easy &gt; medium &gt; hard in mean P_base within every domain.</summary>
public class BuiltInSuiteDifficultyTests
{
    [Fact]
    public void Levels_differ_in_baseline_confidence_on_the_demo_model()
    {
        var dir = TestPaths.BundledModelDir;
        using var model = ModelLoader.Load(dir);
        var tok = ModelTokenizer.FromDirectory(dir);
        var means = new Dictionary<string, double>();
        foreach (var name in TaskLibrary.BuiltInNames.Take(12))
            means[name] = Advisor.Advise(model, tok, TaskLibrary.BuiltIn(name), BosPolicy.Prepend).MeanPBase;
        foreach (var d in new[] { "math", "poetry", "code", "logic" })
        {
            Assert.True(means[$"{d}-easy"] > means[$"{d}-medium"], $"{d}: easy {means[$"{d}-easy"]:G3} ≤ medium {means[$"{d}-medium"]:G3}");
            Assert.True(means[$"{d}-medium"] > means[$"{d}-hard"], $"{d}: medium {means[$"{d}-medium"]:G3} ≤ hard {means[$"{d}-hard"]:G3}");
        }
        // the suites span the zones: some saturated (Zone 3), most low-confidence (Zone 1)
        Assert.Contains(means.Values, m => m > 0.10);
        Assert.Contains(means.Values, m => m < 0.01);
    }
}
