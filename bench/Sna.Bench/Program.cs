using Sna.Bench;

// Benchmark dispatcher: `dotnet run -c Release --project bench/Sna.Bench -- <command> [options]`.
string command = args.Length > 0 ? args[0].ToLowerInvariant() : "help";
string[] rest = args.Length > 1 ? args[1..] : Array.Empty<string>();
// Compare against OpenBLAS's native kernel, not one forced by OPENBLAS_CORETYPE (see OpenBlasEnvironment).
if (OpenBlasEnvironment.ReexecWithoutOverrides(command, args, rest) is int childExit) return childExit;
switch (command)
{
    case "gemm":
        return GemmBench.Run(rest);
    case "forward":
        return ForwardBench.Run(rest);
    case "memory":
        return MemoryBench.Run(rest);
    case "classify":
        return ClassifyBench.Run(rest);
    case "sweep":
        return SweepBench.Run(rest);
    case "store":
        return StoreBench.Run(rest);
    case "load":
        return LoadBench.Run(rest);
    case "generate":
        return GenerateBench.Run(rest);
    case "controls":
        return ControlsBench.Run(rest);
    default:
        Console.WriteLine("usage: Sna.Bench <command> [options]");
        Console.WriteLine("  gemm [--quick] [--threads N] [--reps N] [--m 256,1344] [--keep-openblas-env]   GEMM GFLOP/s: managed (F32, F16 B) vs OpenBLAS's");
        Console.WriteLine("                                            native kernel (re-runs itself without OPENBLAS_CORETYPE/_L2_SIZE)");
        Console.WriteLine("  gemm --cpu [--quick] [--m LIST]           the same on one thread each, timed by thread CPU time (busy machines)");
        Console.WriteLine("  gemm --cold [--quick] [--threads N]       small-M GEMM with B streamed from DRAM (GFLOP/s, GB/s)");
        Console.WriteLine("  forward [--quick] [--dtype f32|f16|bf16]  forward-pass latency, GPT-2 Small/Medium shapes");
        Console.WriteLine("  memory [all|xl-f16|xl-bf16|xl-f32|medium-file] [--tokens N]   resident memory of 16/32-bit weights");
        Console.WriteLine("  sweep [--quick] [--positions all|last] [--naive-samples N]   sweep engine vs naive hooked forwards");
        Console.WriteLine("  store [--batches N] [--rows R]            results-store batch commit with vs without the WAL checkpoint");
        Console.WriteLine("  load                                      GPT-2-XL-shaped F16 load: first (hashing), second (hash cache), hub blob");
        Console.WriteLine("  generate [--quick] [--small]              greedy generation per token (KV cache vs none) vs a batch-1 forward");
        Console.WriteLine("  controls [--quick] [--seeds N] [--count K]  demo's random controls: one forward per set vs batched (bit-identical)");
        Console.WriteLine("  classify [--quick] [--n N] ...            SST-2-style grid: batched vs naive examples x configurations/s");
        return command is "help" or "--help" or "-h" ? 0 : 2;
}
