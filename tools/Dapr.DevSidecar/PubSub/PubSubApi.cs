using System.Text.Json;
using Dapr.DevSidecar.Api;
using Dapr.DevSidecar.Hosting;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Dapr.DevSidecar.PubSub;

/// <summary>
/// The publish side of pub/sub as daprd runs it, independent of transport: validation and
/// error codes, the CloudEvent envelope (unless <c>rawPayload</c>), and the component call.
/// </summary>
public sealed class PubSubApi(SidecarContext sidecar, TimeProvider time)
{
    /// <summary>One entry of a bulk publish.</summary>
    public sealed record BulkEntry(string EntryId, byte[] Event, string ContentType, IReadOnlyDictionary<string, string> Metadata);

    public sealed record Trace(string? TraceParent, string? TraceState);

    public async Task PublishAsync(string pubsubName, string topic, byte[] data, string? contentType,
        IReadOnlyDictionary<string, string> metadata, Trace trace, CancellationToken ct)
    {
        var (pubsub, raw) = Resolve(pubsubName, topic, metadata);
        var message = BuildMessage(pubsubName, topic, data, contentType, metadata, trace, raw);
        try
        {
            await pubsub.PublishAsync(message, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw PublishFailed(pubsubName, topic, ex.Message);
        }
    }

    /// <summary>Publishes each entry; returns the entries that failed, with their error.</summary>
    public async Task<IReadOnlyList<(string EntryId, string Error)>> BulkPublishAsync(string pubsubName, string topic,
        IReadOnlyList<BulkEntry> entries, IReadOnlyDictionary<string, string> metadata, Trace trace, CancellationToken ct)
    {
        var (pubsub, raw) = Resolve(pubsubName, topic, metadata);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var messages = new List<(string Id, PubSubMessage Message)>(entries.Count);
        foreach (var entry in entries)
        {
            if (entry.EntryId.Length == 0 || !ids.Add(entry.EntryId))
            {
                throw DaprApiException.InvalidArgument("ERR_PUBSUB_EVENTS_SER",
                    $"error when marshalling events to bytes for topic {topic} pubsub {pubsubName}: entryId is duplicated or not present for entry");
            }

            // Entry metadata overrides request metadata.
            var md = new Dictionary<string, string>(metadata, StringComparer.Ordinal);
            foreach (var (k, v) in entry.Metadata)
            {
                md[k] = v;
            }

            messages.Add((entry.EntryId, BuildMessage(pubsubName, topic, entry.Event, entry.ContentType, md, trace, raw)));
        }

        var failed = new List<(string, string)>();
        foreach (var (id, message) in messages)
        {
            try
            {
                await pubsub.PublishAsync(message, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failed.Add((id, ex.Message));
            }
        }

        return failed;
    }

    private PubSubMessage BuildMessage(string pubsubName, string topic, byte[] data, string? contentType,
        IReadOnlyDictionary<string, string> metadata, Trace trace, bool raw)
    {
        var traceParent = CloudEvents.ChildTraceParent(trace.TraceParent);
        var md = new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        if (raw)
        {
            md["traceid"] = traceParent;
            md["tracestate"] = trace.TraceState ?? "";
            return new PubSubMessage(topic, data, md);
        }

        try
        {
            var ce = CloudEvents.Create(new CloudEvents.PublishContext(sidecar.AppId, pubsubName, topic, traceParent, trace.TraceState ?? ""),
                data, contentType, metadata, time);
            return new PubSubMessage(topic, JsonSerializer.SerializeToUtf8Bytes(ce), md);
        }
        catch (CloudEventException ex)
        {
            throw new DaprApiException("ERR_PUBSUB_CLOUD_EVENTS_SER",
                $"cannot create cloudevent for app {sidecar.AppId} in pubsub {pubsubName}: {ex.Message}", StatusCode.InvalidArgument, StatusCodes.Status400BadRequest);
        }
    }

    /// <summary>Runs daprd's request checks (pub/sub, topic, rawPayload) without publishing, for transports that must check before reading the body.</summary>
    public void Validate(string pubsubName, string topic, IReadOnlyDictionary<string, string> metadata) => Resolve(pubsubName, topic, metadata);

    /// <summary>daprd's checks, in its order: any pub/sub at all, name given, name known, topic given, rawPayload readable.</summary>
    private (IPubSub PubSub, bool RawPayload) Resolve(string pubsubName, string topic, IReadOnlyDictionary<string, string> metadata)
    {
        if (!sidecar.Components.OfType<IPubSub>().Any())
        {
            throw new DaprApiException("ERR_PUBSUB_NOT_CONFIGURED", $"pubsub {pubsubName} is not configured",
                StatusCode.FailedPrecondition, StatusCodes.Status400BadRequest);
        }

        if (string.IsNullOrEmpty(pubsubName))
        {
            throw new DaprApiException("ERR_PUBSUB_EMPTY", "pubsub name is empty", StatusCode.InvalidArgument, StatusCodes.Status404NotFound);
        }

        var pubsub = sidecar.Components.Get<IPubSub>(pubsubName)
            ?? throw new DaprApiException("ERR_PUBSUB_NOT_FOUND", $"pubsub {pubsubName} is not found", StatusCode.InvalidArgument, StatusCodes.Status404NotFound);
        if (string.IsNullOrEmpty(topic))
        {
            throw new DaprApiException("ERR_TOPIC_NAME_EMPTY", $"topic is empty in pubsub {pubsubName}", StatusCode.InvalidArgument, StatusCodes.Status404NotFound);
        }

        return (pubsub, IsRawPayload(metadata, pubsubName));
    }

    internal static bool IsRawPayload(IReadOnlyDictionary<string, string> metadata, string pubsubName)
    {
        if (!metadata.TryGetValue("rawPayload", out var value) || value.Length == 0)
        {
            return false;
        }

        return value.ToLowerInvariant() switch
        {
            "true" or "1" or "t" or "yes" or "y" or "on" => true,
            "false" or "0" or "f" or "no" or "n" or "off" => false,
            _ => throw new DaprApiException("ERR_PUBSUB_REQUEST_METADATA",
                $"failed deserializing metadata. error: rawPayload value must be a valid boolean: actual is '{value}' (pubsub {pubsubName})",
                StatusCode.InvalidArgument, StatusCodes.Status400BadRequest),
        };
    }

    private static DaprApiException PublishFailed(string pubsubName, string topic, string error) =>
        new("ERR_PUBSUB_PUBLISH_MESSAGE", $"error when publishing to topic {topic} in pubsub {pubsubName}: {error}",
            StatusCode.Internal, StatusCodes.Status500InternalServerError);
}
