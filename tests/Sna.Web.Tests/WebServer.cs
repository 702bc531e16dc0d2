using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Sna.Runtime.Hub;

namespace Sna.Web.Tests;

/// <summary>A real Kestrel host of the web tool on 127.0.0.1 with a free port, and a client for it.</summary>
public sealed class WebServer : IAsyncDisposable
{
    /// <summary>The catalog id of the tiny fixture (<see cref="TestPaths.TinyDir"/>).</summary>
    public const string TinyId = "fixture:gpt2-tiny-f32";

    public WebApplication App { get; }
    public Uri BaseAddress { get; }
    public HttpClient Client { get; }

    private WebServer(WebApplication app)
    {
        App = app;
        BaseAddress = SnaWebApp.BaseAddress(app);
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public static async Task<WebServer> StartAsync(Func<WebOptions, WebOptions>? configure = null)
    {
        // Never the real hub or ~/.cache: an empty cache and a hub endpoint where nothing listens.
        var o = new WebOptions
        {
            Host = "127.0.0.1", Port = 0, FixturesDirectory = TestPaths.FixturesDir,
            Hub = new HubSettings(Path.Combine(Path.GetTempPath(), "sna-no-hub-cache"), "http://127.0.0.1:9"),
        };
        if (configure is not null) o = configure(o);
        var app = SnaWebApp.Build(o);
        await app.StartAsync();
        return new WebServer(app);
    }

    public async Task<(int Status, JsonNode? Body, string? ContentType)> PostAsync(string path, object body)
    {
        using var r = await Client.PostAsJsonAsync(path, body);
        return (((int)r.StatusCode), await ReadJson(r), r.Content.Headers.ContentType?.MediaType);
    }

    public async Task<(int Status, JsonNode? Body, string? ContentType)> SendAsync(HttpMethod m, string path)
    {
        using var r = await Client.SendAsync(new HttpRequestMessage(m, path));
        return (((int)r.StatusCode), await ReadJson(r), r.Content.Headers.ContentType?.MediaType);
    }

    private static async Task<JsonNode?> ReadJson(HttpResponseMessage r)
    {
        var s = await r.Content.ReadAsStringAsync();
        if (s.Length == 0) return null;
        try { return JsonNode.Parse(s); } catch (JsonException) { return JsonValue.Create(s); }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>One server for a test class (default options).</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public WebServer Server { get; private set; } = null!;
    public async Task InitializeAsync() => Server = await WebServer.StartAsync();
    public async Task DisposeAsync() => await Server.DisposeAsync();
}
