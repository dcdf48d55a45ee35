using Chat.Contracts.V1;
using Chat.Directory.State;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Chat.ServiceDefaults.RateLimiting;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Chat.Directory.Services;

/// <summary>
/// <c>chat.v1.DirectoryService</c>: what clients call (through the gateway). Every call but
/// Register, Login and Refresh acts as the user of the access token, never as anyone else.
/// </summary>
public sealed class DirectoryGrpcService(
    DirectoryCore core,
    Accounts accounts,
    Groups groups,
    IOptionsMonitor<DirectoryOptions> options,
    IOptionsMonitor<WebPushEndpointOptions> webPush,
    ChatRateLimiter limiter)
    : DirectoryService.DirectoryServiceBase
{
    /// <summary>The limit on FindUser and GetProfiles per caller (<c>Chat:Directory:RateLimits:Lookup</c>).</summary>
    public const string LookupLimit = "Lookup";

    private const int MaxUriLength = 2048;
    private const int MaxPushTokenLength = 4096;
    private const int MaxKeyLength = 512;

    [AllowAnonymousCall]
    public override Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context) =>
        accounts.RegisterAsync(request, context.CancellationToken);

    [AllowAnonymousCall]
    public override Task<LoginResponse> Login(LoginRequest request, ServerCallContext context) =>
        accounts.LoginAsync(request, context.CancellationToken);

    [AllowAnonymousCall]
    public override Task<RefreshResponse> Refresh(RefreshRequest request, ServerCallContext context) =>
        accounts.RefreshAsync(request, context.CancellationToken);

    public override async Task<GetProfilesResponse> GetProfiles(GetProfilesRequest request, ServerCallContext context)
    {
        var ids = DirectoryCore.ValidUserIds(request.UserIds, ChatLimits.MaxProfilesPerCall, "user ids");
        await LimitLookupAsync(context);
        var users = await core.GetUsersAsync(ids, context.CancellationToken);
        return new GetProfilesResponse { Profiles = { ids.Where(users.ContainsKey).Select(id => core.ToProfile(users[id])) } };
    }

    public override async Task<FindUserResponse> FindUser(FindUserRequest request, ServerCallContext context)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.UserName(request.UserName));
        await LimitLookupAsync(context);
        var name = (await core.State.GetAsync<UserNameRecord>(DirectoryKeys.UserName(request.UserName), context.CancellationToken)).Value;
        var user = name is null ? null : (await core.State.GetAsync<UserRecord>(DirectoryKeys.User(name.UserId), context.CancellationToken)).Value;
        return user is null
            ? throw ChatStatus.NotFound("user named", request.UserName)
            : new FindUserResponse { Profile = core.ToProfile(user) };
    }

    public override async Task<UpdateProfileResponse> UpdateProfile(UpdateProfileRequest request, ServerCallContext context)
    {
        var me = context.GetChatUser();
        if (request.DisplayName.Length > 0)
        {
            ChatStatus.ThrowIfInvalid(ChatValidation.DisplayName(request.DisplayName));
        }

        if (request.AvatarUri.Length > 0)
        {
            RequireUri(request.AvatarUri, "avatar_uri");
        }

        var user = await MutateUserAsync(me.UserId, user =>
        {
            user.DisplayName = request.DisplayName.Length > 0 ? request.DisplayName : user.DisplayName;
            user.AvatarUri = request.AvatarUri.Length > 0 ? request.AvatarUri : user.AvatarUri;
        }, context.CancellationToken);
        return new UpdateProfileResponse { Profile = core.ToProfile(user) };
    }

    public override async Task<GetPrivacySettingsResponse> GetPrivacySettings(GetPrivacySettingsRequest request, ServerCallContext context)
    {
        var user = await core.RequireUserAsync(context.GetChatUser().UserId, context.CancellationToken);
        return new GetPrivacySettingsResponse { Settings = DirectoryCore.ToPrivacy(user.Privacy) };
    }

    public override async Task<UpdatePrivacySettingsResponse> UpdatePrivacySettings(UpdatePrivacySettingsRequest request, ServerCallContext context)
    {
        var me = context.GetChatUser();
        var settings = request.Settings
            ?? throw ChatStatus.From(new ValidationError(ErrorCodes.InvalidArgument, "settings is required (the complete new privacy settings)."));
        if (!System.Enum.IsDefined(settings.LastSeen))
        {
            throw Invalid($"last_seen {(int)settings.LastSeen} is not a LastSeenVisibility value.");
        }

        if (!System.Enum.IsDefined(settings.GroupAdd))
        {
            throw Invalid($"group_add {(int)settings.GroupAdd} is not a GroupAddPolicy value.");
        }

        var lastSeen = settings.LastSeen == LastSeenVisibility.Unspecified ? LastSeenVisibility.Everyone : settings.LastSeen;
        var groupAdd = settings.GroupAdd == GroupAddPolicy.Unspecified ? GroupAddPolicy.Everyone : settings.GroupAdd;
        var user = await MutateUserAsync(me.UserId, user => user.Privacy = new PrivacyRecord
        {
            LastSeen = (int)lastSeen,
            ReadReceipts = settings.ReadReceipts,
            PushPreviews = settings.PushPreviews,
            GroupAdd = (int)groupAdd,
        }, context.CancellationToken);
        return new UpdatePrivacySettingsResponse { Settings = DirectoryCore.ToPrivacy(user.Privacy) };
    }

    public override async Task<RegisterDeviceResponse> RegisterDevice(RegisterDeviceRequest request, ServerCallContext context)
    {
        var me = context.GetChatUser();
        var record = ValidDevice(request.Device);
        var max = options.CurrentValue.MaxDevicesPerUser;
        await core.State.MutateAsync<DevicesRecord, bool>(DirectoryKeys.Devices(me.UserId), devices =>
        {
            devices ??= new DevicesRecord();
            devices.Devices.RemoveAll(d => d.DeviceId == record.DeviceId);
            if (devices.Devices.Count >= max)
            {
                throw ChatStatus.From(new ValidationError(ErrorCodes.InvalidArgument,
                    $"You have {devices.Devices.Count} registered devices, the most allowed; unregister one first.", ValidationKind.FailedPrecondition));
            }

            devices.Devices.Add(record);
            return new(devices, true);
        }, context.CancellationToken);
        return new RegisterDeviceResponse { Device = DirectoryCore.ToDevice(record) };
    }

    public override async Task<UnregisterDeviceResponse> UnregisterDevice(UnregisterDeviceRequest request, ServerCallContext context)
    {
        var me = context.GetChatUser();
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.DeviceId, "Device id"));
        var removed = await core.State.MutateAsync<DevicesRecord, bool>(DirectoryKeys.Devices(me.UserId), devices =>
            devices is not null && devices.Devices.RemoveAll(d => d.DeviceId == request.DeviceId) > 0 ? new(devices, true) : new(null, false),
            context.CancellationToken);
        return new UnregisterDeviceResponse { Removed = removed };
    }

    public override async Task<ListDevicesResponse> ListDevices(ListDevicesRequest request, ServerCallContext context)
    {
        var devices = (await core.State.GetAsync<DevicesRecord>(DirectoryKeys.Devices(context.GetChatUser().UserId), context.CancellationToken)).Value;
        return new ListDevicesResponse { Devices = { (devices?.Devices ?? []).Select(DirectoryCore.ToDevice) } };
    }

    public override async Task<CreateGroupResponse> CreateGroup(CreateGroupRequest request, ServerCallContext context) =>
        new() { Group = await groups.CreateAsync(context.GetChatUser(), request, context.CancellationToken) };

    public override Task<AddMembersResponse> AddMembers(AddMembersRequest request, ServerCallContext context) =>
        groups.AddMembersAsync(context.GetChatUser(), request, context.CancellationToken);

    public override async Task<RemoveMemberResponse> RemoveMember(RemoveMemberRequest request, ServerCallContext context) =>
        new() { Group = await groups.RemoveMemberAsync(context.GetChatUser(), request, context.CancellationToken) };

    public override async Task<SetRoleResponse> SetRole(SetRoleRequest request, ServerCallContext context) =>
        new() { Member = await groups.SetRoleAsync(context.GetChatUser(), request, context.CancellationToken) };

    public override async Task<LeaveGroupResponse> LeaveGroup(LeaveGroupRequest request, ServerCallContext context) =>
        new() { Group = await groups.LeaveAsync(context.GetChatUser(), request.GroupId, context.CancellationToken) };

    public override async Task<RenameGroupResponse> RenameGroup(RenameGroupRequest request, ServerCallContext context) =>
        new() { Group = await groups.RenameAsync(context.GetChatUser(), request, context.CancellationToken) };

    public override Task<GetGroupResponse> GetGroup(GetGroupRequest request, ServerCallContext context) =>
        groups.GetAsync(context.GetChatUser(), request.GroupId, context.CancellationToken);

    public override Task<ListMembersResponse> ListMembers(ListMembersRequest request, ServerCallContext context) =>
        groups.ListMembersAsync(context.GetChatUser(), request.GroupId, context.CancellationToken);

    public override async Task<ListUserConversationsResponse> ListUserConversations(ListUserConversationsRequest request, ServerCallContext context)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Limit(request.PageSize, ChatLimits.MaxConversationPage, "page_size"));
        var size = request.PageSize == 0 ? ChatLimits.MaxConversationPage : (int)request.PageSize;
        var offset = 0;
        if (request.PageToken.Length > 0 && (!int.TryParse(request.PageToken, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out offset) || offset < 0))
        {
            throw Invalid("page_token is not one this server issued.");
        }

        var all = (await core.ListConversationsAsync(context.GetChatUser().UserId, context.CancellationToken)).ToList();
        var response = new ListUserConversationsResponse { Conversations = { all.Skip(offset).Take(size) } };
        if (offset + size < all.Count)
        {
            response.NextPageToken = (offset + size).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return response;
    }

    public override async Task<GetConversationMembersResponse> GetConversationMembers(GetConversationMembersRequest request, ServerCallContext context)
    {
        var (kind, members, title) = await core.RequireMembershipAsync(request.ConversationId, context.GetChatUser().UserId, context.CancellationToken);
        return new GetConversationMembersResponse { Kind = kind, MemberIds = { members }, Title = title };
    }

    public override async Task<SetConversationSettingsResponse> SetConversationSettings(SetConversationSettingsRequest request, ServerCallContext context)
    {
        var me = context.GetChatUser();
        var settings = request.Settings
            ?? throw ChatStatus.From(new ValidationError(ErrorCodes.InvalidArgument, "settings is required (the complete new conversation settings)."));
        if (settings.MutedUntil is not null && !settings.Muted)
        {
            throw Invalid("muted_until needs muted = true (leave it unset to unmute).");
        }

        await core.RequireMembershipAsync(request.ConversationId, me.UserId, context.CancellationToken);
        var record = new ConversationSettingsRecord
        {
            Muted = settings.Muted,
            HidePreviews = settings.HidePreviews,
            MutedUntil = settings.MutedUntil?.ToDateTimeOffset(),
        };
        await core.State.SaveAsync(DirectoryKeys.ConversationSettings(me.UserId, request.ConversationId), record, context.CancellationToken);
        return new SetConversationSettingsResponse { Settings = DirectoryCore.ToSettings(record) };
    }

    public override async Task<GetConversationSettingsResponse> GetConversationSettings(GetConversationSettingsRequest request, ServerCallContext context)
    {
        var me = context.GetChatUser();
        await core.RequireMembershipAsync(request.ConversationId, me.UserId, context.CancellationToken);
        var record = (await core.State.GetAsync<ConversationSettingsRecord>(DirectoryKeys.ConversationSettings(me.UserId, request.ConversationId), context.CancellationToken)).Value;
        return new GetConversationSettingsResponse { Settings = DirectoryCore.ToSettings(record) };
    }

    private async Task LimitLookupAsync(ServerCallContext context)
    {
        var decision = await limiter[LookupLimit].AcquireAsync(context.GetChatUser().UserId, context.CancellationToken);
        if (!decision.Allowed)
        {
            throw ChatStatus.RateLimited("Too many user lookups (FindUser, GetProfiles).", decision.RetryAfter);
        }
    }

    private Task<UserRecord> MutateUserAsync(string userId, Action<UserRecord> change, CancellationToken ct) =>
        core.State.MutateAsync<UserRecord, UserRecord>(DirectoryKeys.User(userId), user =>
        {
            if (user is null)
            {
                throw ChatStatus.NotFound("user", userId);
            }

            change(user);
            return new(user, user);
        }, ct);

    private DeviceRecord ValidDevice(Device? device)
    {
        if (device is null)
        {
            throw Invalid("device is required.");
        }

        ChatStatus.ThrowIfInvalid(ChatValidation.Id(device.DeviceId, "Device id"));
        if (device.ApnsTopic.Length > 255)
        {
            throw Invalid("apns_topic is at most 255 characters.");
        }

        var record = new DeviceRecord { DeviceId = device.DeviceId, Platform = (int)device.Platform, ApnsTopic = device.ApnsTopic, RegisteredAt = core.Now };
        switch (device.Platform)
        {
            case PushPlatform.Apns or PushPlatform.Fcm:
                if (device.PushToken.Length is 0 or > MaxPushTokenLength || device.PushToken.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
                {
                    throw Invalid($"push_token is required for {device.Platform}: 1 to {MaxPushTokenLength} characters without spaces.");
                }

                record.PushToken = device.PushToken;
                break;
            case PushPlatform.Webpush:
                var sub = device.WebPush ?? throw Invalid("web_push (the browser's PushSubscription) is required for PUSH_PLATFORM_WEBPUSH.");
                ChatStatus.ThrowIfInvalid(PushEndpoints.Check(sub.Endpoint, webPush.CurrentValue));
                if (sub.P256Dh.Length is 0 or > MaxKeyLength || sub.Auth.Length is 0 or > MaxKeyLength)
                {
                    throw Invalid("web_push.p256dh and web_push.auth are required (base64url keys of the subscription).");
                }

                record.WebPushEndpoint = sub.Endpoint;
                record.WebPushP256dh = sub.P256Dh;
                record.WebPushAuth = sub.Auth;
                break;
            default:
                throw Invalid($"platform must be PUSH_PLATFORM_APNS, PUSH_PLATFORM_FCM or PUSH_PLATFORM_WEBPUSH; got {device.Platform}.");
        }

        return record;
    }

    private static void RequireUri(string value, string field)
    {
        if (value.Length > MaxUriLength || !Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
        {
            throw Invalid($"{field} must be an absolute http(s) URI of at most {MaxUriLength} characters.");
        }
    }

    private static RpcException Invalid(string message) => ChatStatus.From(new ValidationError(ErrorCodes.InvalidArgument, message));
}
