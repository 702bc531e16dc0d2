namespace Sna.Research.Sweeps;

/// <summary>
/// A sweep stopped before its grid was complete (Ctrl+C): what was stored is kept, and running the same command again resumes
/// it. Front ends treat it as a cancellation (the CLI: exit 130) and show <see cref="Exception.Message"/>, which says what was
/// done and how to resume.
/// </summary>
public sealed class SweepInterruptedException : OperationCanceledException
{
    /// <summary>The results database the stopped sweep wrote to.</summary>
    public string Database { get; }

    /// <summary>Evaluations stored by the stopped run (earlier runs' rows not counted).</summary>
    public long EvaluationsWritten { get; }

    public SweepInterruptedException(string message, string database, long evaluationsWritten, CancellationToken token = default)
        : base(message, null, token)
    {
        Database = database;
        EvaluationsWritten = evaluationsWritten;
    }
}
