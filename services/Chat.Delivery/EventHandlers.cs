using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Dapr;
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
        app.MapPost("/events/message-created", OnMessageCreatedAsync).WithTopic(DaprNames.PubSub, DaprNames.Topics.MessageCreated);
        app.MapPost("/events/receipt-updated", OnReceiptUpdatedAsync).WithTopic(DaprNames.PubSub, DaprNames.Topics.ReceiptUpdated);
        app.MapPresenceEventHandlers();
        app.MapPost("/events/group-changed", OnGroupChangedAsync).WithTopic(DaprNames.PubSub, DaprNames.Topics.GroupChanged);
    }

    private static Task<IResult> OnMessageCreatedAsync(HttpRequest request, FanOut fanOut, Recipients recipients, IOfflineNotifier offline, ILoggerFactory logs) =>
        Handle(request, logs, async (MessageCreated evt, CancellationToken ct) =>
        {
            var members = evt.MemberIds.Count > 0 ? evt.MemberIds : await recipients.MembersAsync(evt.Message.ConversationId, ct);
            // The sender is included: their other devices show the message too.
            var table = await fanOut.ResolveAsync(members, ct);
            await fanOut.PublishAsync(table, () => new Chat.Contracts.V1.Delivery
            {
                MessageCreated = evt,
                ExcludeConnectionIds = { evt.SenderConnectionId.Length > 0 ? [evt.SenderConnectionId] : [] },
            }, ct);
            var offlineRecipients = table.Offline.Where(u => u != evt.Message.SenderId).ToList();
            if (offlineRecipients.Count > 0)
            {
                await offline.NotifyAsync(evt, offlineRecipients, ct);
            }
        });

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

    private static async Task<IResult> Handle<T>(HttpRequest request, ILoggerFactory logs, Func<T, CancellationToken, Task> handler)
        where T : Google.Protobuf.IMessage<T>, new()
    {
        var log = logs.CreateLogger("Chat.Delivery");
        T evt;
        try
        {
            using var reader = new StreamReader(request.Body);
            evt = ProtoPubSub.ParseProto<T>(await reader.ReadToEndAsync(request.HttpContext.RequestAborted));
        }
        catch (Google.Protobuf.InvalidProtocolBufferException ex)
        {
            // A malformed event never becomes valid: drop it (to the dead-letter topic if configured).
            LogDropped(log, ex, typeof(T).Name);
            return Results.Ok(new { status = "DROP" });
        }

        try
        {
            await handler(evt, request.HttpContext.RequestAborted);
            return Results.Ok(new { status = "SUCCESS" });
        }
        catch (Exception ex) when (ex is RpcException or DaprException or HttpRequestException or TimeoutException)
        {
            LogRetry(log, ex, typeof(T).Name);
            return Results.Ok(new { status = "RETRY" });
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Dropping a malformed {Event}")]
    private static partial void LogDropped(ILogger logger, Exception ex, string @event);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivering {Event} failed; asking pub/sub to retry")]
    private static partial void LogRetry(ILogger logger, Exception ex, string @event);
}
