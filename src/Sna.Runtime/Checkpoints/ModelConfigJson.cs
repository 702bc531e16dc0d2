using System.Text.Json;

namespace Sna.Runtime.Checkpoints;

/// <summary>
/// A Hugging Face <c>config.json</c> with typed, validated getters. Errors are <see cref="CheckpointException"/>s
/// naming the file and the key. Architecture-specific config classes build on this.
/// <para>
/// <c>Get*</c> throws when the key is missing, null or of the wrong type. <c>TryGet*</c> returns false when the key is
/// missing or null, and still throws when the value is present with the wrong type (a malformed config is an error,
/// not an absent setting). <c>Get*(key, defaultValue)</c> is <c>TryGet*</c> with a fallback.
/// </para>
/// </summary>
public sealed class ModelConfigJson
{
    public const string FileName = "config.json";

    /// <summary>Absolute path of the file (or the source name given to <see cref="Parse"/>).</summary>
    public string Path { get; }

    /// <summary>The root object (a detached clone; no disposal needed).</summary>
    public JsonElement Root { get; }

    private ModelConfigJson(string path, JsonElement root)
    {
        Path = path;
        Root = root;
    }

    /// <summary>Loads <paramref name="path"/>, or <c>config.json</c> inside it when it is a directory.</summary>
    public static ModelConfigJson Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full)) full = System.IO.Path.Combine(full, FileName);
        if (!File.Exists(full))
            throw new CheckpointException($"model config '{full}' does not exist", full);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"model config '{full}': cannot read: {ex.Message}", full, null, ex);
        }
        return Parse(bytes, full);
    }

    /// <summary>Parses config JSON text; <paramref name="sourceName"/> is used in error messages.</summary>
    public static ModelConfigJson Parse(string json, string sourceName = "<config>")
    {
        ArgumentNullException.ThrowIfNull(json);
        return Parse(System.Text.Encoding.UTF8.GetBytes(json), sourceName);
    }

    private static ModelConfigJson Parse(byte[] utf8, string sourceName)
    {
        try
        {
            using var doc = JsonDocument.Parse(utf8, new JsonDocumentOptions
            {
                // Python's json.dump never writes these, but hand-edited configs sometimes have them.
                AllowTrailingCommas = true,
                CommentHandling = JsonCommentHandling.Skip,
            });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"model config '{sourceName}' is not a JSON object (found {doc.RootElement.ValueKind})", sourceName);
            return new ModelConfigJson(sourceName, doc.RootElement.Clone());
        }
        catch (JsonException ex)
        {
            throw new CheckpointException($"model config '{sourceName}' is not valid JSON ({ex.Message})", sourceName, null, ex);
        }
    }

    /// <summary>True when the key is present and not null.</summary>
    public bool Has(string key) => Root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>The raw element, when present and not null.</summary>
    public bool TryGetElement(string key, out JsonElement value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (Root.TryGetProperty(key, out value) && value.ValueKind != JsonValueKind.Null) return true;
        value = default;
        return false;
    }

    public JsonElement GetElement(string key) =>
        TryGetElement(key, out var v) ? v : throw Missing(key);

    // --- int ---------------------------------------------------------------------------------------------------------

    public bool TryGetInt(string key, out int value)
    {
        value = 0;
        if (!TryGetElement(key, out var el)) return false;
        if (el.ValueKind == JsonValueKind.Number)
        {
            if (el.TryGetInt32(out value)) return true;
            // Accept integral floats such as 768.0 or 1e3; reject 0.5 and out-of-range values.
            if (el.TryGetDouble(out double d) && d == Math.Floor(d) && d >= int.MinValue && d <= int.MaxValue)
            {
                value = (int)d;
                return true;
            }
        }
        throw WrongType(key, "an integer", el);
    }

    public int GetInt(string key) => TryGetInt(key, out int v) ? v : throw Missing(key);

    public int GetInt(string key, int defaultValue) => TryGetInt(key, out int v) ? v : defaultValue;

    /// <summary>An integer or a list of integers (e.g. <c>eos_token_id</c>, which instruction-tuned checkpoints give as a list).</summary>
    public bool TryGetIntOrList(string key, out int[] values)
    {
        values = [];
        if (!TryGetElement(key, out var el)) return false;
        if (el.ValueKind != JsonValueKind.Array) { values = [GetInt(key)]; return true; }
        var list = new List<int>();
        foreach (var x in el.EnumerateArray())
        {
            // As TryGetInt: integral floats such as 2.0 are accepted.
            if (x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out int v)) list.Add(v);
            else if (x.ValueKind == JsonValueKind.Number && x.TryGetDouble(out double d) && d == Math.Floor(d) && d >= int.MinValue && d <= int.MaxValue) list.Add((int)d);
            else throw WrongType(key, "an integer or a list of integers", el);
        }
        values = [.. list];
        return true;
    }

    // --- double ------------------------------------------------------------------------------------------------------

    public bool TryGetDouble(string key, out double value)
    {
        value = 0;
        if (!TryGetElement(key, out var el)) return false;
        if (el.ValueKind == JsonValueKind.Number && el.TryGetDouble(out value) && double.IsFinite(value)) return true;
        throw WrongType(key, "a finite number", el);
    }

    public double GetDouble(string key) => TryGetDouble(key, out double v) ? v : throw Missing(key);

    public double GetDouble(string key, double defaultValue) => TryGetDouble(key, out double v) ? v : defaultValue;

    // --- string ------------------------------------------------------------------------------------------------------

    public bool TryGetString(string key, out string value)
    {
        value = "";
        if (!TryGetElement(key, out var el)) return false;
        if (el.ValueKind == JsonValueKind.String)
        {
            value = el.GetString()!;
            return true;
        }
        throw WrongType(key, "a string", el);
    }

    public string GetString(string key) => TryGetString(key, out string v) ? v : throw Missing(key);

    public string GetString(string key, string defaultValue) => TryGetString(key, out string v) ? v : defaultValue;

    // --- bool --------------------------------------------------------------------------------------------------------

    public bool TryGetBool(string key, out bool value)
    {
        value = false;
        if (!TryGetElement(key, out var el)) return false;
        if (el.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            value = el.GetBoolean();
            return true;
        }
        throw WrongType(key, "a boolean", el);
    }

    public bool GetBool(string key) => TryGetBool(key, out bool v) ? v : throw Missing(key);

    public bool GetBool(string key, bool defaultValue) => TryGetBool(key, out bool v) ? v : defaultValue;

    // -----------------------------------------------------------------------------------------------------------------

    private CheckpointException Missing(string key) =>
        new($"model config '{Path}' has no key '{key}' (or it is null)", Path, key);

    private CheckpointException WrongType(string key, string expected, JsonElement el)
    {
        string raw = el.GetRawText();
        if (raw.Length > 60) raw = raw[..57] + "...";
        return new CheckpointException($"model config '{Path}': key '{key}' must be {expected}, found {raw}", Path, key);
    }

    public override string ToString() => Path;
}
