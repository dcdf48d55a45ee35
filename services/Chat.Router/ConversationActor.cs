using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Core;
using Chat.ServiceDefaults;
using Dapr.Actors.Runtime;
using Dapr;
using Dapr.Client;

namespace Chat.Router;

/// <summary>
/// One per conversation. Appends run one at a time (Dapr's turn-based actors), so the next seq
/// is always last + 1. The message key is the commit point and is written before anything
/// else; the header, the dedup entry and the publish follow, and all of them are repaired on
/// activation and by the outbox reminder if the process dies in between. No actor state is
/// needed: the messages store (Cassandra in production, no transactions) holds everything.
/// </summary>
public sealed partial class ConversationActor(ActorHost host, DaprClient dapr, LeasedSnowflakeIds ids, RouterFaults faults, ILogger<ConversationActor> log)
    : Actor(host), IConversationActor, IRemindable
{
    /// <summary>The outbox reminder: fires until every stored message is published.</summary>
    public const string OutboxReminder = "outbox";

    private static readonly TimeSpan OutboxPeriod = TimeSpan.FromSeconds(5);

    private readonly ILogger _logger = log;
    private readonly List<StoredMessage> _pendingDedup = [];

    // Messages appended in this activation and not yet published, with the members messaging sent:
    // published from memory, so neither the message nor the membership is read again.
    private readonly Dictionary<ulong, (StoredMessage Message, IReadOnlyList<string> MemberIds)> _unpublished = [];
    private ConversationMeta _meta = new(0, 0, 0, null);
    private bool _reminderRegistered;

    private string ConversationId => Id.GetId();

    protected override async Task OnActivateAsync()
    {
        _meta = await dapr.GetStateAsync<ConversationMeta?>(DaprNames.StateStores.Messages, MessageKeys.Meta(ConversationId))
            ?? new ConversationMeta(Epoch: (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 0, 0, null);
        await RepairAsync();
    }

    public async Task<AppendMessageResult> AppendAsync(AppendMessageRequest request)
    {
        await FlushPendingDedupAsync();
        if (await FindDuplicateAsync(request) is { } original)
        {
            return new AppendMessageResult(original, Duplicate: true);
        }

        // Registered before the write, so a crash after it still gets the message published.
        await EnsureOutboxReminderAsync();

        StoredMessage message;
        for (var attempt = 0; ; attempt++)
        {
            var now = DateTimeOffset.UtcNow;
            message = new StoredMessage(ConversationId, _meta.LastSeq + 1, (ulong)ids.Next().Value, request.SenderId, request.SenderDeviceId,
                request.ClientMsgId, request.Text, request.Attachment, request.ReplyToSeq, request.Opaque, now);
            try
            {
                // First-write: never overwrite a seq, even if an earlier write timed out but landed.
                await dapr.SaveStateAsync(DaprNames.StateStores.Messages, MessageKeys.Message(ConversationId, message.Seq), message,
                    new StateOptions { Concurrency = ConcurrencyMode.FirstWrite });
                break;
            }
            catch (DaprException) when (attempt < 3)
            {
                await RepairAsync();
                if (await FindDuplicateAsync(request) is { } landed)
                {
                    return new AppendMessageResult(landed, Duplicate: false);
                }
            }
        }

        _meta = _meta with { LastSeq = message.Seq, LastMessageAt = message.SentAt };
        _unpublished[message.Seq] = (message, request.MemberIds);
        _pendingDedup.Add(message);
        await FlushPendingDedupAsync();
        // Saved before the publish: a recipient's receipt for this seq must find it in the header.
        await SaveMetaAsync();

        faults.AfterSaveBeforePublish?.Invoke(message);
        await PublishPendingAsync();
        return new AppendMessageResult(message, Duplicate: false);
    }

    public Task<ConversationMeta> GetMetaAsync() => Task.FromResult(_meta);

    public async Task ReceiveReminderAsync(string reminderName, byte[] state, TimeSpan dueTime, TimeSpan period)
    {
        if (reminderName != OutboxReminder)
        {
            return;
        }

        await RepairAsync();
        if (_meta.PublishedSeq >= _meta.LastSeq)
        {
            await UnregisterReminderAsync(OutboxReminder);
            _reminderRegistered = false;
        }
    }

    /// <summary>
    /// Finds messages written after the last saved header (a crash between the message write and
    /// the header write), restores their dedup entries, then publishes whatever is unpublished.
    /// </summary>
    private async Task RepairAsync()
    {
        var repaired = false;
        while (await ReadMessageAsync(_meta.LastSeq + 1) is { } orphan)
        {
            await SaveDedupAsync(orphan);
            _meta = _meta with { LastSeq = orphan.Seq, LastMessageAt = orphan.SentAt };
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

    private async Task PublishPendingAsync()
    {
        try
        {
            while (_meta.PublishedSeq < _meta.LastSeq)
            {
                var seq = _meta.PublishedSeq + 1;
                // After a crash the members are unknown: delivery then asks directory.
                var (message, members) = _unpublished.TryGetValue(seq, out var known)
                    ? known
                    : (await ReadMessageAsync(seq), []);
                if (message is not null)
                {
                    var kind = ConversationId.StartsWith(Chat.Domain.ConversationId.GroupPrefix, StringComparison.Ordinal)
                        ? ConversationKind.Group
                        : ConversationKind.Direct;
                    var created = new MessageCreated { Message = message.ToContract(), Kind = kind };
                    created.MemberIds.AddRange(members);
                    await dapr.PublishProtoAsync(DaprNames.PubSub, DaprNames.Topics.MessageCreated, created);
                }

                _unpublished.Remove(seq);
                _meta = _meta with { PublishedSeq = seq };
            }

            await SaveMetaAsync();
        }
        catch (Exception ex) when (ex is DaprException or HttpRequestException)
        {
            // Stored but not yet published: the outbox reminder retries.
            LogPublishFailed(ex, ConversationId, _meta.PublishedSeq + 1);
            await SaveMetaAsync();
        }
    }

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

    private Task SaveDedupAsync(StoredMessage message) =>
        dapr.SaveStateAsync(DaprNames.StateStores.Messages, MessageKeys.Dedup(ConversationId, message.SenderId, message.ClientMsgId),
            new DedupEntry(message.Seq, message.MsgId),
            metadata: new Dictionary<string, string> { ["ttlInSeconds"] = ((int)MessageKeys.DedupRetention.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) });

    private Task SaveMetaAsync() => dapr.SaveStateAsync(DaprNames.StateStores.Messages, MessageKeys.Meta(ConversationId), _meta);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Conversation {ConversationId}: recovered messages up to seq {Seq} written before a crash")]
    private partial void LogRepaired(string conversationId, ulong seq);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Conversation {ConversationId}: publishing seq {Seq} failed; the outbox reminder will retry")]
    private partial void LogPublishFailed(Exception ex, string conversationId, ulong seq);
}

/// <summary>
/// Fault hooks for the reliability tests: code that runs at a named point and may throw or end
/// the process. Null in normal runs; set only by tests (or <c>CHAT_FAULT_EXIT_AFTER_SAVE=1</c>).
/// </summary>
public sealed class RouterFaults
{
    public Action<StoredMessage>? AfterSaveBeforePublish { get; set; }
}
