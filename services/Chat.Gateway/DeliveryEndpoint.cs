using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Gateway.Presence;
using Dapr;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Gateway;

/// <summary>
/// Receives this instance's delivery batches (topic <c>deliveries.{instanceId}</c>) and pushes
/// each event to the addressed users' connections here.
/// </summary>
public static class DeliveryEndpoint
{
    public const string Route = "/internal/deliveries";

    /// <summary>From this many connections of one event on, it is sent to them as one list.</summary>
    public const int ManyTargets = 16;

    public static void MapDeliveries(this WebApplication app)
    {
        var instance = app.Services.GetRequiredService<GatewayInstance>();
        var topic = DaprNames.Topics.Deliveries(instance.Id);
        // One request per batch, not bulk subscribe: the publishers already batch per gateway
        // (one DeliveryBatch per gateway and event, or per bulk of delivery's input), and a bulk
        // subscription would make a lone batch wait for daprd's await ticker as well.
        app.MapPost(Route, HandleAsync).WithTopic(DaprNames.PubSub, topic);
    }

    // Pushing to live connections does not fail in a way a retry would mend.
    private static Task<IResult> HandleAsync(
        HttpRequest request, IHubContext<ChatHub, IChatClient> hub, LocalConnections connections, PresenceWatches watches) =>
        TopicEvent.HandleAsync<DeliveryBatch>(request, async (batch, _) =>
        {
            await PushAsync(batch, hub, connections, watches);
            return TopicEvent.Success;
        });

    private static async Task PushAsync(DeliveryBatch batch, IHubContext<ChatHub, IChatClient> hub, LocalConnections connections, PresenceWatches watches)
    {
        foreach (var delivery in batch.Deliveries)
        {
            // Usually none or the one sending connection: a scan, no set per event.
            var excluded = delivery.ExcludeConnectionIds;
            var targets = new ConnectionIdList();
            foreach (var userId in delivery.UserIds)
            {
                foreach (var c in connections.Of(userId))
                {
                    if (excluded.Contains(c.ConnectionId))
                    {
                        continue;
                    }

                    // Presence goes only to the connections that watch that user.
                    if (delivery.EventCase == Delivery.EventOneofCase.PresenceChanged && !watches.IsWatching(c.ConnectionId, delivery.PresenceChanged.UserId))
                    {
                        continue;
                    }

                    targets.Add(c.ConnectionId);
                }
            }

            if (targets.Count == 0)
            {
                continue;
            }

            // Few targets (1:1): one send per connection, since SignalR's Clients(list) scans every
            // connection of the hub. Many (a group): Clients(list) serializes the event once per
            // protocol for all of them instead of once per connection; the scan asks the list's
            // Contains for each connection of the hub, a hash lookup here.
            await (targets.Count >= ManyTargets
                ? Push(hub.Clients.Clients(targets), delivery)
                : Task.WhenAll(targets.Select(target => Push(hub.Clients.Client(target), delivery))));
        }
    }

    /// <summary>A send's members connected here, left to this gateway by the conversation's actor.</summary>
    internal sealed class Local(GatewayInstance instance, IHubContext<ChatHub, IChatClient> hub, LocalConnections connections, PresenceWatches watches) : ILocalDelivery
    {
        public string GatewayInstanceId => instance.Id;

        public Task DeliverAsync(Delivery delivery) => PushAsync(new DeliveryBatch { Deliveries = { delivery } }, hub, connections, watches);
    }

    private static Task Push(IChatClient client, Delivery delivery) => delivery.EventCase switch
    {
        Delivery.EventOneofCase.MessageCreated => client.MessageReceived(delivery.MessageCreated.Message.ToDto()),
        Delivery.EventOneofCase.ReceiptUpdated => client.ReceiptUpdated(delivery.ReceiptUpdated.ToDto()),
        Delivery.EventOneofCase.TypingChanged => client.TypingChanged(delivery.TypingChanged.ToDto()),
        Delivery.EventOneofCase.PresenceChanged => client.PresenceChanged(delivery.PresenceChanged.ToDto()),
        Delivery.EventOneofCase.GroupChanged => client.GroupChanged(delivery.GroupChanged.ToDto()),
        _ => Task.CompletedTask,
    };
}
