namespace Sna.Tests;

/// <summary>A fresh directory under the system temp folder, deleted (best effort) on dispose; the tests' one temp-file writer.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sna-test-" + Guid.NewGuid().ToString("N"));

    /// <summary>The path of <paramref name="name"/> in this directory (not created).</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="text"/> to <paramref name="name"/> in this directory; returns its path.</summary>
    public string Write(string name, string text)
    {
        string p = File(name);
        System.IO.File.WriteAllText(p, text);
        return p;
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="name"/> in this directory; returns its path.</summary>
    public string Write(string name, byte[] bytes)
    {
        string p = File(name);
        System.IO.File.WriteAllBytes(p, bytes);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
