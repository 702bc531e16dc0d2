using System.CommandLine;
using System.CommandLine.Invocation;
using System.Globalization;
using Sna.Runtime;
using Sna.Runtime.Hub;

namespace Sna.Cli;

/// <summary>
/// The CLI's error boundary. Bad input (<see cref="SnaInputException"/>, a parse error, a missing input file, a path too long, a hub refusal)
/// is one line on stderr and exit 2; the environment (<see cref="SnaEnvironmentException"/>: disk full, locked database) is one
/// line and exit 74; Ctrl+C is 130; anything else is a bug: a short message, the full trace in a log file
/// (under <c>$SNA_LOG_DIR</c>, else <c>{temp}/sna/logs</c>) whose path is printed, and exit 70 (EX_SOFTWARE).
/// </summary>
public static class CliRunner
{
    public const int ExitInput = 2;
    public const int ExitBug = 70;
    public const int ExitCancelled = 130;
    public const int ExitEnvironment = 74;

    public static int Invoke(RootCommand root, string[] args)
    {
        args = Options.RewriteDeprecated(root, args, Console.Error);
        // No response files: "@n.json" is a value (a neuron set file), never silently expanded.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Errors.Count > 0 && parse.Action is ParseErrorAction)
        {
            string cmd = string.Join(' ', CommandPath(parse.CommandResult.Command));
            Console.Error.WriteLine($"error: {parse.Errors[0].Message} (see '{cmd} --help')");
            return ExitInput;
        }
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        FitConsoleWidth();
        try
        {
            return parse.Invoke(config);
        }
        catch (Exception e)
        {
            return Report(e, args);
        }
    }

    /// <summary>
    /// Spectre.Console wraps every line at 80 columns when it cannot see a terminal, which splits values and prose in piped
    /// output. Piped or redirected, nothing wraps; on a terminal, <c>COLUMNS</c> (when set) is the width.
    /// </summary>
    private static void FitConsoleWidth()
    {
        if (!Output.TableOutput.IsTerminal) Spectre.Console.AnsiConsole.Profile.Width = Output.TableOutput.UnwrappedWidth;
        else if (int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out int c) && c > 0) Spectre.Console.AnsiConsole.Profile.Width = c;
    }

    /// <summary>Prints what the user needs for <paramref name="e"/> and returns the exit code.</summary>
    public static int Report(Exception e, IReadOnlyList<string> args)
    {
        e = Unwrap(e);
        if (e is OperationCanceledException)
        {
            Console.Error.WriteLine(e is Sna.Research.Sweeps.SweepInterruptedException ? $"cancelled: {OneLine(e.Message)}" : "cancelled");
            return ExitCancelled;
        }
        if (e is SnaEnvironmentException)
        {
            // The disk is full, a database is locked, a file cannot be written: not the input, not a bug (EX_IOERR).
            Console.Error.WriteLine($"error: {OneLine(e.Message)}");
            return ExitEnvironment;
        }
        if (IsUserError(e))
        {
            Console.Error.WriteLine($"error: {OneLine(Message(e))}");
            return ExitInput;
        }
        string? log = WriteCrashLog(e, args);
        Console.Error.WriteLine($"internal error: {e.GetType().Name}: {OneLine(e.Message)}");
        Console.Error.WriteLine(log is null
            ? "this is a bug in sna; the trace could not be written to a log file (set SNA_LOG_DIR to a writable directory)"
            : $"this is a bug in sna; the full trace is in {log}");
        return ExitBug;
    }

    /// <summary>The exception the user should hear about: an aggregate or a reflection wrapper says nothing by itself.</summary>
    public static Exception Unwrap(Exception e)
    {
        while (true)
        {
            if (e is AggregateException a)
            {
                var flat = a.Flatten().InnerExceptions;
                if (flat.Count == 0) return e;
                // Report an input error or a cancellation if any part is one; otherwise the first failure.
                e = flat.FirstOrDefault(x => IsUserError(Unwrap(x)) || Unwrap(x) is OperationCanceledException) ?? flat[0];
                continue;
            }
            if (e is System.Reflection.TargetInvocationException { InnerException: { } inner }) { e = inner; continue; }
            return e;
        }
    }

    /// <summary>The message without .NET's " (Parameter 'x')" suffix.</summary>
    public static string Message(Exception e) =>
        e is ArgumentException { ParamName: { } p } ? e.Message.Replace($" (Parameter '{p}')", "") : e.Message;

    /// <summary>
    /// Errors in what the user gave: our input-error type (task files and checkpoints included), an input path that does not
    /// exist, and the hub's refusals (unknown model, offline, no access). Library exceptions such as
    /// <see cref="ArgumentException"/> or <see cref="InvalidOperationException"/> are bugs here: input is validated before it
    /// reaches them.
    /// </summary>
    public static bool IsUserError(Exception e) =>
        e is SnaInputException or FileNotFoundException or DirectoryNotFoundException or HubException
          // a path given on the command line with a component longer than the file system allows (NAME_MAX)
          or PathTooLongException;

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();

    /// <summary>The log directory: <c>$SNA_LOG_DIR</c>, else <c>{temp}/sna/logs</c>.</summary>
    public static string LogDirectory() =>
        Environment.GetEnvironmentVariable("SNA_LOG_DIR") is { Length: > 0 } d ? d : Path.Combine(Path.GetTempPath(), "sna", "logs");

    private static string? WriteCrashLog(Exception e, IReadOnlyList<string> args)
    {
        try
        {
            string dir = LogDirectory();
            Directory.CreateDirectory(dir);
            string stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
            string path = Path.Combine(dir, $"sna-crash-{stamp}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}.log");
            var version = typeof(CliRunner).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion;
            File.WriteAllText(path,
                $"sna {version}\nutc {DateTime.UtcNow:O}\nargs {string.Join(' ', args.Select(Quote))}\nos {Environment.OSVersion}; .NET {Environment.Version}\n\n{e}\n");
            return path;
        }
        catch (Exception e2) when (e2 is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
        {
            return null;
        }
    }

    private static string Quote(string s) => s.Length > 0 && s.All(c => char.IsLetterOrDigit(c) || "-_./:,=@".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";

    private static IEnumerable<string> CommandPath(Command c)
    {
        var names = new List<string>();
        for (Symbol? s = c; s is not null; s = s.Parents.FirstOrDefault())
            names.Insert(0, s is RootCommand ? "sna" : s.Name);
        return names;
    }
}
