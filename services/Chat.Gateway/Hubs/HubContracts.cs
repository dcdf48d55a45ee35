namespace Chat.Gateway.Hubs;

/// <summary>
/// What the server calls on a connected client. Ids that may pass 2^53 (msg_id) travel as
/// strings so JavaScript clients keep them exact.
/// </summary>
public interface IChatClient
{
    /// <summary>The server stored the caller's message (sent ✓).</summary>
    Task MessageAccepted(MessageAcceptedDto accepted);

    /// <summary>A new message in one of the user's conversations (also the user's own, from another device).</summary>
    Task MessageReceived(MessageDto message);

    /// <summary>A member's delivered (✓✓) or read (blue ✓✓) cursor moved.</summary>
    Task ReceiptUpdated(ReceiptDto receipt);

    /// <summary>A watched user came online or went offline.</summary>
    Task PresenceChanged(PresenceDto presence);

    /// <summary>Someone in one of the user's conversations started or stopped typing.</summary>
    Task TypingChanged(TypingDto typing);

    /// <summary>A group the user is (or was, when removed or leaving) a member of changed.</summary>
    Task GroupChanged(GroupChangedDto change);
}

/// <summary>An attachment reference.</summary>
/// <remarks>
/// To send an upload, set only mediaId (from CreateUpload); read back, uri is a signed download URL (or media:{id} in live deliveries).
/// Images get a thumbnail shortly after upload (in history and sync once made; absent before and for other files).
/// </remarks>
public sealed record AttachmentDto(string Uri, string? ContentType, ulong SizeBytes, string? FileName, string? MediaId = null, ThumbnailDto? Thumbnail = null);

/// <summary>A preview of an image attachment: a signed, expiring download URL and its size in pixels.</summary>
public sealed record ThumbnailDto(string Uri, string ContentType, uint Width, uint Height);

/// <summary>Arguments of SendMessage: a conversation or a peer, an idempotency key and content.</summary>
public sealed record SendMessageArgs(string? ConversationId, string? PeerUserId, string? ClientMsgId, string? Text, AttachmentDto? Attachment = null, ulong ReplyToSeq = 0, bool Opaque = false);

/// <summary>
/// A stored entry of a conversation's log. kind is "message", or "edit" | "delete" | "reaction" of
/// the message at targetSeq (an edit's text is the new text, a reaction's text the emoji, empty
/// when removed). In history and sync a message shows its current state: editedAt, deleted
/// (content erased) and reactions per emoji.
/// </summary>
public sealed record MessageDto(
    string ConversationId, ulong Seq, string MsgId, string SenderId, string SenderDeviceId, string ClientMsgId,
    string Text, AttachmentDto? Attachment, ulong ReplyToSeq, bool Opaque, DateTimeOffset SentAt,
    string Kind = "message", ulong TargetSeq = 0, DateTimeOffset? EditedAt = null, bool Deleted = false, IReadOnlyList<ReactionDto>? Reactions = null);

/// <summary>The ack of SendMessage.</summary>
public sealed record MessageAcceptedDto(string ClientMsgId, MessageDto Message, bool Duplicate);

/// <summary>Arguments of UpdateReceipt: kind is "delivered" or "read".</summary>
public sealed record UpdateReceiptArgs(string? ConversationId, string? Kind, ulong UpToSeq);

/// <summary>A receipt cursor change.</summary>
public sealed record ReceiptDto(string ConversationId, string UserId, string Kind, ulong UpToSeq, DateTimeOffset At);

/// <summary>One member's cursors.</summary>
public sealed record CursorDto(string UserId, ulong DeliveredSeq, ulong ReadSeq);

/// <summary>Arguments of GetHistory.</summary>
public sealed record GetHistoryArgs(string? ConversationId, ulong BeforeSeq = 0, ulong AfterSeq = 0, uint Limit = 0);

/// <summary>A history page.</summary>
public sealed record HistoryDto(IReadOnlyList<MessageDto> Messages, bool HasMore, ulong LastSeq);

/// <summary>What the client holds of one conversation.</summary>
public sealed record SyncCursorDto(string ConversationId, ulong Epoch, ulong LastSeq);

/// <summary>Arguments of Sync. receiptsSince: the syncedAt of the previous Sync, so receipts that moved meanwhile come back.</summary>
public sealed record SyncArgs(IReadOnlyList<SyncCursorDto>? Cursors, uint Limit = 0, DateTimeOffset? ReceiptsSince = null);

/// <summary>Changes of one conversation; gap is "", "limit", "reset" or "cursor_ahead"; removed: the caller left or was removed (drop it).</summary>
public sealed record ConversationDeltaDto(
    string ConversationId, string Kind, ulong Epoch, IReadOnlyList<MessageDto> Messages, ulong LastSeq, bool HasMore, string Gap, ulong GapFromSeq, IReadOnlyList<CursorDto> Receipts,
    bool Removed = false);

/// <summary>A sync answer; pass syncedAt as receiptsSince next time.</summary>
public sealed record SyncResultDto(IReadOnlyList<ConversationDeltaDto> Deltas, bool HasMore, DateTimeOffset? SyncedAt = null);

/// <summary>One line of the conversation list.</summary>
public sealed record ConversationSummaryDto(
    string ConversationId, string Kind, string Title, string PeerUserId, MessageDto? LastMessage, ulong UnreadCount, CursorDto MyCursor, uint MemberCount, DateTimeOffset? UpdatedAt);

/// <summary>A user's presence as the caller may see it.</summary>
public sealed record PresenceDto(string UserId, bool Online, DateTimeOffset? LastSeen, bool Visible);

/// <summary>Typing state. Events may arrive out of order: keep the latest by <see cref="At"/>.</summary>
public sealed record TypingDto(string ConversationId, string UserId, bool Typing, DateTimeOffset? At = null);
