using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Core;
using Chat.Core.Routing;
using Dapr.Actors.Runtime;
using Dapr;
using System.Text.Json;
using Chat.ServiceDefaults;
using Dapr.Client;
using Grpc.Core;

namespace Chat.Router;

/// <summary>
/// One per conversation. Appends run one at a time (Dapr's turn-based actors), so the next seq
/// is always last + 1. The message key is the commit point (first-write: a seq is never
/// overwritten, not even by a stale activation of this conversation elsewhere). Where the store's
/// transactions enforce first-write (SQLite, PostgreSQL: the metadata API names the type), one
/// transaction writes the message, its dedup entry, the header and the sender's cursor: one
/// commit per send, and a repeated client_msg_id is refused by its first-write of the dedup key:
/// only then is the original read. Where they do not (components-contrib's redis applies
/// first-write to single saves only) the message key is saved alone, first-write, and the rest
/// follows in one transaction; the dedup key is read before each append. Without transactions
/// (Cassandra) the writes are ordered the same way, message first. Either way a crash in between
/// is repaired on activation. A store without first-write at all gets its seqs taken through the
/// head in the actor store first (see ConversationActor.Sequencer.cs). The publish follows the
/// commit; the outbox (the header's published seq plus a reminder) republishes after a crash.
/// In conversations of at most <see cref="LiveDeliveryMaxMembers"/> members the publish is the
/// live delivery itself: the actor publishes the gateways' batches and leaves only the offline
/// members' push to delivery. The members connected to the sender's own gateway get no batch: the
/// answer names them and that gateway delivers to them, one pub/sub hop less for each of them.
/// </summary>
public sealed partial class ConversationActor(
    ActorHost host, DaprClient dapr, DaprComponentCapabilities components, LeasedSnowflakeIds ids, RouterFaults faults,
    DirectoryInternalService.DirectoryInternalServiceClient directory, FanOut fanOut, TimeProvider time, ILogger<ConversationActor> log)
    : Actor(host), IConversationActor, IRemindable
{
    /// <summary>The outbox reminder: fires while the conversation is active or anything is unpublished.</summary>
    public const string OutboxReminder = "outbox";

    private static readonly TimeSpan OutboxPeriod = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Conversations with at most this many members (every direct chat, small groups) have their
    /// messages delivered to the gateways by the actor: one pub/sub hop, delivery's CPU and its bulk
    /// wait less per message. Larger groups go through delivery, whose bulk subscription serves many
    /// messages with one route read and one publish per gateway, and the actor's turn (which holds
    /// the conversation's next send) stays one publish long however big the group.
    /// </summary>
    public const int LiveDeliveryMaxMembers = 32;

    // Only another activation appending at the same moment takes a seq first; give up (the send fails and is retried) after this many.
    private const int MaxSeqsTakenElsewhere = 50;

    private readonly ILogger _logger = log;
    private readonly List<StoredMessage> _pendingDedup = [];

    // Messages appended in this activation and not yet published, with the members the actor holds:
    // published from memory, so neither the message nor the membership is read again.
    private readonly Dictionary<ulong, (StoredMessage Message, IReadOnlyList<string> MemberIds, string SenderConnectionId)> _unpublished = [];
    private ConversationMeta _meta = new(0, 0, 0, null);
    private ConversationMeta? _savedMeta;
    private bool _reminderRegistered;
    private bool _appendedSinceTick;

    private string ConversationId => Id.GetId();

    protected override async Task OnActivateAsync()
    {
        _savedMeta = await dapr.GetStateAsync<ConversationMeta?>(DaprNames.StateStores.Messages, MessageKeys.Meta(ConversationId));
        _meta = _savedMeta ?? new ConversationMeta(Epoch: (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 0, 0, null);
        await RepairAsync();
    }

    public async Task<AppendMessageResult> AppendAsync(AppendMessageRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (checkedRequest, members, refused) = await CheckSendAsync(request);
        if (refused is not null)
        {
            return AppendMessageResult.Refuse(refused);
        }

        var result = await AppendCheckedAsync(checkedRequest, members!);
        return result.Duplicate ? result with { LocalRecipients = await LocalRecipientsAsync(checkedRequest, members!) } : result;
    }

    /// <summary>
    /// For a repeated send through a gateway: the members connected there, since the answer to the
    /// first one (and with it their live delivery) may have been lost. They may get the message twice;
    /// clients drop the copy by msg_id.
    /// </summary>
    private async Task<IReadOnlyList<string>> LocalRecipientsAsync(AppendMessageRequest request, IReadOnlyList<string> members)
    {
        if (request.GatewayInstanceId.Length == 0 || members.Count is 0 or > LiveDeliveryMaxMembers)
        {
            return [];
        }

        try
        {
            return await fanOut.ConnectedToAsync(members, request.GatewayInstanceId, CancellationToken.None);
        }
        catch (Exception ex) when (ex is DaprException or HttpRequestException or RpcException or TimeoutException)
        {
            LogRepeatRouteReadFailed(ex, ConversationId, request.ClientMsgId);
            return [];
        }
    }

    /// <summary>Appends an entry the caller has checked, for <paramref name="members"/> (who get it live).</summary>
    private async Task<AppendMessageResult> AppendCheckedAsync(AppendMessageRequest request, IReadOnlyList<string> members)
    {
        var transactional = await components.HasAsync(DaprNames.StateStores.Messages, "TRANSACTIONAL");
        var oneCommit = await components.EnforcesFirstWriteInTransactionsAsync(DaprNames.StateStores.Messages);
        await FlushPendingDedupAsync();
        if (!oneCommit && await FindDuplicateAsync(request) is { } original)
        {
            return new AppendMessageResult(original, Duplicate: true);
        }

        // Registered before the write, so a crash after it still gets the message published.
        await EnsureOutboxReminderAsync();
        _appendedSinceTick = true;

        StoredMessage message;
        for (int attempt = 0, taken = 0; ; attempt++)
        {
            var now = DateTimeOffset.UtcNow;
            message = new StoredMessage(ConversationId, _meta.LastSeq + 1, (ulong)ids.Next().Value, request.SenderId, request.SenderDeviceId,
                request.ClientMsgId, request.Text, request.Attachment, request.ReplyToSeq, request.Opaque, now)
            {
                EntryKind = request.EntryKind,
                TargetSeq = request.TargetSeq,
                LifecycleCount = _meta.LifecycleCount + (request.EntryKind == 0 ? 0ul : 1ul),
            };
            if (!await TakeSeqAsync(message))
            {
                // Another activation of this conversation took the seq; caught up, so maybe with this very send.
                if (await FindDuplicateAsync(request) is { } elsewhere)
                {
                    return new AppendMessageResult(elsewhere, Duplicate: true);
                }

                if (++taken >= MaxSeqsTakenElsewhere)
                {
                    throw new InvalidOperationException($"Conversation {ConversationId}: {taken} seqs in a row were taken by another activation.");
                }

                attempt--;
                continue;
            }

            try
            {
                if (oneCommit)
                {
                    await dapr.ExecuteStateTransactionAsync(DaprNames.StateStores.Messages, [.. CommitOperations(message, _meta.After(message), withMessage: true)]);
                }
                else
                {
                    // First-write: never overwrite a seq, even if an earlier write timed out but landed,
                    // or another activation of this conversation (one that is behind) took it.
                    await dapr.SaveStateAsync(DaprNames.StateStores.Messages, MessageKeys.Message(ConversationId, message.Seq), message,
                        new StateOptions { Concurrency = ConcurrencyMode.FirstWrite });
                }

                break;
            }
            catch (DaprException) when (attempt < 3)
            {
                // The dedup key (a retry of a stored message) or the message key (written before a
                // crash, header not yet, or by another activation) exists: find out which.
                if (oneCommit && await FindDuplicateAsync(request) is { } stored && stored.Seq <= _meta.LastSeq)
                {
                    return new AppendMessageResult(stored, Duplicate: true);
                }

                await RepairAsync();
                if (await FindDuplicateAsync(request) is { } landed)
                {
                    return new AppendMessageResult(landed, Duplicate: false);
                }
            }
        }

        _meta = _meta.After(message);
        _unpublished[message.Seq] = (message, members, request.SenderConnectionId);
        if (oneCommit)
        {
            _savedMeta = _meta;
        }
        else if (transactional)
        {
            // Stored; until the rest lands its dedup entry is pending (a retry must find it).
            _pendingDedup.Add(message);
            await dapr.ExecuteStateTransactionAsync(DaprNames.StateStores.Messages, [.. CommitOperations(message, _meta, withMessage: false)]);
            _pendingDedup.Remove(message);
            _savedMeta = _meta;
        }
        else
        {
            _pendingDedup.Add(message);
            await FlushPendingDedupAsync();
            await SaveLifecycleWritesAsync(message);
            // Saved before the publish: a recipient's receipt for this seq must find it in the header.
            await SaveMetaAsync();
            await SaveSenderCursorAsync(message);
        }

        faults.AfterSaveBeforePublish?.Invoke(message);
        var local = await PublishPendingAsync(request.GatewayInstanceId, message.Seq);
        return new AppendMessageResult(message, Duplicate: false) { LocalRecipients = local };
    }

    public async Task ReceiveReminderAsync(string reminderName, byte[] state, TimeSpan dueTime, TimeSpan period)
    {
        if (reminderName != OutboxReminder)
        {
            return;
        }

        if (_meta.PublishedSeq < _meta.LastSeq)
        {
            await PublishPendingAsync();
            return;
        }

        await RestoreHeaderIfBehindAsync();

        // Kept while the conversation is busy (registering it costs a write); dropped after a quiet
        // period, once the header on disk says everything is published.
        if (_appendedSinceTick)
        {
            _appendedSinceTick = false;
            return;
        }

        if (_savedMeta != _meta)
        {
            // This activation may be stale (its router's sidecar restarted, another router took the
            // conversation over and appended, then gave it back): catch up before writing the header,
            // or its older one would hide every later message from history. Caught up, it republishes: the next tick settles.
            if (await IsAppendedAsync(_meta.LastSeq + 1))
            {
                return;
            }

            await SaveMetaAsync();
        }

        await UnregisterReminderAsync(OutboxReminder);
        _reminderRegistered = false;
    }

    /// <summary>
    /// Dedup entry, message (when it is not saved on its own first), header <paramref name="meta"/> (with the published seq as
    /// far as known: after a crash, at most the messages since are published again, which clients
    /// absorb by msg_id), the sender's cursor and an edit's or delete's target: one commit.
    /// The cursor is written blind: receipts never pass the last seq, which this message is.
    /// </summary>
    private IEnumerable<StateTransactionRequest> CommitOperations(StoredMessage message, ConversationMeta meta, bool withMessage)
    {
        var json = dapr.JsonSerializerOptions;
        var firstWrite = new StateOptions { Concurrency = ConcurrencyMode.FirstWrite };
        yield return new StateTransactionRequest(MessageKeys.Dedup(ConversationId, message.SenderId, message.ClientMsgId),
            JsonSerializer.SerializeToUtf8Bytes(new DedupEntry(message.Seq, message.MsgId), json), StateOperationType.Upsert,
            metadata: DedupTtl, options: firstWrite);
        if (withMessage)
        {
            yield return new StateTransactionRequest(MessageKeys.Message(ConversationId, message.Seq), JsonSerializer.SerializeToUtf8Bytes(message, json),
                StateOperationType.Upsert, options: firstWrite);
        }

        yield return new StateTransactionRequest(MessageKeys.Meta(ConversationId),
            JsonSerializer.SerializeToUtf8Bytes(meta, json), StateOperationType.Upsert);
        yield return new StateTransactionRequest(MessageKeys.Cursor(ConversationId, message.SenderId),
            JsonSerializer.SerializeToUtf8Bytes(new StoredCursor(message.Seq, message.Seq, message.SentAt), json), StateOperationType.Upsert);
        foreach (var operation in LifecycleOperations(message))
        {
            yield return operation;
        }
    }

    /// <summary>
    /// Finds messages written after the last saved header (a crash between the message write and
    /// the header write), restores their dedup entries, then publishes whatever is unpublished.
    /// </summary>
    private async Task RepairAsync()
    {
        await ArchiveHeadAsync();
        var repaired = false;
        while (await ReadMessageAsync(_meta.LastSeq + 1) is { } orphan)
        {
            await SaveDedupAsync(orphan);
            await ReapplyLifecycleAsync(orphan);
            _meta = _meta.After(orphan);
            repaired = true;
        }

        if (repaired)
        {
            LogRepaired(ConversationId, _meta.LastSeq);
            await SaveMetaAsync();
        }

        if (_meta.PublishedSeq < _meta.LastSeq)
        {
            await EnsureOutboxReminderAsync();
            await PublishPendingAsync();
        }
    }

    /// <summary>
    /// True when <paramref name="seq"/> is in the log. Past this activation's last seq it may still
    /// be, appended by another activation (this one is stale): catch up before saying no.
    /// </summary>
    private async Task<bool> IsAppendedAsync(ulong seq)
    {
        if (seq > _meta.LastSeq)
        {
            await RepairAsync();
        }

        return seq <= _meta.LastSeq;
    }

    /// <summary>
    /// Publishes every stored message past the published seq; the header catches up with the next
    /// write. Message <paramref name="callerSeq"/> is not published to <paramref name="callerGateway"/>:
    /// its members there are returned, for the caller to deliver.
    /// </summary>
    private async Task<IReadOnlyList<string>> PublishPendingAsync(string callerGateway = "", ulong callerSeq = 0)
    {
        IReadOnlyList<string> kept = [];
        try
        {
            while (_meta.PublishedSeq < _meta.LastSeq)
            {
                var seq = _meta.PublishedSeq + 1;
                // After a crash the members are unknown: delivery then asks directory.
                var (message, members, connection) = _unpublished.TryGetValue(seq, out var known)
                    ? known
                    : (await ReadMessageAsync(seq), [], "");
                if (message is not null)
                {
                    var created = FanOut.Created(message, connection);
                    created.MemberIds.AddRange(members);
                    var here = await HandOnAsync(created, seq == callerSeq ? callerGateway : "");
                    if (seq == callerSeq)
                    {
                        kept = here;
                    }

                    if (HasBotRecipient(members, message.SenderId))
                    {
                        await dapr.PublishProtoAsync(DaprNames.PubSub, DaprNames.Topics.BotMessageCreated, created);
                    }
                }

                _unpublished.Remove(seq);
                _meta = _meta with { PublishedSeq = seq };
            }
        }
        catch (Exception ex) when (ex is DaprException or HttpRequestException)
        {
            // Stored but not yet published: the outbox reminder retries.
            LogPublishFailed(ex, ConversationId, _meta.PublishedSeq + 1);
            await EnsureOutboxReminderAsync();
        }

        return kept;
    }

    /// <summary>
    /// Hands one message on. With its members known and few: straight to the gateways of the
    /// connected ones (as delivery would), then to delivery, marked live_delivered, only if someone
    /// has no connection (their push). Otherwise, or if the route read or a gateway publish fails,
    /// the whole event to delivery, which does both (a gateway that got its batch may get the
    /// message twice; clients drop the copy by msg_id). Throws if that publish fails: the outbox retries.
    /// Returns the connected members of <paramref name="callerGateway"/> that were left to it.
    /// </summary>
    private async Task<IReadOnlyList<string>> HandOnAsync(MessageCreated created, string callerGateway)
    {
        if (created.MemberIds.Count is > 0 and <= LiveDeliveryMaxMembers)
        {
            IReadOnlyList<string> offline, kept;
            try
            {
                (offline, kept) = await fanOut.DeliverMessageAsync(created, created.MemberIds, callerGateway, CancellationToken.None);
            }
            catch (Exception ex) when (ex is DaprException or HttpRequestException or RpcException or TimeoutException)
            {
                LogLiveDeliveryFailed(ex, ConversationId, created.Message.Seq);
                await dapr.PublishProtoAsync(DaprNames.PubSub, DaprNames.Topics.MessageCreated, created);
                return [];
            }

            if (offline.Count > 0)
            {
                var forPush = created.Clone();
                forPush.LiveDelivered = true;
                forPush.OfflineUserIds.AddRange(offline);
                await dapr.PublishProtoAsync(DaprNames.PubSub, DaprNames.Topics.MessageCreated, forPush);
            }

            return kept;
        }

        await dapr.PublishProtoAsync(DaprNames.PubSub, DaprNames.Topics.MessageCreated, created);
        return [];
    }

    /// <summary>Bots never trigger bots; after a crash (members unknown) the bots app could not route it anyway.</summary>
    private static bool HasBotRecipient(IReadOnlyList<string> members, string senderId) =>
        !Identifiers.IsBot(senderId) && members.Any(Identifiers.IsBot);

    private async Task<StoredMessage?> FindDuplicateAsync(AppendMessageRequest request)
    {
        var seen = await dapr.GetStateAsync<DedupEntry?>(DaprNames.StateStores.Messages, MessageKeys.Dedup(ConversationId, request.SenderId, request.ClientMsgId));
        return seen is null ? null : await ReadMessageAsync(seen.Seq);
    }

    /// <summary>Dedup entries of stored messages whose dedup write failed; written before the next append.</summary>
    private async Task FlushPendingDedupAsync()
    {
        while (_pendingDedup.Count > 0)
        {
            await SaveDedupAsync(_pendingDedup[0]);
            _pendingDedup.RemoveAt(0);
        }
    }

    private async Task EnsureOutboxReminderAsync()
    {
        if (!_reminderRegistered)
        {
            await RegisterReminderAsync(OutboxReminder, [], OutboxPeriod, OutboxPeriod);
            _reminderRegistered = true;
        }
    }

    private Task<StoredMessage?> ReadMessageAsync(ulong seq) =>
        dapr.GetStateAsync<StoredMessage?>(DaprNames.StateStores.Messages, MessageKeys.Message(ConversationId, seq));

    private static readonly IReadOnlyDictionary<string, string> DedupTtl = DaprStateMetadata.Ttl(MessageKeys.DedupRetention);

    private Task SaveDedupAsync(StoredMessage message) =>
        dapr.SaveStateAsync(DaprNames.StateStores.Messages, MessageKeys.Dedup(ConversationId, message.SenderId, message.ClientMsgId),
            new DedupEntry(message.Seq, message.MsgId), metadata: DedupTtl);

    private async Task SaveMetaAsync()
    {
        var meta = _meta;
        await dapr.SaveStateAsync(DaprNames.StateStores.Messages, MessageKeys.Meta(ConversationId), meta);
        _savedMeta = meta;
    }

    /// <summary>The sender has seen their own message: their cursors move with it, so it never counts as unread.</summary>
    private Task SaveSenderCursorAsync(StoredMessage message) =>
        dapr.SaveStateAsync(DaprNames.StateStores.Messages, MessageKeys.Cursor(ConversationId, message.SenderId), new StoredCursor(message.Seq, message.Seq, message.SentAt));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Conversation {ConversationId}: recovered messages up to seq {Seq} written before a crash")]
    private partial void LogRepaired(string conversationId, ulong seq);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Conversation {ConversationId}: live delivery of seq {Seq} failed; handing it to delivery")]
    private partial void LogLiveDeliveryFailed(Exception ex, string conversationId, ulong seq);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Conversation {ConversationId}: the route read for repeated send {ClientMsgId} failed; its members on the sender's gateway get it at their next sync")]
    private partial void LogRepeatRouteReadFailed(Exception ex, string conversationId, string clientMsgId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Conversation {ConversationId}: publishing seq {Seq} failed; the outbox reminder will retry")]
    private partial void LogPublishFailed(Exception ex, string conversationId, ulong seq);
}

/// <summary>
/// Fault hooks for the reliability tests: code that runs at a named point and may throw or end
/// the process. Null in normal runs; set only by tests.
/// </summary>
public sealed class RouterFaults
{
    public Action<StoredMessage>? AfterSaveBeforePublish { get; set; }
}
