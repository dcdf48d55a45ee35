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
    DateTimeOffset SentAt);

/// <summary>
/// A conversation's header. <see cref="Epoch"/> changes only if the conversation's history is
/// rebuilt; clients keep it with their sync cursor. <see cref="PublishedSeq"/> is the outbox
/// cursor: every message up to it has been published as MessageCreated.
/// </summary>
public sealed record ConversationMeta(ulong Epoch, ulong LastSeq, ulong PublishedSeq, DateTimeOffset? LastMessageAt);

/// <summary>What the dedup key points at: the original message.</summary>
public sealed record DedupEntry(ulong Seq, ulong MsgId);

/// <summary>
/// A member's cursors; they only move forward, and delivered >= read. UpdatedAt is when they
/// last moved (null in cursors written before it existed), for receipts in Sync.
/// </summary>
public sealed record StoredCursor(ulong DeliveredSeq, ulong ReadSeq, DateTimeOffset? UpdatedAt = null);
