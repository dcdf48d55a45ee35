using System.Text;
using Microsoft.AspNetCore.Http;

namespace Dapr.DevSidecar.Api;

/// <summary>
/// Cleans the path of every HTTP API request before anything routes on it, as daprd's router
/// does (dapr/dapr <c>pkg/api/http</c>: a clean-path and a strip-slashes middleware in front of
/// every route): repeated slashes collapse, <c>.</c> and <c>..</c> segments resolve and a
/// trailing slash goes. So <c>//v1.0/actors/T/1/method/m</c>, which Dapr.Actors sends when its
/// endpoint ends with <c>/</c> (its default), reaches the same handler as
/// <c>/v1.0/actors/T/1/method/m</c>. gRPC paths are left alone. Runs first in the pipeline.
/// </summary>
public sealed class PathCleaningMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value;
        if (path is { Length: > 1 } && NeedsCleaning(path) && !GrpcFallbackMiddleware.IsGrpc(context.Request))
        {
            context.Request.Path = new PathString(Clean(path));
        }

        return next(context);
    }

    /// <summary>Cheap test for the common case: most paths are clean already.</summary>
    internal static bool NeedsCleaning(string path) =>
        path[^1] == '/'
        || path.Contains("//", StringComparison.Ordinal)
        || path.Contains("/./", StringComparison.Ordinal)
        || path.Contains("/../", StringComparison.Ordinal)
        || path.EndsWith("/.", StringComparison.Ordinal)
        || path.EndsWith("/..", StringComparison.Ordinal)
        || path[0] != '/';

    /// <summary>
    /// Lexical path cleaning with the rules of Go's <c>path.Clean</c> for a rooted path:
    /// one slash between segments, no <c>.</c> segments, <c>..</c> removes the segment before it
    /// (never above the root), no trailing slash; an empty result is <c>/</c>.
    /// </summary>
    public static string Clean(string path)
    {
        var segments = new List<string>();
        foreach (var segment in path.Split('/'))
        {
            switch (segment)
            {
                case "":
                case ".":
                    break;
                case "..":
                    if (segments.Count > 0)
                    {
                        segments.RemoveAt(segments.Count - 1);
                    }

                    break;
                default:
                    segments.Add(segment);
                    break;
            }
        }

        var result = new StringBuilder(path.Length);
        foreach (var segment in segments)
        {
            result.Append('/').Append(segment);
        }

        return result.Length == 0 ? "/" : result.ToString();
    }
}
