using System.Security.Cryptography;
using Sna.Runtime.Checkpoints;
using Sna.Runtime.Numerics;

namespace Sna.Core.Tests.Checkpoints;

public class FixtureCheckpointTests
{
    public static string DemoModelDir => TestPaths.BundledModelDir;

    public static TheoryData<string?, int, string, TensorDType, int[]> Fixtures => new()
    {
        // fixture (null: the bundled demo model), tensor count, a known name, its dtype, its shape
        { "gpt2-tiny-f32", 43, "h.0.attn.c_attn.weight", TensorDType.F32, [32, 96] },
        { "gpt2-tiny-f16", 28, "transformer.h.0.attn.c_attn.weight", TensorDType.F16, [48, 144] },
        { "pythia-tiny-f32", 46, "gpt_neox.layers.0.attention.query_key_value.weight", TensorDType.F32, [192, 64] },
        { "pythia-tiny-f16", 28, "gpt_neox.layers.0.attention.query_key_value.weight", TensorDType.F16, [144, 48] },
        { null, 76, "h.0.attn.c_attn.weight", TensorDType.F16, [128, 384] },
    };

    [SharedFact]
    public void TestDataIsFound()
    {
        Assert.True(TestPaths.DataAvailable, $"neither {TestPaths.VendoredDir} nor {TestPaths.SharedDir} found");
        Assert.True(File.Exists(Path.Combine(TestPaths.RepoRoot, "Sna.sln")));
        Assert.True(Directory.Exists(TestPaths.Fixture("gpt2-tiny-f16")));
        Assert.True(Directory.Exists(TestPaths.Fixture("gpt2-tiny-f32")));   // skips on a bare clone: not vendored
    }

    [SharedTheory]
    [MemberData(nameof(Fixtures))]
    public void Open_ReportsCountsNamesShapesAndDTypes(string? fixture, int count, string name, TensorDType dtype, int[] shape)
    {
        string dir = fixture is null ? DemoModelDir : TestPaths.Fixture(fixture);
        using var ckpt = Checkpoint.Open(dir);
        Assert.Equal(count, ckpt.Names.Count);
        Assert.False(ckpt.IsSharded);
        Assert.Equal([Path.Combine(dir, "model.safetensors")], ckpt.Files);
        Assert.Equal("pt", ckpt.Metadata["format"]);
        Assert.True(ckpt.Contains(name));
        var v = ckpt.Get(name);
        Assert.Equal(name, v.Name);
        Assert.Equal(dtype, v.DType);
        Assert.Equal(shape, v.Shape);
        Assert.Equal((long)shape[0] * shape[1], v.ElementCount);
        Assert.Equal(v.ElementCount * dtype.ElementSize(), v.ByteLength);
        Assert.Equal(Path.Combine(dir, "model.safetensors"), v.SourceFile);
        v.ExpectShape(shape);
        Assert.True(ckpt.TryGet(name, out var v2));
        Assert.Equal(v.ByteLength, v2.ByteLength);
        Assert.False(ckpt.TryGet(name + ".nope", out _));
    }

    [SharedFact]
    public void Open_KnownBuffersAndLayouts()
    {
        using (var g = Checkpoint.Open(TestPaths.Fixture("gpt2-tiny-f32")))
        {
            Assert.Equal([1, 1, 64, 64], g.Get("h.0.attn.bias").Shape);
            Assert.Equal([50257, 32], g.Get("wte.weight").Shape);
            Assert.Equal([32], g.Get("ln_f.weight").Shape);
            Assert.Equal(3, Enumerable.Range(0, 10).Count(l => g.Contains($"h.{l}.mlp.c_fc.weight")));
        }
        using (var p = Checkpoint.Open(TestPaths.Fixture("pythia-tiny-f32")))
        {
            Assert.Equal([2], p.Get("gpt_neox.layers.0.attention.rotary_emb.inv_freq").Shape);
            Assert.Equal([1], p.Get("gpt_neox.layers.0.attention.masked_bias").Shape);
            Assert.Equal([50304, 64], p.Get("embed_out.weight").Shape);
        }
    }

    [SharedTheory]
    [MemberData(nameof(Fixtures))]
    public void CopyToFloat32_MatchesNaiveReadOfEveryElement(string? fixture, int count, string name, TensorDType dtype, int[] shape)
    {
        _ = (count, name, dtype, shape);
        string dir = fixture is null ? DemoModelDir : TestPaths.Fixture(fixture);
        string file = Path.Combine(dir, "model.safetensors");
        var naive = new NaiveSafetensors(file);
        using var st = SafetensorsFile.Open(file);
        Assert.Equal(naive.Tensors.Keys.Order(StringComparer.Ordinal), st.Names.Order(StringComparer.Ordinal));
        foreach (var v in st.Tensors)
        {
            var info = naive.Tensors[v.Name];
            Assert.Equal(info.DType, v.DType.ToSafetensorsName());
            Assert.Equal(info.Shape, v.Shape.Select(d => (long)d));
            Assert.Equal(info.End - info.Begin, v.ByteLength);
            var values = v.ToFloat32Array();
            for (long i = 0; i < values.Length; i++)
            {
                float expected = naive.Element(v.Name, i);
                if (BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(values[i]))
                    Assert.Fail($"{v.Name}[{i}]: expected {expected}, got {values[i]}");
            }
        }
    }

