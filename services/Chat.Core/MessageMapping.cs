using Chat.Contracts.V1;
using Google.Protobuf.WellKnownTypes;

namespace Chat.Core;

/// <summary>Converts stored records to and from the chat.v1 contract types.</summary>
public static class MessageMapping
{
    public static ChatMessage ToContract(this StoredMessage m)
    {
        var content = new MessageContent { Text = m.Text, ReplyToSeq = m.ReplyToSeq, Opaque = m.Opaque };
        if (m.Attachment is { } a)
        {
            content.Attachment = new Attachment { Uri = a.Uri, ContentType = a.ContentType, SizeBytes = a.SizeBytes, FileName = a.FileName };
            if (a.Uri.StartsWith("media:", StringComparison.Ordinal))
            {
                content.Attachment.MediaId = a.Uri["media:".Length..];
            }
        }

        var contract = new ChatMessage
        {
            ConversationId = m.ConversationId,
            Seq = m.Seq,
            MsgId = m.MsgId,
            SenderId = m.SenderId,
            SenderDeviceId = m.SenderDeviceId,
            ClientMsgId = m.ClientMsgId,
            Content = content,
            SentAt = Timestamp.FromDateTimeOffset(m.SentAt),
        };
        Lifecycle.AddLifecycle(m, contract);
        return contract;
    }

    public static StoredAttachment? ToStored(this Attachment? a) =>
        a is null || string.IsNullOrEmpty(a.Uri) ? null : new StoredAttachment(a.Uri, a.ContentType, a.SizeBytes, a.FileName);

    public static ReceiptCursor ToContract(this StoredCursor? c, string userId) =>
        new() { UserId = userId, DeliveredSeq = c?.DeliveredSeq ?? 0, ReadSeq = c?.ReadSeq ?? 0 };
}
