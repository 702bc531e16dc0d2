using Sna.Runtime;
using Sna.Runtime.Hub;
using Sna.Tests;

namespace Sna.Core.Tests.Hub;

/// <summary>
/// A new user's typos in a model argument fail in one line that says what was probably meant (reported: 'gpt2-medum' and a
/// mistyped relative path both ended in "network error: cannot reach https://huggingface.co", and an empty name was not an
/// input error). No network: the hub URL is a closed loopback port and the cache an empty temporary folder.
/// </summary>
public class ModelTypoTests
{
    [Theory]
    [InlineData("gpt2-medum", "gpt2-medium")]
    [InlineData("pythia-160n", "pythia-160m")]
    [InlineData("gtp2", "gpt2")]
    [InlineData("EleutherAI/pythia-160n", "EleutherAI/pythia-160m")]
    [InlineData("openai-community/gpt2-medum", "openai-community/gpt2-medium")]
    public async Task A_name_a_typo_away_from_a_known_model_is_suggested(string typed, string meant)
    {
        using var cache = new TempDir();
        foreach (bool offline in new[] { true, false })
        {
            var e = await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync(typed,
                new ResolveOptions { Settings = HubTestUtil.Settings(cache.Path, null, offline: offline) }));
            Assert.Contains($"(did you mean '{meant}'?)", e.Message.Split('\n')[0]);   // on the first line
        }
    }

    [Theory]
    [InlineData("someorg/some-model")]
    [InlineData("EleutherAI/pythia-14m")]   // real models two edits from an alias ('pythia-70m'): not typos
    [InlineData("pythia-31m")]
    public async Task A_name_far_from_every_alias_gets_no_suggestion(string name)
    {
        using var cache = new TempDir();
        var e = await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync(name,
            new ResolveOptions { Settings = HubTestUtil.Settings(cache.Path, null, offline: true) }));
        Assert.DoesNotContain("did you mean", e.Message);
    }

    [Fact]
    public void A_mistyped_relative_path_names_the_local_directory_it_was_probably_meant_to_be()
    {
        using var root = new TempDir();
        Directory.CreateDirectory(Path.Combine(root.Path, "models", "sna-demo-gpt2"));
        var spec = ModelResolver.Parse("models/sna-demo-gtp2");   // one '/': parsed as a repo id
        Assert.Equal(ModelSpecKind.Hub, spec.Kind);
        Assert.Equal("'models' is a local folder: did you mean the directory 'models/sna-demo-gpt2'?", ModelResolver.TypoHint(spec, root.Path));
        Assert.Equal("'models' is a local folder: it has no directory 'elsewhere'", ModelResolver.TypoHint(ModelResolver.Parse("models/elsewhere"), root.Path));
        Assert.Null(ModelResolver.TypoHint(ModelResolver.Parse("someorg/some-model"), root.Path));

        // Paths that read as paths: the missing directory's near sibling.
        var e = Assert.Throws<SnaInputException>(() => LanguageModel.Load(Path.Combine(root.Path, "models", "sna-demo-gtp2")));
        Assert.EndsWith("(did you mean the directory '" + Path.Combine(root.Path, "models", "sna-demo-gpt2") + "'?)", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("gpt2@")]
    [InlineData("bad name with spaces")]
    public void A_malformed_model_spec_is_an_input_error_from_the_library(string spec)
    {
        var e = Assert.Throws<SnaInputException>(() => LanguageModel.Load(spec, new LoadOptions { Offline = true }));
        Assert.Equal("model", e.Option);
        Assert.IsType<HubException>(e.InnerException);
    }

    [Theory]
    [InlineData("gpt2-medum", "gpt2-medium", 1)]
    [InlineData("gtp2", "gpt2", 1)]           // a swap of neighbours is one edit
    [InlineData("abc", "abc", 0)]
    [InlineData("", "abc", 3)]
    [InlineData("kitten", "sitting", 3)]
    public void Distance_counts_edits(string a, string b, int d) => Assert.Equal(d, Spelling.Distance(a, b));
}
