using Sna.Runtime;
using System.Globalization;

namespace Sna.Research.Analysis;

/// <summary>
/// One measured cell: amplifying <paramref name="Source"/>'s neurons changes <paramref name="Target"/>'s P(target) by
/// <paramref name="ImprovementPct"/>: the mean over the target's prompts of the relative % change 100 (P_post − P_base) / P_base
/// (not percentage points; CSV column <c>improvement_pct</c>, formerly <c>delta_pp</c>).
/// </summary>
public sealed record InterferenceCell(string Source, string Target, double ImprovementPct);

/// <summary>A pair of tasks with both directions measured.</summary>
/// <param name="A">First task (matrix order).</param>
/// <param name="B">Second task.</param>
/// <param name="AToB">Effect on B of amplifying A's neurons (mean relative % change).</param>
/// <param name="BToA">Effect on A of amplifying B's neurons (mean relative % change).</param>
/// <param name="Difference">AToB - BToA (difference of mean relative % changes).</param>
/// <param name="OppositeSigns">True when one direction helps and the other hurts.</param>
public sealed record InterferencePair(string A, string B, double AToB, double BToA, double Difference, bool OppositeSigns);

/// <summary>Asymmetry analysis of an <see cref="InterferenceMatrix"/>.</summary>
/// <param name="Pairs">All pairs with both directions measured, largest |Difference| first.</param>
/// <param name="AsymmetryIndex">‖A‖² / (‖S‖² + ‖A‖²) over measured off-diagonal pairs, with S = (M + Mᵀ)/2, A = (M - Mᵀ)/2: 0 = symmetric, 1 = antisymmetric, 0.5 = no relation between directions; NaN when no pair or all zero.</param>
/// <param name="MeanAbsDifference">Mean |AToB - BToA| over pairs (relative %).</param>
/// <param name="OppositeSignPairs">Pairs where one direction helps and the other hurts.</param>
/// <param name="MeanOffDiagonal">Mean cross-task effect (relative %).</param>
/// <param name="MeanDiagonal">Mean self effect (relative %; NaN when the diagonal is not measured).</param>
public sealed record InterferenceAsymmetry(IReadOnlyList<InterferencePair> Pairs, double AsymmetryIndex, double MeanAbsDifference,
    int OppositeSignPairs, double MeanOffDiagonal, double MeanDiagonal);

/// <summary>
/// Cross-task interference: <c>Values[s, t]</c> is the change of target task t's metric (by default the mean per-prompt
/// relative % change of P(target), <see cref="DefaultMetric"/>) when the neurons of source task s are amplified (rows = source, columns = target; diagonal = the task's own gain; NaN = not
/// measured). The measurement needs the model; this type holds and analyses the numbers.
/// </summary>
public sealed class InterferenceMatrix
{
    private readonly double[,] _values;

    /// <summary>Creates a matrix over <paramref name="tasks"/> (rows and columns in that order).</summary>
    /// <summary>What the values of a matrix built from cells or a CSV measure.</summary>
    public const string DefaultMetric = "improvement_pct: mean over the target's prompts of the relative % change 100 (P_post − P_base) / P_base (not percentage points)";

