using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Sna.Web.Api;
using Sna.Web.Models;

namespace Sna.Web;

/// <summary>
/// The SNA web tool: a single page and the JSON API behind it (ASP.NET Core minimal APIs). <see cref="Build"/> gives the
/// configured application (start it yourself, e.g. in tests on port 0); <see cref="Run"/> builds and serves until stopped.
/// </summary>
public static class SnaWebApp
{
    /// <summary>Builds the application. Throws <see cref="ArgumentException"/> for a bad host or port, and
    /// <see cref="DirectoryNotFoundException"/> for a <c>--models</c> directory that does not exist.</summary>
    public static WebApplication Build(WebOptions options, Action<IServiceCollection>? configureServices = null)
    {
        var address = ParseHost(options.Host);
        if (options.Port is < 0 or > 65535) throw new ArgumentException($"port must be between 0 and 65535, got {options.Port}");
        var catalog = new ModelCatalog(options);   // fails early on a missing --models directory

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            EnvironmentName = Environments.Production,   // never the developer exception page
            ApplicationName = typeof(SnaWebApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.Logging.ClearProviders();
        if (options.ConsoleLogging)
        {
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
        }
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 64 * 1024;
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            if (address is null) k.ListenLocalhost(options.Port);
            else k.Listen(address, options.Port);
        });
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        });
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<BadRequestHandler>();
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(catalog);
        builder.Services.AddSingleton<ComputeGate>();
        builder.Services.AddSingleton<ITaskCatalog, LibraryTaskCatalog>();
        builder.Services.AddSingleton<SnaService>();
        builder.Services.AddSingleton<HeatmapJobs>();
        builder.Services.AddSingleton<ModelDownloads>();
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseExceptionHandler();     // production handler: problem details, no stack trace
        app.UseStatusCodePages();      // bodyless 4xx (unknown route, bad JSON, 405) become problem details too
        app.Use(async (ctx, next) =>
        {
            var h = ctx.Response.Headers;
            h.XContentTypeOptions = "nosniff";
            h.XFrameOptions = "DENY";
            h["Referrer-Policy"] = "no-referrer";
            h.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
                                      "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
            h.CacheControl = "no-store";
            await next();
        });
        UiFiles.Map(app);
        ApiEndpoints.Map(app);
        return app;
    }

    /// <summary>Builds and serves until Ctrl+C (or the host stops).</summary>
    public static void Run(WebOptions options, TextWriter? announce = null)
    {
        var app = Build(options);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            announce?.WriteLine($"SNA web tool listening on {BaseAddress(app)} (Ctrl+C to stop)");
            if (!IsLoopback(options.Host))
                announce?.WriteLine($"warning: bound to {options.Host}: anyone who can reach this machine can use the tool and its models");
        });
        app.Run();
    }

    /// <summary>The address the started application listens on (with the real port when 0 was asked).</summary>
    public static Uri BaseAddress(WebApplication app)
    {
        var server = app.Services.GetRequiredService<IServer>();
        var a = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? throw new InvalidOperationException("the application has not started");
        return new Uri(a.Replace("://[::]", "://localhost").Replace("://0.0.0.0", "://127.0.0.1") + "/");
    }

    public static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));

    private static IPAddress? ParseHost(string host)
    {
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return null;
        if (IPAddress.TryParse(host, out var ip)) return ip;
        throw new ArgumentException($"host must be an IP address (127.0.0.1, ::1, 0.0.0.0) or localhost, got '{host}'");
    }
}
