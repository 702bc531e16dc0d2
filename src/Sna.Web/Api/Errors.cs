using System.Threading.RateLimiting;
using Sna.Web.Models;

namespace Sna.Web.Api;

/// <summary>A request field is invalid; becomes a 400 validation problem naming the field.</summary>
public sealed class RequestValidationException(Dictionary<string, string[]> errors)
    : Exception(string.Join("; ", errors.SelectMany(e => e.Value)))
{
    public RequestValidationException(string field, string message) : this(new Dictionary<string, string[]> { [field] = [message] }) { }
    public Dictionary<string, string[]> Errors { get; } = errors;
}

/// <summary>A named resource does not exist (model id, job id); 404.</summary>
public sealed class NotFoundException(string title, string detail) : Exception(detail)
{
    public string Title { get; } = title;
}

/// <summary>Too much work queued; 429 with Retry-After.</summary>
public sealed class ServerBusyException(string detail) : Exception(detail);

/// <summary>
/// The bounded work queue: at most <see cref="WebOptions.MaxConcurrency"/> computations at once and
/// <see cref="WebOptions.QueueLimit"/> waiting (oldest first); past that, callers are refused at once (429).
/// Request handlers and heat-map jobs share it, so a job counts against the same budget as requests.
/// </summary>
public sealed class ComputeGate : IDisposable
{
    private readonly ConcurrencyLimiter _limiter;

    public ComputeGate(WebOptions options)
    {
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = Math.Max(1, options.MaxConcurrency),
            QueueLimit = Math.Max(0, options.QueueLimit),
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>Waits for a slot; throws <see cref="ServerBusyException"/> at once when the queue is full.</summary>
    public async Task<RateLimitLease> AcquireAsync(CancellationToken ct)
    {
        var lease = await _limiter.AcquireAsync(1, ct);
        if (lease.IsAcquired) return lease;
        lease.Dispose();
        throw new ServerBusyException("the server's work queue is full; retry in a moment");
    }

    /// <summary>Starts waiting for a slot; throws <see cref="ServerBusyException"/> synchronously when the queue is already full.</summary>
    public Task<RateLimitLease> Enqueue(CancellationToken ct)
    {
        var pending = _limiter.AcquireAsync(1, ct);
        if (pending.IsCompletedSuccessfully && !pending.Result.IsAcquired)
        {
            pending.Result.Dispose();
            throw new ServerBusyException("the server's work queue is full; retry in a moment");
        }
        return pending.AsTask();
    }

    public RateLimiterStatistics? Statistics => _limiter.GetStatistics();

    public void Dispose() => _limiter.Dispose();
}

/// <summary>Turns the errors a request can cause (request validation, <see cref="Sna.Runtime.SnaInputException"/>) into RFC 7807 problem details; anything else is left to the exception handler (500, no internals).</summary>
public sealed class ApiErrorFilter(ILogger<ApiErrorFilter> log) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (RequestValidationException e)
        {
            return Results.ValidationProblem(e.Errors, title: "The request is invalid.", detail: e.Message);
        }
        catch (NotFoundException e)
        {
            return Results.Problem(title: e.Title, detail: e.Message, statusCode: StatusCodes.Status404NotFound);
        }
        catch (ServerBusyException e)
        {
            context.HttpContext.Response.Headers.RetryAfter = "1";
            return Results.Problem(title: "Too many requests.", detail: e.Message, statusCode: StatusCodes.Status429TooManyRequests);
        }
        catch (OperationCanceledException) when (context.HttpContext.RequestAborted.IsCancellationRequested)
        {
            return Results.StatusCode(499); // the client went away; nobody reads this
        }
        catch (ModelLoadException e)
        {
            log.LogError(e, "loading model {Model} failed", e.ModelId);
            return Results.Problem(title: "The model could not be loaded.",
                detail: $"model '{e.ModelId}' could not be loaded: its files are missing or malformed (the server log has the details)",
                statusCode: StatusCodes.Status500InternalServerError);
        }
        catch (Sna.Runtime.SnaInputException e)
        {
            // The library's input checks (context length, task files, layer and neuron ranges, multipliers) are user errors:
            // 400 with its message. Any other exception (ArgumentException included) is a bug: 500 from the exception handler.
            return Results.Problem(title: "The request is invalid.", detail: e.Message, statusCode: StatusCodes.Status400BadRequest);
        }
    }
}
