using System.Text;
using System.Text.Json;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.State;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Dapr.DevSidecar.Api;

public static partial class HttpApi
{
    /// <summary>Body JSON as daprd reads it (Go's encoding/json matches field names case-insensitively).</summary>
    internal static readonly JsonSerializerOptions BodyJson = new(JsonSerializerDefaults.Web);

    internal sealed record StateOptionsBody(string? Concurrency, string? Consistency);

    internal sealed record StateItemBody(string? Key, JsonElement Value, string? Etag, Dictionary<string, string>? Metadata, StateOptionsBody? Options);

    internal sealed record BulkGetBody(List<string>? Keys, int Parallelism, Dictionary<string, string>? Metadata);

    internal sealed record TransactionOperationBody(string? Operation, StateItemBody? Request);

    internal sealed record TransactionBody(List<TransactionOperationBody>? Operations, Dictionary<string, string>? Metadata);

    static partial void MapState(RouteGroupBuilder v1, SidecarContext context)
    {
        v1.MapPost("/state/{storeName}", (string storeName, HttpRequest request, StateApi state) => DaprErrors.Http(async () =>
        {
            var items = await ReadBodyAsync<List<StateItemBody>>(request) ?? [];
            var query = QueryMetadata(request);
            var converted = items.Select(i => ToItem(i, query)).ToList();
            if (converted.Count > 0)
            {
                await state.SaveAsync(storeName, converted, request.HttpContext.RequestAborted);
            }

            return Results.NoContent();
        }));

        v1.MapPost("/state/{storeName}/bulk", (string storeName, HttpRequest request, StateApi state) => DaprErrors.Http(async () =>
        {
            var body = await ReadBodyAsync<BulkGetBody>(request);
            var keys = body?.Keys ?? [];
            var found = keys.Count == 0 ? [] : await state.GetBulkAsync(storeName, keys, request.HttpContext.RequestAborted);
            var result = found.Select(g => new Dictionary<string, object?>
            {
                ["key"] = g.Key,
                ["data"] = g.Entry is { } e ? RawJson(e.Value) : null,
                ["etag"] = g.Entry?.ETag,
                ["metadata"] = g.Entry is { ExpiresAt: not null } m ? StateApi.ResponseMetadata(m) : null,
            }.Where(kv => kv.Value is not null).ToDictionary()).ToList();
            return Results.Json(result);
        }));

        v1.MapPost("/state/{storeName}/transaction", (string storeName, HttpRequest request, StateApi state) => DaprErrors.Http(async () =>
        {
            var body = await ReadBodyAsync<TransactionBody>(request);
            var query = QueryMetadata(request);
            foreach (var (k, v) in body?.Metadata ?? [])
            {
                query.TryAdd(k, v);
            }

            var ops = (body?.Operations ?? [])
                .Select(o => (o.Operation ?? "", ToItem(o.Request ?? new StateItemBody(null, default, null, null, null), query)))
                .ToList();
            await state.TransactAsync(storeName, ops, request.HttpContext.RequestAborted);
            return Results.NoContent();
        }));

        v1.MapGet("/state/{storeName}/{key}", (string storeName, string key, HttpContext http, StateApi state) => DaprErrors.Http(async () =>
        {
            var entry = await state.GetAsync(storeName, key, http.RequestAborted);
            if (entry is null)
            {
                return Results.NoContent();
            }

            http.Response.Headers.ETag = entry.ETag;
            foreach (var (k, v) in StateApi.ResponseMetadata(entry))
            {
                http.Response.Headers["metadata." + k] = v;
            }

            return Results.Bytes(entry.Value, "application/json");
        }));

        v1.MapDelete("/state/{storeName}/{key}", (string storeName, string key, HttpRequest request, StateApi state) => DaprErrors.Http(async () =>
        {
            var etag = request.Headers.TryGetValue("If-Match", out var ifMatch) ? ifMatch.ToString() : null;
            await state.DeleteAsync(storeName, key, etag, ParseConcurrency(request.Query["concurrency"]), request.HttpContext.RequestAborted);
            return Results.NoContent();
        }));
    }

    /// <summary>Reads a JSON body; an empty body is null.</summary>
    internal static async Task<T?> ReadBodyAsync<T>(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        return buffer.Length == 0 ? default : JsonSerializer.Deserialize<T>(buffer.ToArray(), BodyJson);
    }

    /// <summary>daprd passes query parameters named <c>metadata.xxx</c> to components as metadata <c>xxx</c>.</summary>
    internal static Dictionary<string, string> QueryMetadata(HttpRequest request)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, values) in request.Query)
        {
            if (name.StartsWith("metadata.", StringComparison.OrdinalIgnoreCase))
            {
                metadata[name["metadata.".Length..]] = values.ToString();
            }
        }

        return metadata;
    }

    private static StateApi.Item ToItem(StateItemBody body, Dictionary<string, string> queryMetadata)
    {
        var metadata = new Dictionary<string, string>(body.Metadata ?? [], StringComparer.Ordinal);
        foreach (var (k, v) in queryMetadata)
        {
            metadata[k] = v;
        }

        // daprd stores the value's JSON text: a JSON string keeps its quotes.
        var value = body.Value.ValueKind == JsonValueKind.Undefined ? [] : Encoding.UTF8.GetBytes(body.Value.GetRawText());
        return new StateApi.Item(body.Key ?? "", value, body.Etag, ParseConcurrency(body.Options?.Concurrency), metadata);
    }

    private static StateConcurrency ParseConcurrency(string? text) =>
        string.Equals(text, "first-write", StringComparison.OrdinalIgnoreCase) ? StateConcurrency.FirstWrite : StateConcurrency.LastWrite;

    /// <summary>The stored bytes as JSON when they are JSON, else as a JSON string (as daprd's json.RawMessage would fail).</summary>
    private static object RawJson(byte[] value)
    {
        try
        {
            using var doc = JsonDocument.Parse(value);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return Convert.ToBase64String(value);
        }
    }
}
