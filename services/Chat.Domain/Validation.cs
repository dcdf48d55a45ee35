using System.Text;

namespace Chat.Domain;

/// <summary>
/// Whether bad input is malformed (InvalidArgument) or refused by the current state (FailedPrecondition);
/// a refusal decided away from the gRPC edge (the conversation actor) may also be PermissionDenied or NotFound.
/// </summary>
public enum ValidationKind
{
    InvalidArgument,
    FailedPrecondition,
    PermissionDenied,
    NotFound,
}

/// <summary>A rule a request broke: a stable machine code and a message for people.</summary>
public sealed record ValidationError(string Code, string Message, ValidationKind Kind = ValidationKind.InvalidArgument);

/// <summary>Stable error codes shared by gRPC status details and hub errors.</summary>
public static class ErrorCodes
{
    public const string ContentEmpty = "content_empty";
    public const string ContentTooLarge = "content_too_large";
    public const string InvalidClientMsgId = "invalid_client_msg_id";
    public const string InvalidId = "invalid_id";
    public const string InvalidConversationId = "invalid_conversation_id";
    public const string InvalidLimit = "invalid_limit";
    public const string InvalidUserName = "invalid_user_name";
    public const string UserNameTaken = "user_name_taken";
    public const string InvalidPassword = "invalid_password";
    public const string InvalidDisplayName = "invalid_display_name";
    public const string InvalidTitle = "invalid_title";
    public const string InvalidArgument = "invalid_argument";
    public const string GroupFull = "group_full";
    public const string NotMember = "not_member";
    public const string NotAdmin = "not_admin";
    public const string PermissionDenied = "permission_denied";
    public const string NotFound = "not_found";
    public const string Unauthenticated = "unauthenticated";
    public const string RateLimited = "rate_limited";
    public const string GroupAddDenied = "group_add_denied";
    public const string InvalidPushEndpoint = "invalid_push_endpoint";
    public const string InvalidWebhookUrl = "invalid_webhook_url";
    public const string BotLimit = "bot_limit";
    public const string Unavailable = "unavailable";
    public const string Internal = "internal";
    public const string UnknownMethod = "unknown_method";
    public const string InvalidFrame = "invalid_frame";

    // Message lifecycle.
    public const string InvalidTarget = "invalid_target";
    public const string InvalidReplyTo = "invalid_reply_to";
    public const string InvalidEmoji = "invalid_emoji";
    public const string NotSender = "not_sender";
    public const string EditWindowPassed = "edit_window_passed";
    public const string DeleteWindowPassed = "delete_window_passed";
    public const string MessageDeleted = "message_deleted";

    // Media.
    public const string InvalidMediaType = "invalid_media_type";
    public const string MediaTooLarge = "media_too_large";
    public const string InvalidMedia = "invalid_media";
    public const string InvalidMediaToken = "invalid_media_token";
}

