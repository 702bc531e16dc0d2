#!/usr/bin/env python3
"""Reference values for the issue #13 statistics (Sna.Core.Tests/Analysis/StatsReferenceTests.cs).

Run once (not part of the build or the tests), with Debian's python3-scipy and python3-statsmodels:
    /usr/bin/python3 tests/Sna.Core.Tests/Analysis/reference/make_stats_reference.py
Writes reference/stats_reference.json and ../StatsReference.g.cs (the same numbers as C# literals, plus the stored rows).

Independent implementations used as the source of truth:
  * Holm and Benjamini-Hochberg: statsmodels.stats.multitest.multipletests(method="holm" / "fdr_bh")
  * exact McNemar: statsmodels.stats.contingency_tables.mcnemar(table, exact=True), cross-checked with scipy.stats.binomtest
  * medians, means: numpy; Spearman/Pearson: scipy.stats.spearmanr / pearsonr; rho^2 = rho**2
  * the held-out split: a straight transcription of PromptSplit's documented rule (FNV-1a of the task name, SplitMix64
    Fisher-Yates) in Python integers; selection and held-out gain recomputed with numpy from the stored rows.
"""
import json
import os
import warnings

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

warnings.simplefilter("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
M64 = (1 << 64) - 1

# ---------------------------------------------------------------------------------------------------------------- rows
# A small stored sweep: 5 tasks x 8 prompts x (2 layers x 2 counts x 2 multipliers); P_base spans 1e-4..0.6 so the three
# definitions of a task's improvement disagree.
rng = np.random.default_rng(1307)
TASKS = [("math-easy", 0.05), ("math-hard", 0.0009), ("poetry-easy", 0.6), ("code-medium", 0.03), ("logic-hard", 0.0004)]
CONFIGS = [(layer, count, mult) for layer in (0, 1) for count in (3, 8) for mult in (1.5, 3.0)]
rows = []
for task, base in TASKS:
    pb = np.round(np.clip(base * np.exp(rng.normal(0, 1.2, 8)), 1e-5, 0.95), 8)
    for layer, count, mult in CONFIGS:
        effect = rng.normal(0.05 * (layer + 1) * (mult - 1), 0.3, 8)
        pp = np.round(np.clip(pb * np.exp(effect), 1e-6, 0.99), 8)
        for i in range(8):
            rows.append(dict(task=task, prompt_index=i, layer=layer, count=count, multiplier=mult, positions="all",
                             neuron_source="differential", p_base=float(pb[i]), p_post=float(pp[i]),
                             logprob_base=float(np.log(pb[i])), logprob_post=float(np.log(pp[i])),
                             improvement_pct=float((pp[i] - pb[i]) / pb[i] * 100.0)))

COLS = ["task", "prompt_index", "layer", "count", "multiplier", "positions", "neuron_source", "p_base", "p_post",
        "logprob_base", "logprob_post", "improvement_pct"]


def csv_text():
    out = [",".join(COLS)]
    for r in rows:
        out.append(",".join(repr(r[c]) if isinstance(r[c], float) else str(r[c]) for c in COLS))
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------------------------- definitions
def task_definitions():
    res = {}
    for task, _ in TASKS:
        tr = [r for r in rows if r["task"] == task]
        baseline = float(np.mean([np.mean([r["p_base"] for r in tr if r["prompt_index"] == i]) for i in range(8)]))
        means, ofmeans, medians = [], [], []
        for cfg in CONFIGS:
            cr = [r for r in tr if (r["layer"], r["count"], r["multiplier"]) == cfg]
            imp = np.array([r["improvement_pct"] for r in cr])
            mb = np.mean([r["p_base"] for r in cr]); mp = np.mean([r["p_post"] for r in cr])
            means.append(np.mean(imp)); ofmeans.append((mp - mb) / mb * 100.0); medians.append(np.median(imp))
        res[task] = dict(baseline=baseline, improvement_pct=float(np.mean(means)),
                         improvement_of_means_pct=float(np.mean(ofmeans)), median_improvement_pct=float(np.mean(medians)))
    return res


def correlations(defs):
    x = [defs[t]["baseline"] for t, _ in TASKS]
    out = {}
    for q in ("improvement_pct", "improvement_of_means_pct", "median_improvement_pct"):
        y = [defs[t][q] for t, _ in TASKS]
        rho = stats.spearmanr(x, y)
        r = stats.pearsonr(x, y)
        out[q] = dict(spearman_rho=float(rho.correlation), spearman_p_t=float(rho.pvalue), rho_squared=float(rho.correlation) ** 2,
                      pearson_r=float(r[0]), pearson_p=float(r[1]))
    return out


# ------------------------------------------------------------------------------------------------------------ split
def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def prompt_split(task, n, seed):
    h = 14695981039346656037
    for b in task.encode("utf-8"):
        h ^= b
        h = (h * 1099511628211) & M64
    state = seed ^ h
    idx = list(range(n))
    for i in range(n - 1, 0, -1):
        state, v = splitmix64(state)
        j = v % (i + 1)
        idx[i], idx[j] = idx[j], idx[i]
    a = (n + 1) // 2
    return sorted(idx[:a]), sorted(idx[a:])


SEED = 20260407


def held_out():
    out = {}
    for task, _ in TASKS:
        a, b = prompt_split(task, 8, SEED)
        tr = [r for r in rows if r["task"] == task]

        def gain(cfg, prompts):
            return float(np.mean([r["improvement_pct"] for r in tr
                                  if (r["layer"], r["count"], r["multiplier"]) == cfg and r["prompt_index"] in prompts]))
        sel = [gain(c, a) for c in CONFIGS]
        best = CONFIGS[int(np.argmax(sel))]  # first maximum in configuration order (layer, count, multiplier)
        out[task] = dict(a=a, b=b, layer=best[0], count=best[1], multiplier=best[2], selection=max(sel), held_out=gain(best, b))
    return out


# ------------------------------------------------------------------------------------------------- multiple testing
P_SETS = {
    "twelve": [0.002, 0.0476, 0.0476, 1.0, 1.0, 0.0476, 0.7619, 0.0476, 0.4286, 0.0476, 0.0476, 0.0476],
    "ties_min": [1 / 500] * 12,
    "mixed": [0.01, 0.04, 0.03, 0.005, 0.2, 0.9, 0.04],
    "single": [0.03],
}


def adjust():
    return {k: dict(p=v, holm=[float(x) for x in multipletests(v, method="holm")[1]],
                    bh=[float(x) for x in multipletests(v, method="fdr_bh")[1]]) for k, v in P_SETS.items()}


MCNEMAR = [(0, 0), (3, 0), (0, 3), (7, 2), (10, 10), (1, 12), (25, 9), (60, 41), (6, 0)]


def mcnemar_ref():
    out = []
    for b, c in MCNEMAR:
        r = mcnemar([[5, b], [c, 5]], exact=True)
        if b + c > 0:
            assert abs(r.pvalue - stats.binomtest(min(b, c), b + c, 0.5).pvalue) < 1e-12 or r.pvalue == 1.0
        out.append(dict(improved=b, worsened=c, p=float(r.pvalue)))
    return out


def cs(v):
    if isinstance(v, float):
        r = repr(v)
        return r if ("." in r or "e" in r or "inf" in r or "nan" in r) else r + ".0"
    return str(v)


def main():
    defs = task_definitions()
    ref = dict(scipy=scipy.__version__, statsmodels=statsmodels.__version__, numpy=np.__version__,
               definitions=defs, correlations=correlations(defs), held_out=held_out(), adjust=adjust(), mcnemar=mcnemar_ref())
    with open(os.path.join(HERE, "stats_reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
    L = ["// <auto-generated> by tests/Sna.Core.Tests/Analysis/reference/make_stats_reference.py — do not edit by hand.",
         f"// SciPy {scipy.__version__}, statsmodels {statsmodels.__version__}, NumPy {np.__version__} (Debian). Same numbers as reference/stats_reference.json.",
         "#nullable enable", "namespace Sna.Core.Tests.Analysis;", "",
         "internal sealed record DefinitionRef(string Task, double Baseline, double ImprovementPct, double ImprovementOfMeansPct, double MedianImprovementPct);",
         "internal sealed record CorrelationRef(string Quantity, double SpearmanRho, double SpearmanPT, double RhoSquared, double PearsonR, double PearsonP);",
         "internal sealed record HeldOutRef(string Task, int[] A, int[] B, int Layer, int Count, double Multiplier, double Selection, double HeldOut);",
         "internal sealed record AdjustRef(string Name, double[] P, double[] Holm, double[] Bh);",
         "internal sealed record McNemarRef(int Improved, int Worsened, double P);", "",
         "internal static class StatsReference", "{",
         f"    public const ulong SplitSeed = {SEED};",
         "    /// <summary>The stored rows (sweep CSV export format).</summary>",
         '    public const string RowsCsv = """', csv_text() + '""";', "",
         "    /// <summary>Per task: numpy means over configurations of each definition.</summary>",
         "    public static readonly DefinitionRef[] Definitions =", "    ["]
    for t, _ in TASKS:
        d = defs[t]
        L.append(f'        new("{t}", {cs(d["baseline"])}, {cs(d["improvement_pct"])}, {cs(d["improvement_of_means_pct"])}, {cs(d["median_improvement_pct"])}),')
    L += ["    ];", "", "    /// <summary>scipy.stats.spearmanr / pearsonr of baseline vs each definition.</summary>",
          "    public static readonly CorrelationRef[] Correlations =", "    ["]
    for q, c in ref["correlations"].items():
        L.append(f'        new("{q}", {cs(c["spearman_rho"])}, {cs(c["spearman_p_t"])}, {cs(c["rho_squared"])}, {cs(c["pearson_r"])}, {cs(c["pearson_p"])}),')
    L += ["    ];", "", "    /// <summary>Held-out split, choice on A, gain on B.</summary>", "    public static readonly HeldOutRef[] HeldOut =", "    ["]
    for t, h in ref["held_out"].items():
        L.append(f'        new("{t}", [{", ".join(map(str, h["a"]))}], [{", ".join(map(str, h["b"]))}], {h["layer"]}, {h["count"]}, {cs(float(h["multiplier"]))}, {cs(h["selection"])}, {cs(h["held_out"])}),')
    L += ["    ];", "", "    /// <summary>statsmodels multipletests holm / fdr_bh.</summary>", "    public static readonly AdjustRef[] Adjust =", "    ["]
    for k, a in ref["adjust"].items():
        L.append(f'        new("{k}", [{", ".join(cs(float(x)) for x in a["p"])}], [{", ".join(cs(x) for x in a["holm"])}], [{", ".join(cs(x) for x in a["bh"])}]),')
    L += ["    ];", "", "    /// <summary>statsmodels mcnemar(exact=True).</summary>", "    public static readonly McNemarRef[] McNemar =", "    ["]
    for m in ref["mcnemar"]:
        L.append(f'        new({m["improved"]}, {m["worsened"]}, {cs(m["p"])}),')
    L += ["    ];", "}"]
    with open(os.path.join(HERE, "..", "StatsReference.g.cs"), "w") as f:
        f.write("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
