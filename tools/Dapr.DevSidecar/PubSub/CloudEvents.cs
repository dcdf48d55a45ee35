using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dapr.DevSidecar.PubSub;

/// <summary>
/// The CloudEvent envelope daprd wraps published data in (components-contrib's envelope rules):
/// JSON data goes in <c>data</c>, binary data in <c>data_base64</c>, anything else as a string;
/// publish metadata <c>cloudevent.*</c> overrides id, source, type, subject and trace fields;
/// a payload that already is a CloudEvent keeps its fields and gets topic, pubsubname and trace fields.
/// </summary>
public static class CloudEvents
{
    public const string ContentType = "application/cloudevents+json";
    public const string DefaultType = "com.dapr.event.sent";
    public const string DefaultSource = "Dapr";
    public const string DefaultDataContentType = "text/plain";

    private static readonly string[] Overridable = ["id", "source", "type", "subject", "traceid", "tracestate", "traceparent"];

    /// <summary>The arguments of one publish, as daprd collects them.</summary>
    public sealed record PublishContext(string Source, string PubSubName, string Topic, string TraceParent, string TraceState);

    public static JsonObject Create(PublishContext ctx, byte[] data, string? dataContentType, IReadOnlyDictionary<string, string> metadata, TimeProvider time)
    {
        if (IsCloudEvent(dataContentType))
        {
            return FromCloudEvent(ctx, data, time);
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["source"] = ctx.Source,
            ["traceid"] = ctx.TraceParent,
            ["tracestate"] = ctx.TraceState,
        };
        foreach (var (key, value) in metadata)
        {
            if (key.StartsWith("cloudevent.", StringComparison.OrdinalIgnoreCase))
            {
                var field = key["cloudevent.".Length..].ToLowerInvariant();
                if (Overridable.Contains(field))
                {
                    fields[field] = value;
                }
            }
        }

        // traceparent (when overridden) supersedes traceid; both end up equal.
        var traceParent = fields.TryGetValue("traceparent", out var tp) && tp.Length > 0 ? tp : fields["traceid"];
        var contentType = string.IsNullOrEmpty(dataContentType) ? DefaultDataContentType : dataContentType;
        var ce = new JsonObject
        {
            ["id"] = Get(fields, "id") ?? Guid.NewGuid().ToString(),
            ["specversion"] = "1.0",
            ["datacontenttype"] = contentType,
            ["source"] = Get(fields, "source") ?? DefaultSource,
            ["type"] = Get(fields, "type") ?? DefaultType,
            ["topic"] = ctx.Topic,
            ["pubsubname"] = ctx.PubSubName,
            ["traceid"] = traceParent,
            ["traceparent"] = traceParent,
            ["tracestate"] = fields["tracestate"],
            ["time"] = Now(time),
        };
        if (IsJson(contentType) && TryParseJson(data, out var json))
        {
            ce["data"] = json;
        }
        else if (IsBinary(contentType))
        {
            ce["data_base64"] = Convert.ToBase64String(data);
        }
        else
        {
            ce["data"] = Encoding.UTF8.GetString(data);
        }

        if (Get(fields, "subject") is { } subject)
        {
            ce["subject"] = subject;
        }

        return ce;
    }

    /// <summary>The CloudEvent daprd builds on the subscriber side for a <c>rawPayload</c> subscription.</summary>
    public static JsonObject FromRawPayload(byte[] data, string topic, string pubsubName, IReadOnlyDictionary<string, string> metadata)
    {
        var ce = new JsonObject
        {
            ["id"] = Guid.NewGuid().ToString(),
            ["specversion"] = "1.0",
            ["datacontenttype"] = "application/octet-stream",
            ["source"] = DefaultSource,
            ["type"] = DefaultType,
            ["topic"] = topic,
            ["pubsubname"] = pubsubName,
            ["data_base64"] = Convert.ToBase64String(data),
        };
        if (metadata.TryGetValue("traceid", out var traceId))
        {
            ce["traceid"] = traceId;
        }

        if (metadata.TryGetValue("traceparent", out var traceParent))
        {
            ce["traceparent"] = traceParent;
            ce["traceid"] = traceParent;
        }

        if (metadata.TryGetValue("tracestate", out var traceState))
        {
            ce["tracestate"] = traceState;
        }

        return ce;
    }

