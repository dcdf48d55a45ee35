namespace Dapr.DevSidecar.PubSub;

/// <summary>A message as a pub/sub component stores it: the (CloudEvent or raw) bytes and the publish metadata.</summary>
public sealed record PubSubMessage(string Topic, byte[] Data, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// Handles one message. Completing (normally) acknowledges it; throwing
/// <see cref="OperationCanceledException"/> because <paramref name="cancellationToken"/> fired
/// (processing timeout, shutdown) leaves it unacknowledged so a durable broker redelivers it.
/// </summary>
public delegate Task PubSubHandler(PubSubMessage message, CancellationToken cancellationToken);

/// <summary>A pub/sub component.</summary>
public interface IPubSub
{
    Task PublishAsync(PubSubMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Subscribes <paramref name="handler"/> to <paramref name="topic"/> in consumer group
    /// <paramref name="group"/>: each message reaches one handler of each group. Dispose to unsubscribe.
    /// </summary>
    Task<IAsyncDisposable> SubscribeAsync(string topic, string group, PubSubHandler handler, CancellationToken cancellationToken);
}
