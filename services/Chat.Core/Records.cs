using System.Text.Json.Serialization;

namespace Chat.Core;

/// <summary>An attachment reference as stored.</summary>
public sealed record StoredAttachment(string Uri, string ContentType, ulong SizeBytes, string FileName);

/// <summary>A message as stored under <see cref="MessageKeys.Message"/> (JSON, readable by any language).</summary>
public sealed record StoredMessage(
    string ConversationId,
    ulong Seq,
    ulong MsgId,
    string SenderId,
    string SenderDeviceId,
    string ClientMsgId,
    string Text,
    StoredAttachment? Attachment,
    ulong ReplyToSeq,
    bool Opaque,
    DateTimeOffset SentAt)
{
    // Lifecycle. Left out of the JSON while default, so an ordinary message is stored as before.

    /// <summary>A <c>chat.v1.MessageKind</c> value: 0 for a message, else an edit, delete or reaction of <see cref="TargetSeq"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int EntryKind { get; init; }

    /// <summary>For lifecycle entries: the seq of the message they change.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public ulong TargetSeq { get; init; }

    /// <summary>For messages: when the text was last edited.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public DateTimeOffset? EditedAt { get; init; }

    /// <summary>For messages: deleted for everyone (text and attachment erased).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Deleted { get; init; }

    /// <summary>For messages: each reacting member's one emoji, by user id.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public IReadOnlyDictionary<string, string>? Reactions { get; init; }

    /// <summary>For messages: seqs of the edit entries that carry its text, erased with it on delete.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public IReadOnlyList<ulong>? EditSeqs { get; init; }

    /// <summary>
    /// Lifecycle entries with a seq up to this one (itself included), so the messages up to a seq
    /// are seq minus this: unread counts skip edits, deletes and reactions without reading them.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public ulong LifecycleCount { get; init; }
}

/// <summary>
/// A conversation's header. <see cref="Epoch"/> changes only if the conversation's history is
/// rebuilt; clients keep it with their sync cursor. <see cref="PublishedSeq"/> is the outbox
/// cursor: every message up to it has been published as MessageCreated.
/// </summary>
public sealed record ConversationMeta(ulong Epoch, ulong LastSeq, ulong PublishedSeq, DateTimeOffset? LastMessageAt)
{
    /// <summary>Lifecycle entries (edits, deletes, reactions) up to <see cref="LastSeq"/>; absent while none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public ulong LifecycleCount { get; init; }

    /// <summary>The header once <paramref name="entry"/> (the next seq) is stored.</summary>
    public ConversationMeta After(StoredMessage entry) =>
        this with { LastSeq = entry.Seq, LastMessageAt = entry.SentAt, LifecycleCount = entry.LifecycleCount };

    /// <summary>
    /// Messages after <paramref name="readSeq"/>, lifecycle entries not counted. <paramref name="atRead"/>
    /// is the entry at <paramref name="readSeq"/>, needed only when <see cref="NeedsEntryForUnread"/>.
    /// </summary>
    public ulong Unread(ulong readSeq, StoredMessage? atRead)
    {
        var read = Math.Min(readSeq, LastSeq);
        var lifecycleAfter = LifecycleCount - Math.Min(LifecycleCount, read == 0 ? 0 : atRead?.LifecycleCount ?? 0);
        return LastSeq - read - Math.Min(LastSeq - read, lifecycleAfter);
    }

    /// <summary>Whether <see cref="Unread"/> needs the entry at the read seq: only when lifecycle entries exist and some are unread.</summary>
    public bool NeedsEntryForUnread(ulong readSeq) => LifecycleCount > 0 && readSeq > 0 && readSeq < LastSeq;
}

/// <summary>What the dedup key points at: the original message.</summary>
public sealed record DedupEntry(ulong Seq, ulong MsgId);

/// <summary>
/// A member's cursors; they only move forward, and delivered >= read. UpdatedAt is when they
/// last moved (null in cursors written before it existed), for receipts in Sync.
/// </summary>
public sealed record StoredCursor(ulong DeliveredSeq, ulong ReadSeq, DateTimeOffset? UpdatedAt = null);

/// <summary>
/// What delivery made of an upload, under <see cref="MessageKeys.Thumbnail"/>: a preview blob
/// (<see cref="MessageKeys.ThumbnailBlob"/>) of this type and size, or none (<see cref="Made"/> false:
/// not an image, or one that could not be decoded).
/// </summary>
public sealed record ThumbnailRecord(bool Made, string ContentType, uint Width, uint Height);
