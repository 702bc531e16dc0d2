namespace Sna.Runtime;

/// <summary>
/// Bad input from the user (an option value, a file they gave, a request field), raised where the input is validated. Front
/// ends show its message as it is: the CLI prints one line and exits 2, the web answers 400 problem+json. Every other
/// exception is a bug (exit 70 with the trace in a log file, HTTP 500). The message names the offending option, key or file
/// and says what is allowed; <see cref="Option"/> names the option or field when there is one.
/// <para>For code calling the library: data a user hands over (a model spec, checkpoint and tokenizer files, task files,
/// option values) is validated into this type; a call that breaks an API's contract (an unknown hook name, a layer, neuron
/// or token id out of range, negative generation settings, mismatched KV caches) throws <see cref="ArgumentException"/> or
/// <see cref="ArgumentOutOfRangeException"/> with a one-line message naming the value and what is allowed, as .NET APIs do.
/// Front ends validate what a user types before it reaches such a call, so there an argument exception is a bug.
/// Hub and cache failures are <see cref="Hub.HubException"/>.</para>
/// </summary>
public class SnaInputException : Exception
{
    /// <summary>The option, request field or file key the problem is about (e.g. <c>--layers</c>), when known.</summary>
    public string? Option { get; }

    public SnaInputException(string message) : base(message) { }

    public SnaInputException(string message, Exception? innerException) : base(message, innerException) { }

    public SnaInputException(string option, string message, Exception? innerException = null) : base(message, innerException) => Option = option;
}
