using Chat.Contracts.V1;
using Chat.Domain;

namespace Chat.Gateway.Hubs;

/// <summary>A user as others see them.</summary>
public sealed record UserProfileDto(string UserId, string UserName, string DisplayName, string? AvatarUri);

/// <summary>A group and its conversation (<c>grp:{groupId}</c>).</summary>
public sealed record GroupDto(string GroupId, string ConversationId, string Title, string OwnerId, uint MemberCount);

/// <summary>The result of AddMembers: the group after the change and who was actually added.</summary>
public sealed record AddMembersResultDto(GroupDto Group, IReadOnlyList<string> AddedUserIds);

/// <summary>Directory calls the web client needs (find people, groups, names), with the caller's token.</summary>
public sealed partial class ChatHub
{
    /// <summary>Finds a user by exact user name (not_found when there is none).</summary>
    [HubErrorCodes(ErrorCodes.InvalidUserName, ErrorCodes.NotFound)]
    [RateLimit(HubRatePolicies.Search)]
    public async Task<UserProfileDto> FindUser(string userName, DirectoryService.DirectoryServiceClient directory)
    {
        var response = await Call(() => directory.FindUserAsync(new FindUserRequest { UserName = userName ?? "" }, Headers()).ResponseAsync);
        return ToDto(response.Profile);
    }

    /// <summary>Public profiles of up to 100 users; unknown ids are left out.</summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument, ErrorCodes.InvalidId)]
    [RateLimit(HubRatePolicies.Search)]
    public async Task<IReadOnlyList<UserProfileDto>> GetProfiles(string[] userIds, DirectoryService.DirectoryServiceClient directory)
    {
        var request = new GetProfilesRequest();
        request.UserIds.AddRange(userIds ?? []);
        var response = await Call(() => directory.GetProfilesAsync(request, Headers()).ResponseAsync);
        return response.Profiles.Select(ToDto).ToList();
    }

    /// <summary>Creates a group with the caller as owner.</summary>
    [HubErrorCodes(ErrorCodes.InvalidTitle, ErrorCodes.InvalidId, ErrorCodes.GroupFull, ErrorCodes.NotFound, ErrorCodes.GroupAddDenied)]
    [RateLimit(HubRatePolicies.Groups)]
    public async Task<GroupDto> CreateGroup(string title, string[] memberIds, DirectoryService.DirectoryServiceClient directory)
    {
        var request = new CreateGroupRequest { Title = title ?? "" };
        request.MemberIds.AddRange(memberIds ?? []);
        var response = await Call(() => directory.CreateGroupAsync(request, Headers()).ResponseAsync);
        return ToDto(response.Group);
    }

    /// <summary>Adds members to a group (owner and admins only).</summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument, ErrorCodes.InvalidId, ErrorCodes.NotAdmin, ErrorCodes.NotMember, ErrorCodes.GroupFull, ErrorCodes.NotFound, ErrorCodes.GroupAddDenied)]
    [RateLimit(HubRatePolicies.Groups)]
    public async Task<AddMembersResultDto> AddMembers(string groupId, string[] userIds, DirectoryService.DirectoryServiceClient directory)
    {
        if (string.IsNullOrEmpty(groupId))
        {
            throw HubErrors.Create(ErrorCodes.InvalidArgument, "AddMembers needs a groupId.");
        }

        var request = new AddMembersRequest { GroupId = groupId };
        request.UserIds.AddRange(userIds ?? []);
        var response = await Call(() => directory.AddMembersAsync(request, Headers()).ResponseAsync);
        return new AddMembersResultDto(ToDto(response.Group), response.AddedUserIds.ToList());
    }

    private static UserProfileDto ToDto(UserProfile p) =>
        new(p.UserId, p.UserName, p.DisplayName, string.IsNullOrEmpty(p.AvatarUri) ? null : p.AvatarUri);

    private static GroupDto ToDto(Group g) => new(g.GroupId, g.ConversationId, g.Title, g.OwnerId, g.MemberCount);
}
