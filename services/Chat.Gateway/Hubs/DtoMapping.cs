using System.Globalization;
using Chat.Contracts.V1;

namespace Chat.Gateway.Hubs;

/// <summary>chat.v1 contract types to hub DTOs and back.</summary>
public static class DtoMapping
{
    public static MessageDto ToDto(this ChatMessage m) => new(
        m.ConversationId, m.Seq, m.MsgId.ToString(CultureInfo.InvariantCulture), m.SenderId, m.SenderDeviceId, m.ClientMsgId,
        m.Content?.Text ?? "", m.Content?.Attachment is { Uri.Length: > 0 } a ? new AttachmentDto(a.Uri, a.ContentType, a.SizeBytes, a.FileName, a.MediaId.Length > 0 ? a.MediaId : null,
            a.Thumbnail is { Uri.Length: > 0 } t ? new ThumbnailDto(t.Uri, t.ContentType, t.Width, t.Height) : null) : null,
        m.Content?.ReplyToSeq ?? 0, m.Content?.Opaque ?? false, m.SentAt?.ToDateTimeOffset() ?? default,
        Kind(m.Kind), m.TargetSeq, m.EditedAt?.ToDateTimeOffset(), m.Deleted,
        m.Reactions.Count == 0 ? null : m.Reactions.Select(r => new ReactionDto(r.Emoji, r.Count, r.Mine)).ToList());

    public static string Kind(MessageKind kind) => kind switch
    {
        MessageKind.Edit => "edit",
        MessageKind.Delete => "delete",
        MessageKind.Reaction => "reaction",
        _ => "message",
    };

    public static CursorDto ToDto(this ReceiptCursor c) => new(c.UserId, c.DeliveredSeq, c.ReadSeq);

    public static ReceiptDto ToDto(this ReceiptUpdated r) => new(r.ConversationId, r.UserId, Kind(r.Kind), r.UpToSeq, r.At?.ToDateTimeOffset() ?? default);

    public static string Kind(ReceiptKind kind) => kind switch
    {
        ReceiptKind.Delivered => "delivered",
        ReceiptKind.Read => "read",
        _ => "unspecified",
    };

    public static string Kind(ConversationKind kind) => kind switch
    {
        ConversationKind.Direct => "direct",
        ConversationKind.Group => "group",
        _ => "unspecified",
    };

    public static string Gap(SyncGapReason gap) => gap switch
    {
        SyncGapReason.Limit => "limit",
        SyncGapReason.Reset => "reset",
        SyncGapReason.CursorAhead => "cursor_ahead",
        _ => "",
    };

    public static ConversationDeltaDto ToDto(this ConversationDelta d) => new(
        d.ConversationId, Kind(d.Kind), d.Epoch, d.Messages.Select(ToDto).ToList(), d.LastSeq, d.HasMore, Gap(d.Gap), d.GapFromSeq,
        d.Receipts.Select(ToDto).ToList(), d.Removed);

    public static ConversationSummaryDto ToDto(this ConversationSummary s) => new(
        s.ConversationId, Kind(s.Kind), s.Title, s.PeerUserId, s.LastMessage?.ToDto(), s.UnreadCount,
        (s.MyCursor ?? new ReceiptCursor()).ToDto(), s.MemberCount, s.UpdatedAt?.ToDateTimeOffset());

    public static PresenceDto ToDto(this PresenceChanged p) => new(p.UserId, p.Online, p.LastSeen?.ToDateTimeOffset(), true);

    public static GroupChangedDto ToDto(this GroupChanged g) => new(
        g.ConversationId, Kind(g.Kind), g.ActorId, g.UserIds.ToList(), g.Kind == GroupChangeKind.RoleChanged ? ChatHub.Role((GroupRole)g.Role) : null,
        g.Title, g.OwnerId, g.MemberIds.ToList(), g.At?.ToDateTimeOffset() ?? default);

    public static string Kind(GroupChangeKind kind) => kind switch
    {
        GroupChangeKind.Created => "created",
        GroupChangeKind.MembersAdded => "members_added",
        GroupChangeKind.MemberRemoved => "member_removed",
        GroupChangeKind.MemberLeft => "member_left",
        GroupChangeKind.RoleChanged => "role_changed",
        GroupChangeKind.Renamed => "renamed",
        _ => "unspecified",
    };

    public static TypingDto ToDto(this TypingChanged t) => new(t.ConversationId, t.UserId, t.Typing, t.At?.ToDateTimeOffset());
}
