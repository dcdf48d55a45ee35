using System.Collections.Concurrent;
using Chat.Contracts.V1;
using Chat.Domain;
using Microsoft.Extensions.Options;

namespace Chat.Messaging;

/// <summary>Settings of <see cref="ReceiptPrivacy"/> (section <c>Messaging:ReceiptPrivacy</c>).</summary>
public sealed class ReceiptPrivacyOptions
{
    /// <summary>How long a user's read_receipts setting is trusted before directory is asked again.</summary>
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Most users cached; past it, expired entries are dropped (and all, if that is not enough).</summary>
    public int MaxEntries { get; set; } = 200_000;
}

/// <summary>
/// Read-receipt privacy, WhatsApp's rule: a user whose <c>read_receipts</c> is off shows nobody
/// their read cursor and sees nobody else's. Delivered cursors are always shown.
/// <para>
/// Who hides is asked of directory in bulk and cached per user for a short TTL. A TTL rather
/// than an invalidation event: Dapr pub/sub hands each event to one replica of an app-id, so
/// an invalidation would reach one messaging instance only; the TTL bounds how long any replica
/// can lag behind a change, with no new topic. Receipt reads and updates then cost no directory
/// call while the members' settings are cached; sending a message never consults it.
/// </para>
/// </summary>
public sealed class ReceiptPrivacy(DirectoryInternalService.DirectoryInternalServiceClient directory, TimeProvider time, IOptions<ReceiptPrivacyOptions> options)
{
    private readonly ConcurrentDictionary<string, Entry> _cache = new(StringComparer.Ordinal);

    /// <summary>Those of <paramref name="userIds"/> who hide their read receipts.</summary>
    public async ValueTask<IReadOnlySet<string>> HiddenAsync(IReadOnlyCollection<string> userIds, CancellationToken ct)
    {
        var now = time.GetTimestamp();
        var hidden = new HashSet<string>(StringComparer.Ordinal);
        List<string>? misses = null;
        foreach (var id in userIds)
        {
            if (_cache.TryGetValue(id, out var e) && e.ExpiresAt > now)
            {
                if (e.Hidden)
                {
                    hidden.Add(id);
                }
            }
            else
            {
                (misses ??= []).Add(id);
            }
        }

        if (misses is null)
        {
            return hidden;
        }

        var expires = now + (long)(options.Value.CacheTtl.TotalSeconds * time.TimestampFrequency);
        foreach (var chunk in misses.Distinct(StringComparer.Ordinal).Chunk(ChatLimits.MaxBatchUsers))
        {
            var response = await directory.GetReceiptPrivacyAsync(new GetReceiptPrivacyRequest { UserIds = { chunk } }, cancellationToken: ct);
            var chunkHidden = response.HiddenUserIds.ToHashSet(StringComparer.Ordinal);
            foreach (var id in chunk)
            {
                _cache[id] = new Entry(chunkHidden.Contains(id), expires);
            }

            hidden.UnionWith(chunkHidden);
        }

        Trim(now);
        return hidden;
    }

    /// <summary>
    /// Cursors as <paramref name="viewerId"/> may see them: the viewer's own whole; others'
    /// read_seq cleared when the viewer hides theirs or the other user hides theirs.
    /// </summary>
    public static IEnumerable<ReceiptCursor> Visible(IEnumerable<ReceiptCursor> cursors, string viewerId, IReadOnlySet<string> hidden)
    {
        var viewerHides = hidden.Contains(viewerId);
        foreach (var c in cursors)
        {
            if (c.UserId != viewerId && c.ReadSeq != 0 && (viewerHides || hidden.Contains(c.UserId)))
            {
                c.ReadSeq = 0;
            }

            yield return c;
        }
    }

    /// <summary>
    /// Who may learn that <paramref name="readerId"/>'s read cursor moved: only the reader's own
    /// devices when they hide it, else every member who does not hide theirs.
    /// </summary>
    public static IReadOnlyList<string> ReadAudience(IReadOnlyList<string> members, string readerId, IReadOnlySet<string> hidden) =>
        hidden.Contains(readerId) ? [readerId] : members.Where(m => !hidden.Contains(m)).ToList();

    private void Trim(long now)
    {
        if (_cache.Count <= options.Value.MaxEntries)
        {
            return;
        }

        foreach (var (key, entry) in _cache)
        {
            if (entry.ExpiresAt <= now)
            {
                _cache.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            }
        }

        if (_cache.Count > options.Value.MaxEntries)
        {
            _cache.Clear();
        }
    }

    private readonly record struct Entry(bool Hidden, long ExpiresAt);
}
