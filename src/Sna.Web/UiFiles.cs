using System.Reflection;

namespace Sna.Web;

/// <summary>
/// Serves the page from resources embedded in this assembly: a fixed list of files, so no request path ever reaches the
/// file system.
/// </summary>
internal static class UiFiles
{
    private static readonly (string Route, string Resource, string ContentType)[] Files =
    [
        ("/", "ui/index.html", "text/html; charset=utf-8"),
        ("/index.html", "ui/index.html", "text/html; charset=utf-8"),
        ("/app.js", "ui/app.js", "text/javascript; charset=utf-8"),
        ("/app.css", "ui/app.css", "text/css; charset=utf-8"),
        ("/favicon.svg", "ui/favicon.svg", "image/svg+xml"),
    ];

    public static void Map(WebApplication app)
    {
        var asm = typeof(UiFiles).Assembly;
        foreach (var (route, resource, type) in Files)
        {
            byte[] bytes = Read(asm, resource);
            app.MapGet(route, () => Results.Bytes(bytes, type));
        }
        app.MapGet("/favicon.ico", () => Results.Redirect("/favicon.svg"));
    }

    private static byte[] Read(Assembly asm, string name)
    {
        using var s = asm.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"embedded resource {name} is missing");
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }
}
