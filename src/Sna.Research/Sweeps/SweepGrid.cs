using System.Globalization;
using Sna.Research.Method;

namespace Sna.Research.Sweeps;

/// <summary>
/// One configuration of the grid. <see cref="Id"/> is stable for a given definition: the mixed-radix index
/// ((((task · P + positions) · L + layer) · C + count) · M + multiplier), each digit being the index in the definition's list;
/// <see cref="Key"/> spells the values out (<c>task/positions/L{layer}/k{count}/m{multiplier:R}</c>).
/// </summary>
public sealed record SweepConfiguration(int Id, string Task, PositionsMode Positions, int Layer, int Count, double Multiplier)
{
    public string Key => $"{Task}/{SweepDefinition.PositionsName(Positions)}/L{Layer}/k{Count}/m{Multiplier.ToString("R", CultureInfo.InvariantCulture)}";
    /// <summary>The multiplier as the float the hook applies (the model computes in float32).</summary>
    public float MultiplierF => (float)Multiplier;
}

/// <summary>The configuration grid of a definition, in id order (task, positions, layer, count, multiplier).</summary>
public sealed class SweepGrid
{
    public SweepDefinition Definition { get; }
    public int[] Layers { get; }
    public IReadOnlyList<SweepConfiguration> Configurations { get; }

    public SweepGrid(SweepDefinition def, int nLayers)
    {
        Definition = def;
        Layers = def.ResolveLayers(nLayers);
        var list = new List<SweepConfiguration>();
        int id = 0;
        foreach (var task in def.Tasks)
            foreach (var pos in def.Positions)
                foreach (int layer in Layers)
                    foreach (int count in def.Counts)
                        foreach (double m in def.Multipliers)
                            list.Add(new SweepConfiguration(id++, task, pos, layer, count, m));
        Configurations = list;
    }

    public int Count => Configurations.Count;
    public SweepConfiguration this[int id] => Configurations[id];

    /// <summary>The configurations of one shard (see <see cref="ShardSpec"/>).</summary>
    public IEnumerable<SweepConfiguration> ForShard(ShardSpec shard) => Configurations.Where(c => shard.Owns(c.Id));
}
