using Sna.Runtime.Numerics;

namespace Sna.Runtime.Models;

/// <summary>How <see cref="TransformerModel.Generate(IReadOnlyList{int[]}, GenerationOptions, CancellationToken)"/> continues a prompt.</summary>
public sealed record GenerationOptions
{
    /// <summary>New tokens at most (fewer at a stop token or the model's context length).</summary>
    public int MaxNewTokens { get; init; } = 20;
    /// <summary>0 = greedy (argmax, ties to the lower id); &gt; 0 samples from softmax(logits / temperature).</summary>
    public double Temperature { get; init; }
    /// <summary>Sampling only: keep the k most likely tokens (ties to the lower id); 0 = the whole vocabulary.</summary>
    public int TopK { get; init; }
    /// <summary>
    /// Sampling only: every row draws from its own stream seeded by <see cref="Seed"/> alone, so a batch row matches its single
    /// run (to float rounding: a padded batch can round differently and flip a draw that falls on a boundary), and equal prompts
    /// in one batch get equal samples: give each its own seed by running them separately.
    /// </summary>
    public ulong Seed { get; init; }
    /// <summary>Generation of a row ends after it emits one of these (the stop token is included in the output).</summary>
    public IReadOnlyCollection<int> StopTokens { get; init; } = [];
    /// <summary>
    /// Also end a row after the model's end-of-sequence token (<see cref="ModelConfig.EosTokenIds"/>, from config.json), as
    /// TransformerLens' <c>stop_at_eos=True</c> and Hugging Face's <c>generate</c> do by default; false runs on to the limit.
    /// </summary>
    public bool StopAtEos { get; init; } = true;
    /// <summary>Per-call hooks on every forward pass (prompt and each new token; with the KV cache a hook sees only the new positions).</summary>
    public HookSet? Hooks { get; init; }
    /// <summary>false: re-run the whole sequence for every token (the reference the cached path is tested against).</summary>
    public bool UseKvCache { get; init; } = true;

    internal void Validate()
    {
        if (MaxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), $"max new tokens must be ≥ 0, got {MaxNewTokens}");
        if (!double.IsFinite(Temperature) || Temperature < 0) throw new ArgumentOutOfRangeException(nameof(Temperature), $"temperature must be finite and ≥ 0, got {Temperature}");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), $"top-k must be ≥ 0, got {TopK}");
    }
}

/// <summary>Why a row stopped generating.</summary>
public enum StopReason { MaxTokens, StopToken, Context }

/// <summary>One row's continuation: the new token ids (without the prompt) and why it ended.</summary>
public sealed record Generated(int[] Tokens, StopReason Reason);

public sealed partial class TransformerModel
{
    /// <summary>
    /// Continues one prompt (TransformerLens <c>generate</c>): the prompt runs once, filling a KV cache, then each new token is
    /// one position through <see cref="Forward(IReadOnlyList{int[]}, ForwardOptions)"/> on that cache.
    /// </summary>
    public Generated Generate(int[] prompt, GenerationOptions options, CancellationToken ct = default) => Generate([prompt], options, ct)[0];

    /// <summary>
    /// Continues a batch of prompts (lengths may differ): the prompts run as one left-padded pass, then all unfinished rows
    /// advance together, one position each, on their own KV caches. Each row's output equals its single run up to float
    /// rounding (left padding changes the GEMM shapes, which can flip an exact near-tie).
    /// </summary>
    public Generated[] Generate(IReadOnlyList<int[]> prompts, GenerationOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ValidateBatch(prompts);
        int B = prompts.Count, V = Config.VocabSize;
        var stop = new HashSet<int>(options.StopTokens);
        if (options.StopAtEos) stop.UnionWith(Config.EosTokenIds);
        var outs = new List<int>[B];
        var reason = new StopReason?[B];
        var rngs = new DeterministicRandom[B];
        var seqs = new List<int>[B];
        for (int b = 0; b < B; b++)
        {
            outs[b] = new List<int>(options.MaxNewTokens);
            seqs[b] = new List<int>(prompts[b]);
            rngs[b] = new DeterministicRandom(options.Seed);
            if (options.MaxNewTokens == 0) reason[b] = StopReason.MaxTokens;
            else if (prompts[b].Length >= Config.NCtx) reason[b] = StopReason.Context;
        }
        var caches = options.UseKvCache ? prompts.Select(p => new KvCache(Config, Math.Min(Config.NCtx, p.Length + options.MaxNewTokens))).ToArray() : null;
        var scratch = new double[V];

        // Rows still running, and what each feeds next: the whole prompt first, then its last token.
        var active = Enumerable.Range(0, B).Where(b => reason[b] is null).ToList();
        bool first = true;
        while (active.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            var batch = new int[active.Count][];
            for (int i = 0; i < active.Count; i++)
            {
                int b = active[i];
                batch[i] = caches is null ? seqs[b].ToArray() : first ? prompts[b] : [seqs[b][^1]];
            }
            var past = caches is null ? null : active.Select(b => (KvCache?)caches[b]).ToArray();
            var r = Forward(batch, new ForwardOptions { Hooks = options.Hooks, Past = past });
            first = false;
            var next = new List<int>(active.Count);
            for (int i = 0; i < active.Count; i++)
            {
                int b = active[i];
                int id = options.Temperature == 0 ? ArgMax(r.Last(i)) : Sample(r.Last(i), options.Temperature, options.TopK, rngs[b], scratch);
                outs[b].Add(id); seqs[b].Add(id);
                if (stop.Contains(id)) reason[b] = StopReason.StopToken;
                else if (outs[b].Count >= options.MaxNewTokens) reason[b] = StopReason.MaxTokens;
                else if (seqs[b].Count >= Config.NCtx) reason[b] = StopReason.Context;
                else next.Add(b);
            }
            active = next;
        }
        return Enumerable.Range(0, B).Select(b => new Generated(outs[b].ToArray(), reason[b]!.Value)).ToArray();
    }

    /// <summary>Index of the largest logit, the lower id on ties.</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    /// <summary>
    /// One draw from softmax(logits / temperature) restricted to the top-k logits (ties to the lower id): probabilities in
    /// double, one uniform from <paramref name="rng"/>, inverse CDF in id order.
    /// </summary>
    private static int Sample(ReadOnlySpan<float> logits, double temperature, int topK, DeterministicRandom rng, double[] p)
    {
        int V = logits.Length;
        float cut = float.NegativeInfinity;
        int keepAtCut = int.MaxValue;
        if (topK > 0 && topK < V)
        {
            var sorted = logits.ToArray();
            Array.Sort(sorted);
            cut = sorted[V - topK];
            int above = 0;
            foreach (var x in logits) if (x > cut) above++;
            keepAtCut = topK - above;             // how many logits equal to the cut are kept (the lowest ids)
        }
        double max = double.NegativeInfinity;
        foreach (var x in logits) max = Math.Max(max, x);
        double sum = 0;
        for (int i = 0; i < V; i++)
        {
            float x = logits[i];
            bool keep = x > cut || (x == cut && keepAtCut-- > 0);
            p[i] = keep ? Math.Exp((x - max) / temperature) : 0;
            sum += p[i];
        }
        double u = rng.NextDouble() * sum, acc = 0;
        int last = 0;
        for (int i = 0; i < V; i++)
        {
            if (p[i] == 0) continue;
            acc += p[i]; last = i;
            if (u < acc) return i;
        }
        return last;
    }
}
