namespace Sna.Web;
/// <summary>The web front end (issue 8) lives here.</summary>
internal static class WebPlaceholder { }
