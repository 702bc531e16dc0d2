namespace Sna.Web;

/// <summary>How <see cref="SnaWebApp"/> runs: where it listens, which models it may load, and its limits.</summary>
public sealed record WebOptions
{
    /// <summary>Address to bind: an IP address or "localhost". Loopback by default; 0.0.0.0 must be asked for explicitly.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (see <see cref="SnaWebApp.BaseAddress"/>).</summary>
    public int Port { get; init; } = 5005;

    /// <summary>Local model directories the client may choose from (the allow-list). Clients only ever send ids.</summary>
    public IReadOnlyList<string> ModelDirectories { get; init; } = [];

    /// <summary>List the bundled model (models/sna-demo-gpt2) when it can be found.</summary>
    public bool IncludeBundledModel { get; init; } = true;

    /// <summary>A test-fixtures folder whose model subdirectories are listed; null: look for ../shared/fixtures beside the repository.</summary>
    public string? FixturesDirectory { get; init; }

    /// <summary>List fixture models when a fixtures folder is found.</summary>
    public bool IncludeFixtures { get; init; } = true;

    /// <summary>
    /// The Hugging Face hub the hub models are looked up in and downloaded from: cache directory, endpoint, token, offline
    /// flag. Null: <see cref="Sna.Runtime.Hub.HubSettings.FromEnvironment()"/> (HF_HUB_CACHE / HF_HOME / ~/.cache/huggingface/hub,
    /// HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE), the same cache the CLI and the Python tools use.
    /// </summary>
    public Sna.Runtime.Hub.HubSettings? Hub { get; init; }

    /// <summary>Directories of task files (<c>*.json</c>) offered besides the built-in tasks (<c>sna serve --tasks-dir</c>; the CLI passes ./tasks too).</summary>
    public IReadOnlyList<string> TaskDirectories { get; init; } = [];

    /// <summary>Model computations running at once (forward passes of different requests and heat-map jobs).</summary>
    public int MaxConcurrency { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Computations that may wait for a slot; past that, requests get 429.</summary>
    public int QueueLimit { get; init; } = 64;

    /// <summary>Longest prompt or target accepted, in characters.</summary>
    public int MaxPromptChars { get; init; } = 2000;

    /// <summary>Most heat-map cells (layers × multipliers) one job may ask for.</summary>
    public int MaxHeatmapCells { get; init; } = 400;

    /// <summary>Models kept loaded at once (least recently used released first; a model in use by a request or job is never
    /// released until it is done, so more may be loaded for a while).</summary>
    public int MaxLoadedModels { get; init; } = 2;

    /// <summary>Heat-map jobs kept (running or finished) at once; older finished ones are dropped first.</summary>
    public int MaxJobs { get; init; } = 32;

    /// <summary>Write request logs to the console (the server command); tests keep quiet.</summary>
    public bool ConsoleLogging { get; init; }

    /// <summary>Extra delay per heat-map cell; only for tests that must observe a job mid-run.</summary>
    internal TimeSpan HeatmapCellDelay { get; init; }
}
