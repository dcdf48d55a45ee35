using Chat.Domain;
using Chat.Core;
using Dapr.Client;

namespace Chat.Messaging;

/// <summary>Reads and writes the messages store through the Dapr state API.</summary>
public sealed class MessageStore(DaprClient dapr, TimeProvider time)
{
    private const string Store = DaprNames.StateStores.Messages;

    public Task<ConversationMeta?> GetMetaAsync(string conversationId, CancellationToken ct) =>
        dapr.GetStateAsync<ConversationMeta?>(Store, MessageKeys.Meta(conversationId), cancellationToken: ct);

    public async Task<IReadOnlyDictionary<string, ConversationMeta>> GetMetasAsync(IReadOnlyList<string> conversationIds, CancellationToken ct)
    {
        if (conversationIds.Count == 0)
        {
            return new Dictionary<string, ConversationMeta>();
        }

        var items = await dapr.GetBulkStateAsync<ConversationMeta?>(Store, conversationIds.Select(MessageKeys.Meta).ToList(), parallelism: null, cancellationToken: ct);
        var byKey = items.Where(i => i.Value is not null).ToDictionary(i => i.Key, i => i.Value!);
        return conversationIds.Where(c => byKey.ContainsKey(MessageKeys.Meta(c))).ToDictionary(c => c, c => byKey[MessageKeys.Meta(c)]);
    }

    /// <summary>Messages with seq in [from, to], in seq order; missing keys are skipped.</summary>
    public async Task<List<StoredMessage>> GetRangeAsync(string conversationId, ulong from, ulong to, CancellationToken ct)
    {
        if (from > to || to == 0)
        {
            return [];
        }

        var keys = new List<string>((int)(to - from + 1));
        for (var seq = from; seq <= to; seq++)
        {
            keys.Add(MessageKeys.Message(conversationId, seq));
        }

        var items = await dapr.GetBulkStateAsync<StoredMessage?>(Store, keys, parallelism: null, cancellationToken: ct);
        return items.Where(i => i.Value is not null).Select(i => i.Value!).OrderBy(m => m.Seq).ToList();
    }

    public Task<StoredMessage?> GetMessageAsync(string conversationId, ulong seq, CancellationToken ct) =>
        dapr.GetStateAsync<StoredMessage?>(Store, MessageKeys.Message(conversationId, seq), cancellationToken: ct);

    public async Task<Dictionary<string, StoredCursor>> GetCursorsAsync(string conversationId, IReadOnlyList<string> userIds, CancellationToken ct)
    {
        if (userIds.Count == 0)
        {
            return [];
        }

        var items = await dapr.GetBulkStateAsync<StoredCursor?>(Store, userIds.Select(u => MessageKeys.Cursor(conversationId, u)).ToList(), parallelism: null, cancellationToken: ct);
        var byKey = items.Where(i => i.Value is not null).ToDictionary(i => i.Key, i => i.Value!);
        return userIds.Where(u => byKey.ContainsKey(MessageKeys.Cursor(conversationId, u))).ToDictionary(u => u, u => byKey[MessageKeys.Cursor(conversationId, u)]);
    }

    /// <summary>
    /// Moves a member's cursors forward (never back), with ETag optimistic concurrency so two
    /// devices reporting at once never lose a move. Read implies delivered.
    /// </summary>
    public async Task<(StoredCursor Cursor, bool Changed)> AdvanceCursorAsync(string conversationId, string userId, ulong deliveredSeq, ulong readSeq, CancellationToken ct)
    {
        var key = MessageKeys.Cursor(conversationId, userId);
        for (var attempt = 0; ; attempt++)
        {
            var (current, etag) = await dapr.GetStateAndETagAsync<StoredCursor?>(Store, key, cancellationToken: ct);
            var before = current ?? new StoredCursor(0, 0);
            var read = Math.Max(before.ReadSeq, readSeq);
            var next = new StoredCursor(Math.Max(Math.Max(before.DeliveredSeq, deliveredSeq), read), read, time.GetUtcNow());
            if (next.DeliveredSeq == before.DeliveredSeq && next.ReadSeq == before.ReadSeq)
            {
                return (before, false);
            }

            bool saved;
            if (string.IsNullOrEmpty(etag))
            {
                // No row yet: first-write, so a concurrent creator makes us retry instead of being overwritten.
                try
                {
                    await dapr.SaveStateAsync(Store, key, next, new StateOptions { Concurrency = ConcurrencyMode.FirstWrite }, cancellationToken: ct);
                    saved = true;
                }
                catch (Dapr.DaprException) when (attempt < 20)
                {
                    saved = false;
                }
            }
            else
            {
                saved = await dapr.TrySaveStateAsync(Store, key, next, etag, cancellationToken: ct);
            }

            if (saved)
            {
                return (next, true);
            }

            if (attempt >= 20)
            {
                throw new InvalidOperationException($"Could not update cursor {key}: too much contention.");
            }
        }
    }
}
