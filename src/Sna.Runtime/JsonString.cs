using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Sna.Runtime;

/// <summary>
/// A string as a JSON literal for messages (quotes, escapes; non-ASCII kept readable). Written with <see cref="Utf8JsonWriter"/>,
/// not reflection-based <c>JsonSerializer</c>: .NET 10 file-based programs (<c>dotnet run app.cs</c>, the examples) turn
/// reflection-based serialization off, and a message must never fail to be written.
/// </summary>
internal static class JsonString
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Quote(string s)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(s.Length + 16);
        using (var w = new Utf8JsonWriter(buffer, Options)) w.WriteStringValue(s);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
