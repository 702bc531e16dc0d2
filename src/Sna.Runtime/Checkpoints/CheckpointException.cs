using Sna.Runtime;

namespace Sna.Runtime.Checkpoints;

/// <summary>
/// A checkpoint (safetensors file, shard index, checkpoint directory or config.json) is missing, malformed or does not
/// match what the caller expected. The message always names the file (and the tensor or key, when there is one).
/// </summary>
public sealed class CheckpointException : SnaInputException
{
    /// <summary>The file or directory the problem is in, when known.</summary>
    public string? FilePath { get; }

    /// <summary>The tensor (or config key) the problem is about, when there is one.</summary>
    public string? TensorName { get; }

    public CheckpointException(string message) : base(message) { }

    public CheckpointException(string message, Exception? innerException) : base(message, innerException) { }

    public CheckpointException(string message, string? filePath, string? tensorName = null, Exception? innerException = null)
        : base(message, innerException)
    {
        FilePath = filePath;
        TensorName = tensorName;
    }
}
