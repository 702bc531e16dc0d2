namespace Sna.Runtime.Hub;

/// <summary>A well-known model: short alias, hub repo id, parameter count and weight size.</summary>
/// <param name="Alias">Name accepted on the command line (TransformerLens style).</param>
/// <param name="RepoId">Hub repo id. The short GPT-2 ids are kept as-is: the hub redirects them to
/// <c>openai-community/…</c>, and huggingface_hub/TransformerLens cache them under <c>models--gpt2</c> etc.</param>
/// <param name="Parameters">Trainable parameter count (tied embeddings counted once).</param>
/// <param name="SafetensorsBytes">Approximate size of <c>model.safetensors</c> on the hub's main branch.</param>
/// <param name="Dtype">Storage dtype of the safetensors weights.</param>
/// <param name="Architecture">The <c>architectures[0]</c> entry of config.json.</param>
/// <param name="OtherNames">Extra accepted names (e.g. TransformerLens' <c>gpt2-small</c>).</param>
public sealed record ModelAlias(
    string Alias,
    string RepoId,
    long Parameters,
    long SafetensorsBytes,
    string Dtype,
    string Architecture,
    IReadOnlyList<string> OtherNames)
{
    /// <summary>Sizes are computed from the parameter counts plus the non-parameter buffers stored in the
    /// checkpoints (GPT-2's f32 <c>attn.bias</c> masks, GPT-NeoX's bool masks) and rounded; treat as ±0.1%.</summary>
    public bool SizeIsApproximate => true;
}

/// <summary>Known model aliases.</summary>
public static class ModelAliases
{
    // Sizes: GPT-2 = 4·params + layers·4 MiB (f32 causal mask buffers) + header ≈ hub's 548 MB / 1.52 GB / 3.25 GB / 6.43 GB.
    // Pythia = 2·params (f16) + layers·4 MiB (bool masks) ≈ hub's 166 MB / 375 MB / 911 MB.
    public static IReadOnlyList<ModelAlias> All { get; } =
    [
        new("gpt2", "gpt2", 124_439_808, 548_105_171, "F32", "GPT2LMHeadModel", ["gpt2-small", "openai-community/gpt2"]),
        new("gpt2-medium", "gpt2-medium", 354_823_168, 1_520_000_000, "F32", "GPT2LMHeadModel", ["openai-community/gpt2-medium"]),
        new("gpt2-large", "gpt2-large", 774_030_080, 3_247_000_000, "F32", "GPT2LMHeadModel", ["openai-community/gpt2-large"]),
        new("gpt2-xl", "gpt2-xl", 1_557_611_200, 6_431_000_000, "F32", "GPT2LMHeadModel", ["openai-community/gpt2-xl"]),
        new("pythia-70m", "EleutherAI/pythia-70m", 70_426_624, 166_000_000, "F16", "GPTNeoXForCausalLM", []),
        new("pythia-160m", "EleutherAI/pythia-160m", 162_322_944, 375_000_000, "F16", "GPTNeoXForCausalLM", []),
        new("pythia-410m", "EleutherAI/pythia-410m", 405_334_016, 911_000_000, "F16", "GPTNeoXForCausalLM", []),
    ];

    /// <summary>Finds an alias by its name, one of its other names, or its repo id (case-insensitive).</summary>
    public static ModelAlias? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var a in All)
        {
            if (string.Equals(a.Alias, name, StringComparison.OrdinalIgnoreCase) ||
                string.Equals(a.RepoId, name, StringComparison.OrdinalIgnoreCase))
                return a;
            foreach (var o in a.OtherNames)
                if (string.Equals(o, name, StringComparison.OrdinalIgnoreCase)) return a;
        }
        return null;
    }

    /// <summary>
    /// Other hub ids under which the same repo may be cached: a renamed repo's legacy id and its canonical one
    /// (<c>gpt2-medium</c> ↔ <c>openai-community/gpt2-medium</c>). huggingface_hub caches under the id as typed, so a
    /// cache filled by Python may hold either; offline lookups try both. Empty for unknown ids.
    /// </summary>
    public static IReadOnlyList<string> CacheAlternates(string repoId)
    {
        var alias = Find(repoId);
        if (alias is null) return [];
        return new[] { alias.RepoId }.Concat(alias.OtherNames.Where(n => n.Contains('/')))
            .Where(id => !string.Equals(id, repoId, StringComparison.Ordinal)).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Human-readable byte count (decimal units, like the hub's file listings).</summary>
    public static string FormatBytes(long bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB"];
        double v = bytes;
        int u = 0;
        while (v >= 1000 && u < units.Length - 1) { v /= 1000; u++; }
        return u == 0 ? $"{bytes} B" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{v:0.##} {units[u]}");
    }

    /// <summary>Parameter count as 124M / 1.56B.</summary>
    public static string FormatParameters(long parameters) =>
        parameters >= 1_000_000_000
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{parameters / 1e9:0.##}B")
            : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{parameters / 1e6:0.#}M");
}
