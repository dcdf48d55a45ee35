using System.Runtime.CompilerServices;
using Dapr.DevSidecar.Components;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.PubSub;

/// <summary>
/// <c>pubsub.in-memory</c>: a broker inside this process. Every sidecar of the process that
/// loads a component of this name shares one broker (so the apps of a multi-app run reach each
/// other). Each consumer group (one per app-id) gets each message once, spread round-robin
/// over that app's instances. Messages published while no one subscribes are lost, as with daprd.
/// </summary>
public sealed class InMemoryPubSub(ILogger log) : IPubSub
{
    private static readonly ConditionalWeakTable<ComponentRuntime, Dictionary<string, InMemoryPubSub>> Brokers = [];

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Dictionary<string, Group>> _topics = new(StringComparer.Ordinal);

    /// <summary>The broker shared by every in-memory pub/sub component named <paramref name="name"/> in <paramref name="runtime"/>.</summary>
    public static InMemoryPubSub For(ComponentRuntime runtime, string name)
    {
        var byName = Brokers.GetValue(runtime, _ => new Dictionary<string, InMemoryPubSub>(StringComparer.Ordinal));
        lock (byName)
        {
            if (!byName.TryGetValue(name, out var broker))
            {
                broker = new InMemoryPubSub(runtime.LoggerFactory.CreateLogger("Dapr.DevSidecar.PubSub.InMemory"));
                byName[name] = broker;
            }

            return broker;
        }
    }

    public Task PublishAsync(PubSubMessage message, CancellationToken cancellationToken)
    {
        List<PubSubHandler> targets = [];
        lock (_lock)
        {
            if (_topics.TryGetValue(message.Topic, out var groups))
            {
                foreach (var group in groups.Values)
                {
                    if (group.Handlers.Count > 0)
                    {
                        targets.Add(group.Handlers[group.Next++ % group.Handlers.Count]);
                    }
                }
            }
        }

        // Each handler starts on the publisher's thread and runs until its first wait (the request to
        // the subscriber), instead of on a pool thread of its own: that hand-off woke a thread per
        // delivery. The publisher still never waits for a delivery.
        foreach (var handler in targets)
        {
            _ = HandleAsync(handler, message);
        }

        return Task.CompletedTask;
    }

    private async Task HandleAsync(PubSubHandler handler, PubSubMessage message)
    {
        try
        {
            await handler(message, CancellationToken.None);
        }
        catch (Exception ex)
        {
            log.LogError(ex, "in-memory pub/sub: handling a message of topic {Topic} failed", message.Topic);
        }
    }

    public Task<IAsyncDisposable> SubscribeAsync(string topic, string group, PubSubHandler handler, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_topics.TryGetValue(topic, out var groups))
            {
                _topics[topic] = groups = new Dictionary<string, Group>(StringComparer.Ordinal);
            }

            if (!groups.TryGetValue(group, out var g))
            {
                groups[group] = g = new Group();
            }

            g.Handlers.Add(handler);
        }

        return Task.FromResult<IAsyncDisposable>(new Unsubscriber(this, topic, group, handler));
    }

    private void Remove(string topic, string group, PubSubHandler handler)
    {
        lock (_lock)
        {
            if (_topics.TryGetValue(topic, out var groups) && groups.TryGetValue(group, out var g))
            {
                g.Handlers.Remove(handler);
            }
        }
    }

    private sealed class Group
    {
        public List<PubSubHandler> Handlers { get; } = [];

        public int Next { get; set; }
    }

    private sealed class Unsubscriber(InMemoryPubSub owner, string topic, string group, PubSubHandler handler) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            owner.Remove(topic, group, handler);
            return ValueTask.CompletedTask;
        }
    }
}
