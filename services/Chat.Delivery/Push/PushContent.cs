using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Chat.Contracts.V1;

namespace Chat.Delivery.Push;

/// <summary>What one push says: the same for every device of a user, except the badge which is per user.</summary>
public sealed record PushContent(string ConversationId, string Title, string Body, ulong Badge, ulong Seq, ulong MsgId)
{
    /// <summary>The body when there is no preview to show.</summary>
    public const string NoPreview = "New message";

    /// <summary>
    /// Web Push <c>Topic</c> for a conversation: at most 32 characters of the URL-safe base64
    /// alphabet (RFC 8030), so a hash of the id rather than the id itself.
    /// </summary>
    public string WebPushTopic => Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes(ConversationId)))[..32];

    /// <summary><c>apns-collapse-id</c>: the conversation id, or its hash if longer than APNs' 64 bytes.</summary>
    public string ApnsCollapseId => Encoding.UTF8.GetByteCount(ConversationId) <= 64 ? ConversationId : WebPushTopic;

    /// <summary>The data every platform carries, so the app can open the conversation.</summary>
    public Dictionary<string, string> Data() => new(StringComparer.Ordinal)
    {
        ["conversation_id"] = ConversationId,
        ["seq"] = Seq.ToString(CultureInfo.InvariantCulture),
        ["msg_id"] = MsgId.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Title, body and badge for one recipient.</summary>
    public static PushContent For(ChatMessage message, string title, bool showPreview, ulong badge, int previewLength)
    {
        var text = message.Content?.Text ?? "";
        var body = !showPreview || message.Content?.Opaque == true || text.Trim().Length == 0
            ? NoPreview
            : Preview(text, previewLength);
        return new PushContent(message.ConversationId, title, body, badge, message.Seq, message.MsgId);
    }

    /// <summary>The first <paramref name="length"/> text elements (never half an emoji or surrogate pair).</summary>
    public static string Preview(string text, int length)
    {
        var info = new StringInfo(text);
        return info.LengthInTextElements <= length ? text : info.SubstringByTextElements(0, length);
    }

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>How one send ended.</summary>
public enum PushOutcome
{
    Sent,

    /// <summary>The push service says the token or subscription is gone: the registration is removed.</summary>
    InvalidToken,

    /// <summary>Anything else: logged and counted, not retried (sync is the source of truth).</summary>
    Failed,
}

/// <summary>The outcome of one send, with what the push service said.</summary>
public sealed record PushResult(PushOutcome Outcome, string Detail)
{
    public static readonly PushResult Sent = new(PushOutcome.Sent, "");
}

/// <summary>Sends one push to one device through a Dapr output binding.</summary>
public interface IPushSender
{
    PushPlatform Platform { get; }

    Task<PushResult> SendAsync(Device device, PushContent content, CancellationToken ct);
}
