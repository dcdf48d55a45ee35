using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dapr.DevSidecar.Api;

/// <summary>
/// The Dapr APIs daprd has and the dev sidecar does not, so a caller gets daprd's
/// "not implemented" error naming the API instead of a bare 404: HTTP
/// <c>501 {"errorCode":"ERR_API_UNIMPLEMENTED","message":"…"}</c> (daprd's code for an API it
/// lacks), gRPC <c>Unimplemented</c>. Anything else no route takes answers as daprd's fallback
/// does: <c>404 ERR_DIRECT_INVOKE</c> (no app id in the path or header).
/// </summary>
public static class UnimplementedApis
{
    public const string ErrorCode = "ERR_API_UNIMPLEMENTED";

    /// <summary>daprd's HTTP API versions (dapr/dapr <c>pkg/api/http</c>).</summary>
    private static readonly string[] Versions = ["v1.0", "v1.0-alpha1", "v1.0-alpha2", "v1.0-beta1"];

    /// <summary>First path segment after the version → the API it belongs to.</summary>
    private static readonly Dictionary<string, string> HttpApisBySegment = new(StringComparer.Ordinal)
    {
        ["workflows"] = "the workflow API",
        ["configuration"] = "the configuration API",
        ["lock"] = "the distributed lock API",
        ["unlock"] = "the distributed lock API",
        ["jobs"] = "the jobs API",
        ["crypto"] = "the cryptography API",
        ["subtlecrypto"] = "the cryptography API",
        ["conversation"] = "the conversation API",
    };

    /// <summary>
    /// Maps the fallback: known-but-missing Dapr APIs answer 501 naming the API; other paths
    /// (also wrong verbs on known routes, as daprd's router falls back for those too) 404.
    /// </summary>
    public static void MapHttpFallback(WebApplication app) =>
        app.MapFallback("{**path}", async (HttpContext http) =>
        {
            var path = http.Request.Path.Value ?? "/";
            if (GrpcFallbackMiddleware.IsGrpc(http.Request))
            {
                await GrpcFallbackMiddleware.WriteStatus(http, 12, $"unknown service or method {path}");
                return Results.Empty;
            }

            return HttpApiName(path) is { } api
                ? Results.Json(new { errorCode = ErrorCode, message = $"{api} is not implemented by the dev sidecar ({http.Request.Method} {path})" },
                    statusCode: StatusCodes.Status501NotImplemented)
                : Results.Json(new
                {
                    errorCode = "ERR_DIRECT_INVOKE",
                    message = "failed getting app id either from the URL path or the header dapr-app-id",
                }, statusCode: StatusCodes.Status404NotFound);
        });

    /// <summary>The API a Dapr HTTP API path belongs to when the dev sidecar lacks it, else null.</summary>
    public static string? HttpApiName(string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length < 2 || !Versions.Contains(segments[0], StringComparer.Ordinal))
        {
            return null;
        }

        if (HttpApisBySegment.TryGetValue(segments[1], out var api))
        {
            return api;
        }

        return segments switch
        {
            // state/{store}/query (v1.0-alpha1 in daprd).
            [_, "state", _, "query"] => "the state query API",
            // PUT metadata/{key}: the dev sidecar only reads metadata.
            [_, "metadata", _] => "setting app metadata (the metadata API)",
            _ => null,
        };
    }

    /// <summary>The API a gRPC method of the Dapr service (or the workflow engine's service) belongs to.</summary>
    public static string GrpcApiName(string service, string method)
    {
        if (service == WorkflowGrpcService)
        {
            return "the workflow API (durabletask " + WorkflowGrpcService + ")";
        }

        return method switch
        {
            _ when method.Contains("Workflow", StringComparison.Ordinal) => "the workflow API",
            _ when method.Contains("Configuration", StringComparison.Ordinal) => "the configuration API",
            "TryLockAlpha1" or "UnlockAlpha1" => "the distributed lock API",
            _ when method.Contains("Job", StringComparison.Ordinal) => "the jobs API",
            _ when method.StartsWith("Encrypt", StringComparison.Ordinal) || method.StartsWith("Decrypt", StringComparison.Ordinal)
                || method.StartsWith("Subtle", StringComparison.Ordinal) => "the cryptography API",
            _ when method.StartsWith("QueryState", StringComparison.Ordinal) => "the state query API",
            _ when method.StartsWith("Converse", StringComparison.Ordinal) => "the conversation API",
            _ when method.StartsWith("SubscribeTopicEvents", StringComparison.Ordinal) => "the streaming subscription API",
            "SetMetadata" => "setting app metadata (the metadata API)",
            _ when method.Contains("Actor", StringComparison.Ordinal) => "this part of the actors API",
            _ => "this API",
        };
    }

    /// <summary>The durabletask sidecar service daprd serves on its gRPC port for the workflow SDKs.</summary>
    public const string WorkflowGrpcService = "TaskHubSidecarService";
}
