namespace Sna.Runtime.Tokenization;

/// <summary>
/// Whether a beginning-of-sequence token is prepended before scoring. TransformerLens prepends the tokenizer's BOS
/// (&lt;|endoftext|&gt;, 50256, for GPT-2) by default and the SNA paper's numbers were taken that way; the default here is the
/// same (<see cref="ModelTokenizer.BosPolicyFor"/>): <see cref="Prepend"/> when the tokenizer has a BOS token, else <see cref="None"/>.
/// </summary>
public enum BosPolicy { Prepend = 0, None = 1 }

public sealed partial class ModelTokenizer
{
    /// <summary>
    /// The one BOS rule of every front end and the <see cref="LanguageModel"/> facade: <paramref name="prepend"/> null (not
    /// asked) prepends when this tokenizer has a BOS token (TransformerLens' <c>default_prepend_bos=True</c>) and prepends
    /// nothing when it has none; true prepends (an input error, option <c>bos</c>, when there is no BOS token); false never prepends.
    /// </summary>
    public BosPolicy BosPolicyFor(bool? prepend) => prepend switch
    {
        null => BosId >= 0 ? BosPolicy.Prepend : BosPolicy.None,
        true when BosId < 0 => throw new SnaInputException("bos", "the model's tokenizer has no BOS token, so none can be prepended"),
        true => BosPolicy.Prepend,
        false => BosPolicy.None,
    };

    /// <summary>"prepend" or "none": how runs record the policy (the JSON <c>run.bos</c>, neuron set files, sweep definitions).</summary>
    public static string BosText(BosPolicy policy) => policy == BosPolicy.Prepend ? "prepend" : "none";

    /// <summary>"prepended" or "none": how tables, reports and model cards show the policy to a reader (one wording).</summary>
    public static string BosDescription(BosPolicy policy) => policy == BosPolicy.Prepend ? "prepended" : "none";
}
