using System.Globalization;
using System.Text.Json.Nodes;
using Sna.Research.Analysis;
using Sna.Research.Experiments;

namespace Sna.Research.Reporting;

/// <summary>
/// The report's statistical content for issue #13: the three definitions of a task's improvement and the headline correlation
/// under each, the held-out best configuration, controls with Holm and Benjamini–Hochberg adjusted p-values, the generation-level
/// (exact-match) evaluation, and ρ² of baseline beside the paper's 58%. <see cref="ReportWriter"/> places them.
/// </summary>
public static class StatisticsSections
{
    /// <summary>The paper's ρ² of baseline alone (0.762² ≈ 0.58).</summary>
    public const double PaperBaselineRhoSquared = 0.58;

    /// <summary>A control comparison with its design and adjusted p-values.</summary>
    public sealed record AdjustedControl(ControlComparison Comparison, string Design, AdjustedP? Adjusted);

    /// <summary>
    /// Adjusts the controls' p-values across tasks within each design: comparisons found in the sweep's control rows
    /// (<paramref name="fromSweep"/>, always in-sample: the best configuration was chosen on the same prompts) and those
    /// supplied in the options (held out when <see cref="ReportOptions.ControlsHeldOut"/>).
    /// </summary>
    public static IReadOnlyList<AdjustedControl> AdjustControls(IReadOnlyList<ControlComparison> fromSweep, IReadOnlyList<ControlComparison> supplied, bool suppliedHeldOut)
    {
        var result = new List<AdjustedControl>();
        void Add(IReadOnlyList<ControlComparison> cs, string design)
        {
            var adj = ControlFamily.Adjust(cs);
            for (int i = 0; i < cs.Count; i++) result.Add(new AdjustedControl(cs[i], design, adj[i]));
        }
        Add(fromSweep, "in-sample");
        Add(supplied, suppliedHeldOut ? "held-out" : "in-sample");
        return result;
    }

    /// <summary>The three definitions and the headline correlation under each.</summary>
    public static void Definitions(ReportDocument d, SweepAnalysisResult a)
    {
        if (a.Definitions.Count == 0) return;
        d.H("definitions", 3, "How the headline correlation depends on the definition of improvement");
        d.Table("table-definitions", $"Baseline P_base vs each task-level improvement (mean over configurations), n = {a.Tasks.Count}",
            ["quantity", "definition", "Spearman rho", "p (preferred)", "Pearson r", "p"],
            a.Definitions.Select(s => (IReadOnlyList<string>)[s.Name, s.Definition,
                s.Spearman is null ? "—" : Fmt.F(s.Spearman.Rho), s.Spearman is null ? (s.NotEstimable ?? "—") : Fmt.P(s.SpearmanPPreferred),
                s.Pearson is null ? "—" : Fmt.F(s.Pearson.R), s.Pearson is null ? "—" : Fmt.P(s.Pearson.PValue)]));
        d.P("improvement_pct is the headline everywhere (sweep, summary, report, amplify --task, controls, interference). A mean of " +
            "per-prompt ratios is dominated by prompts with tiny P_base, which by itself pushes toward a negative baseline–gain relation; " +
            "compare the three rows before reading the headline as a property of the model.", note: true);
    }

