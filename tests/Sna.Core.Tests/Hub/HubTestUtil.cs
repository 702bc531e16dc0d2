using System.Text;
using Sna.Runtime.Hub;

namespace Sna.Core.Tests.Hub;

/// <summary>Collects progress reports synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
public sealed class ListProgress : IProgress<DownloadProgress>
{
    public List<DownloadProgress> Reports { get; } = [];
    public void Report(DownloadProgress value) { lock (Reports) Reports.Add(value); }
}

public static class HubTestUtil
{
    public const string Commit1 = "0123456789abcdef0123456789abcdef01234567";
    public const string Commit2 = "89abcdef0123456789abcdef0123456789abcdef";

    public static byte[] RandomBytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static FakeFile Text(string s) => new(Encoding.UTF8.GetBytes(s), Lfs: false);

    /// <summary>A GPT-2-shaped repo: config, single safetensors (LFS), tokenizer files; no special_tokens_map.json.</summary>
    public static Dictionary<string, FakeFile> Gpt2Files(int weightBytes = 300_000, int seed = 1) => new()
    {
        ["config.json"] = Text("{\"architectures\":[\"GPT2LMHeadModel\"],\"n_layer\":2}"),
        ["model.safetensors"] = new FakeFile(RandomBytes(weightBytes, seed), Lfs: true),
        ["tokenizer.json"] = Text("{\"model\":{\"type\":\"BPE\"}}"),
        ["tokenizer_config.json"] = Text("{}"),
        ["vocab.json"] = Text("{\"a\":0}"),
        ["merges.txt"] = Text("#version: 0.2\n"),
        ["README.md"] = Text("# not downloaded"),
    };

    public static HubSettings Settings(string cacheDir, FakeHub? hub, string? token = null, bool offline = false) =>
        new(cacheDir, hub?.Url ?? "http://127.0.0.1:9", token, offline);
}
