namespace Sna.Runtime.Tokenization;

/// <summary>
/// Whether a beginning-of-sequence token is prepended before scoring. TransformerLens prepends GPT-2's
/// &lt;|endoftext|&gt; (50256) by default and the SNA paper's numbers were taken that way, so <see cref="Prepend"/> is the default.
/// </summary>
public enum BosPolicy { Prepend = 0, None = 1 }
