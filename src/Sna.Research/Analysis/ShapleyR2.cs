using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace Sna.Research.Analysis;

/// <summary>
/// One predictor of a variance decomposition: a named group of one or more columns that enter or leave the model
/// together (a continuous variable is one column; a categorical variable with L levels is L - 1 dummy columns).
/// </summary>
public sealed class PredictorGroup
{
    private readonly double[][] _columns;

    private PredictorGroup(string name, double[][] columns)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        _columns = columns;
    }

    /// <summary>Display name (must be unique within a decomposition).</summary>
    public string Name { get; }

    /// <summary>The design columns of this predictor.</summary>
    public IReadOnlyList<double[]> Columns => _columns;

    /// <summary>Names of the dummy levels for categorical predictors (empty otherwise); the reference level is dropped.</summary>
    public IReadOnlyList<string> Levels { get; private init; } = [];

    /// <summary>A single numeric predictor (transform it first if you want, e.g. log10 of the baseline).</summary>
    public static PredictorGroup Continuous(string name, IReadOnlyList<double> values)
    {
        Guard.FiniteNonEmpty(values, nameof(values));
        return new PredictorGroup(name, [values.ToArray()]);
    }

    /// <summary>
    /// A categorical predictor as treatment (dummy) coding: one 0/1 column per level except the reference level,
    /// which is the first level in ordinal string order. R² and hence the Shapley share do not depend on that choice.
    /// </summary>
    public static PredictorGroup Categorical(string name, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count == 0) throw new ArgumentException("No labels.", nameof(labels));
        var levels = labels.Distinct(StringComparer.Ordinal).OrderBy(l => l, StringComparer.Ordinal).ToArray();
        var cols = new double[levels.Length - 1][];
        for (int j = 1; j < levels.Length; j++)
        {
            cols[j - 1] = new double[labels.Count];
            for (int i = 0; i < labels.Count; i++) cols[j - 1][i] = labels[i] == levels[j] ? 1.0 : 0.0;
        }
        return new PredictorGroup(name, cols) { Levels = levels[1..] };
    }

    /// <summary>An explicit group of columns that enter the model together.</summary>
    public static PredictorGroup Group(string name, params double[][] columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        foreach (var c in columns) Guard.FiniteNonEmpty(c, nameof(columns));
        return new PredictorGroup(name, columns.Select(c => (double[])c.Clone()).ToArray());
    }
}

/// <summary>Shapley (LMG) share of one predictor.</summary>
/// <param name="Name">Predictor name.</param>
/// <param name="Share">Shapley value: average gain in R² when the predictor is added, over all orderings.</param>
/// <param name="PercentOfR2">100 · Share / full-model R² (comparable to the paper's 58/28/14%).</param>
/// <param name="Columns">Number of design columns of the predictor.</param>
public sealed record ShapleyShare(string Name, double Share, double PercentOfR2, int Columns);

/// <summary>Result of <see cref="ShapleyR2.Decompose"/>.</summary>
/// <param name="N">Observations.</param>
/// <param name="FullRSquared">R² of the model with all predictors (= sum of the shares).</param>
/// <param name="Shares">One share per predictor, in input order.</param>
/// <param name="SubsetRSquared">R² of every sub-model, indexed by bit mask (bit j set ⇔ predictor j included); index 0 is 0.</param>
public sealed record ShapleyR2Result(int N, double FullRSquared, IReadOnlyList<ShapleyShare> Shares, IReadOnlyList<double> SubsetRSquared)
{
    /// <summary>R² of the sub-model containing exactly the named predictors.</summary>
    public double RSquaredOf(params string[] names)
    {
        int mask = 0;
        foreach (string name in names)
        {
            int j = Shares.Select(s => s.Name).ToList().IndexOf(name);
            if (j < 0) throw new ArgumentException($"Unknown predictor '{name}'.", nameof(names));
            mask |= 1 << j;
        }
        return SubsetRSquared[mask];
    }
}

/// <summary>
/// Shapley decomposition of R² (Lindeman, Merenda &amp; Gold 1980, "LMG"; Grömping 2006): for k predictor groups, OLS
/// with intercept is fitted for all 2^k subsets and predictor j receives
/// φ_j = Σ_{S ⊆ K∖{j}} |S|! (k - |S| - 1)! / k! · (R²(S ∪ {j}) - R²(S)),
/// i.e. its marginal R² contribution averaged over all k! orderings. The φ_j add up to R²(full) exactly (telescoping).
/// </summary>
/// <remarks>
/// OLS: y and the columns are centred (absorbing the intercept) and R² = 1 - RSS/TSS with the residual from a thin
/// Householder QR of the centred design (MathNet). Degenerate input is rejected with <see cref="ArgumentException"/>:
/// constant y (TSS = 0, R² undefined); a predictor with a constant column (e.g. a category with one level);
/// collinear columns (design rank deficient, condition of the column-normalised design &gt; 1e10); and n &lt;= p + 1,
/// where p is the total number of columns, because the full model then has no residual degrees of freedom and
/// R² = 1 trivially. At most <see cref="MaxPredictors"/> groups.
/// </remarks>
public static class ShapleyR2
{
    /// <summary>Largest number of predictor groups (2^k sub-models are fitted).</summary>
    public const int MaxPredictors = 12;

