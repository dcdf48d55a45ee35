using Chat.Contracts.V1;
using Chat.Domain;

namespace Chat.Gateway.Hubs;

/// <summary>A group member; role is "owner" | "admin" | "member".</summary>
public sealed record GroupMemberDto(string UserId, string Role, DateTimeOffset JoinedAt);

/// <summary>A group, the caller's role in it and its members in join order.</summary>
public sealed record GroupDetailsDto(GroupDto Group, string MyRole, IReadOnlyList<GroupMemberDto> Members);

/// <summary>
/// Arguments of SetConversationSettings: muted with an optional end (mutedUntil; none: until
/// unmuted), and previews "show" | "hide" for this conversation's pushes. A null muted or
/// previews stays as it is, so muting never shows hidden previews again.
/// </summary>
public sealed record ConversationSettingsArgs(bool? Muted = null, DateTimeOffset? MutedUntil = null, string? Previews = null);

/// <summary>The caller's settings of one conversation.</summary>
public sealed record ConversationSettingsDto(string ConversationId, bool Muted, DateTimeOffset? MutedUntil, string Previews);

/// <summary>Arguments of ListConversations: limit 1 to 200 (0: 50), pageToken from the previous page.</summary>
public sealed record ListConversationsArgs(string? PageToken = null, uint Limit = 0);

/// <summary>A page of the conversation list; nextPageToken is null on the last page.</summary>
public sealed record ConversationPageDto(IReadOnlyList<ConversationSummaryDto> Conversations, string? NextPageToken);

/// <summary>
/// A group changed. kind is "created" | "members_added" | "member_removed" | "member_left" |
/// "role_changed" | "renamed"; role is set for role_changed. Removed users get it too (and
/// then drop the conversation).
/// </summary>
public sealed record GroupChangedDto(
    string ConversationId, string Kind, string ActorId, IReadOnlyList<string> UserIds, string? Role, string Title, string OwnerId,
    IReadOnlyList<string> MemberIds, DateTimeOffset At);

/// <summary>Group management and per-conversation settings, forwarded to directory with the caller's token.</summary>
public sealed partial class ChatHub
{
    /// <summary>The group, the caller's role and every member with their role. Members only.</summary>
    [HubErrorCodes(ErrorCodes.InvalidConversationId, ErrorCodes.NotMember, ErrorCodes.NotFound)]
    [RateLimit(HubRatePolicies.Read)]
    public async Task<GroupDetailsDto> GetGroup(string conversationId, DirectoryService.DirectoryServiceClient directory)
    {
        var groupId = GroupIdOf(conversationId);
        var group = await Call(() => directory.GetGroupAsync(new GetGroupRequest { GroupId = groupId }, Headers()).ResponseAsync);
        var members = await Call(() => directory.ListMembersAsync(new ListMembersRequest { GroupId = groupId }, Headers()).ResponseAsync);
        return new GroupDetailsDto(ToDto(group.Group), Role(group.MyRole), members.Members.Select(ToDto).ToList());
    }

    /// <summary>The caller leaves a group. An owner leaving hands ownership to the oldest admin, else the oldest member.</summary>
    [HubErrorCodes(ErrorCodes.InvalidConversationId, ErrorCodes.NotMember, ErrorCodes.NotFound)]
    [RateLimit(HubRatePolicies.GroupAdmin)]
    public async Task<GroupDto> LeaveGroup(string conversationId, DirectoryService.DirectoryServiceClient directory)
    {
        var groupId = GroupIdOf(conversationId);
        var response = await Call(() => directory.LeaveGroupAsync(new LeaveGroupRequest { GroupId = groupId }, Headers()).ResponseAsync);
        return ToDto(response.Group);
    }

    /// <summary>Removes a member (owner and admins; nobody removes the owner).</summary>
    [HubErrorCodes(ErrorCodes.InvalidConversationId, ErrorCodes.InvalidId, ErrorCodes.NotAdmin, ErrorCodes.NotMember, ErrorCodes.NotFound)]
    [RateLimit(HubRatePolicies.GroupAdmin)]
    public async Task<GroupDto> RemoveMember(string conversationId, string userId, DirectoryService.DirectoryServiceClient directory)
    {
        var groupId = GroupIdOf(conversationId);
        RequireId(userId, "userId");
        var response = await Call(() => directory.RemoveMemberAsync(new RemoveMemberRequest { GroupId = groupId, UserId = userId }, Headers()).ResponseAsync);
        return ToDto(response.Group);
    }

    /// <summary>
    /// Sets a member's role: "admin" or "member" (owner and admins), "owner" hands over ownership
    /// (owner only; the old owner becomes admin). The owner's role changes only that way.
    /// </summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument, ErrorCodes.InvalidConversationId, ErrorCodes.InvalidId, ErrorCodes.NotAdmin, ErrorCodes.NotMember, ErrorCodes.NotFound)]
    [RateLimit(HubRatePolicies.GroupAdmin)]
    public async Task<GroupMemberDto> SetRole(string conversationId, string userId, string role, DirectoryService.DirectoryServiceClient directory)
    {
        var groupId = GroupIdOf(conversationId);
        RequireId(userId, "userId");
        var wanted = role?.ToLowerInvariant() switch
        {
            "member" => GroupRole.Member,
            "admin" => GroupRole.Admin,
            "owner" => GroupRole.Owner,
            _ => throw HubErrors.Create(ErrorCodes.InvalidArgument, "role must be \"member\", \"admin\" or \"owner\"."),
        };
        var response = await Call(() => directory.SetRoleAsync(new SetRoleRequest { GroupId = groupId, UserId = userId, Role = wanted }, Headers()).ResponseAsync);
        return ToDto(response.Member);
    }

