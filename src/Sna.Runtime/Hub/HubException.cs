namespace Sna.Runtime.Hub;

public enum HubErrorKind
{
    /// <summary>401/403: token missing, rejected, or lacking access (also the hub's answer for unknown repos when anonymous).</summary>
    Authentication,
    /// <summary>404: repo, revision or file not found.</summary>
    NotFound,
    /// <summary>Offline mode (or unreachable hub) and the cache does not hold the needed files.</summary>
    Offline,
    /// <summary>Downloaded bytes do not match the announced size or SHA-256.</summary>
    Integrity,
    /// <summary>Connection failure, timeout, or unexpected HTTP status.</summary>
    Network,
    /// <summary>The repo has no format SNA can load (e.g. only pickle checkpoints).</summary>
    Unsupported,
    /// <summary>The model string is neither a local directory, an alias, nor a hub id.</summary>
    InvalidModel,
}

/// <summary>A hub or cache failure with a message meant for end users. Never contains the token.</summary>
public sealed class HubException : Exception
{
    public HubException(HubErrorKind kind, string message, Exception? inner = null, IReadOnlyList<string>? missingFiles = null)
        : base(message, inner)
    {
        Kind = kind;
        MissingFiles = missingFiles ?? [];
    }

    public HubErrorKind Kind { get; }

    /// <summary>For <see cref="HubErrorKind.Offline"/>: the files (relative to the snapshot) not found in the cache.</summary>
    public IReadOnlyList<string> MissingFiles { get; }

    /// <summary>Suggested process exit code for CLIs.</summary>
    public int ExitCode => Kind switch
    {
        HubErrorKind.InvalidModel => 2,
        HubErrorKind.Offline => 3,
        HubErrorKind.Authentication => 4,
        HubErrorKind.NotFound => 5,
        HubErrorKind.Unsupported => 6,
        _ => 1,
    };
}
