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
/// </summary>
public sealed partial class ConversationActor
{
    // Set for the duration of one lifecycle append: the records to write with the entry, given the entry.
    private Func<StoredMessage, IReadOnlyList<StoredMessage>>? _lifecycleWrites;

    public async Task<LifecycleResult> ApplyLifecycleAsync(LifecycleRequest request)
    {
        var append = new AppendMessageRequest(request.SenderId, request.SenderDeviceId, request.ClientMsgId, request.Text, null, 0, false,
            request.SenderConnectionId, request.EntryKind, request.TargetSeq);
        await FlushPendingDedupAsync();
        if (await FindDuplicateAsync(append) is { } original)
        {
            return new LifecycleResult(original, Duplicate: true);
        }

        var target = request.TargetSeq is > 0 && request.TargetSeq <= _meta.LastSeq ? await ReadMessageAsync(request.TargetSeq) : null;
        if (Lifecycle.Check(request, target, DateTimeOffset.UtcNow) is { } refused)
        {
            return new LifecycleResult(null, false, refused.Code, refused.Message);
        }

        // A delete erases the text its edits carried too.
        var erased = new List<StoredMessage>();
        if (request.EntryKind == (int)MessageKind.Delete)
        {
            foreach (var seq in target!.EditSeqs ?? [])
            {
                if (await ReadMessageAsync(seq) is { } edit)
                {
                    erased.Add(Lifecycle.Erase(edit));
                }
            }
        }

        _lifecycleWrites = entry => [Lifecycle.Apply(target!, entry), .. erased];
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
        return _lifecycleWrites(entry).Select(m => new StateTransactionRequest(
            MessageKeys.Message(ConversationId, m.Seq), JsonSerializer.SerializeToUtf8Bytes(m, json), StateOperationType.Upsert));
    }

    /// <summary>Without transactions: the target's new state, written after the entry (repair redoes it after a crash).</summary>
    private async Task SaveLifecycleWritesAsync(StoredMessage entry)
    {
        if (_lifecycleWrites is null || entry.EntryKind == 0)
        {
            return;
        }

        foreach (var m in _lifecycleWrites(entry))
        {
            await dapr.SaveStateAsync(DaprNames.StateStores.Messages, MessageKeys.Message(ConversationId, m.Seq), m);
        }
    }

    /// <summary>Crash repair of an entry found past the header: its target may not have been written yet.</summary>
    private async Task ReapplyLifecycleAsync(StoredMessage orphan)
    {
        if (orphan.EntryKind == 0 || await ReadMessageAsync(orphan.TargetSeq) is not { } target)
        {
            return;
        }

        var writes = new List<StoredMessage> { Lifecycle.Apply(target, orphan) };
        if (orphan.EntryKind == (int)MessageKind.Delete)
        {
            foreach (var seq in target.EditSeqs ?? [])
            {
                if (await ReadMessageAsync(seq) is { } edit)
                {
                    writes.Add(Lifecycle.Erase(edit));
                }
            }
        }

        foreach (var m in writes)
        {
            await dapr.SaveStateAsync(DaprNames.StateStores.Messages, MessageKeys.Message(ConversationId, m.Seq), m);
        }
    }
}
