#!/usr/bin/env python3
"""Generates the committed reference values for Sna.Core.Tests/Analysis.

Run once (not part of the build or the tests):
    /usr/bin/python3 tests/Sna.Core.Tests/Analysis/reference/make_reference.py
Writes reference/scipy_reference.json and ../ScipyReference.g.cs (the same numbers as C# literals).

Sources of truth:
  * scipy.stats.pearsonr / spearmanr / rankdata / permutation_test, numpy.percentile (default 'linear')
  * exact Spearman permutation p for n = 10, 12: brute force over all n! permutations in numpy (floating rho,
    |rho*| >= |rho| - 1e-12), independent of the C# dynamic programme
  * LMG / Shapley R^2: numpy.linalg.lstsq for every subset, Shapley value as the average over all k! orderings
  * xoshiro256** / SplitMix64: straight transcription of the reference C code (Vigna) in Python integers
"""
import itertools
import json
import math
import os
import warnings

import numpy as np
import scipy
from scipy import stats

warnings.simplefilter("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))

# --------------------------------------------------------------------------------------------------------------------
# Data sets
# Paper-like: 12 tasks, baseline confidence 0.001-0.6, SNA improvement in percent (made up, shaped like arXiv 2604.07098:
# strong negative rank relation, weaker linear one).
PAPER_BASELINE = [0.0012, 0.0035, 0.008, 0.015, 0.024, 0.041, 0.063, 0.082, 0.11, 0.19, 0.34, 0.58]
PAPER_IMPROVEMENT = [18.5, 31.2, 12.4, 24.7, 9.6, 6.1, 11.8, 3.1, 15.3, 7.9, 2.2, 4.0]
PAPER_LOCALIZATION = [0.81, 0.64, 0.42, 0.77, 0.35, 0.22, 0.58, 0.19, 0.71, 0.48, 0.15, 0.33]
PAPER_TASKTYPE = ["factual", "reasoning", "syntax", "factual", "syntax", "reasoning",
                  "factual", "syntax", "reasoning", "factual", "syntax", "reasoning"]

rng = np.random.default_rng(20260407)
neg15_x = np.round(rng.uniform(0, 10, 15), 6)
neg15_y = np.round(-0.8 * neg15_x + rng.normal(0, 2.5, 15), 6)

CORR_SETS = {
    "paper12": (PAPER_BASELINE, PAPER_IMPROVEMENT),
    "ties10": ([1, 2, 2, 3, 4, 4, 4, 5, 6, 7], [2, 1, 3, 3, 5, 4, 6, 6, 8, 7]),
    "ties12": ([0.1, 0.2, 0.2, 0.3, 0.3, 0.3, 0.5, 0.6, 0.7, 0.7, 0.9, 1.0],
               [5.0, 3.0, 4.0, 4.0, 2.0, 6.0, 1.0, 2.0, 0.5, 1.0, 1.0, 0.0]),
    "n3_a": ([1, 2, 3], [1, 3, 2]),
    "n3_b": ([0.1, 0.5, 0.2], [3.0, 1.0, 2.5]),
    "n3_perfect": ([1, 2, 3], [2, 4, 6]),
    "perfect_pos8": ([1, 2, 3, 4, 5, 6, 7, 8], [3, 5, 7, 9, 11, 13, 15, 17]),
    "perfect_neg8": ([0.5, 1.5, 2.0, 3.25, 4.0, 6.0, 7.5, 9.0], [10 - 3 * v for v in [0.5, 1.5, 2.0, 3.25, 4.0, 6.0, 7.5, 9.0]]),
    "monotone_exp7": ([1, 2, 3, 4, 5, 6, 7], [math.exp(v) for v in range(1, 8)]),
    "negative15": (neg15_x.tolist(), neg15_y.tolist()),
    "small5": ([3.1, 1.2, 4.8, 2.2, 5.9], [2.0, 1.5, 2.9, 3.3, 4.1]),
    "small6_ties": ([1, 1, 2, 3, 3, 4], [2, 3, 1, 4, 4, 6]),
    "small7": ([0.05, 0.01, 0.3, 0.12, 0.002, 0.6, 0.08], [12.0, 20.0, 3.0, 5.5, 25.0, 1.0, 9.0]),
    "small8_ties": ([1, 2, 3, 3, 5, 6, 6, 6], [1, 1, 2, 5, 3, 4, 4, 8]),
    "n2": ([1.0, 2.0], [3.0, 1.0]),
}


def exact_spearman_scipy(x, y):
    """scipy.stats.permutation_test: all n! pairings of x against fixed y, statistic |rho|, alternative 'greater'."""
    # Only x is permuted (one sample => n! pairings); permuting both would enumerate (n!)^2 arrangements.
    yy = np.asarray(y, float)
    res = stats.permutation_test((np.asarray(x, float),),
                                 lambda a: abs(stats.spearmanr(a, yy).statistic),
                                 permutation_type="pairings", alternative="greater",
                                 n_resamples=np.inf, vectorized=False)
    return float(res.pvalue)


def exact_spearman_bruteforce(x, y):
    """All n! permutations in numpy; fixed prefix + 8-element suffix blocks. Floating rho, tolerance 1e-12."""
    rx = stats.rankdata(x)
    ry = stats.rankdata(y)
    n = len(rx)
    mx, my = rx.mean(), ry.mean()
    denom = math.sqrt(((rx - mx) ** 2).sum() * ((ry - my) ** 2).sum())
    rho_obs = float(((rx - mx) * (ry - my)).sum() / denom)
    s = min(n, 8)
    suffix_perms = np.array(list(itertools.permutations(range(s))), dtype=np.int64)
    count = 0
    total = 0
    for prefix in itertools.permutations(range(n), n - s):
        rest = np.array([i for i in range(n) if i not in prefix], dtype=np.int64)
        head = sum(rx[i] * ry[prefix[i]] for i in range(n - s))
        t = head + ry[rest][suffix_perms] @ rx[n - s:]
        rho = (t - n * mx * my) / denom
        count += int(np.count_nonzero(np.abs(rho) >= abs(rho_obs) - 1e-12))
        total += len(t)
    assert total == math.factorial(n)
    return count / total, count, total


def corr_reference():
    out = {}
    for name, (x, y) in CORR_SETS.items():
        pr = stats.pearsonr(x, y)
        sr = stats.spearmanr(x, y)
        entry = {
            "x": [float(v) for v in x], "y": [float(v) for v in y],
            "pearson_r": float(pr.statistic), "pearson_p": float(pr.pvalue),
            "spearman_rho": float(sr.statistic), "spearman_p": float(sr.pvalue),
            "rank_x": stats.rankdata(x).tolist(), "rank_y": stats.rankdata(y).tolist(),
        }
        n = len(x)
        if 3 <= n <= 8:
            entry["spearman_exact_p"] = exact_spearman_scipy(x, y)
            entry["spearman_exact_source"] = "scipy.stats.permutation_test(pairings, |rho|, greater, exact)"
        elif n in (10, 12):
            p, c, t = exact_spearman_bruteforce(x, y)
            entry["spearman_exact_p"] = p
            entry["spearman_exact_count"] = c
            entry["spearman_exact_source"] = f"numpy brute force over all {t} permutations"
        out[name] = entry
    return out


# --------------------------------------------------------------------------------------------------------------------
def quantile_reference():
    data = [3.5, -1.0, 2.25, 7.0, 0.5, 0.5, 9.75, 4.0, -3.3, 6.1, 2.0]
    qs = [0.0, 0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975, 1.0]
    small = [1.0, 2.0]
    return {
        "data": data, "q": qs,
        "values": [float(np.percentile(data, q * 100)) for q in qs],
        "values_quantile": [float(np.quantile(data, q)) for q in qs],
        "small": small, "small_values": [float(np.quantile(small, q)) for q in qs],
        "mean": float(np.mean(data)), "sd": float(np.std(data, ddof=1)), "median": float(np.median(data)),
    }


# --------------------------------------------------------------------------------------------------------------------
def r2(y, cols):
    y = np.asarray(y, float)
    if not cols:
        return 0.0
    X = np.column_stack([np.ones(len(y))] + cols)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    return float(1 - resid @ resid / ((y - y.mean()) @ (y - y.mean())))


def lmg_bruteforce(y, groups):
    k = len(groups)
    cache = {}

    def r2_of(subset):
        key = frozenset(subset)
        if key not in cache:
            cols = [c for j in sorted(key) for c in groups[j]]
            cache[key] = r2(y, cols)
        return cache[key]

    shares = [0.0] * k
    orders = list(itertools.permutations(range(k)))
    for order in orders:
        used = []
        for j in order:
            before = r2_of(used)
            used.append(j)
            shares[j] += r2_of(used) - before
    shares = [s / len(orders) for s in shares]
    subset_r2 = [r2_of([j for j in range(k) if m >> j & 1]) for m in range(1 << k)]
    return shares, subset_r2


def dummies(labels):
    levels = sorted(set(labels))
    return [[1.0 if l == lev else 0.0 for l in labels] for lev in levels[1:]]


def lmg_reference():
    y = PAPER_IMPROVEMENT
    g_base = [list(np.log10(PAPER_BASELINE))]
    g_loc = [PAPER_LOCALIZATION]
    g_type = dummies(PAPER_TASKTYPE)
    shares, subsets = lmg_bruteforce(y, [g_base, g_loc, g_type])
    paper = {"y": y, "log10_baseline": g_base[0], "localization": PAPER_LOCALIZATION, "task_type": PAPER_TASKTYPE,
             "shares": shares, "subset_r2": subsets, "full_r2": subsets[-1]}

    r = np.random.default_rng(7)
    n = 30
    x1 = r.normal(size=n); x2 = 0.5 * x1 + r.normal(size=n); x3 = r.normal(size=n)
    g = r.integers(0, 3, n)
    d1 = (g == 1).astype(float); d2 = (g == 2).astype(float)
    yy = 1.0 + 2.0 * x1 - 1.0 * x2 + 0.3 * x3 + 1.5 * d1 - 0.7 * d2 + r.normal(size=n)
    cols = [[np.round(x1, 8).tolist()], [np.round(x2, 8).tolist()], [np.round(x3, 8).tolist()], [d1.tolist(), d2.tolist()]]
    yy = np.round(yy, 8).tolist()
    shares4, subsets4 = lmg_bruteforce(yy, cols)
    four = {"y": yy, "x1": cols[0][0], "x2": cols[1][0], "x3": cols[2][0], "d1": cols[3][0], "d2": cols[3][1],
            "shares": shares4, "subset_r2": subsets4, "full_r2": subsets4[-1]}
    return {"paper": paper, "four": four}


# --------------------------------------------------------------------------------------------------------------------
def permutation_reference():
    a = [5.1, 6.3, 4.8, 7.2, 6.9, 5.5]
    b = [4.2, 5.0, 3.9, 5.8, 4.4, 6.1, 4.0]
    out = {"a": a, "b": b}
    for alt in ("greater", "less", "two-sided"):
        res = stats.permutation_test((a, b), lambda u, v: np.mean(u) - np.mean(v), permutation_type="independent",
                                     alternative=alt, n_resamples=np.inf, vectorized=False)
        out["two_sample_" + alt] = float(res.pvalue)
    d = [0.8, -0.3, 1.2, 0.5, 0.9, -0.1, 0.4, 1.5, -0.6, 0.7]
    out["d"] = d
    for alt in ("greater", "two-sided"):
        res = stats.permutation_test((d,), np.mean, permutation_type="samples", alternative=alt,
                                     n_resamples=np.inf, vectorized=False)
        out["one_sample_" + alt] = float(res.pvalue)
    return out


# --------------------------------------------------------------------------------------------------------------------
M64 = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


def xoshiro_outputs(seed, count):
    st = seed
    s = []
    for _ in range(4):
        st, v = splitmix64(st)
        s.append(v)
    out = []
    for _ in range(count):
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t
        s[3] = rotl(s[3], 45)
        out.append(result)
    return out


# --------------------------------------------------------------------------------------------------------------------
def cs_double(v):
    if isinstance(v, float) and math.isnan(v):
        return "double.NaN"
    r = repr(float(v))
    if "e" not in r and "." not in r and "inf" not in r:
        r += ".0"
    return r


def cs_array(vs):
    return "[" + ", ".join(cs_double(v) for v in vs) + "]"


def main():
    ref = {
        "generator": "tests/Sna.Core.Tests/Analysis/reference/make_reference.py",
        "scipy_version": scipy.__version__, "numpy_version": np.__version__,
        "correlation": corr_reference(),
        "quantile": quantile_reference(),
        "lmg": lmg_reference(),
        "permutation": permutation_reference(),
        "xoshiro_seed42": [str(v) for v in xoshiro_outputs(42, 5)],
    }
    with open(os.path.join(HERE, "scipy_reference.json"), "w") as f:
        json.dump(ref, f, indent=1)

    L = []
    w = L.append
    w("// <auto-generated> by tests/Sna.Core.Tests/Analysis/reference/make_reference.py — do not edit by hand.")
    w(f"// SciPy {scipy.__version__}, NumPy {np.__version__} (Debian python3-scipy). Same numbers as reference/scipy_reference.json.")
    w("#nullable enable")
    w("namespace Sna.Core.Tests.Analysis;")
    w("")
    w("internal sealed record CorrRef(string Name, double[] X, double[] Y, double PearsonR, double PearsonP,")
    w("    double SpearmanRho, double SpearmanP, double[] RankX, double? SpearmanExactP, string? ExactSource);")
    w("")
    w("internal static class ScipyReference")
    w("{")
    w(f"    public const string ScipyVersion = \"{scipy.__version__}\";")
    w(f"    public const string NumpyVersion = \"{np.__version__}\";")
    w("")
    w("    /// <summary>scipy.stats.pearsonr / spearmanr / rankdata; exact p from permutation_test (n &lt;= 8) or numpy brute force (n = 10, 12).</summary>")
    w("    public static readonly CorrRef[] Correlations =")
    w("    [")
    for name, e in ref["correlation"].items():
        ex = cs_double(e["spearman_exact_p"]) if "spearman_exact_p" in e else "null"
        src = f"\"{e['spearman_exact_source']}\"" if "spearman_exact_source" in e else "null"
        w(f"        new(\"{name}\", {cs_array(e['x'])}, {cs_array(e['y'])},")
        w(f"            {cs_double(e['pearson_r'])}, {cs_double(e['pearson_p'])}, {cs_double(e['spearman_rho'])}, {cs_double(e['spearman_p'])},")
        w(f"            {cs_array(e['rank_x'])}, {ex}, {src}),")
    w("    ];")
    q = ref["quantile"]
    w("")
    w("    // numpy.percentile / numpy.quantile (method='linear'), numpy.mean, numpy.std(ddof=1), numpy.median")
    w(f"    public static readonly double[] QuantileData = {cs_array(q['data'])};")
    w(f"    public static readonly double[] QuantileQ = {cs_array(q['q'])};")
    w(f"    public static readonly double[] QuantileValues = {cs_array(q['values_quantile'])};")
    w(f"    public static readonly double[] PercentileValues = {cs_array(q['values'])};")
    w(f"    public static readonly double[] QuantileSmall = {cs_array(q['small'])};")
    w(f"    public static readonly double[] QuantileSmallValues = {cs_array(q['small_values'])};")
    w(f"    public const double QuantileDataMean = {cs_double(q['mean'])};")
    w(f"    public const double QuantileDataSd = {cs_double(q['sd'])};")
    w(f"    public const double QuantileDataMedian = {cs_double(q['median'])};")
    p = ref["lmg"]["paper"]
    w("")
    w("    // LMG by brute force over all orderings with numpy.linalg.lstsq. Paper-like: log10 baseline, localization, task type (3 levels).")
    w(f"    public static readonly double[] LmgPaperY = {cs_array(p['y'])};")
    w(f"    public static readonly double[] LmgPaperLog10Baseline = {cs_array(p['log10_baseline'])};")
    w(f"    public static readonly double[] LmgPaperLocalization = {cs_array(p['localization'])};")
    w("    public static readonly string[] LmgPaperTaskType = [" + ", ".join(f'"{t}"' for t in p["task_type"]) + "];")
    w(f"    public static readonly double[] LmgPaperShares = {cs_array(p['shares'])};")
    w(f"    public static readonly double[] LmgPaperSubsetR2 = {cs_array(p['subset_r2'])};")
    f4 = ref["lmg"]["four"]
    w("")
    w("    // Four predictors (x1, x2 correlated with x1, x3, and a 2-column dummy group), n = 30.")
    for key in ("y", "x1", "x2", "x3", "d1", "d2"):
        w(f"    public static readonly double[] LmgFour{key.upper()} = {cs_array(f4[key])};")
    w(f"    public static readonly double[] LmgFourShares = {cs_array(f4['shares'])};")
    w(f"    public static readonly double[] LmgFourSubsetR2 = {cs_array(f4['subset_r2'])};")
    pm = ref["permutation"]
    w("")
    w("    // scipy.stats.permutation_test, exact (n_resamples=inf): mean(a) - mean(b) 'independent'; mean(d) 'samples' (sign flips).")
    w(f"    public static readonly double[] PermA = {cs_array(pm['a'])};")
    w(f"    public static readonly double[] PermB = {cs_array(pm['b'])};")
    w(f"    public const double TwoSampleGreater = {cs_double(pm['two_sample_greater'])};")
    w(f"    public const double TwoSampleLess = {cs_double(pm['two_sample_less'])};")
    w(f"    public const double TwoSampleTwoSided = {cs_double(pm['two_sample_two-sided'])};")
    w(f"    public static readonly double[] PermD = {cs_array(pm['d'])};")
    w(f"    public const double OneSampleGreater = {cs_double(pm['one_sample_greater'])};")
    w(f"    public const double OneSampleTwoSided = {cs_double(pm['one_sample_two-sided'])};")
    w("")
    w("    // xoshiro256** seeded by SplitMix64(42): first outputs (Python transcription of the reference C code).")
    w("    public static readonly ulong[] XoshiroSeed42 = [" + ", ".join(f"{v}UL" for v in xoshiro_outputs(42, 5)) + "];")
    w("}")
    with open(os.path.join(HERE, "..", "ScipyReference.g.cs"), "w") as f:
        f.write("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
