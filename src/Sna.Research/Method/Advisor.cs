using Sna.Runtime;
using System.Globalization;
using Sna.Runtime.Models;
using Sna.Runtime.Tokenization;

namespace Sna.Research.Method;

/// <summary>One prompt's baseline confidence. Classification prompts also carry P(a), P(b) and the margin.</summary>
public sealed record PromptConfidence(int PromptIndex, string Text, string Target, int TargetId, double PBase, double LogProb, int Rank, int Zone,
    double? Margin = null, double? PA = null, double? PB = null);

/// <summary>
/// The baseline-first verdict for a task. For ordinary tasks the zone is that of the mean P_base over the prompts (the
/// paper assigns zones per task); for classification tasks it is that of the mean margin |P(a) − P(b)| / (P(a) + P(b)).
/// <see cref="Prompts"/> are sorted by confidence, least confident first (P_base, or margin for classification; ties by index).
/// </summary>
public sealed record AdvisorReport(string Task, bool Classification, ScoreKind Kind, double MeanPBase, double? MeanMargin, int Zone,
    string Verdict, string Advice, IReadOnlyList<PromptConfidence> Prompts, double Low, double High)
{
    /// <summary>How many prompts fall in Zone 1, 2, 3.</summary>
    public int[] ZoneCounts => [Prompts.Count(p => p.Zone == 1), Prompts.Count(p => p.Zone == 2), Prompts.Count(p => p.Zone == 3)];

    /// <summary>Median rank of the target (1 = the most likely next token); the upper median for an even count.</summary>
    public int MedianRank => Prompts.Select(p => p.Rank).Order().ElementAt(Prompts.Count / 2);

    /// <summary>Prompts whose target is not among the model's top <see cref="Advisor.KnowledgeRank"/> next tokens.</summary>
    public int BeyondKnowledgeRank => Prompts.Count(p => p.Rank > Advisor.KnowledgeRank);

    /// <summary>
    /// Below Zone 1: a Zone 1 task (not classification) where most targets (more than half) are outside the model's top
    /// <see cref="Advisor.KnowledgeRank"/>: the model does not know the answer, which is not the paper's Zone 1.
    /// </summary>
    public bool BelowZone1 => !Classification && Zone == 1 && 2 * BeyondKnowledgeRank > Prompts.Count;
}

/// <summary>
/// Baseline-first advice (the paper's central finding): measure how confident the unmodified model already is, and predict
/// from that whether amplification can help. Zone 1 (P_base &lt; 0.07): large gains (paper, GPT-2 Medium: +27.85% on average,
/// up to +70.3%); Zone 2 (0.07–0.10): unstable; Zone 3 (&gt; 0.10): saturated, rarely more than +7%. The thresholds are the
/// paper's for GPT-2 Medium and are configurable: they are a property of the model.
/// </summary>
public static class Advisor
{
    /// <summary>
    /// The rank beyond which a target counts as unknown to the model ("below Zone 1"). Backed by the bundled model's own
    /// numbers (docs/analysis.md, "Below Zone 1"): on the demo grid no prompt whose target ranked beyond 1,000 reached the
    /// model's top 10 at any configuration.
    /// </summary>
    public const int KnowledgeRank = 1000;

    public static AdvisorReport Advise(TransformerModel model, ModelTokenizer tok, TaskSuite suite, BosPolicy bos,
        ZoneThresholds? zones = null, MarginZones? margins = null, ScoreKind kind = ScoreKind.FirstToken)
    {
        zones ??= ZoneThresholds.Paper;
        margins ??= MarginZones.Paper;
        zones.Validate();
        var enc = EncodedTask.Encode(suite, tok, bos, kind);
        var list = new List<PromptConfidence>(suite.Prompts.Count);
        if (suite.IsClassification)
        {
            int[] cls = enc.ClassTokenIds(tok);
            var scores = new (TargetScore T, double PA, double PB)[enc.Prompts.Count];
            TaskScoring.ForEachLast(model, enc.Prompts, null, (i, logits) =>
                scores[i] = (Scoring.Score(logits, enc.Targets[i][0]), Scoring.Score(logits, cls[0]).Probability, Scoring.Score(logits, cls[1]).Probability));
            for (int i = 0; i < scores.Length; i++)
            {
                var (t, pa, pb) = scores[i];
                double m = MarginZones.Margin(pa, pb);
                list.Add(new PromptConfidence(i, suite.Prompts[i].Text, suite.Prompts[i].Target, t.TargetId, t.Probability, t.LogProb, t.Rank, margins.Zone(m), m, pa, pb));
            }
        }
        else
        {
            var scores = TaskScoring.Score(model, enc, kind);
            for (int i = 0; i < scores.Length; i++)
                list.Add(new PromptConfidence(i, suite.Prompts[i].Text, suite.Prompts[i].Target, scores[i].TargetId, scores[i].Probability, scores[i].LogProb, scores[i].Rank, zones.Zone(scores[i].Probability)));
        }
        return Report(suite.Name, suite.IsClassification, kind, list, zones, margins);
    }

