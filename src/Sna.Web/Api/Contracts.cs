namespace Sna.Web.Api;

// Requests: every field is nullable so that a missing one is reported as a validation error with its name, not a binding failure.

/// <summary>POST /api/baseline</summary>
public sealed record BaselineRequest(string? Model, string? Prompt, string? Target, bool? Bos = null, int? Top = null);

/// <summary>POST /api/discover: discovery texts are the task's prompts when <see cref="Task"/> is given, else the prompt.</summary>
public sealed record DiscoverRequest(string? Model, string? Prompt, int? Layer, int? TopK = null, string? Task = null, bool? Bos = null);

/// <summary>POST /api/amplify: <see cref="Neurons"/>, or <see cref="Count"/> to take that many discovered neurons of the layer.</summary>
public sealed record AmplifyRequest(string? Model, string? Prompt, string? Target, int? Layer, int[]? Neurons = null, int? Count = null,
    double? Multiplier = null, string? Positions = null, bool? Bos = null, int? Generate = null, string? Task = null);

/// <summary>POST /api/heatmap: layers × multipliers, each layer with its own top-<see cref="Count"/> discovered neurons.</summary>
public sealed record HeatmapRequest(string? Model, string? Prompt, string? Target, int[]? Layers = null, double[]? Multipliers = null,
    int? Count = null, string? Positions = null, bool? Bos = null, string? Task = null);

// Responses

/// <summary>GET /api/models: hub models also carry their repo, parameter count, download size and whether they are cached.</summary>
public sealed record ModelInfo(string Id, string Name, string Kind, bool Available, string? Note, int? Layers, int? DMlp, int? Context,
    bool? Cached, string? Repo, long? Parameters, long? SizeBytes);

public sealed record TokenInfo(int Id, string Text);

public sealed record TopToken(int Id, string Token, double Probability);

/// <summary>The baseline's zone; <paramref name="BelowZone1"/> when the target is in Zone 1 but outside the model's top 1,000
/// (the model does not know it; the label and advice then say so, in <c>sna advise</c>'s wording).</summary>
public sealed record ZoneInfo(int Zone, string Label, string Advice, double Low, double High, bool BelowZone1 = false);

public sealed record BaselineResponse(string Model, TokenInfo[] PromptTokens, int TargetId, string TargetToken, int TargetTokenCount,
    double Probability, double Logprob, int Rank, ZoneInfo Zone, TopToken[] Top, string Command, double ElapsedMs)
{
    /// <summary>How the target's tokens were found (<c>in_context</c> or <c>standalone</c>); see docs/cli.md.</summary>
    public string TargetRule { get; init; } = "in_context";
    /// <summary>Target hygiene notes (fallback rule, missing leading space, multi-token target); null when none.</summary>
    public string? TargetWarning { get; init; }
}

public sealed record NeuronInfo(int Neuron, double Difference, double TaskMean, double NeutralMean);

public sealed record DiscoverResponse(string Model, int Layer, int TopK, int TaskTexts, int NeutralTexts, NeuronInfo[] Neurons, double ElapsedMs);

public sealed record ScoreInfo(double Probability, double Logprob, int Rank, int Zone);

public sealed record Continuation(int Tokens, string Baseline, string Amplified, TokenInfo[] BaselineTokens, TokenInfo[] AmplifiedTokens);

public sealed record AmplifyResponse(string Model, int Layer, int[] Neurons, string NeuronsSource, double Multiplier, string Positions, bool Bos,
    int TargetId, string TargetToken, ScoreInfo Baseline, ScoreInfo Amplified, double? ImprovementPct, Continuation? Continuation,
    string Command, double ElapsedMs)
{
    /// <summary>How the target's tokens were found (<c>in_context</c> or <c>standalone</c>); see docs/cli.md.</summary>
    public string TargetRule { get; init; } = "in_context";
    /// <summary>Target hygiene notes (fallback rule, missing leading space, multi-token target); null when none.</summary>
    public string? TargetWarning { get; init; }
}

public sealed record HeatmapCell(int Layer, double Multiplier, double Probability, double? ImprovementPct);

public sealed record HeatmapStatus(string Id, string State, int Done, int Total, int[] Layers, double[] Multipliers, int Count,
    string Positions, double? BaselineProbability, Dictionary<string, int[]> NeuronsByLayer, HeatmapCell[] Cells, string? Error);

/// <summary>An RFC 7807 problem inside a job's status (the job's own request succeeded; the work failed).</summary>
public sealed record JobProblem(int Status, string Title, string Detail);

/// <summary>GET /api/downloads/{id}: <see cref="BytesDone"/> over all files so far (resumed bytes included) against the
/// model's approximate size; <see cref="File"/> and its bytes and rate (this session) from the hub client's last report.</summary>
public sealed record DownloadStatus(string Id, string Model, string Repo, string State, long BytesDone, long ExpectedBytes,
    string? File, long? FileBytesDone, long? FileTotalBytes, double BytesPerSecond, string? Commit, string? Warning, JobProblem? Problem);

/// <summary>
/// POST /api/exact-match: a task's prompts greedy-decoded before and after one amplification, exact match with an exact
/// McNemar test (issue #13's generation-level evaluation; the library's <c>GenerationEvaluator</c>, as
/// <c>sna amplify --task T --generate N</c>). <see cref="Neurons"/>, or <see cref="Count"/> discovered on the task.
/// </summary>
public sealed record ExactMatchRequest(string? Model, string? Task, int? Layer, int[]? Neurons = null, int? Count = null,
    double? Multiplier = null, string? Positions = null, bool? Bos = null, int? Generate = null);

/// <summary>One prompt's greedy answer before and after.</summary>
public sealed record ExactMatchPrompt(int PromptIndex, string Prompt, string Target, string Baseline, string Amplified, bool CorrectBefore, bool CorrectAfter);

public sealed record ExactMatchResponse(string Model, string Task, int Zone, double MeanPBase, int Layer, int[] Neurons, string NeuronsSource, double Multiplier, string Positions,
    bool Bos, int MaxNewTokens, int N, int CorrectBefore, int CorrectAfter, int Fixed, int Broken, double McNemarP,
    double? MeanSequenceLogprobChange, ExactMatchPrompt[] Prompts, string Definition, string Command, double ElapsedMs);