    /// <summary>Held-out best configurations from the sweep's rows (chosen on split A, measured on split B).</summary>
    public static void HeldOut(ReportDocument d, SweepAnalysisResult a)
    {
        d.H("held-out", 3, "Best configuration, held out");
        if (a.HeldOut.Count == 0)
        {
            d.P("IN-SAMPLE: no held-out split was used (or a task has fewer than 2 prompts), so the per-task \"best configuration\" above was " +
                "chosen and measured on the same prompts and its gain is biased upwards.", note: true);
            return;
        }
        d.Table("table-held-out", $"Configuration chosen on split A, gain measured on split B (seed {a.Options.HeldOutSeed})",
            ["task", "configuration", "prompts A/B", "improvement_pct on A (selection, in-sample)", "improvement_pct on B (held out)",
             "improvement_of_means_pct on B", "median_improvement_pct on B"],
            a.HeldOut.Select(h => (IReadOnlyList<string>)[h.Task, h.Configuration.ToString(), $"{I(h.SelectionPrompts)}/{I(h.MeasurementPrompts)}",
                Fmt.Pct(h.SelectionImprovementPct, 2), Fmt.Pct(h.HeldOutImprovementPct, 2), Fmt.Pct(h.HeldOutImprovementOfMeansPct, 2),
                Fmt.Pct(h.HeldOutMedianImprovementPct, 2)]));
        d.P("The per-task table's \"max impr.\" and \"best configuration\" are in-sample (the maximum over every configuration on all prompts). " +
            "Here the maximum is taken on split A only; the split-B column is the unbiased estimate of the chosen configuration's gain. " +
            "In a sweep, neurons were discovered on whatever texts the sweep used (the demo discovers on split A only).", note: true);
    }

    /// <summary>Controls with raw, Holm and BH p-values and which effects survive.</summary>
    public static void Controls(ReportDocument d, IReadOnlyList<AdjustedControl> controls, string? note)
    {
        if (controls.Count == 0)
        {
            d.P("No control measurements: the sweep has no random/bottom-k rows and none were supplied.", note: true);
            return;
        }
        d.Table("table-controls", "Chosen configuration: task neurons vs random neurons and bottom-k (improvement_pct), p adjusted across tasks",
            ["task", "design", "configuration", "task neurons", "random mean", "random SD", "random sets", "p (task > random)", "Holm p", "BH p",
             "survives Holm", "survives BH", "bottom-k", "task − bottom-k"],
            controls.Select(x =>
            {
                var c = x.Comparison; var t = c.RandomTest; var a = x.Adjusted;
                return (IReadOnlyList<string>)[c.Task, x.Design, c.Configuration.ToString(), Fmt.Pct(c.TaskNeuronImprovementPct, 2), Fmt.Pct(c.RandomMeanPct, 2),
                    Fmt.F(c.RandomSdPct, 2), I(c.RandomImprovementsPct.Count), t is null ? "—" : Fmt.P(t.PValue),
                    a is null ? "—" : Fmt.P(a.Holm), a is null ? "—" : Fmt.P(a.BenjaminiHochberg),
                    a is null ? "—" : a.SurvivesHolm ? "yes" : "no", a is null ? "—" : a.SurvivesBh ? "yes" : "no",
                    c.BottomKImprovementPct is double b ? Fmt.Pct(b, 2) : "—", Fmt.F(c.AdvantageOverBottomKPct, 2)];
            }));
        int m = controls.Where(x => x.Adjusted is not null).Select(x => x.Comparison.RandomImprovementsPct.Count).DefaultIfEmpty(0).Min();
        int family = controls.Count(x => x.Adjusted is not null);
        d.P($"p = (1 + #{{random ≥ task}}) / (1 + m), a randomisation test against m random neuron sets of the same size in the same layer " +
            $"(the paper has no random controls). Holm (family-wise error) and Benjamini–Hochberg (false discovery rate) adjust across the {I(family)} " +
            $"task(s) of each design; \"survives\" = adjusted p < {ControlFamily.Alpha.ToString(CultureInfo.InvariantCulture)}. " +
            (m > 0 ? $"With m = {I(m)} the smallest raw p is {Fmt.P(1.0 / (m + 1))} and the smallest Holm-adjusted p is {Fmt.P(MultipleTesting.SmallestHolmP(family, m))}." : ""), note: true);
        if (controls.Any(x => x.Design == "in-sample"))
            d.P("IN-SAMPLE rows: the configuration was chosen on the same prompts it is measured on (winner's curse); their p-values overstate the evidence.", note: true);
        if (note is not null) d.P(note, note: true);
    }