    /// <summary>Builds the report from measured confidences (exposed so other front ends and tests can reuse the rules).</summary>
    public static AdvisorReport Report(string task, bool classification, ScoreKind kind, IReadOnlyList<PromptConfidence> prompts, ZoneThresholds zones, MarginZones margins)
    {
        if (prompts.Count == 0) throw new SnaInputException("no prompts to advise on");
        double meanP = prompts.Average(p => p.PBase);
        double? meanM = classification ? prompts.Average(p => p.Margin ?? 0) : null;
        int zone = classification ? margins.Zone(meanM!.Value) : zones.Zone(meanP);
        var sorted = prompts.OrderBy(p => classification ? p.Margin ?? 0 : p.PBase).ThenBy(p => p.PromptIndex).ToArray();
        var (low, high) = classification ? (margins.Low, margins.High) : (zones.Low, zones.High);
        var report = new AdvisorReport(task, classification, kind, meanP, meanM, zone, Verdict(zone), "", sorted, low, high);
        if (report.BelowZone1) report = report with { Verdict = "unlikely" };
        return report with { Advice = AdviceText(report) };
    }

    /// <summary>likely (Zone 1), uncertain (Zone 2), unlikely (Zone 3).</summary>
    public static string Verdict(int zone) => zone switch { 1 => "likely", 2 => "uncertain", _ => "unlikely" };

    public static string AdviceText(AdvisorReport r)
    {
        string F(double x) => x.ToString(x < 0.001 ? "0.0E0" : "0.0000", CultureInfo.InvariantCulture);
        string G(double x) => x.ToString("0.###", CultureInfo.InvariantCulture);
        string m = r.Classification ? $"mean margin = {F(r.MeanMargin!.Value)}" : $"mean P_base = {F(r.MeanPBase)}";
        string where = r.Zone switch { 1 => $"{m} < {G(r.Low)}", 2 => $"{G(r.Low)} ≤ {m} ≤ {G(r.High)}", _ => $"{m} > {G(r.High)}" };
        string main;
        if (r.BelowZone1)
        {
            string ranks = r.Prompts.Count == 1 ? $"the target ranks {r.Prompts[0].Rank:N0}" : $"{r.BeyondKnowledgeRank} of {r.Prompts.Count} targets rank beyond {KnowledgeRank:N0} (median rank {r.MedianRank:N0})";
            main = $"{ZoneAdvice.BelowZone1Label} (mean P_base = {F(r.MeanPBase)}; {ranks}). " + ZoneAdvice.BelowZone1Advice(KnowledgeRank);
        }
        else main = r.Classification
            ? $"Margin Zone {r.Zone} ({where}): " + ZoneAdvice.MarginAdvice(r.Zone)
            : $"Zone {r.Zone} ({where}): " + ZoneAdvice.Advice(r.Zone, new ZoneThresholds(r.Low, r.High));
        var c = r.ZoneCounts;
        int inZone = c[r.Zone - 1];
        string spread = inZone == r.Prompts.Count
            ? $" All {r.Prompts.Count} prompts are in Zone {r.Zone}."
            : $" The prompts are mixed ({c[0]} in Zone 1, {c[1]} in Zone 2, {c[2]} in Zone 3): the mean hides that, and "
              + "'sna tasks select' can build a task from one band.";
        return main + spread + " The thresholds are the paper's for GPT-2 Medium; other models may place them elsewhere.";
    }
}