    /// <summary>Computes the LMG/Shapley shares of R² for <paramref name="predictors"/> explaining <paramref name="y"/>.</summary>
    public static ShapleyR2Result Decompose(IReadOnlyList<double> y, IReadOnlyList<PredictorGroup> predictors)
    {
        Guard.FiniteNonEmpty(y, nameof(y));
        ArgumentNullException.ThrowIfNull(predictors);
        int k = predictors.Count, n = y.Count;
        if (k == 0) throw new ArgumentException("At least one predictor is required.", nameof(predictors));
        if (k > MaxPredictors) throw new ArgumentException($"At most {MaxPredictors} predictors are supported (got {k}).", nameof(predictors));
        if (predictors.Select(p => p.Name).Distinct(StringComparer.Ordinal).Count() != k)
            throw new ArgumentException("Predictor names must be unique.", nameof(predictors));
        int p = 0;
        foreach (var g in predictors)
        {
            if (g.Columns.Count == 0)
                throw new ArgumentException($"Predictor '{g.Name}' has no columns (a categorical variable with a single level is constant).", nameof(predictors));
            foreach (var c in g.Columns)
            {
                if (c.Length != n) throw new ArgumentException($"Predictor '{g.Name}' has {c.Length} rows, y has {n}.", nameof(predictors));
                if (Guard.IsConstant(c)) throw new ArgumentException($"Predictor '{g.Name}' has a constant column; it carries no information.", nameof(predictors));
            }
            p += g.Columns.Count;
        }
        if (n <= p + 1)
            throw new ArgumentException($"Need n > p + 1 observations for the full model (n = {n}, p = {p} columns incl. dummies): otherwise it has no residual degrees of freedom.", nameof(y));
        if (Guard.IsConstant(y)) throw new ArgumentException("y is constant: R² is undefined.", nameof(y));

        double[] yc = Centre(y.ToArray());
        double tss = 0;
        foreach (double v in yc) tss += v * v;
        var centred = predictors.Select(g => g.Columns.Select(Centre).ToArray()).ToArray();

        CheckFullRank(centred, predictors);

        int subsets = 1 << k;
        var r2 = new double[subsets];
        for (int mask = 1; mask < subsets; mask++)
        {
            var cols = new List<double[]>();
            for (int j = 0; j < k; j++) if ((mask & (1 << j)) != 0) cols.AddRange(centred[j]);
            r2[mask] = RSquaredCentred(yc, tss, cols);
        }

        // Shapley weights |S|!(k-|S|-1)!/k!
        var weight = new double[k];
        for (int s = 0; s < k; s++) weight[s] = Fact(s) * Fact(k - s - 1) / Fact(k);
        var shares = new ShapleyShare[k];
        double full = r2[subsets - 1];
        for (int j = 0; j < k; j++)
        {
            int bit = 1 << j;
            double phi = 0;
            for (int mask = 0; mask < subsets; mask++)
            {
                if ((mask & bit) != 0) continue;
                phi += weight[System.Numerics.BitOperations.PopCount((uint)mask)] * (r2[mask | bit] - r2[mask]);
            }
            shares[j] = new ShapleyShare(predictors[j].Name, phi, 100.0 * phi / full, predictors[j].Columns.Count);
        }
        return new ShapleyR2Result(n, full, shares, r2);
    }

    /// <summary>R² of an OLS fit with intercept of <paramref name="y"/> on the given columns.</summary>
    public static double RSquared(IReadOnlyList<double> y, IReadOnlyList<double[]> columns)
    {
        Guard.FiniteNonEmpty(y, nameof(y));
        ArgumentNullException.ThrowIfNull(columns);
        if (Guard.IsConstant(y)) throw new ArgumentException("y is constant: R² is undefined.", nameof(y));
        if (columns.Count == 0) return 0.0;
        if (y.Count <= columns.Count + 1) throw new ArgumentException("Need n > p + 1 observations.", nameof(y));
        double[] yc = Centre(y.ToArray());
        double tss = yc.Sum(v => v * v);
        return RSquaredCentred(yc, tss, columns.Select(Centre).ToList());
    }

    private static double RSquaredCentred(double[] yc, double tss, IReadOnlyList<double[]> centredColumns)
    {
        var x = Matrix<double>.Build.DenseOfColumnArrays(centredColumns);
        var qr = x.QR(QRMethod.Thin);
        var yv = Vector<double>.Build.DenseOfArray(yc);
        var fitted = qr.Q * (qr.Q.TransposeThisAndMultiply(yv));
        var resid = yv - fitted;
        double rss = resid.DotProduct(resid);
        return 1.0 - rss / tss;
    }

    private static void CheckFullRank(double[][][] centred, IReadOnlyList<PredictorGroup> predictors)
    {
        var cols = centred.SelectMany(g => g).Select(c =>
        {
            double norm = Math.Sqrt(c.Sum(v => v * v));
            return c.Select(v => v / norm).ToArray();
        }).ToArray();
        var s = Matrix<double>.Build.DenseOfColumnArrays(cols).Svd(computeVectors: false).S;
        double max = s.Maximum(), min = s.Minimum();
        if (!(min > max * 1e-10))
            throw new ArgumentException(
                $"The predictors [{string.Join(", ", predictors.Select(g => g.Name))}] are (nearly) collinear (singular values {max:G3} .. {min:G3}); R² shares are not identifiable.",
                nameof(predictors));
    }

    private static double[] Centre(double[] v)
    {
        double m = v.Average();
        return v.Select(x => x - m).ToArray();
    }

    private static double Fact(int m)
    {
        double f = 1;
        for (int i = 2; i <= m; i++) f *= i;
        return f;
    }
}
