namespace Sna.Runtime;

/// <summary>
/// The environment, not the input and not a bug, stopped the work: the disk is full, a database is locked by another
/// process, a file cannot be written. The message is one line naming the file and what to do. Front ends report it without a
/// stack trace (the CLI: one line, exit 74 = EX_IOERR). An <see cref="IOException"/>, so callers that handle I/O failures
/// already handle it.
/// </summary>
public class SnaEnvironmentException : IOException
{
    /// <summary>The file concerned.</summary>
    public string? Path { get; }

    public SnaEnvironmentException(string message, string? path = null, Exception? innerException = null) : base(message, innerException) => Path = path;
}
