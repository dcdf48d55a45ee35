using System.Buffers;

namespace Chat.Domain;

/// <summary>The character rules for ids that appear in keys, topics and conversation ids.</summary>
public static class Identifiers
{
    /// <summary>Human-readable form of the id rule, for error messages.</summary>
    public const string IdRule = "1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'";

    private static readonly SearchValues<char> IdChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

    /// <summary>True for user, group and device ids: 1 to 64 of [A-Za-z0-9_-].</summary>
    public static bool IsValidId(string? id) =>
        id is { Length: > 0 and <= 64 } && !id.AsSpan().ContainsAnyExcept(IdChars);

    /// <summary>The first letter of every bot account's user id (directory makes them so).</summary>
    public const char BotPrefix = 'b';

    /// <summary>True for a bot account's user id: subscribers tell bots apart without a lookup.</summary>
    public static bool IsBot(string userId) => userId.Length > 0 && userId[0] == BotPrefix;

    /// <summary>True for a client_msg_id: 8 to 64 of [A-Za-z0-9_-] (a UUID, a ULID or a Snowflake fits).</summary>
    public static bool IsValidClientMsgId(string? id) =>
        id is { Length: >= ChatLimits.MinClientMsgIdLength and <= ChatLimits.MaxClientMsgIdLength } && !id.AsSpan().ContainsAnyExcept(IdChars);
}
