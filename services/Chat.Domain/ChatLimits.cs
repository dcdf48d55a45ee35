namespace Chat.Domain;

/// <summary>
/// The product's limits. Defaults match the design; services bind the configurable ones
/// from the <c>Chat:Limits</c> configuration section.
/// </summary>
public sealed class ChatLimits
{
    public const string SectionName = "Chat:Limits";

    /// <summary>Most bytes of message content (UTF-8 text plus attachment reference).</summary>
    public const int MaxContentBytes = 64 * 1024;
    public const int MinClientMsgIdLength = 8;
    public const int MaxClientMsgIdLength = 64;
    public const int DefaultGroupMemberCap = 500;
    public const int MaxHistoryPage = 200;
    public const int DefaultHistoryPage = 50;
    public const int MaxSyncLimit = 1000;
    public const int DefaultSyncLimit = 500;
    public const int MaxGroupTitleLength = 100;
    public const int MaxDisplayNameLength = 64;
    public const int MinPasswordLength = 8;
    public const int MaxPasswordLength = 128;
    public const int MaxBatchUsers = 500;

    /// <summary>Most ids per GetProfiles call (lookups are bounded against enumeration).</summary>
    public const int MaxProfilesPerCall = 100;

    /// <summary>Largest (and default) page of ListUserConversations.</summary>
    public const int MaxConversationPage = 500;

    /// <summary>Most members a group may have (500 unless configured).</summary>
    public int GroupMemberCap { get; set; } = DefaultGroupMemberCap;
}
