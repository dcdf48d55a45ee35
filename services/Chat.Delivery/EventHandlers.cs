using Chat.Contracts.V1;
using Chat.Core;
using Chat.Core.Routing;
using Chat.Domain;
using Dapr;
using System.Text.Json;
using Dapr.AspNetCore;
using Grpc.Core;

namespace Chat.Delivery;

/// <summary>
/// The subscriptions of the delivery app. A transient failure answers RETRY, so pub/sub
/// redelivers; a redelivered event may reach a client twice, which clients absorb by msg_id.
/// </summary>
public static partial class EventHandlers
{
    public static void MapEventHandlers(this WebApplication app)
    {
        // In bulk: under load, one route read and one publish per gateway serve many messages;
        // a lone message waits at most MaxAwaitDurationMs for company.
        app.MapPost("/events/message-created", OnMessagesCreatedAsync)
            .WithTopic(DaprNames.PubSub, DaprNames.Topics.MessageCreated)
            .WithBulkSubscribe(new BulkSubscribeTopicOptions { TopicName = DaprNames.Topics.MessageCreated, MaxMessagesCount = BulkSize, MaxAwaitDurationMs = BulkAwaitMs });
        app.MapPost("/events/receipt-updated", OnReceiptUpdatedAsync).WithTopic(DaprNames.PubSub, DaprNames.Topics.ReceiptUpdated);
        app.MapPresenceEventHandlers();
        app.MapPost("/events/group-changed", OnGroupChangedAsync).WithTopic(DaprNames.PubSub, DaprNames.Topics.GroupChanged);
        app.MapMediaEventHandlers();
    }

    /// <summary>Most messages per bulk delivery, and how long a first message waits for more.</summary>
    public const int BulkSize = 100;

    public const int BulkAwaitMs = 2;

    private static async Task<BulkSubscribeAppResponse> OnMessagesCreatedAsync(
        BulkSubscribeMessage<JsonElement> bulk, FanOut fanOut, Recipients recipients, IOfflineNotifier offline, ILoggerFactory logs, CancellationToken ct)
    {
        var log = logs.CreateLogger("Chat.Delivery");
        var statuses = new List<BulkSubscribeAppResponseEntry>(bulk.Entries.Count);
        var events = new List<(string EntryId, MessageCreated Event)>(bulk.Entries.Count);
        foreach (var entry in bulk.Entries)
        {
            if (ProtoPubSub.TryParseCloudEvent<MessageCreated>(entry.Event, out var evt))
            {
                events.Add((entry.EntryId, evt));
            }
            else
            {
                LogDropped(log, null, nameof(MessageCreated));
                statuses.Add(new BulkSubscribeAppResponseEntry(entry.EntryId, BulkSubscribeAppResponseStatus.DROP));
            }
        }

        try
        {
            await DeliverAsync(events.Select(e => e.Event).ToList(), fanOut, recipients, offline, ct);
            statuses.AddRange(events.Select(e => new BulkSubscribeAppResponseEntry(e.EntryId, BulkSubscribeAppResponseStatus.SUCCESS)));
        }
        catch (Exception ex) when (ex is RpcException or DaprException or HttpRequestException or TimeoutException)
        {
            LogRetry(log, ex, nameof(MessageCreated));
            statuses.AddRange(events.Select(e => new BulkSubscribeAppResponseEntry(e.EntryId, BulkSubscribeAppResponseStatus.RETRY)));
        }

        return new BulkSubscribeAppResponse(statuses);
    }

    /// <summary>
    /// New messages: to the members' gateways (the members from the event, else from directory),
    /// then a push to the recipients with no live connection. An event marked live_delivered was
    /// delivered to the gateways by the router already (small conversations): only the push to the
    /// users it names is left. Throws what is worth a retry.
    /// </summary>
    public static async Task DeliverAsync(IReadOnlyList<MessageCreated> events, FanOut fanOut, Recipients recipients, IOfflineNotifier offline, CancellationToken ct)
    {
        var toDeliver = new List<(MessageCreated Event, IReadOnlyCollection<string> Members)>(events.Count);
        foreach (var evt in events.Where(e => !e.LiveDelivered))
        {
            toDeliver.Add((evt, evt.MemberIds.Count > 0 ? evt.MemberIds : await recipients.MembersAsync(evt.Message.ConversationId, ct)));
        }

        var offlineOfDelivered = await fanOut.DeliverMessagesAsync(toDeliver, ct);
        var next = 0;
        foreach (var evt in events)
        {
            var offlineRecipients = evt.LiveDelivered
                ? evt.OfflineUserIds.Where(u => u != evt.Message.SenderId).Distinct(StringComparer.Ordinal).ToList()
                : offlineOfDelivered[next++];
            if (offlineRecipients.Count > 0)
            {
                await offline.NotifyAsync(evt, offlineRecipients, ct);
            }
        }
    }

    private static Task<IResult> OnReceiptUpdatedAsync(HttpRequest request, FanOut fanOut, Recipients recipients, ILoggerFactory logs) =>
        Handle(request, logs, async (ReceiptUpdated evt, CancellationToken ct) =>
        {
            var members = evt.MemberIds.Count > 0 ? evt.MemberIds : await recipients.MembersAsync(evt.ConversationId, ct);
            var table = await fanOut.ResolveAsync(members, ct);
            await fanOut.PublishAsync(table, () => new Chat.Contracts.V1.Delivery { ReceiptUpdated = evt }, ct);
        });

    // Members after the change and the users it removed, so a removed member's clients drop the group.
    private static Task<IResult> OnGroupChangedAsync(HttpRequest request, FanOut fanOut, ILoggerFactory logs) =>
        Handle(request, logs, async (GroupChanged evt, CancellationToken ct) =>
        {
            var table = await fanOut.ResolveAsync([.. evt.MemberIds, .. evt.FormerMemberIds], ct);
            await fanOut.PublishAsync(table, () => new Chat.Contracts.V1.Delivery { GroupChanged = evt }, ct);
        });

    private static Task<IResult> Handle<T>(HttpRequest request, ILoggerFactory logs, Func<T, CancellationToken, Task> handler)
        where T : Google.Protobuf.IMessage<T>, new()
    {
        var log = logs.CreateLogger("Chat.Delivery");
        return TopicEvent.HandleAsync<T>(request, async (evt, ct) =>
        {
            try
            {
                await handler(evt, ct);
                return TopicEvent.Success;
            }
            catch (Exception ex) when (ex is RpcException or DaprException or HttpRequestException or TimeoutException)
            {
                LogRetry(log, ex, typeof(T).Name);
                return TopicEvent.Retry;
            }
        }, ex => LogDropped(log, ex, typeof(T).Name));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Dropping a malformed {Event}")]
    private static partial void LogDropped(ILogger logger, Exception? ex, string @event);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivering {Event} failed; asking pub/sub to retry")]
    private static partial void LogRetry(ILogger logger, Exception ex, string @event);
}
