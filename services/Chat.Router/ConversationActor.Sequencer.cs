using Chat.Core;
using Chat.Domain;
using Chat.ServiceDefaults;
using Dapr;
using Dapr.Client;

namespace Chat.Router;

/// <summary>
/// The commit point on a messages store without first-write (Cassandra: no ETags, no
/// conditional writes, through Dapr every save is a blind upsert). Two activations of one
/// conversation (a placement change, a partition) would each write seq N there, and the later
/// write would silently replace a message already acknowledged. So there a seq is taken first by
/// an ETag compare-and-set of the conversation's head (<see cref="ConversationHead"/>: the last seq
/// and its message) in the actor store, which has ETags (daprd requires them of it): one activation
/// wins each seq, the other learns it is behind, catches up and takes the next one. The message
/// key is then written only by the winner, or by whoever catches up from the head (the same
/// bytes), so it is never overwritten with another message. Stores with first-write skip all this.
/// </summary>
public sealed partial class ConversationActor
{
    /// <summary>
    /// How long a quiet conversation's head is kept. After that the next append finds none, probes
    /// the messages store past its header (everything was written long ago) and creates it anew.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, string> HeadTtl = DaprStateMetadata.Ttl(TimeSpan.FromDays(1));

    private bool? _needsHead;

    /// <summary>True when the messages store cannot refuse a second write of a key (no ETags, hence no first-write).</summary>
    private async Task<bool> NeedsHeadAsync() =>
        _needsHead ??= !await components.HasAsync(DaprNames.StateStores.Messages, "ETAG");

    /// <summary>
    /// Takes <paramref name="message"/>'s seq for this activation. False when another activation
    /// took it (or the head is missing and the probe found later messages): this activation has
    /// then caught up, and the caller tries again with the next seq.
    /// </summary>
    private async Task<bool> TakeSeqAsync(StoredMessage message)
    {
        if (!await NeedsHeadAsync())
        {
            return true;
        }

        var (head, etag) = await ReadHeadAsync();
        if (head is null && string.IsNullOrEmpty(etag))
        {
            // No head (a new conversation, or quiet for a day): the messages store is the truth.
            await RepairAsync();
            if (message.Seq != _meta.LastSeq + 1)
            {
                return false;
            }
        }
        else if (head is not null && head.Seq > _meta.LastSeq)
        {
            await RepairAsync();
            return false;
        }

        try
        {
            if (await dapr.TrySaveStateAsync(DaprNames.StateStores.Actors, HeadKey, new ConversationHead(message.Seq, message), etag ?? "",
                new StateOptions { Concurrency = ConcurrencyMode.FirstWrite, Consistency = ConsistencyMode.Strong }, HeadTtl))
            {
                return true;
            }
        }
        catch (DaprException) when (string.IsNullOrEmpty(etag))
        {
            // Created by another activation in the meantime (stores refuse a first-write on an existing key with an error).
        }

        await RepairAsync();
        return false;
    }

    /// <summary>
    /// Part of repair: the head's message is written to the messages store if its writer did not
    /// get that far (it crashed, or is still on its way: the bytes are the same). Every earlier seq
    /// was written before anyone could take the head's seq.
    /// </summary>
    private async Task ArchiveHeadAsync()
    {
        if (!await NeedsHeadAsync())
        {
            return;
        }

        var (head, _) = await ReadHeadAsync();
        if (head is not null && head.Seq > _meta.LastSeq && await ReadMessageAsync(head.Seq) is null)
        {
            await dapr.SaveStateAsync(DaprNames.StateStores.Messages, MessageKeys.Message(ConversationId, head.Seq), head.Message);
        }
    }

    /// <summary>
    /// Where the header is not written in the message's own first-write commit it can move back:
    /// another activation's write of an older header may land after ours. Checked on the outbox
    /// tick, rewritten when behind.
    /// </summary>
    private async Task RestoreHeaderIfBehindAsync()
    {
        if (!await components.EnforcesFirstWriteInTransactionsAsync(DaprNames.StateStores.Messages)
            && await dapr.GetStateAsync<ConversationMeta?>(DaprNames.StateStores.Messages, MessageKeys.Meta(ConversationId)) is { } stored
            && stored.LastSeq < _meta.LastSeq)
        {
            await SaveMetaAsync();
        }
    }

    private string HeadKey => MessageKeys.Head(ConversationId);

    private async Task<(ConversationHead? Head, string? ETag)> ReadHeadAsync()
    {
        var (head, etag) = await dapr.GetStateAndETagAsync<ConversationHead?>(DaprNames.StateStores.Actors, HeadKey, ConsistencyMode.Strong);
        return (head, etag);
    }
}

/// <summary>A conversation's last taken seq and its message, in the actor store (see <see cref="ConversationActor"/>'s sequencer).</summary>
public sealed record ConversationHead(ulong Seq, StoredMessage Message);