    [SharedTheory]
    [InlineData("gpt2-tiny-f32")]
    [InlineData("gpt2-tiny-f16")]
    [InlineData("pythia-tiny-f32")]
    [InlineData("pythia-tiny-f16")]
    public void GoldenFilesOpenAndMatchNaiveRead(string fixture)
    {
        string file = Path.Combine(TestPaths.Fixture(fixture), "golden.safetensors");
        var naive = new NaiveSafetensors(file);
        using var st = SafetensorsFile.Open(file);
        Assert.Equal("golden", st.Metadata["format"]);
        Assert.Equal(naive.Tensors.Count, st.Names.Count);
        var logits = st.Names.First(n => n.StartsWith("logits.", StringComparison.Ordinal));
        var vals = st.Get(logits).ToFloat32Array();
        Assert.Equal(naive.Element(logits, 0), vals[0]);
        Assert.Equal(naive.Element(logits, vals.Length - 1), vals[^1]);
    }

    [SharedTheory]
    [InlineData("gpt2-tiny-f32", "h.0.attn.c_attn.weight")]
    [InlineData("gpt2-tiny-f16", "transformer.h.1.mlp.c_proj.weight")]
    [InlineData("pythia-tiny-f32", "gpt_neox.layers.2.mlp.dense_h_to_4h.weight")]
    [InlineData("pythia-tiny-f16", "embed_out.weight")]
    public void AsMatrix_IndexerMatchesCopyToFloat32_BothLayouts(string fixture, string name)
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture(fixture));
        var v = ckpt.Get(name);
        var flat = v.ToFloat32Array();
        int rows = v.Dim(0), cols = v.Dim(1);
        AssertMatrixMatches(v, flat, rows, cols);
    }

    internal static unsafe void AssertMatrixMatches(TensorView v, float[] flat, int rows, int cols)
    {
        // Not transposed: stored [K, N] => K = rows, N = cols, B[k, n] = flat[k * N + n].
        var m = v.AsMatrix(transposed: false);
        Assert.Equal(rows, m.K);
        Assert.Equal(cols, m.N);
        Assert.False(m.Transposed);
        Assert.True(m.Data == v.Data);
        for (int k = 0; k < rows; k++)
            for (int n = 0; n < cols; n++)
                if (m[k, n] != flat[(long)k * cols + n]) Assert.Fail($"[{k},{n}] {m[k, n]} != {flat[(long)k * cols + n]}");

        // Transposed: stored [N, K] => N = rows, K = cols, B[k, n] = flat[n * K + k].
        var t = v.AsMatrix(transposed: true);
        Assert.Equal(cols, t.K);
        Assert.Equal(rows, t.N);
        Assert.True(t.Transposed);
        for (int k = 0; k < cols; k++)
            for (int n = 0; n < rows; n++)
                if (t[k, n] != flat[(long)n * cols + k]) Assert.Fail($"T[{k},{n}] {t[k, n]} != {flat[(long)n * cols + k]}");
        var expectedDType = v.DType switch { TensorDType.F32 => WeightDType.F32, TensorDType.F16 => WeightDType.F16, _ => WeightDType.BF16 };
        Assert.Equal(expectedDType, m.DType);
        Assert.Equal(v.ByteLength, m.ByteCount);
    }

    [SharedFact]
    public void AsMatrix_RefusesNon2DAndNonFloat()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("gpt2-tiny-f32"));
        var ex = Assert.Throws<CheckpointException>(() => ckpt.Get("ln_f.weight").AsMatrix(false));
        Assert.Contains("has shape [32]; a weight matrix must be 2-D", ex.Message);
        Assert.Contains("ln_f.weight", ex.Message);
    }

    [SharedFact]
    public void ExpectShape_ThrowsWithNameFileAndBothShapes()
    {
        string dir = TestPaths.Fixture("gpt2-tiny-f32");
        using var ckpt = Checkpoint.Open(dir);
        var ex = Assert.Throws<CheckpointException>(() => ckpt.Get("h.0.attn.c_attn.weight").ExpectShape(32, 97));
        Assert.Equal($"tensor h.0.attn.c_attn.weight in {Path.Combine(dir, "model.safetensors")} has shape [32,96], expected [32,97]", ex.Message);
        Assert.Equal("h.0.attn.c_attn.weight", ex.TensorName);
        Assert.Throws<CheckpointException>(() => ckpt.Get("h.0.attn.c_attn.weight").ExpectShape(32, 96, 1));
    }

    [SharedFact]
    public void Get_MissingTensor_NamesDirectoryAndSuggestsPrefix()
    {
        string dir = TestPaths.Fixture("gpt2-tiny-f16");
        using var ckpt = Checkpoint.Open(dir);
        var ex = Assert.Throws<CheckpointException>(() => ckpt.Get("h.0.attn.c_attn.weight"));
        Assert.Contains($"checkpoint '{dir}' has no tensor 'h.0.attn.c_attn.weight'", ex.Message);
        Assert.Contains("did you mean 'transformer.h.0.attn.c_attn.weight'", ex.Message);
    }

    [SharedTheory]
    [InlineData("gpt2-tiny-f32")]
    [InlineData("pythia-tiny-f16")]
    [InlineData(null)]
    public void ContentHash_IsStableAndEqualsSha256OfFile(string? fixture)
    {
        string dir = fixture is null ? DemoModelDir : TestPaths.Fixture(fixture);
        string file = Path.Combine(dir, "model.safetensors");
        string expected = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
        using (var ckpt = Checkpoint.Open(dir))
        {
            Assert.Equal(expected, ckpt.ContentHash);
            Assert.Equal(expected, ckpt.ContentHash);
            Assert.Equal(64, ckpt.ContentHash.Length);
        }
        using (var again = Checkpoint.Open(dir)) Assert.Equal(expected, again.ContentHash);
        Assert.Equal(expected, Checkpoint.ComputeFileSha256(file));
    }

    [SkippableFact]
    public void ContentHash_MatchesSha256sumTool_WhenAvailable()
    {
        Skip.If(SharedData.SkipReason is not null, SharedData.SkipReason);
        string file = Path.Combine(TestPaths.Fixture("gpt2-tiny-f16"), "model.safetensors");
        string? tool = new[] { "/usr/bin/sha256sum", "/bin/sha256sum" }.FirstOrDefault(File.Exists);
        Skip.If(tool is null, "sha256sum not found; the in-process SHA-256 comparison covers the hash");
        var psi = new System.Diagnostics.ProcessStartInfo(tool, [file]) { RedirectStandardOutput = true };
        using var proc = System.Diagnostics.Process.Start(psi)!;
        string output = proc.StandardOutput.ReadToEnd();
        proc.WaitForExit();
        using var ckpt = Checkpoint.Open(Path.GetDirectoryName(file)!);
        Assert.Equal(output.Split(' ')[0], ckpt.ContentHash);
    }

    [SharedFact]
    public void Open_DoesNotCopyTheDataSection()
    {
        // The demo model is ~15 MB; opening must allocate only the header and the index, not the tensors.
        string dir = DemoModelDir;
        long before = GC.GetAllocatedBytesForCurrentThread();
        using var ckpt = Checkpoint.Open(dir);
        var v = ckpt.Get("wte.weight");
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1_000_000, $"opening allocated {allocated} bytes");
        Assert.True(v.ByteLength > 10_000_000);
    }

    [SharedFact]
    public void Dispose_InvalidatesViews()
    {
        var ckpt = Checkpoint.Open(TestPaths.Fixture("gpt2-tiny-f32"));
        var v = ckpt.Get("wpe.weight");
        Assert.Equal(64 * 32, v.ToFloat32Array().Length);
        ckpt.Dispose();
        ckpt.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => v.ToFloat32Array());
        Assert.Throws<ObjectDisposedException>(() => ckpt.Get("wpe.weight"));
        Assert.Equal("wpe.weight", v.Name); // header facts remain readable
    }

    [SharedFact]
    public void Open_AcceptsFilePath()
    {
        string file = Path.Combine(TestPaths.Fixture("gpt2-tiny-f32"), "model.safetensors");
        using var ckpt = Checkpoint.Open(file);
        Assert.Equal(43, ckpt.Names.Count);
        Assert.Equal(TestPaths.Fixture("gpt2-tiny-f32"), ckpt.Directory);
    }

    [SharedFact]
    public void ModelConfigJson_ReadsFixtureConfigs()
    {
        var g = ModelConfigJson.Load(TestPaths.Fixture("gpt2-tiny-f32"));
        Assert.Equal(32, g.GetInt("n_embd"));
        Assert.Equal(3, g.GetInt("n_layer"));
        Assert.Equal(1e-5, g.GetDouble("layer_norm_epsilon"));
        Assert.Equal("gpt2", g.GetString("model_type"));
        Assert.True(g.GetBool("tie_word_embeddings"));
        Assert.Equal(50257, g.GetInt("vocab_size"));
        Assert.False(g.TryGetInt("n_inner", out _));
        Assert.Equal(128, g.GetInt("n_inner", 128));

        var p = ModelConfigJson.Load(Path.Combine(TestPaths.Fixture("pythia-tiny-f32"), "config.json"));
        Assert.Equal(0.25, p.GetDouble("rotary_pct"));
        Assert.Equal(10000.0, p.GetDouble("rotary_emb_base"));
        Assert.True(p.GetBool("use_parallel_residual"));
        Assert.False(p.GetBool("tie_word_embeddings"));
        Assert.Equal("GPTNeoXForCausalLM", p.GetElement("architectures")[0].GetString());
    }
}
