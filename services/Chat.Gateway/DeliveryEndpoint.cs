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

    public static void MapDeliveries(this WebApplication app)
    {
        var instance = app.Services.GetRequiredService<GatewayInstance>();
        app.MapPost(Route, HandleAsync).WithTopic(DaprNames.PubSub, DaprNames.Topics.Deliveries(instance.Id));
    }

    private static async Task<IResult> HandleAsync(HttpRequest request, IHubContext<ChatHub, IChatClient> hub, LocalConnections connections, PresenceWatches watches)
    {
        using var reader = new StreamReader(request.Body);
        var batch = ProtoPubSub.ParseProto<DeliveryBatch>(await reader.ReadToEndAsync());
        foreach (var delivery in batch.Deliveries)
        {
            var excluded = delivery.ExcludeConnectionIds.ToHashSet(StringComparer.Ordinal);
            var targets = new List<string>();
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

            var clients = hub.Clients.Clients(targets);
            await (delivery.EventCase switch
            {
                Delivery.EventOneofCase.MessageCreated => clients.MessageReceived(delivery.MessageCreated.Message.ToDto()),
                Delivery.EventOneofCase.ReceiptUpdated => clients.ReceiptUpdated(delivery.ReceiptUpdated.ToDto()),
                Delivery.EventOneofCase.TypingChanged => clients.TypingChanged(delivery.TypingChanged.ToDto()),
                Delivery.EventOneofCase.PresenceChanged => clients.PresenceChanged(delivery.PresenceChanged.ToDto()),
                Delivery.EventOneofCase.GroupChanged => clients.GroupChanged(delivery.GroupChanged.ToDto()),
                _ => Task.CompletedTask,
            });
        }

        return Results.Ok();
    }
}
