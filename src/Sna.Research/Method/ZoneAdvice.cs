using System.Globalization;

namespace Sna.Research.Method;

/// <summary>
/// The one wording of what each baseline-confidence zone predicts (the paper's central finding, GPT-2 Medium), used by the
/// advisor (<c>sna advise</c>), <c>sna baseline</c> and the web page alike. Zone 1 P_base &lt; low: large gains (+27.85% on
/// average, up to +70.3%); Zone 2: unstable; Zone 3 &gt; high: saturated, rarely more than +7%.
/// </summary>
public static class ZoneAdvice
{
    /// <summary>The zone's condition on P: "P &lt; 0.07", "0.07 ≤ P ≤ 0.1", "P &gt; 0.1".</summary>
    public static string Condition(int zone, ZoneThresholds z) => zone switch
    {
        1 => $"P < {G(z.Low)}",
        2 => $"{G(z.Low)} ≤ P ≤ {G(z.High)}",
        _ => $"P > {G(z.High)}",
    };

    /// <summary>"Zone 1 (P &lt; 0.07)", "Zone 2 (0.07 ≤ P ≤ 0.1)", "Zone 3 (P &gt; 0.1)".</summary>
    public static string Label(int zone, ZoneThresholds z) => $"Zone {zone} ({Condition(zone, z)})";

    /// <summary>
    /// One prompt's zone as a table cell (<c>sna baseline</c>): "1 (P &lt; 0.07: low confidence, where SNA helps most)", or
    /// for a target the model does not know <see cref="PromptLabel"/>'s "Below Zone 1 (rank 3,012 &gt; 1,000)".
    /// </summary>
    public static string Cell(int zone, int rank, ZoneThresholds z, int knowledgeRank = Advisor.KnowledgeRank) =>
        IsBelowZone1(zone, rank, knowledgeRank) ? PromptLabel(zone, rank, z, knowledgeRank) : $"{zone} ({Condition(zone, z)}: {Summary(zone)})";

    /// <summary>A few words for a table cell: "low confidence, where SNA helps most", ….</summary>
    public static string Summary(int zone) => zone switch
    {
        1 => "low confidence, where SNA helps most",
        2 => "transition, unstable gains",
        _ => "saturated, little room to gain",
    };

    /// <summary>What the zone predicts for amplification, in full sentences (thresholds as given).</summary>
    public static string Advice(int zone, ZoneThresholds z) => zone switch
    {
        1 => "SNA is likely to help: the model gives the answer little probability, so there is room to lift it. "
           + "In the paper (GPT-2 Medium) Zone 1 tasks gained +27.85% on average and up to +70.3%.",
        2 => "Uncertain: this is the transition band, where the paper's gains were unstable in sign and size; sweep layers and "
           + "multipliers and compare with random-neuron controls before trusting a gain.",
        _ => "SNA is unlikely to help: the model is already confident (saturated); in the paper such tasks rarely gained more than +7%. "
           + $"A harder task, or prompts selected from Zone 1 (sna tasks select --band 0:{G(z.Low)}), shows more.",
    };

    /// <summary>The label of a target the model does not know: "Below Zone 1".</summary>
    public const string BelowZone1Label = "Below Zone 1";

    /// <summary>The zone label of one prompt, the one wording of <c>sna baseline</c> and the web: <see cref="Label"/>
    /// ("Zone 1 (P &lt; 0.07)"), or for a Zone 1 target outside the model's top <paramref name="knowledgeRank"/> next tokens
    /// "Below Zone 1 (rank 3,012 &gt; 1,000)".</summary>
    public static string PromptLabel(int zone, int rank, ZoneThresholds z, int knowledgeRank = Advisor.KnowledgeRank) =>
        IsBelowZone1(zone, rank, knowledgeRank)
            ? $"{BelowZone1Label} (rank {rank.ToString("N0", CultureInfo.InvariantCulture)} > {knowledgeRank.ToString("N0", CultureInfo.InvariantCulture)})"
            : Label(zone, z);

    /// <summary>
    /// Below Zone 1 for one prompt: P in Zone 1 and the target outside the model's top <paramref name="knowledgeRank"/> next
    /// tokens (a task is below Zone 1 when most of its prompts are; <see cref="AdvisorReport.BelowZone1"/>).
    /// </summary>
    public static bool IsBelowZone1(int zone, int rank, int knowledgeRank = Advisor.KnowledgeRank) => zone == 1 && rank > knowledgeRank;

    /// <summary>What "below Zone 1" predicts, in full sentences: the model does not know the answer; amplification rarely
    /// creates knowledge (backed by the bundled model's demo grid, docs/analysis.md).</summary>
    public static string BelowZone1Advice(int knowledgeRank = Advisor.KnowledgeRank) =>
        $"The target is not among the model's top {knowledgeRank:N0} next tokens, "
        + "so the model does not appear to know the answer, and amplification rarely creates knowledge. This is not the paper's Zone 1 "
        + $"(low but real confidence). On the bundled model's demo grid no prompt whose target ranked beyond {knowledgeRank:N0} reached the "
        + "top 10 at any configuration. Check the target (its leading space, its first token) or choose a task the model can do.";

    /// <summary>What a classification margin zone (|P(a) − P(b)| / (P(a) + P(b)), paper: SST-2) predicts.</summary>
    public static string MarginAdvice(int zone) => zone switch
    {
        1 => "the model barely separates the two classes, so amplifying class-exclusive neurons (contrastive discovery) has room to move its decisions.",
        2 => "uncertain; gains in this band are unstable.",
        _ => "the model already separates the classes confidently; amplification has little room.",
    };

    internal static string G(double x) => x.ToString("0.###", CultureInfo.InvariantCulture);
}
