namespace Sna.Runtime.Models;

/// <summary>
/// Hook point names, spelled exactly as TransformerLens spells them. Per-block points are "blocks.{L}." + suffix.
/// </summary>
public static class HookNames
{
    public const string Embed = "hook_embed";
    public const string PosEmbed = "hook_pos_embed";
    public const string LnFinalScale = "ln_final.hook_scale";
    public const string LnFinalNormalized = "ln_final.hook_normalized";

    /// <summary>The per-block hook points, in the order a GPT-2 block fires them.</summary>
    public enum Block
    {
        ResidPre, Ln1Scale, Ln1Normalized, Q, K, V, RotQ, RotK, AttnScores, Pattern, Z, AttnOut,
        ResidMid, Ln2Scale, Ln2Normalized, MlpPre, MlpPost, MlpOut, ResidPost,
    }

    public const int BlockPointCount = (int)Block.ResidPost + 1;

    /// <summary>TransformerLens suffix of a block hook point.</summary>
    public static string Suffix(Block p) => p switch
    {
        Block.ResidPre => "hook_resid_pre",
        Block.Ln1Scale => "ln1.hook_scale",
        Block.Ln1Normalized => "ln1.hook_normalized",
        Block.Q => "attn.hook_q",
        Block.K => "attn.hook_k",
        Block.V => "attn.hook_v",
        Block.RotQ => "attn.hook_rot_q",
        Block.RotK => "attn.hook_rot_k",
        Block.AttnScores => "attn.hook_attn_scores",
        Block.Pattern => "attn.hook_pattern",
        Block.Z => "attn.hook_z",
        Block.AttnOut => "hook_attn_out",
        Block.ResidMid => "hook_resid_mid",
        Block.Ln2Scale => "ln2.hook_scale",
        Block.Ln2Normalized => "ln2.hook_normalized",
        Block.MlpPre => "mlp.hook_pre",
        Block.MlpPost => "mlp.hook_post",
        Block.MlpOut => "hook_mlp_out",
        Block.ResidPost => "hook_resid_post",
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };

    public static string BlockName(int layer, Block p) => $"blocks.{layer}.{Suffix(p)}";

    /// <summary><c>blocks.{L}.mlp.hook_post</c>: the SNA intervention site.</summary>
    public static string MlpPost(int layer) => BlockName(layer, Block.MlpPost);

    /// <summary>Parses a hook name into (layer, point); global points give layer -1.</summary>
    public static bool TryParse(string name, out int layer, out Block point, out string? global)
    {
        layer = -1; point = default; global = null;
        if (name is Embed or PosEmbed or LnFinalScale or LnFinalNormalized) { global = name; return true; }
        if (!name.StartsWith("blocks.", StringComparison.Ordinal)) return false;
        int dot = name.IndexOf('.', 7);
        if (dot < 0 || !int.TryParse(name.AsSpan(7, dot - 7), System.Globalization.NumberStyles.None, null, out layer)) return false;
        var suffix = name[(dot + 1)..];
        for (int i = 0; i < BlockPointCount; i++)
            if (Suffix((Block)i) == suffix) { point = (Block)i; return true; }
        return false;
    }
}
