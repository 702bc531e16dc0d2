using System.Diagnostics;
using System.Globalization;
using Sna.Runtime.Checkpoints;
using Sna.Runtime.Models;
using Sna.Runtime.Numerics;

namespace Sna.Bench;

/// <summary>
/// Resident memory of the runtime (issue 7):
/// <list type="bullet">
/// <item><c>xl-f16</c>, <c>xl-bf16</c>, <c>xl-f32</c>: a GPT-2-XL-shaped model (48 layers, d 1600, 25 heads, d_mlp 6400,
/// vocab 50257, n_ctx 1024; 1.56 B parameters) built in memory by <see cref="RandomModel"/> (pooled random weights) in
/// native buffers of that dtype, one
/// forward pass of 16 tokens. xl-f32 also times the load-time F32→F16 conversion at GPT-2-XL size.</item>
/// <item><c>medium-file</c>: writes a GPT-2-Medium-shaped float32 safetensors file (~1.42 GB) to a temp directory,
/// loads it as stored (zero-copy from the memory map) and with <c>--weights-dtype f16</c>, runs a forward pass each
/// time, then deletes the file.</item>
/// </list>
/// Figures are from /proc/self/status: VmRSS (resident now), VmHWM (peak resident), RssAnon (private anonymous memory:
/// native weight buffers and the managed heap), RssFile (resident pages of mapped files: the checkpoint's page cache,
/// shared and evictable). Between scenarios the peak is reset (write "5" to /proc/self/clear_refs).
/// Usage: <c>memory [all|xl-f16|xl-bf16|xl-f32|medium-file] [--tokens N]</c> (default: xl-f16, xl-f32, medium-file).
/// </summary>
public static class MemoryBench
{
    private const double GB = 1e9;

