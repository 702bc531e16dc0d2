using System.Diagnostics;
using Sna.Runtime.Checkpoints;
using Sna.Runtime.Models;

namespace Sna.Bench;

/// <summary>
/// <c>load</c>: time to load a GPT-2-XL-shaped F16 checkpoint (1.56 B weights, ~3.1 GB, written to a temp dir) with its
/// content hash, three ways in one run: the first time (SHA-256 of the whole file, as every load did before the hash
/// cache), the second time (hash cache hit: path, size, mtime), and from a Hugging Face cache blob (the blob's name is the
/// sha256). The page cache is warm for all three after the write, so the differences are the hashing.
/// </summary>
public static class LoadBench
{
    public static int Run(string[] args)
    {
        string root = Path.Combine(Path.GetTempPath(), "sna-load-bench-" + Guid.NewGuid().ToString("N"));
        string model = Path.Combine(root, "model");
        Directory.CreateDirectory(model);
        string? oldCache = Environment.GetEnvironmentVariable("SNA_CACHE_DIR");
        Environment.SetEnvironmentVariable("SNA_CACHE_DIR", Path.Combine(root, "sna-cache"));
        try
        {
            Console.WriteLine($"load: GPT-2-XL shape, F16; load average {File.ReadAllText("/proc/loadavg").Trim()}; {Environment.ProcessorCount} cores");
            var sw = Stopwatch.StartNew();
            long bytes = WriteXlF16(model);
            Console.WriteLine($"  wrote {bytes / 1e9:0.00} GB in {sw.Elapsed.TotalSeconds:0.0} s");

            double first = TimeLoad(model, "first load (hashes the file)");
            double second = TimeLoad(model, "second load (hash cache)");

            string sha = FileHashes.Sha256(Path.Combine(model, Checkpoint.SingleFileName));
            string repo = Path.Combine(root, "hub", "models--bench--gpt2-xl-f16");
            string snap = Path.Combine(repo, "snapshots", new string('0', 40));
            Directory.CreateDirectory(Path.Combine(repo, "blobs"));
            Directory.CreateDirectory(snap);
            File.Move(Path.Combine(model, Checkpoint.SingleFileName), Path.Combine(repo, "blobs", sha));
            File.CreateSymbolicLink(Path.Combine(snap, Checkpoint.SingleFileName), Path.Combine("..", "..", "blobs", sha));
            File.Copy(Path.Combine(model, "config.json"), Path.Combine(snap, "config.json"));
            Environment.SetEnvironmentVariable("SNA_CACHE_DIR", Path.Combine(root, "sna-cache-empty"));
            double blob = TimeLoad(snap, "hub-cache blob (name is the sha256)");

            Console.WriteLine($"  ratio first/second {first / second:0.0}x, first/blob {first / blob:0.0}x (load average now {File.ReadAllText("/proc/loadavg").Trim()})");
            return 0;
        }
        finally
        {
            Environment.SetEnvironmentVariable("SNA_CACHE_DIR", oldCache);
            try { Directory.Delete(root, recursive: true); }
            catch (IOException e) { Console.Error.WriteLine($"load: could not delete {root}: {e.Message}"); }
        }
    }

    private static double TimeLoad(string dir, string label)
    {
        var sw = Stopwatch.StartNew();
        using var m = ModelLoader.Load(dir);
        double s = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"  {label,-40} {s,7:0.000} s  sha256 {m.Provenance.ContentHash[..12]}…");
        return s;
    }

    private static long WriteXlF16(string dir)
    {
        const int D = 1600, L = 48, M = 6400, V = 50257, NCtx = 1024;
        var rng = new Random(7);
        float[] R(long n)
        {
            var a = GC.AllocateUninitializedArray<float>(checked((int)n));
            for (int i = 0; i < a.Length; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * 0.035);
            return a;
        }
        var cAttn = R((long)D * 3 * D); var cProj = R((long)D * D); var cFc = R((long)D * M); var mProj = R((long)M * D);
        var b3 = R(3 * D); var bD = R(D); var bM = R(M); var g = Enumerable.Repeat(1f, D).ToArray();
        const TensorDType H = TensorDType.F16;
        var w = new SafetensorsWriter().AddMetadata("format", "pt");
        w.Add("wte.weight", [V, D], R((long)V * D), H);
        w.Add("wpe.weight", [NCtx, D], R((long)NCtx * D), H);
        for (int l = 0; l < L; l++)
        {
            string p = $"h.{l}.";
            w.Add(p + "ln_1.weight", [D], g, H); w.Add(p + "ln_1.bias", [D], bD, H);
            w.Add(p + "attn.c_attn.weight", [D, 3 * D], cAttn, H); w.Add(p + "attn.c_attn.bias", [3 * D], b3, H);
            w.Add(p + "attn.c_proj.weight", [D, D], cProj, H); w.Add(p + "attn.c_proj.bias", [D], bD, H);
            w.Add(p + "ln_2.weight", [D], g, H); w.Add(p + "ln_2.bias", [D], bD, H);
            w.Add(p + "mlp.c_fc.weight", [D, M], cFc, H); w.Add(p + "mlp.c_fc.bias", [M], bM, H);
            w.Add(p + "mlp.c_proj.weight", [M, D], mProj, H); w.Add(p + "mlp.c_proj.bias", [D], bD, H);
        }
        w.Add("ln_f.weight", [D], g, H); w.Add("ln_f.bias", [D], bD, H);
        string path = Path.Combine(dir, Checkpoint.SingleFileName);
        w.Save(path);
        File.WriteAllText(Path.Combine(dir, "config.json"),
            $$"""{"architectures":["GPT2LMHeadModel"],"model_type":"gpt2","n_embd":{{D}},"n_head":25,"n_layer":{{L}},"n_positions":{{NCtx}},"vocab_size":{{V}},"activation_function":"gelu_new","layer_norm_epsilon":1e-5,"tie_word_embeddings":true,"torch_dtype":"float16"}""");
        return new FileInfo(path).Length;
    }
}
