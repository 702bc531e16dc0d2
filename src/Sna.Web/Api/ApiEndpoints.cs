using System.Text.Json;
using Sna.Web.Method;
using Sna.Web.Models;

namespace Sna.Web.Api;

/// <summary>The JSON API: every route under /api, every error an RFC 7807 problem.</summary>
public static class ApiEndpoints
{
    public static void Map(WebApplication app)
    {
        var api = app.MapGroup("/api").AddEndpointFilter<ApiErrorFilter>();

        api.MapGet("/health", () => Results.Ok(new { status = "ok" }));

        api.MapGet("/models", (ModelCatalog c) => c.Entries.Select(e =>
            new ModelInfo(e.Id, e.Name, e.Kind.ToString().ToLowerInvariant(), e.Available, e.Note, e.Layers, e.DMlp, e.Context)));

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

        api.MapPost("/heatmap", (HeatmapRequest r, HeatmapJobs jobs) =>
        {
            var st = jobs.Start(r);
            return Results.Accepted($"/api/heatmap/{st.Id}", st);
        });
        api.MapGet("/heatmap/{id}", (string id, HeatmapJobs jobs) => jobs.Get(id));
        api.MapDelete("/heatmap/{id}", (string id, HeatmapJobs jobs) => Results.Accepted($"/api/heatmap/{id}", jobs.Cancel(id)));
        api.MapGet("/heatmap/{id}/events", async (string id, HeatmapJobs jobs, HttpContext ctx) =>
        {
            var job = jobs.Watch(id);   // 404 before the stream starts
            var res = ctx.Response;
            res.Headers.ContentType = "text/event-stream";
            res.Headers.CacheControl = "no-cache";
            var json = ctx.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
            int sent = -1;
            var ct = ctx.RequestAborted;
            var lastWrite = DateTime.UtcNow;
            try
            {
                while (!ct.IsCancellationRequested)
                {
                    job.Touch();
                    int v = job.Version;
                    if (v != sent)
                    {
                        sent = v;
                        var snap = job.Snapshot();
                        bool final = snap.State is "completed" or "cancelled" or "failed";
                        await res.WriteAsync($"event: {(final ? "done" : "progress")}\ndata: {JsonSerializer.Serialize(snap, json)}\n\n", ct);
                        await res.Body.FlushAsync(ct);
                        lastWrite = DateTime.UtcNow;
                        if (final) break;
                    }
                    else if (DateTime.UtcNow - lastWrite > TimeSpan.FromSeconds(15))
                    {
                        await res.WriteAsync(": keep-alive\n\n", ct);
                        await res.Body.FlushAsync(ct);
                        lastWrite = DateTime.UtcNow;
                    }
                    await Task.Delay(100, ct);
                }
            }
            catch (OperationCanceledException) { /* the client closed the stream; the job goes on until DELETE or abandoned */ }
            return Results.Empty;
        });

        // Any other /api path: a problem, not the page.
        api.Map("/{**rest}", (string? rest) => Results.Problem(title: "Not found.", detail: $"no API endpoint /api/{rest}", statusCode: 404));
    }
}
