using Dapr.Client;
using Google.Protobuf;

namespace Chat.Core;

/// <summary>
/// Publishes chat.v1 event messages as proto3 JSON (the format the design fixes for pub/sub
/// payloads), so subscribers in any language parse them with their protobuf JSON parser.
/// </summary>
public static class ProtoPubSub
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));

    public static Task PublishProtoAsync(this DaprClient dapr, string pubsub, string topic, IMessage message, CancellationToken cancellationToken = default) =>
        dapr.PublishByteEventAsync(pubsub, topic, System.Text.Encoding.UTF8.GetBytes(Formatter.Format(message)), "application/json", cancellationToken: cancellationToken);

    /// <summary>Parses a proto3 JSON payload received from pub/sub.</summary>
    public static T ParseProto<T>(string json) where T : IMessage<T>, new() =>
        JsonParser.Default.Parse<T>(json);
}