/// <summary>The input rules of the product, one method per rule. Each returns null when the input is fine.</summary>
public static class ChatValidation
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Message content: not empty, at most <see cref="ChatLimits.MaxContentBytes"/> bytes in all.</summary>
    public static ValidationError? Content(string? text, string? attachmentUri, string? attachmentContentType = null, string? attachmentFileName = null)
    {
        var hasText = !string.IsNullOrWhiteSpace(text);
        var hasAttachment = !string.IsNullOrWhiteSpace(attachmentUri);
        if (!hasText && !hasAttachment)
        {
            return new(ErrorCodes.ContentEmpty, "A message needs text or an attachment.");
        }

        long bytes;
        try
        {
            bytes = ByteCount(text) + ByteCount(attachmentUri) + ByteCount(attachmentContentType) + ByteCount(attachmentFileName);
        }
        catch (EncoderFallbackException)
        {
            return new(ErrorCodes.InvalidArgument, "Message content is not valid Unicode text.");
        }

        return bytes > ChatLimits.MaxContentBytes
            ? new(ErrorCodes.ContentTooLarge, $"Message content is {bytes} bytes; the limit is {ChatLimits.MaxContentBytes} bytes (64 KiB).")
            : null;
    }

    /// <summary>A client_msg_id: 8 to 64 of [A-Za-z0-9_-].</summary>
    public static ValidationError? ClientMsgId(string? clientMsgId) =>
        Identifiers.IsValidClientMsgId(clientMsgId)
            ? null
            : new(ErrorCodes.InvalidClientMsgId,
                $"client_msg_id must be {ChatLimits.MinClientMsgIdLength} to {ChatLimits.MaxClientMsgIdLength} characters of A-Z, a-z, 0-9, '_' or '-' (a UUID fits).");

    /// <summary>A user, group or device id.</summary>
    public static ValidationError? Id(string? id, string what) =>
        Identifiers.IsValidId(id) ? null : new(ErrorCodes.InvalidId, $"{what} '{Truncate(id)}' is not valid: {Identifiers.IdRule}.");

    /// <summary>A conversation id ("dm:{a}:{b}" or "grp:{id}").</summary>
    public static ValidationError? ConversationId(string? conversationId) =>
        Domain.ConversationId.TryParse(conversationId, out _)
            ? null
            : new(ErrorCodes.InvalidConversationId, $"'{Truncate(conversationId)}' is not a conversation id (expected dm:{{user}}:{{user}} or grp:{{group}}).");

    /// <summary>A page size: 0 means the default; otherwise 1..max.</summary>
    public static ValidationError? Limit(long limit, int max, string what = "limit") =>
        limit is >= 0 && limit <= max ? null : new(ErrorCodes.InvalidLimit, $"{what} must be between 1 and {max} (0 for the default); got {limit}.");

    /// <summary>Whether adding members keeps the group within its cap.</summary>
    public static ValidationError? GroupSize(int currentMembers, int adding, int cap) =>
        currentMembers + adding <= cap
            ? null
            : new(ErrorCodes.GroupFull,
                $"The group has {currentMembers} members; adding {adding} would pass the cap of {cap}.",
                ValidationKind.FailedPrecondition);

    /// <summary>A login name: 3 to 32 of [a-z0-9_.-].</summary>
    public static ValidationError? UserName(string? userName) =>
        userName is { Length: >= 3 and <= 32 } && userName.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '.' or '-')
            ? null
            : new(ErrorCodes.InvalidUserName, "A user name is 3 to 32 characters of a-z, 0-9, '_', '.' or '-'.");

    /// <summary>A password: 8 to 128 characters.</summary>
    public static ValidationError? Password(string? password) =>
        password is { Length: >= ChatLimits.MinPasswordLength and <= ChatLimits.MaxPasswordLength }
            ? null
            : new(ErrorCodes.InvalidPassword, $"A password is {ChatLimits.MinPasswordLength} to {ChatLimits.MaxPasswordLength} characters.");

    /// <summary>A display name: 1 to 64 characters, not only spaces, no control characters.</summary>
    public static ValidationError? DisplayName(string? name) =>
        IsCleanText(name, ChatLimits.MaxDisplayNameLength)
            ? null
            : new(ErrorCodes.InvalidDisplayName, $"A display name is 1 to {ChatLimits.MaxDisplayNameLength} characters with no control characters.");

    /// <summary>A group title: 1 to 100 characters, not only spaces, no control characters.</summary>
    public static ValidationError? GroupTitle(string? title) =>
        IsCleanText(title, ChatLimits.MaxGroupTitleLength)
            ? null
            : new(ErrorCodes.InvalidTitle, $"A group title is 1 to {ChatLimits.MaxGroupTitleLength} characters with no control characters.");

    private static bool IsCleanText(string? s, int max) =>
        !string.IsNullOrWhiteSpace(s) && s.Length <= max && !s.Any(char.IsControl);

    private static long ByteCount(string? s) => string.IsNullOrEmpty(s) ? 0 : StrictUtf8.GetByteCount(s);

    private static string Truncate(string? s) => s is null ? "" : s.Length <= 80 ? s : s[..80] + "…";
}