    /// <summary>Changes a group's title, 1 to 100 characters (owner and admins).</summary>
    [HubErrorCodes(ErrorCodes.InvalidConversationId, ErrorCodes.InvalidTitle, ErrorCodes.NotAdmin, ErrorCodes.NotMember, ErrorCodes.NotFound)]
    [RateLimit(HubRatePolicies.GroupAdmin)]
    public async Task<GroupDto> RenameGroup(string conversationId, string title, DirectoryService.DirectoryServiceClient directory)
    {
        var groupId = GroupIdOf(conversationId);
        var response = await Call(() => directory.RenameGroupAsync(new RenameGroupRequest { GroupId = groupId, Title = title ?? "" }, Headers()).ResponseAsync);
        return ToDto(response.Group);
    }

    /// <summary>The caller's mute and preview settings of a conversation. Members only.</summary>
    [HubErrorCodes(ErrorCodes.InvalidConversationId, ErrorCodes.NotMember, ErrorCodes.NotFound)]
    [RateLimit(HubRatePolicies.Read)]
    public async Task<ConversationSettingsDto> GetConversationSettings(string conversationId, DirectoryService.DirectoryServiceClient directory)
    {
        RequireConversationId(conversationId);
        var response = await Call(() => directory.GetConversationSettingsAsync(new GetConversationSettingsRequest { ConversationId = conversationId }, Headers()).ResponseAsync);
        return ToDto(conversationId, response.Settings);
    }

    /// <summary>Mutes a conversation (until a time, or until unmuted) and/or hides its push previews. Members only.</summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument, ErrorCodes.InvalidConversationId, ErrorCodes.NotMember, ErrorCodes.NotFound)]
    [RateLimit(HubRatePolicies.Account)]
    public async Task<ConversationSettingsDto> SetConversationSettings(string conversationId, ConversationSettingsArgs settings, DirectoryService.DirectoryServiceClient directory)
    {
        RequireConversationId(conversationId);
        if (settings is null)
        {
            throw HubErrors.Create(ErrorCodes.InvalidArgument, "SetConversationSettings needs {muted, mutedUntil?, previews?}.");
        }

        var hide = settings.Previews?.ToLowerInvariant() switch
        {
            null => (bool?)null,
            "show" => false,
            "hide" => true,
            _ => throw HubErrors.Create(ErrorCodes.InvalidArgument, "previews must be \"show\" or \"hide\"."),
        };
        if (settings.MutedUntil is { } until && (settings.Muted != true || until <= DateTimeOffset.UtcNow))
        {
            throw HubErrors.Create(ErrorCodes.InvalidArgument, "mutedUntil must lie in the future and needs muted = true.");
        }

        // The directory stores the complete settings: what the caller leaves out is kept as it is.
        var current = settings.Muted is null || hide is null
            ? (await Call(() => directory.GetConversationSettingsAsync(new GetConversationSettingsRequest { ConversationId = conversationId }, Headers()).ResponseAsync)).Settings
            : null;
        var request = new SetConversationSettingsRequest
        {
            ConversationId = conversationId,
            Settings = new ConversationSettings
            {
                Muted = settings.Muted ?? current!.Muted,
                HidePreviews = hide ?? current!.HidePreviews,
                MutedUntil = settings.Muted is null
                    ? current!.MutedUntil
                    : settings.MutedUntil is { } t ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(t) : null,
            },
        };
        var response = await Call(() => directory.SetConversationSettingsAsync(request, Headers()).ResponseAsync);
        return ToDto(conversationId, response.Settings);
    }

    private static GroupMemberDto ToDto(GroupMember m) => new(m.UserId, Role(m.Role), m.JoinedAt?.ToDateTimeOffset() ?? default);

    private static ConversationSettingsDto ToDto(string conversationId, ConversationSettings s) =>
        new(conversationId, s.Muted, s.MutedUntil?.ToDateTimeOffset(), s.HidePreviews ? "hide" : "show");

    internal static string Role(GroupRole role) => role switch
    {
        GroupRole.Owner => "owner",
        GroupRole.Admin => "admin",
        GroupRole.Member => "member",
        _ => "",
    };

    private static void RequireConversationId(string? conversationId)
    {
        if (ChatValidation.ConversationId(conversationId) is { } invalid)
        {
            throw HubErrors.Create(invalid.Code, invalid.Message);
        }
    }

    // Group methods take the group's conversation id ("grp:{groupId}"), as everything else on the hub does.
    private static string GroupIdOf(string? conversationId)
    {
        RequireConversationId(conversationId);
        ConversationId.TryParse(conversationId, out var id);
        return id.Type == ConversationType.Group
            ? id.GroupId
            : throw HubErrors.Create(ErrorCodes.InvalidConversationId, $"'{conversationId}' is a direct conversation; this needs a group (grp:...).");
    }
}