    private static JsonObject FromCloudEvent(PublishContext ctx, byte[] data, TimeProvider time)
    {
        JsonObject ce;
        try
        {
            ce = JsonNode.Parse(data) as JsonObject ?? throw new JsonException("a CloudEvent must be a JSON object");
        }
        catch (JsonException ex)
        {
            throw new CloudEventException($"cannot read the published CloudEvent: {ex.Message}");
        }

        ce["time"] ??= Now(time);
        if (!ce.ContainsKey("traceid"))
        {
            ce["traceid"] = ctx.TraceParent;
            ce["traceparent"] = ctx.TraceParent;
        }

        if (!ce.ContainsKey("tracestate"))
        {
            ce["tracestate"] = ctx.TraceState;
        }

        ce["topic"] = ctx.Topic;
        ce["pubsubname"] = ctx.PubSubName;
        ce["source"] ??= DefaultSource;
        ce["type"] ??= DefaultType;
        ce["specversion"] ??= "1.0";
        return ce;
    }

    private static string? Get(Dictionary<string, string> fields, string key) =>
        fields.TryGetValue(key, out var v) && v.Length > 0 ? v : null;

    private static string Now(TimeProvider time) =>
        time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static bool TryParseJson(byte[] data, out JsonNode? node)
    {
        node = null;
        if (!MayBeJson(data))
        {
            return false;
        }

        try
        {
            node = JsonNode.Parse(data);
            return true;
        }
        catch (JsonException)
        {
            // Starts like JSON but is not: rare enough for an exception.
            return false;
        }
    }

    /// <summary>
    /// The event's data as bytes, the inverse of <see cref="Create"/>: <c>data_base64</c> decoded,
    /// a string as UTF-8, any other JSON as its text.
    /// </summary>
    public static byte[] DataBytes(JsonObject cloudEvent)
    {
        if (cloudEvent["data_base64"] is JsonValue b64 && b64.TryGetValue<string>(out var encoded))
        {
            return Convert.FromBase64String(encoded);
        }

        return cloudEvent["data"] switch
        {
            null => [],
            JsonValue v when v.GetValueKind() == JsonValueKind.String => Encoding.UTF8.GetBytes(v.GetValue<string>()),
            var node => Encoding.UTF8.GetBytes(node.ToJsonString()),
        };
    }

    /// <summary>
    /// Reads a stored message as a CloudEvent: a JSON object, or null when it is not one. Data that
    /// cannot start a JSON object is refused without parsing, so raw payloads cost no exception.
    /// </summary>
    public static JsonObject? TryReadEvent(byte[] data)
    {
        if (FirstSignificantByte(data) != (byte)'{')
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(data) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>True when <paramref name="data"/> starts (after whitespace) with a byte a JSON value can start with.</summary>
    private static bool MayBeJson(byte[] data) =>
        FirstSignificantByte(data) is (byte)'{' or (byte)'[' or (byte)'"' or (byte)'-' or (>= (byte)'0' and <= (byte)'9') or (byte)'t' or (byte)'f' or (byte)'n';

    private static int FirstSignificantByte(byte[] data)
    {
        foreach (var b in data)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return b;
            }
        }

        return -1;
    }

    private static string MediaType(string? contentType) =>
        (contentType ?? "").Split(';', 2)[0].Trim().ToLowerInvariant();

    public static bool IsCloudEvent(string? contentType) => MediaType(contentType) == ContentType;

    public static bool IsJson(string? contentType)
    {
        var m = MediaType(contentType);
        return m == "application/json" || m.EndsWith("+json", StringComparison.Ordinal);
    }

    public static bool IsBinary(string? contentType) =>
        MediaType(contentType) is "application/octet-stream" or "application/protobuf" or "application/x-protobuf";

    /// <summary>A W3C traceparent for a new publish: a child of <paramref name="incoming"/> when given, else a new trace (not sampled).</summary>
    public static string ChildTraceParent(string? incoming)
    {
        var span = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var parts = incoming?.Split('-');
        if (parts is { Length: 4 } && parts[1].Length == 32 && parts[3].Length == 2)
        {
            return $"00-{parts[1]}-{span}-{parts[3]}";
        }

        return $"00-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}-{span}-00";
    }
}

/// <summary>A published CloudEvent that cannot be read (daprd's ERR_PUBSUB_CLOUD_EVENTS_SER).</summary>
public sealed class CloudEventException(string message) : Exception(message);
