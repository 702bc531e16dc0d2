using System.CommandLine;
using Sna.Runtime.Checkpoints;

namespace Sna.Cli;

/// <summary>Runs the command line; turns the errors a user can cause into one clear line on stderr and exit code 2.</summary>
public static class CliRunner
{
    public static int Invoke(RootCommand root, string[] args)
    {
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        try
        {
            return root.Parse(args).Invoke(config);
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"error: {Message(e)}");
            return 2;
        }
    }

    /// <summary>The message without .NET's " (Parameter 'x')" suffix.</summary>
    public static string Message(Exception e) =>
        e is ArgumentException { ParamName: { } p } ? e.Message.Replace($" (Parameter '{p}')", "") : e.Message;

    public static bool IsUserError(Exception e) => e is ArgumentException or FileNotFoundException or DirectoryNotFoundException
        or InvalidDataException or NotSupportedException or CheckpointException or FormatException or UserException
        or System.Text.Json.JsonException or IOException or InvalidOperationException or Sna.Runtime.Hub.HubException or Microsoft.Data.Sqlite.SqliteException;
}

/// <summary>An error in what the user asked for, reported without a stack trace.</summary>
public sealed class UserException(string message) : Exception(message);
