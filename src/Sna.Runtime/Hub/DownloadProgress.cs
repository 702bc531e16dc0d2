namespace Sna.Runtime.Hub;

/// <summary>Progress of one file download.</summary>
/// <param name="RepoId">Repo the file belongs to.</param>
/// <param name="File">Path of the file inside the repo.</param>
/// <param name="BytesDone">Bytes present so far (including a resumed prefix).</param>
/// <param name="TotalBytes">Expected size, when known.</param>
/// <param name="BytesPerSecond">Average transfer rate of this session (excludes the resumed prefix).</param>
/// <param name="Completed">True on the final report for the file.</param>
public readonly record struct DownloadProgress(
    string RepoId, string File, long BytesDone, long? TotalBytes, double BytesPerSecond, bool Completed = false);