    public InterferenceMatrix(IReadOnlyList<string> tasks, double[,] valuesPp, string metric = DefaultMetric)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(valuesPp);
        if (tasks.Count == 0) throw new ArgumentException("An interference matrix needs at least one task.", nameof(tasks));
        if (valuesPp.GetLength(0) != tasks.Count || valuesPp.GetLength(1) != tasks.Count)
            throw new ArgumentException($"Values must be {tasks.Count}×{tasks.Count}, got {valuesPp.GetLength(0)}×{valuesPp.GetLength(1)}.", nameof(valuesPp));
        if (tasks.Distinct(StringComparer.Ordinal).Count() != tasks.Count) throw new ArgumentException("Task names must be distinct.", nameof(tasks));
        foreach (double v in valuesPp)
            if (double.IsInfinity(v)) throw new ArgumentException("Values must be finite or NaN (not measured).", nameof(valuesPp));
        Tasks = tasks.ToArray();
        _values = (double[,])valuesPp.Clone();
        Metric = metric;
    }

    /// <summary>Tasks (row and column order).</summary>
    public IReadOnlyList<string> Tasks { get; }

    /// <summary>What the values measure.</summary>
    public string Metric { get; }

    /// <summary>Task count.</summary>
    public int Size => Tasks.Count;

    /// <summary>Effect on target of amplifying source (see <see cref="Metric"/>).</summary>
    public double this[int source, int target] => _values[source, target];

    /// <summary>Effect on <paramref name="target"/> of amplifying <paramref name="source"/> (see <see cref="Metric"/>).</summary>
    public double this[string source, string target] => _values[IndexOf(source), IndexOf(target)];

    /// <summary>A copy of the values [source, target].</summary>
    public double[,] ToArray() => (double[,])_values.Clone();

    /// <summary>Builds a matrix from cells; tasks in order of first appearance (sources then targets) unless given. Missing cells are NaN; duplicates throw.</summary>
    public static InterferenceMatrix FromCells(IEnumerable<InterferenceCell> cells, IReadOnlyList<string>? taskOrder = null)
    {
        ArgumentNullException.ThrowIfNull(cells);
        var list = cells.ToArray();
        var tasks = taskOrder?.ToArray() ?? list.Select(c => c.Source).Concat(list.Select(c => c.Target)).Distinct(StringComparer.Ordinal).ToArray();
        var idx = tasks.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
        var v = new double[tasks.Length, tasks.Length];
        var seen = new bool[tasks.Length, tasks.Length];
        for (int i = 0; i < tasks.Length; i++) for (int j = 0; j < tasks.Length; j++) v[i, j] = double.NaN;
        foreach (var c in list)
        {
            if (!idx.TryGetValue(c.Source, out int s) || !idx.TryGetValue(c.Target, out int t))
                throw new ArgumentException($"Cell {c.Source} → {c.Target} names a task not in the task order.", nameof(cells));
            if (seen[s, t]) throw new ArgumentException($"Duplicate cell {c.Source} → {c.Target}.", nameof(cells));
            seen[s, t] = true;
            v[s, t] = c.ImprovementPct;
        }
        return new InterferenceMatrix(tasks, v);
    }

    /// <summary>
    /// Reads <c>source,target,improvement_pct</c> CSV (header-driven, invariant culture). Files written before the rename have
    /// only <c>delta_pp</c> (the same quantity under its old name); it is read when <c>improvement_pct</c> is absent.
    /// </summary>
    public static InterferenceMatrix FromCsv(string path)
    {
        using var reader = new StreamReader(path);
        var records = Csv.Read(reader).ToArray();
        if (records.Length == 0) throw new SnaInputException($"{path}: empty file.");
        var header = records[0].Fields.Select(h => h.Trim()).ToList();
        int cs = header.FindIndex(h => h.Equals("source", StringComparison.OrdinalIgnoreCase));
        int ct = header.FindIndex(h => h.Equals("target", StringComparison.OrdinalIgnoreCase));
        int cv = header.FindIndex(h => h.Equals("improvement_pct", StringComparison.OrdinalIgnoreCase));
        if (cv < 0) cv = header.FindIndex(h => h.Equals("delta_pp", StringComparison.OrdinalIgnoreCase));
        if (cs < 0 || ct < 0 || cv < 0) throw new SnaInputException($"{path}: need columns source, target, improvement_pct (or its old name delta_pp).");
        var cells = new List<InterferenceCell>();
        foreach (var (line, f) in records.Skip(1))
        {
            if (f.Count == 1 && f[0].Length == 0) continue;
            if (f.Count != header.Count) throw new SnaInputException($"{path}: line {line} has {f.Count} fields, the header has {header.Count}.");
            if (!double.TryParse(f[cv].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
                throw new SnaInputException($"{path}: line {line}: '{f[cv]}' is not a number.");
            cells.Add(new InterferenceCell(f[cs].Trim(), f[ct].Trim(), d));
        }
        return FromCells(cells);
    }

    /// <summary>Asymmetry of the cross-task effects (A→B vs B→A).</summary>
    public InterferenceAsymmetry Analyze()
    {
        var pairs = new List<InterferencePair>();
        double ss = 0, aa = 0, off = 0, diag = 0;
        int nOff = 0, nDiag = 0;
        for (int i = 0; i < Size; i++)
        {
            if (!double.IsNaN(_values[i, i])) { diag += _values[i, i]; nDiag++; }
            for (int j = 0; j < Size; j++)
                if (i != j && !double.IsNaN(_values[i, j])) { off += _values[i, j]; nOff++; }
            for (int j = i + 1; j < Size; j++)
            {
                double ab = _values[i, j], ba = _values[j, i];
                if (double.IsNaN(ab) || double.IsNaN(ba)) continue;
                double s = (ab + ba) / 2, a = (ab - ba) / 2;
                ss += 2 * s * s;
                aa += 2 * a * a;
                pairs.Add(new InterferencePair(Tasks[i], Tasks[j], ab, ba, ab - ba, ab * ba < 0));
            }
        }
        var sorted = pairs.OrderByDescending(p => Math.Abs(p.Difference)).ToArray();
        return new InterferenceAsymmetry(sorted, ss + aa > 0 ? aa / (ss + aa) : double.NaN,
            sorted.Length > 0 ? sorted.Average(p => Math.Abs(p.Difference)) : double.NaN,
            sorted.Count(p => p.OppositeSigns), nOff > 0 ? off / nOff : double.NaN, nDiag > 0 ? diag / nDiag : double.NaN);
    }

    private int IndexOf(string task)
    {
        for (int i = 0; i < Tasks.Count; i++) if (Tasks[i] == task) return i;
        throw new KeyNotFoundException($"Task '{task}' is not in the interference matrix.");
    }
}