    /// <summary>Generation-level evaluation: exact match before/after per task and zone, McNemar, sequence log-probability.</summary>
    public static void Generation(ReportDocument d, IReadOnlyList<GenerationOutcome>? generation, Func<int, string> zoneLabel)
    {
        if (generation is not { Count: > 0 }) return;
        d.H("generation", 2, "Does the answer change? Generation-level evaluation (beyond the paper)");
        d.Table("table-generation", "Exact match of the greedy answer before and after amplification, per task (chosen configuration, measured prompts)",
            ["task", "zone", "configuration", "prompts", "exact match before", "after", "fixed", "broken", "McNemar p (exact)", "mean Δ log P(target), multi-token targets"],
            generation.Select(g =>
            {
                var e = g.ExactMatch;
                return (IReadOnlyList<string>)[g.Task, I(g.Zone), g.Amplification.ToString(), I(e.N), $"{I(e.CorrectBefore)} ({Fmt.F(e.AccuracyBefore, 2)})",
                    $"{I(e.CorrectAfter)} ({Fmt.F(e.AccuracyAfter, 2)})", I(e.McNemar.Improved), I(e.McNemar.Worsened), Fmt.P(e.McNemar.PValue),
                    Fmt.F(g.MeanSequenceLogProbChange, 4)];
            }));
        var zones = generation.GroupBy(g => g.Zone).OrderBy(g => g.Key)
            .Select(g => ExactMatchSummary.Of(zoneLabel(g.Key), g.SelectMany(x => x.Prompts).ToArray()))
            .Append(ExactMatchSummary.Of("all", generation.SelectMany(x => x.Prompts).ToArray())).ToArray();
        d.Table("table-generation-zones", "Exact match pooled per baseline zone",
            ["zone", "prompts", "exact match before", "after", "fixed", "broken", "McNemar p (exact)"],
            zones.Select(e => (IReadOnlyList<string>)[e.Group, I(e.N), $"{I(e.CorrectBefore)} ({Fmt.F(e.AccuracyBefore, 2)})", $"{I(e.CorrectAfter)} ({Fmt.F(e.AccuracyAfter, 2)})",
                I(e.McNemar.Improved), I(e.McNemar.Worsened), Fmt.P(e.McNemar.PValue)]));
        d.P($"Greedy decoding (argmax) of up to min(|target|, {I(generation[0].MaxNewTokens)}) tokens with and without the amplification; exact match = " +
            "the generated tokens equal the target's tokens (every target is taken as the complete answer). McNemar: exact binomial test on the " +
            "discordant prompts (fixed vs broken), two-sided. Multi-token targets also get the teacher-forced log P(target | prompt) = Σ log P(t_i | prompt, t_<i).", note: true);
    }

    /// <summary>ρ² of baseline alone beside the paper's 58%, and the decomposition's labelling.</summary>
    public static void BaselineRhoSquared(ReportDocument d, SweepAnalysisResult a)
    {
        var rho = a.Statistics.Spearman;
        d.Table("table-rho-squared", "Share of rank variance explained by baseline alone (the quantity behind the paper's 58%)",
            ["quantity", "this report", "paper"],
            [
                ["rho² of baseline vs improvement_pct (all prompts)", rho is null ? "—" : Fmt.F(rho.RhoSquared), Fmt.F(PaperBaselineRhoSquared, 2)],
                ["baseline-only R² of the decomposition's sample", Fmt.F(a.Decomposition.BaselineOnlyRSquared), Fmt.F(PaperBaselineRhoSquared, 2)],
            ]);
        d.P("The paper's 58% is rho² of baseline alone (0.762²); only that figure is comparable. The Shapley/LMG shares below are this " +
            "toolkit's own decomposition, not the paper's 58/28/14 (which are not Shapley shares). Localization: " + a.DecompositionLocalization + ".", note: true);
    }

