using Sna.Web.Models;

namespace Sna.Web.Api;

/// <summary>The JSON API: every route under /api, every error an RFC 7807 problem.</summary>
public static class ApiEndpoints
{
    public static void Map(WebApplication app)
    {
        var api = app.MapGroup("/api").AddEndpointFilter<ApiErrorFilter>();

        api.MapGet("/health", () => Results.Ok(new { status = "ok" }));

        api.MapGet("/models", (ModelCatalog c) =>
        {
            c.RefreshHub();   // a model another tool put into the hub cache shows up without a restart
            return c.Entries.Select(e => new ModelInfo(e.Id, e.Name, e.Kind.ToString().ToLowerInvariant(), e.Available, e.Note, e.Layers, e.DMlp,
                e.Context, e.Cached, e.HubModel?.RepoId, e.HubModel?.Parameters, e.HubModel?.SafetensorsBytes));
        });

        api.MapPost("/models/{id}/download", (string id, ModelDownloads d) =>
        {
            var st = d.Start(id);
            return Results.Accepted($"/api/downloads/{st.Id}", st);
        });
        api.MapGet("/downloads/{id}", (string id, ModelDownloads d) => d.Get(id));
        api.MapDelete("/downloads/{id}", (string id, ModelDownloads d) => Results.Accepted($"/api/downloads/{id}", d.Cancel(id)));
        api.MapGet("/downloads/{id}/events", (string id, ModelDownloads d, HttpContext ctx) => JobEvents.StreamAsync(ctx, d.Watch(id)));

        api.MapGet("/tasks", (ITaskCatalog t) => t.Tasks.Select(x => new
        {
            x.Id, x.Name, x.Description, examples = x.Examples.Select(e => new { e.Prompt, e.Target }),
        }));

        api.MapGet("/config", (WebOptions o) => new
        {
            maxPromptChars = o.MaxPromptChars, maxMultiplier = SnaService.MaxMultiplier, maxGenerate = SnaService.MaxGenerate,
            maxTop = SnaService.MaxTop, maxTopK = SnaService.MaxTopK, maxHeatmapCells = o.MaxHeatmapCells, maxMultipliers = SnaService.MaxMultipliers,
            zones = new { low = SnaService.Zones.Low, high = SnaService.Zones.High },
        });

        api.MapPost("/baseline", (BaselineRequest r, SnaService s, HttpContext ctx) => s.Baseline(r, ctx.RequestAborted));
        api.MapPost("/discover", (DiscoverRequest r, SnaService s, HttpContext ctx) => s.Discover(r, ctx.RequestAborted));
        api.MapPost("/amplify", (AmplifyRequest r, SnaService s, HttpContext ctx) => s.Amplify(r, ctx.RequestAborted));
        api.MapPost("/exact-match", (ExactMatchRequest r, SnaService s, HttpContext ctx) => s.ExactMatch(r, ctx.RequestAborted));
        api.MapPost("/neuron-set", (NeuronSetRequest r, SnaService s, ModelCatalog c, HttpContext ctx) => NeuronSetImport.Import(r, s, c, ctx.RequestAborted));

        api.MapPost("/heatmap", (HeatmapRequest r, HeatmapJobs jobs) =>
        {
            var st = jobs.Start(r);
            return Results.Accepted($"/api/heatmap/{st.Id}", st);
        });
        api.MapGet("/heatmap/{id}", (string id, HeatmapJobs jobs) => jobs.Get(id));
        api.MapDelete("/heatmap/{id}", (string id, HeatmapJobs jobs) => Results.Accepted($"/api/heatmap/{id}", jobs.Cancel(id)));
        api.MapGet("/heatmap/{id}/events", (string id, HeatmapJobs jobs, HttpContext ctx) => JobEvents.StreamAsync(ctx, jobs.Watch(id)));   // 404 before the stream starts

        // Any other /api path: a problem, not the page.
        api.Map("/{**rest}", (string? rest) => Results.Problem(title: "Not found.", detail: $"no API endpoint /api/{rest}", statusCode: 404));
    }
}
