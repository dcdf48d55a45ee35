namespace Chat.Core;

/// <summary>
/// Keys in the messages store (<c>messages-store</c>, keyPrefix "name" so messaging and router
/// share them). Every read is a computable key: history and sync are seq ranges.
/// </summary>
public static class MessageKeys
{
    /// <summary>One message: <c>conv:{cid}:msg:{seq}</c>. Written once; the commit point of a send.</summary>
    public static string Message(string conversationId, ulong seq) => $"conv:{conversationId}:msg:{seq}";

    /// <summary>The conversation header: epoch, last seq, published seq.</summary>
    public static string Meta(string conversationId) => $"conv:{conversationId}:meta";

    /// <summary>
    /// Not in the messages store: the conversation's last taken seq and its message, in the actor
    /// store, where ConversationActor takes each seq by ETag when the messages store has no first-write.
    /// </summary>
    public static string Head(string conversationId) => $"conv:{conversationId}:head";

    /// <summary>Dedup entry for (conversation, sender, client_msg_id), kept 7 days.</summary>
    public static string Dedup(string conversationId, string senderId, string clientMsgId) => $"conv:{conversationId}:dedup:{senderId}:{clientMsgId}";

    /// <summary>A member's receipt cursors in a conversation.</summary>
    public static string Cursor(string conversationId, string userId) => $"conv:{conversationId}:cursor:{userId}";

    /// <summary>An upload reserved by CreateUpload (owner, type, size).</summary>
    public static string Media(string mediaId) => $"media:{mediaId}";

    /// <summary>What delivery made of an upload: a <see cref="ThumbnailRecord"/>.</summary>
    public static string Thumbnail(string mediaId) => $"media:{mediaId}:thumb";

    /// <summary>Not a state key: the media-store blob key of an upload's thumbnail (download tokens name it).</summary>
    public static string ThumbnailBlob(string mediaId) => mediaId + "-thumb";

    /// <summary>How long a client_msg_id stays deduplicated.</summary>
    public static readonly TimeSpan DedupRetention = TimeSpan.FromDays(7);
}