    /// <summary>summary.json additions (schema <c>sna.report/1</c>, additive).</summary>
    public static void Json(JsonObject root, SweepAnalysisResult a, IReadOnlyList<AdjustedControl> controls, IReadOnlyList<GenerationOutcome>? generation)
    {
        root["definitions"] = new JsonArray(a.Definitions.Select(s => (JsonNode?)new JsonObject
        {
            ["quantity"] = s.Name, ["definition"] = s.Definition,
            ["spearman_rho"] = N(s.Spearman?.Rho), ["spearman_p_preferred"] = N(s.Spearman is null ? null : s.SpearmanPPreferred),
            ["pearson_r"] = N(s.Pearson?.R), ["pearson_p"] = N(s.Pearson?.PValue), ["not_estimable"] = s.NotEstimable,
        }).ToArray());
        root["held_out"] = new JsonObject
        {
            ["seed"] = a.Options.HeldOutSeed is ulong sd ? JsonValue.Create(sd) : null,
            ["in_sample"] = a.HeldOut.Count == 0,
            ["tasks"] = new JsonArray(a.HeldOut.Select(h => (JsonNode?)new JsonObject
            {
                ["task"] = h.Task, ["layer"] = h.Configuration.Layer, ["count"] = h.Configuration.Count, ["multiplier"] = N(h.Configuration.Multiplier),
                ["positions"] = h.Configuration.Positions, ["neuron_source"] = h.Configuration.NeuronSource,
                ["selection_prompts"] = h.SelectionPrompts, ["measurement_prompts"] = h.MeasurementPrompts,
                ["selection_improvement_pct"] = N(h.SelectionImprovementPct), ["improvement_pct"] = N(h.HeldOutImprovementPct),
                ["improvement_of_means_pct"] = N(h.HeldOutImprovementOfMeansPct), ["median_improvement_pct"] = N(h.HeldOutMedianImprovementPct),
            }).ToArray()),
        };
        root["baseline_rho_squared"] = new JsonObject
        {
            ["value"] = N(a.Statistics.Spearman?.RhoSquared), ["decomposition_baseline_only_r_squared"] = N(a.Decomposition.BaselineOnlyRSquared),
            ["paper"] = PaperBaselineRhoSquared, ["localization"] = a.DecompositionLocalization,
        };
        root["controls_adjusted"] = new JsonArray(controls.Select(x => (JsonNode?)new JsonObject
        {
            ["task"] = x.Comparison.Task, ["design"] = x.Design, ["improvement_pct"] = N(x.Comparison.TaskNeuronImprovementPct),
            ["random_sets"] = x.Comparison.RandomImprovementsPct.Count,
            ["p"] = N(x.Adjusted?.PValue), ["p_holm"] = N(x.Adjusted?.Holm), ["p_bh"] = N(x.Adjusted?.BenjaminiHochberg),
            ["survives_holm"] = x.Adjusted?.SurvivesHolm, ["survives_bh"] = x.Adjusted?.SurvivesBh,
        }).ToArray());
        root["generation"] = generation is null ? null : new JsonArray(generation.Select(g =>
        {
            var e = g.ExactMatch;
            return (JsonNode?)new JsonObject
            {
                ["task"] = g.Task, ["zone"] = g.Zone, ["amplification"] = g.Amplification.ToString(), ["prompts"] = e.N,
                ["exact_match_before"] = e.CorrectBefore, ["exact_match_after"] = e.CorrectAfter, ["fixed"] = e.McNemar.Improved, ["broken"] = e.McNemar.Worsened,
                ["mcnemar_p"] = N(e.McNemar.PValue), ["mean_sequence_logprob_change"] = N(g.MeanSequenceLogProbChange), ["max_new_tokens"] = g.MaxNewTokens,
            };
        }).ToArray());
    }

    private static JsonNode? N(double? v) => v is double x && double.IsFinite(x) ? JsonValue.Create(x) : null;
    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
}
