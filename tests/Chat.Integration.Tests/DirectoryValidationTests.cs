using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Chat.ServiceDefaults.Auth;
using Grpc.Core;

namespace Chat.Integration.Tests;

/// <summary>Bad input gets InvalidArgument (or FailedPrecondition) with a message that says what is wrong.</summary>
[Trait("Area", "Conversations")]
[Collection(DirectoryCollection.Name)]
public sealed class DirectoryValidationTests(DirectoryFixture fx)
{
    private DirectoryService.DirectoryServiceClient Dir => fx.Directory;

    [Theory]
    [InlineData("ab", "good password", "phone", ErrorCodes.InvalidUserName, "user name is 3 to 32")]
    [InlineData("Has Upper", "good password", "phone", ErrorCodes.InvalidUserName, "user name is 3 to 32")]
    [InlineData("okname", "short", "phone", ErrorCodes.InvalidPassword, "password is 8 to 128")]
    [InlineData("okname", "good password", "bad device!", ErrorCodes.InvalidId, "Device id 'bad device!' is not valid")]
    [InlineData("okname", "good password", "", ErrorCodes.InvalidId, "Device id '' is not valid")]
    public async Task Register_with_bad_input_is_InvalidArgument(string name, string password, string device, string code, string message)
    {
        await Invalid(code, message, () => Dir.RegisterAsync(new RegisterRequest { UserName = name, Password = password, DeviceId = device }).ResponseAsync);
    }

    [Fact]
    public async Task Every_bad_group_and_profile_input_is_refused_with_a_clear_message()
    {
        var me = await fx.RegisterAsync("val");
        var peer = await fx.RegisterAsync("valpeer");
        var group = (await Dir.CreateGroupAsync(new CreateGroupRequest { Title = "Valid" }, me.Auth)).Group;

        await Invalid(ErrorCodes.InvalidTitle, "group title is 1 to 100", () => Dir.CreateGroupAsync(new CreateGroupRequest { Title = "  " }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidTitle, "group title is 1 to 100", () => Dir.CreateGroupAsync(new CreateGroupRequest { Title = new string('t', 101) }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidTitle, "no control characters", () => Dir.CreateGroupAsync(new CreateGroupRequest { Title = "a\u0007b" }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidId, "User id 'not valid!' is not valid", () => Dir.CreateGroupAsync(new CreateGroupRequest { Title = "x", MemberIds = { "not valid!" } }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidId, "Group id 'grp:x' is not valid", () => Dir.ListMembersAsync(new ListMembersRequest { GroupId = "grp:x" }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidId, "Group id '' is not valid", () => Dir.GetGroupAsync(new GetGroupRequest(), me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidId, "User id", () => Dir.AddMembersAsync(new AddMembersRequest { GroupId = group.GroupId, UserIds = { new string('u', 65) } }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidArgument, "user_ids is empty", () => Dir.AddMembersAsync(new AddMembersRequest { GroupId = group.GroupId }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidArgument, "At most 500 user ids", () =>
            Dir.AddMembersAsync(new AddMembersRequest { GroupId = group.GroupId, UserIds = { Enumerable.Range(0, 501).Select(i => $"u{i}") } }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidArgument, "role must be", () => Dir.SetRoleAsync(new SetRoleRequest { GroupId = group.GroupId, UserId = me.UserId }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidConversationId, "is not a conversation id", () =>
            Dir.GetConversationMembersAsync(new GetConversationMembersRequest { ConversationId = "chan:1" }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidConversationId, "is not a conversation id", () =>
            Dir.SetConversationSettingsAsync(new SetConversationSettingsRequest { ConversationId = $"dm:{peer.UserId}:{peer.UserId}", Settings = new() }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidArgument, "At most 100 user ids", () =>
            Dir.GetProfilesAsync(new GetProfilesRequest { UserIds = { Enumerable.Range(0, 101).Select(i => $"u{i}") } }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidDisplayName, "display name is 1 to 64", () => Dir.UpdateProfileAsync(new UpdateProfileRequest { DisplayName = new string('d', 65) }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidArgument, "avatar_uri must be an absolute http(s) URI", () => Dir.UpdateProfileAsync(new UpdateProfileRequest { AvatarUri = "javascript:alert(1)" }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidArgument, "settings is required", () => Dir.UpdatePrivacySettingsAsync(new UpdatePrivacySettingsRequest(), me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidArgument, "last_seen 9 is not", () =>
            Dir.UpdatePrivacySettingsAsync(new UpdatePrivacySettingsRequest { Settings = new PrivacySettings { LastSeen = (LastSeenVisibility)9 } }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidArgument, "platform must be", () =>
            Dir.RegisterDeviceAsync(new RegisterDeviceRequest { Device = new Device { DeviceId = "d1", PushToken = "t" } }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidArgument, "push_token is required", () =>
            Dir.RegisterDeviceAsync(new RegisterDeviceRequest { Device = new Device { DeviceId = "d1", Platform = PushPlatform.Apns } }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidArgument, "web_push", () =>
            Dir.RegisterDeviceAsync(new RegisterDeviceRequest { Device = new Device { DeviceId = "d1", Platform = PushPlatform.Webpush } }, me.Auth).ResponseAsync);
        await Invalid(ErrorCodes.InvalidArgument, "device is required", () => Dir.RegisterDeviceAsync(new RegisterDeviceRequest(), me.Auth).ResponseAsync);

        var owner = await Assert.ThrowsAsync<RpcException>(() => Dir.SetRoleAsync(new SetRoleRequest { GroupId = group.GroupId, UserId = me.UserId, Role = GroupRole.Member }, me.Auth).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, owner.StatusCode);
        Assert.Contains("owner cannot take a lower role", owner.Status.Detail, StringComparison.Ordinal);

        var unknown = await Assert.ThrowsAsync<RpcException>(() =>
            Dir.CreateGroupAsync(new CreateGroupRequest { Title = "x", MemberIds = { "uNOSUCHUSER0000" } }, me.Auth).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("uNOSUCHUSER0000", unknown.Status.Detail, StringComparison.Ordinal);
    }

    private static async Task Invalid(string code, string message, Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(ex.StatusCode == StatusCode.InvalidArgument, $"expected InvalidArgument for '{message}', got {ex.StatusCode}: {ex.Status.Detail}");
        Assert.Equal(code, ex.ErrorCode());
        Assert.Contains(message, ex.Status.Detail, StringComparison.Ordinal);
    }
}
