using System.Text;
using System.Text.Json;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.PubSub;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Dapr.DevSidecar.Api;

/// <summary>
/// HTTP bulk publish as daprd serves it (dapr/dapr <c>pkg/api/http</c>, "Pub/sub API
/// reference"): <c>POST /v1.0-alpha1/publish/bulk/{pubsub}/{topic}</c> (and <c>/v1.0/…</c>),
/// body a JSON array of <c>{entryId, event, contentType, metadata}</c>, request metadata as
/// <c>metadata.*</c> query parameters (entry metadata wins). 204 when every entry was
/// published; otherwise 500 with <c>{"failedEntries":[{"entryId","error"}],"errorCode":"ERR_PUBSUB_PUBLISH_MESSAGE"}</c>.
/// </summary>
public static partial class HttpApi
{
    static partial void MapBulkPublish(IEndpointRouteBuilder app, SidecarContext context)
    {
        foreach (var version in (string[])["/v1.0-alpha1", "/v1.0"])
        {
            app.MapPost(version + "/publish/bulk/{pubsubname}/{*topic}", (string pubsubname, string? topic, HttpRequest request, PubSubApi api) =>
                DaprErrors.Http(() => BulkPublishAsync(pubsubname, topic ?? "", request, api)));
        }
    }

    private static async Task<IResult> BulkPublishAsync(string pubsubName, string topic, HttpRequest request, PubSubApi api)
    {
        var metadata = Api.HttpApi.QueryMetadata(request);
        // daprd checks the pub/sub, topic and metadata before it reads the body.
        api.Validate(pubsubName, topic, metadata);

        List<PubSubApi.BulkEntry> entries;
        try
        {
            using var body = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
            entries = ParseBulkEntries(body.RootElement, pubsubName, topic);
        }
        catch (JsonException ex)
        {
            throw EventsError($"error when unmarshaling the request for topic {topic} pubsub {pubsubName}: {ex.Message}");
        }

        var failed = await api.BulkPublishAsync(pubsubName, topic, entries, metadata,
            new PubSubApi.Trace(request.Headers["traceparent"].FirstOrDefault(), request.Headers["tracestate"].FirstOrDefault()),
            request.HttpContext.RequestAborted);
        if (failed.Count == 0)
        {
            return Results.NoContent();
        }

        return Results.Json(new
        {
            failedEntries = failed.Select(f => new { entryId = f.EntryId, error = f.Error }),
            errorCode = "ERR_PUBSUB_PUBLISH_MESSAGE",
        }, statusCode: StatusCodes.Status500InternalServerError);
    }

    private static List<PubSubApi.BulkEntry> ParseBulkEntries(JsonElement root, string pubsubName, string topic)
    {
        if (root.ValueKind != JsonValueKind.Array)
        {
            throw new JsonException($"the body must be a JSON array of entries, not {root.ValueKind}");
        }

        var entries = new List<PubSubApi.BulkEntry>(root.GetArrayLength());
        foreach (var item in root.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException($"each entry must be a JSON object, not {item.ValueKind}");
            }

            var entryId = GoField(item, "entryId") is { ValueKind: JsonValueKind.String } id ? id.GetString()! : "";
            var contentType = GoField(item, "contentType") is { ValueKind: JsonValueKind.String } ct ? ct.GetString()! : "";
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (GoField(item, "metadata") is { ValueKind: JsonValueKind.Object } md)
            {
                foreach (var p in md.EnumerateObject())
                {
                    metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw new JsonException($"metadata '{p.Name}' of entry '{entryId}' must be a string");
                }
            }

            var data = EventBytes(GoField(item, "event") ?? default, contentType)
                ?? throw EventsError($"error when marshalling cloud event envelope for topic {topic} pubsub {pubsubName}: error: mismatch between contentType and event (entry '{entryId}', contentType '{contentType}')");
            entries.Add(new PubSubApi.BulkEntry(entryId, data, contentType, metadata));
        }

        return entries;
    }

    /// <summary>
    /// A field as Go's encoding/json finds it: the exact name, else any case (the JS SDK sends
    /// <c>entryID</c> where daprd's field is <c>entryId</c>).
    /// </summary>
    private static JsonElement? GoField(JsonElement obj, string name)
    {
        JsonElement? folded = null;
        foreach (var p in obj.EnumerateObject())
        {
            if (p.NameEquals(name))
            {
                return p.Value;
            }

            if (folded is null && string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                folded = p.Value;
            }
        }

        return folded;
    }

    /// <summary>
    /// The bytes of an entry's event by its content type, as daprd converts them: binary
    /// (<c>application/octet-stream</c>) from a base64 string, text (<c>text/*</c>,
    /// <c>application/xml</c>) from a string, JSON and CloudEvents as JSON; null when the event
    /// does not fit its content type (or the content type is none of these).
    /// </summary>
    internal static byte[]? EventBytes(JsonElement ev, string contentType)
    {
        var mediaType = contentType.Split(';', 2)[0].Trim().ToLowerInvariant();
        if (mediaType == "application/octet-stream")
        {
            if (ev.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            try
            {
                return Convert.FromBase64String(ev.GetString()!);
            }
            catch (FormatException)
            {
                return null;
            }
        }

        if (mediaType.StartsWith("text/", StringComparison.Ordinal) || mediaType == "application/xml")
        {
            return ev.ValueKind == JsonValueKind.String ? Encoding.UTF8.GetBytes(ev.GetString()!) : null;
        }

        if (mediaType is "application/json" or "application/cloudevents+json")
        {
            return ev.ValueKind == JsonValueKind.Undefined ? "null"u8.ToArray() : Encoding.UTF8.GetBytes(ev.GetRawText());
        }

        return null;
    }

    private static DaprApiException EventsError(string message) =>
        new("ERR_PUBSUB_EVENTS_SER", message, StatusCode.InvalidArgument, StatusCodes.Status400BadRequest);
}