    public static int Run(string[] args)
    {
        var scenarios = new List<string>();
        int tokens = 16;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--tokens" when i + 1 < args.Length: tokens = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "-h" or "--help":
                    Console.WriteLine("usage: memory [all|xl-f16|xl-bf16|xl-f32|medium-file]... [--tokens N]");
                    return 0;
                default: scenarios.Add(args[i]); break;
            }
        }
        if (scenarios.Count == 0 || scenarios.Contains("all")) scenarios = ["xl-f16", "xl-f32", "medium-file"];
        if (!File.Exists("/proc/self/status"))
        {
            Console.Error.WriteLine("memory: needs Linux /proc/self/status");
            return 2;
        }
        Console.WriteLine($"memory benchmark: {Environment.ProcessorCount} cores, GEMM '{GemmName()}', {tokens} tokens; memory in MB (1e6 bytes)");
        Console.WriteLine($"{"scenario",-12} {"phase",-26} {"VmRSS",7} {"VmHWM",7} {"RssAnon",8} {"RssFile",8} {"GC heap",8} {"time",8}");
        foreach (var s in scenarios)
        {
            ResetPeak();
            switch (s)
            {
                case "xl-f16": Xl(WeightDType.F16, tokens); break;
                case "xl-bf16": Xl(WeightDType.BF16, tokens); break;
                case "xl-f32": Xl(WeightDType.F32, tokens); break;
                case "medium-file": MediumFile(tokens); break;
                default:
                    Console.Error.WriteLine($"memory: unknown scenario '{s}' (xl-f16, xl-bf16, xl-f32, medium-file, all)");
                    return 2;
            }
            Collect();
        }
        return 0;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // GPT-2 XL in memory

    public static ModelConfig Gpt2XlConfig() =>
        RandomModel.Gpt2XL with { BosTokenId = 50256, SourceArchitecture = "GPT2LMHeadModel (synthetic)" };

    private static void Xl(WeightDType dtype, int tokens)
    {
        string name = "xl-" + dtype.ToString().ToLowerInvariant();
        var sw = Stopwatch.StartNew();
        using var model = RandomModel.Create(Gpt2XlConfig(), seed: 1, dtype, fill: RandomFill.Pooled);
        long parameters = ParameterCount(model);
        Report(name, $"built ({parameters / 1e9:F2} B params)", sw);
        var ids = Tokens(model.Config.VocabSize, tokens);
        sw.Restart();
        var logits = model.ForwardLast(ids);
        Report(name, $"after forward ({tokens} tok)", sw);
        Console.WriteLine($"{"",12} weights {WeightBytes(model) / GB:F2} GB in {dtype}; logits finite: {logits.All(float.IsFinite)}");
        if (dtype == WeightDType.F32) ConversionTiming(model);
    }

    /// <summary>Times the loader's vectorised F32→F16 conversion over every matrix of the model (into one scratch buffer).</summary>
    private static unsafe void ConversionTiming(TransformerModel model)
    {
        var mats = Matrices(model).ToList();
        long maxBytes = mats.Max(m => m.ElementCount) * 2;
        using var scratch = new NativeBuffer(maxBytes);
        var sw = Stopwatch.StartNew();
        long total = 0;
        foreach (var m in mats) { WeightConversion.Convert(m.Data, m.DType, scratch.Pointer, WeightDType.F16, m.ElementCount); total += m.ElementCount; }
        double vec = sw.Elapsed.TotalSeconds;
        // the previous implementation: element by element through the WeightMatrix indexer, one (Half) cast each
        var probe = model.Weights.Layers[0].Win;
        sw.Restart();
        int rows = probe.K, cols = probe.N;
        var row = new float[cols];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++) row[c] = probe[r, c];
            long off = (long)r * cols;
            for (int c = 0; c < cols; c++) ((Half*)scratch.Pointer)[off + c] = (Half)row[c];
        }
        double legacyPerElem = sw.Elapsed.TotalSeconds / probe.ElementCount;
        Console.WriteLine($"{"",12} F32→F16 conversion of all {total / 1e9:F2} B weights: {vec:F2} s vectorised " +
                          $"({total / vec / 1e9:F2} G elem/s); element-by-element (previous Own): {legacyPerElem * total:F1} s extrapolated");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // GPT-2 Medium from a float32 file

    private static void MediumFile(int tokens)
    {
        const int D = 1024, L = 24, M = 4096, V = 50257, NCtx = 1024;
        string dir = Path.Combine(Path.GetTempPath(), $"sna-memory-gpt2-medium-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            var sw = Stopwatch.StartNew();
            long fileBytes = WriteMedium(dir, D, L, M, V, NCtx);
            Collect();
            Report("medium-file", $"written ({fileBytes / GB:F2} GB F32)", sw);
            ResetPeak();
            var ids = Tokens(V, tokens);

            foreach (var option in new[] { WeightsDTypeOption.AsStored, WeightsDTypeOption.F16 })
            {
                string tag = option == WeightsDTypeOption.AsStored ? "as stored" : "f16";
                sw.Restart();
                using (var model = ModelLoader.Load(dir, option))
                {
                    Report("medium-file", $"loaded ({tag})", sw);
                    int owned = model.Weights.Owners.OfType<NativeBuffer>().Count();
                    sw.Restart();
                    var logits = model.ForwardLast(ids);
                    Report("medium-file", $"after forward ({tag})", sw);
                    Console.WriteLine($"{"",12} {owned} owned native buffers ({model.Weights.Owners.OfType<NativeBuffer>().Sum(b => b.ByteLength) / GB:F2} GB); " +
                                      $"logits finite: {logits.All(float.IsFinite)}");
                }
                Collect();
                Report("medium-file", "disposed", null);
                ResetPeak();
            }
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException e) { Console.Error.WriteLine($"memory: could not delete {dir}: {e.Message}"); }
        }
        Console.WriteLine($"{"",12} temp checkpoint deleted: {!Directory.Exists(dir)}");
    }

    /// <summary>
    /// Writes a GPT-2-Medium-shaped float32 checkpoint. One random array per tensor shape is shared by all 24 layers
    /// (the writer captures arrays without copying), so writing holds ~0.27 GB of floats, not the 1.42 GB file.
    /// </summary>
    private static long WriteMedium(string dir, int D, int L, int M, int V, int NCtx)
    {
        var rng = new Random(7);
        float[] R(long n, float std = 0.02f)
        {
            var a = GC.AllocateUninitializedArray<float>(checked((int)n));
            for (int i = 0; i < a.Length; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * std * Math.Sqrt(3));
            return a;
        }
        float[] Ones(int n) => Enumerable.Repeat(1f, n).ToArray();
        var cAttn = R((long)D * 3 * D); var cProj = R((long)D * D); var cFc = R((long)D * M); var mProj = R((long)M * D);
        var b3 = R(3 * D); var bD = R(D); var bM = R(M); var g = Ones(D);
        var writer = new SafetensorsWriter().AddMetadata("format", "pt");
        writer.Add("wte.weight", [V, D], R((long)V * D));
        writer.Add("wpe.weight", [NCtx, D], R((long)NCtx * D, 0.01f));
        for (int l = 0; l < L; l++)
        {
            string p = $"h.{l}.";
            writer.Add(p + "ln_1.weight", [D], g); writer.Add(p + "ln_1.bias", [D], bD);
            writer.Add(p + "attn.c_attn.weight", [D, 3 * D], cAttn); writer.Add(p + "attn.c_attn.bias", [3 * D], b3);
            writer.Add(p + "attn.c_proj.weight", [D, D], cProj); writer.Add(p + "attn.c_proj.bias", [D], bD);
            writer.Add(p + "ln_2.weight", [D], g); writer.Add(p + "ln_2.bias", [D], bD);
            writer.Add(p + "mlp.c_fc.weight", [D, M], cFc); writer.Add(p + "mlp.c_fc.bias", [M], bM);
            writer.Add(p + "mlp.c_proj.weight", [M, D], mProj); writer.Add(p + "mlp.c_proj.bias", [D], bD);
        }
        writer.Add("ln_f.weight", [D], g); writer.Add("ln_f.bias", [D], bD);
        string path = Path.Combine(dir, Checkpoint.SingleFileName);
        writer.Save(path);
        File.WriteAllText(Path.Combine(dir, "config.json"),
            $$"""{"architectures":["GPT2LMHeadModel"],"model_type":"gpt2","n_embd":{{D}},"n_head":16,"n_layer":{{L}},"n_inner":{{M}},"n_positions":{{NCtx}},"vocab_size":{{V}},"activation_function":"gelu_new","layer_norm_epsilon":1e-5,"tie_word_embeddings":true,"torch_dtype":"float32"}""");
        return new FileInfo(path).Length;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // helpers

    private static IEnumerable<WeightMatrix> Matrices(TransformerModel m)
    {
        yield return m.Weights.TokenEmbedding;
        foreach (var l in m.Weights.Layers)
        {
            yield return l.Wqkv; yield return l.Wo; yield return l.Win; yield return l.Wout;
        }
    }

    private static long WeightBytes(TransformerModel m) => Matrices(m).Sum(x => x.ByteCount);

    private static long ParameterCount(TransformerModel m)
    {
        long n = Matrices(m).Sum(x => x.ElementCount) + m.Weights.PosEmbedding.Length + m.Weights.LnFinalW.Length + m.Weights.LnFinalB.Length;
        foreach (var l in m.Weights.Layers)
            n += l.Ln1W.Length + l.Ln1B.Length + l.Ln2W.Length + l.Ln2B.Length + l.Bqkv.Length + l.Bo.Length + l.Bin.Length + l.Bout.Length;
        return n;
    }

    private static int[] Tokens(int vocab, int n)
    {
        var rng = new Random(11);
        return Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray();
    }

    private static string GemmName()
    {
        var c = new ModelConfig
        {
            Architecture = ArchitectureKind.Gpt2, DModel = 8, NHeads = 1, NKvHeads = 1, NLayers = 1, DMlp = 8, NCtx = 8,
            VocabSize = 8, LayerNormEps = 1e-5f, Activation = "gelu_new",
        };
        return new TransformerModel(c, new ModelWeights()).Gemm.Name;
    }

    /// <summary>Resets VmHWM to the current VmRSS (Linux ≥ 4.0).</summary>
    private static void ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.WriteLine($"{"",12} (could not reset the peak: {e.Message}; VmHWM is the process-wide peak)");
        }
    }

    /// <summary>Full blocking GC, then hand freed native memory back to the OS (glibc keeps freed chunks under 32 MB in its arenas).</summary>
    private static void Collect()
    {
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        try { MallocTrim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    private static void Report(string scenario, string phase, Stopwatch? sw)
    {
        var s = ReadStatus();
        long heap = GC.GetGCMemoryInfo().HeapSizeBytes;
        string time = sw is null ? "" : $"{sw.Elapsed.TotalSeconds:F1} s";
        Console.WriteLine($"{scenario,-12} {phase,-26} {Mb(s["VmRSS"]),7} {Mb(s["VmHWM"]),7} {Mb(s["RssAnon"]),8} {Mb(s["RssFile"]),8} {heap / 1e6,8:F0} {time,8}");
    }

    private static string Mb(long kb) => (kb * 1024 / 1e6).ToString("F0", CultureInfo.InvariantCulture);

    /// <summary>The kB fields of /proc/self/status.</summary>
    public static Dictionary<string, long> ReadStatus()
    {
        var d = new Dictionary<string, long>(StringComparer.Ordinal) { ["VmRSS"] = 0, ["VmHWM"] = 0, ["RssAnon"] = 0, ["RssFile"] = 0 };
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            int colon = line.IndexOf(':');
            if (colon < 0 || !line.EndsWith(" kB", StringComparison.Ordinal)) continue;
            if (long.TryParse(line.AsSpan(colon + 1, line.Length - colon - 4).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long kb))
                d[line[..colon]] = kb;
        }
        return d;
    }
}
