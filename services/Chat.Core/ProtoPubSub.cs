using Dapr.Client;
using Google.Protobuf;

namespace Chat.Core;

/// <summary>
/// Publishes chat.v1 event messages as binary protobuf (<c>application/x-protobuf</c>; the
/// sidecar carries them as the CloudEvent's <c>data_base64</c>), so subscribers in any language
/// parse them with their generated protobuf code, at a fraction of proto3 JSON's cost.
/// Readers also accept proto3 JSON, from publishers that send it.
/// </summary>
public static class ProtoPubSub
{
    /// <summary>The content type of published events.</summary>
    public const string ContentType = "application/x-protobuf";

    public static Task PublishProtoAsync(this DaprClient dapr, string pubsub, string topic, IMessage message, CancellationToken cancellationToken = default) =>
        dapr.PublishByteEventAsync(pubsub, topic, message.ToByteArray(), ContentType, cancellationToken: cancellationToken);

    /// <summary>Parses a proto3 JSON payload received from pub/sub.</summary>
    public static T ParseProto<T>(string json) where T : IMessage<T>, new() =>
        JsonParser.Default.Parse<T>(json);

    /// <summary>
    /// Reads an event from a pub/sub delivery body (after Dapr's CloudEvents middleware has taken
    /// out the data): binary protobuf, or proto3 JSON when the content type says JSON.
    /// </summary>
    public static async Task<T> ReadProtoAsync<T>(Stream body, string? contentType, CancellationToken cancellationToken) where T : IMessage<T>, new()
    {
        using var buffer = new MemoryStream();
        await body.CopyToAsync(buffer, cancellationToken);
        return Parse<T>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), contentType);
    }

    /// <summary>Parses an event's data: binary protobuf, or proto3 JSON when the content type says JSON.</summary>
    public static T Parse<T>(ReadOnlySpan<byte> data, string? contentType) where T : IMessage<T>, new() =>
        contentType is not null && contentType.Contains("json", StringComparison.OrdinalIgnoreCase)
            ? JsonParser.Default.Parse<T>(System.Text.Encoding.UTF8.GetString(data))
            : Parsers<T>.Parser.ParseFrom(data);

    /// <summary>
    /// Reads an event from one entry of a bulk delivery (the CloudEvent as JSON): its
    /// <c>data_base64</c> as protobuf, or its <c>data</c> as proto3 JSON. False when unreadable.
    /// </summary>
    public static bool TryParseCloudEvent<T>(System.Text.Json.JsonElement cloudEvent, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? message) where T : class, IMessage<T>, new()
    {
        message = null;
        try
        {
            if (cloudEvent.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                return false;
            }

            if (cloudEvent.TryGetProperty("data_base64", out var b64) && b64.ValueKind == System.Text.Json.JsonValueKind.String)
            {
                message = Parsers<T>.Parser.ParseFrom(b64.GetBytesFromBase64());
            }
            else if (cloudEvent.TryGetProperty("data", out var data))
            {
                message = JsonParser.Default.Parse<T>(data.GetRawText());
            }

            return message is not null;
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or FormatException or InvalidOperationException)
        {
            message = null;
            return false;
        }
    }

    private static class Parsers<T> where T : IMessage<T>, new()
    {
        public static readonly MessageParser<T> Parser = new(() => new T());
    }
}
