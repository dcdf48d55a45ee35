using System.Text.Json;
using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Dapr.Client;

namespace Chat.Router;

/// <summary>
/// Edits, deletes and reactions: entries of the conversation log like messages (same
/// seq, dedup, outbox), which also rewrite their target so history shows its current state. The
/// target's new state is written with the entry: in the same transaction where the store has them,
/// else right after the entry, and again by crash repair (applying the newest entry is idempotent).
/// A target is rewritten with the ETag it was read with: message keys are saved first-write, and
/// state.redis then refuses a later save of the key without its ETag.
/// </summary>
public sealed partial class ConversationActor
{
    // Set for the duration of one lifecycle append: the records to write with the entry (and the ETags they were read with), given the entry.
    private Func<StoredMessage, IReadOnlyList<(StoredMessage Message, string? ETag)>>? _lifecycleWrites;

    public async Task<LifecycleResult> ApplyLifecycleAsync(LifecycleRequest request)
    {
        var append = new AppendMessageRequest(request.SenderId, request.SenderDeviceId, request.ClientMsgId, request.Text, null, 0, false,
            request.SenderConnectionId, request.EntryKind, request.TargetSeq);
        await FlushPendingDedupAsync();
        if (await FindDuplicateAsync(append) is { } original)
        {
            return new LifecycleResult(original, Duplicate: true);
        }

        var (target, targetETag) = request.TargetSeq is > 0 && await IsAppendedAsync(request.TargetSeq)
            ? await ReadMessageWithETagAsync(request.TargetSeq)
            : (null, null);
        if (Lifecycle.Check(request, target, DateTimeOffset.UtcNow) is { } refused)
        {
            return new LifecycleResult(null, false, refused.Code, refused.Message);
        }

        // A delete erases the text its edits carried too.
        var erased = request.EntryKind == (int)MessageKind.Delete ? await ErasedEditsAsync(target!) : [];
        _lifecycleWrites = entry => [(Lifecycle.Apply(target!, entry), targetETag), .. erased];
        try
        {
            var result = await AppendCheckedAsync(append, request.MemberIds);
            return new LifecycleResult(result.Message, result.Duplicate);
        }
        finally
        {
            _lifecycleWrites = null;
        }
    }

    /// <summary>The target's new state (and erased edits) as transaction operations; none for an ordinary message.</summary>
    private IEnumerable<StateTransactionRequest> LifecycleOperations(StoredMessage entry)
    {
        if (_lifecycleWrites is null || entry.EntryKind == 0)
        {
            return [];
        }

        var json = dapr.JsonSerializerOptions;
        return _lifecycleWrites(entry).Select(w => new StateTransactionRequest(
            MessageKeys.Message(ConversationId, w.Message.Seq), JsonSerializer.SerializeToUtf8Bytes(w.Message, json), StateOperationType.Upsert, w.ETag));
    }

    /// <summary>Without transactions: the target's new state, written after the entry (repair redoes it after a crash).</summary>
    private async Task SaveLifecycleWritesAsync(StoredMessage entry)
    {
        if (_lifecycleWrites is null || entry.EntryKind == 0)
        {
            return;
        }

        await SaveRewritesAsync(_lifecycleWrites(entry));
    }

    /// <summary>Crash repair of an entry found past the header: its target may not have been written yet.</summary>
    private async Task ReapplyLifecycleAsync(StoredMessage orphan)
    {
        if (orphan.EntryKind == 0 || await ReadMessageWithETagAsync(orphan.TargetSeq) is not ({ } target, var etag))
        {
            return;
        }

        await SaveRewritesAsync([(Lifecycle.Apply(target, orphan), etag),
            .. orphan.EntryKind == (int)MessageKind.Delete ? await ErasedEditsAsync(target) : []]);
    }

    /// <summary>A deleted message's edits, with their text erased.</summary>
    private async Task<List<(StoredMessage Message, string? ETag)>> ErasedEditsAsync(StoredMessage target)
    {
        var erased = new List<(StoredMessage, string?)>();
        foreach (var seq in target.EditSeqs ?? [])
        {
            if (await ReadMessageWithETagAsync(seq) is ({ } edit, var etag))
            {
                erased.Add((Lifecycle.Erase(edit), etag));
            }
        }

        return erased;
    }

    /// <summary>
    /// Rewrites of stored messages, each with the ETag it was read with. A refused one was rewritten by
    /// another activation of this conversation in the meantime: its entry stays, its effect on the target is that activation's.
    /// </summary>
    private async Task SaveRewritesAsync(IEnumerable<(StoredMessage Message, string? ETag)> rewrites)
    {
        foreach (var (message, etag) in rewrites)
        {
            var key = MessageKeys.Message(ConversationId, message.Seq);
            if (etag is null)
            {
                await dapr.SaveStateAsync(DaprNames.StateStores.Messages, key, message);
            }
            else
            {
                await dapr.TrySaveStateAsync(DaprNames.StateStores.Messages, key, message, etag);
            }
        }
    }

    /// <summary>A stored message and its ETag (null where the store has none).</summary>
    private async Task<(StoredMessage? Message, string? ETag)> ReadMessageWithETagAsync(ulong seq)
    {
        var (message, etag) = await dapr.GetStateAndETagAsync<StoredMessage?>(DaprNames.StateStores.Messages, MessageKeys.Message(ConversationId, seq));
        return (message, string.IsNullOrEmpty(etag) ? null : etag);
    }
}
