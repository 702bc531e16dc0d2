using Microsoft.AspNetCore.Diagnostics;

namespace Sna.Web.Api;

/// <summary>
/// Malformed request bodies (not JSON, wrong types, too large) become 400/413 problems that say what was wrong; every
/// other unhandled exception is left to the default production handler (500, generic message, no stack trace).
/// </summary>
internal sealed class BadRequestHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext ctx, Exception exception, CancellationToken ct)
    {
        if (exception is not BadHttpRequestException bad) return false;
        ctx.Response.StatusCode = bad.StatusCode;
        string detail = bad.InnerException is System.Text.Json.JsonException j
            ? $"the request body is not valid JSON for this endpoint: {j.Message}"
            : bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "the request body is too large" : bad.Message;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = ctx,
            ProblemDetails = { Status = bad.StatusCode, Title = "The request is invalid.", Detail = detail },
            Exception = exception,
        });
    }
}
