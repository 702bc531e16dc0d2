namespace Sna.Runtime;

/// <summary>"Did you mean" for names a user types (model aliases, folders): the closest candidates by edit distance.</summary>
public static class Spelling
{
    /// <summary>
    /// Candidates within <paramref name="maxDistance"/> edits (insert, delete, substitute, or swap two neighbours;
    /// case-insensitive) of <paramref name="typed"/>, closest first (ties in the given order); never an exact match.
    /// </summary>
    public static IReadOnlyList<string> Closest(string typed, IEnumerable<string> candidates, int maxDistance = 2)
    {
        ArgumentNullException.ThrowIfNull(typed);
        ArgumentNullException.ThrowIfNull(candidates);
        string t = typed.ToLowerInvariant();
        return candidates
            .Select((c, i) => (c, i, d: Distance(t, c.ToLowerInvariant())))
            .Where(x => x.d > 0 && x.d <= maxDistance)
            .OrderBy(x => x.d).ThenBy(x => x.i)
            .Select(x => x.c).ToArray();
    }

    /// <summary>Optimal string alignment distance (Levenshtein plus adjacent transpositions).</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];   // [|a|+1, |b|+1]
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
