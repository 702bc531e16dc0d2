namespace Sna.Runtime.Checkpoints;

/// <summary>
/// One memory-mapped, validated checkpoint file: a safetensors file (<see cref="SafetensorsFile"/>) or a PyTorch zip
/// checkpoint (<see cref="TorchCheckpointFile"/>). Tensors are zero-copy <see cref="TensorView"/>s into the mapping;
/// <see cref="IDisposable.Dispose"/> unmaps the file.
/// </summary>
public interface ITensorFile : IDisposable
{
    /// <summary>Absolute path of the file.</summary>
    string Path { get; }

    /// <summary>Tensor names, in the file's order.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>Free-form string metadata (safetensors <c>__metadata__</c>; empty for PyTorch files).</summary>
    IReadOnlyDictionary<string, string> Metadata { get; }

    bool Contains(string name);

    /// <summary>The tensor called <paramref name="name"/>; throws <see cref="CheckpointException"/> if absent.</summary>
    TensorView Get(string name);

    bool TryGet(string name, out TensorView view);
}

/// <summary>What a <see cref="TensorView"/> needs from its file: the path and the base pointer its offsets count from.</summary>
internal unsafe interface ITensorStorage
{
    string Path { get; }

    /// <summary>Base of <see cref="TensorEntry.Begin"/> offsets; throws <see cref="ObjectDisposedException"/> once unmapped.</summary>
    byte* DataBase { get; }
}
