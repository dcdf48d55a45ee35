using Chat.Contracts.V1;
using Chat.Domain;

namespace Chat.Gateway.Hubs;

/// <summary>A browser's push subscription (PushSubscription.toJSON(): endpoint and keys).</summary>
public sealed record WebPushSubscriptionDto(string? Endpoint, string? P256dh, string? Auth);

/// <summary>
/// Arguments of RegisterDevice: platform "apns" | "fcm" | "webpush"; a push token for apns/fcm,
/// a subscription for webpush; the client's device id (1 to 64 of [A-Za-z0-9_-]).
/// </summary>
public sealed record RegisterDeviceArgs(string? Platform, string? DeviceId, string? Token = null, WebPushSubscriptionDto? Subscription = null, string? ApnsTopic = null);

/// <summary>A registered push target (the token or subscription is not echoed).</summary>
public sealed record DeviceDto(string DeviceId, string Platform, DateTimeOffset RegisteredAt);

/// <summary>
/// Privacy settings. lastSeen, online and groupAdd are "everyone" | "contacts" | "nobody";
/// online follows lastSeen (one rule hides both).
/// </summary>
public sealed record PrivacyDto(string LastSeen, string Online, bool ReadReceipts, string GroupAdd, bool PushPreviews);

/// <summary>Arguments of UpdatePrivacy; a null field stays as it is.</summary>
public sealed record UpdatePrivacyArgs(string? LastSeen = null, string? Online = null, bool? ReadReceipts = null, string? GroupAdd = null, bool? PushPreviews = null);

/// <summary>Arguments of UpdateProfile; a null or empty field stays as it is.</summary>
public sealed record UpdateProfileArgs(string? DisplayName = null, string? AvatarUri = null);

/// <summary>Devices (push), privacy and profile of the caller.</summary>
public sealed partial class ChatHub
{
    /// <summary>Registers (or replaces) a push target for one of the caller's devices.</summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument, ErrorCodes.InvalidId, ErrorCodes.InvalidPushEndpoint)]
    [RateLimit(HubRatePolicies.Account)]
    public async Task<DeviceDto> RegisterDevice(RegisterDeviceArgs args, DirectoryService.DirectoryServiceClient directory)
    {
        if (args is null)
        {
            throw HubErrors.Create(ErrorCodes.InvalidArgument, "RegisterDevice needs {platform, deviceId, token | subscription}.");
        }

        var device = new Device { DeviceId = args.DeviceId ?? "", ApnsTopic = args.ApnsTopic ?? "" };
        device.Platform = args.Platform?.ToLowerInvariant() switch
        {
            "apns" => PushPlatform.Apns,
            "fcm" => PushPlatform.Fcm,
            "webpush" => PushPlatform.Webpush,
            _ => throw HubErrors.Create(ErrorCodes.InvalidArgument, "platform must be \"apns\", \"fcm\" or \"webpush\"."),
        };
        if (device.Platform == PushPlatform.Webpush)
        {
            var sub = args.Subscription ?? throw HubErrors.Create(ErrorCodes.InvalidArgument, "webpush needs subscription {endpoint, p256dh, auth} (PushSubscription.toJSON()).");
            device.WebPush = new WebPushSubscription { Endpoint = sub.Endpoint ?? "", P256Dh = sub.P256dh ?? "", Auth = sub.Auth ?? "" };
        }
        else
        {
            device.PushToken = args.Token ?? "";
        }

        var response = await Call(() => directory.RegisterDeviceAsync(new RegisterDeviceRequest { Device = device }, Headers()).ResponseAsync);
        return new DeviceDto(response.Device.DeviceId, Platform(response.Device.Platform), response.Device.RegisteredAt?.ToDateTimeOffset() ?? default);
    }

    /// <summary>Removes one of the caller's push targets; false when there was none.</summary>
    [HubErrorCodes(ErrorCodes.InvalidId)]
    [RateLimit(HubRatePolicies.Account)]
    public async Task<bool> UnregisterDevice(string deviceId, DirectoryService.DirectoryServiceClient directory)
    {
        RequireId(deviceId, "deviceId");
        var response = await Call(() => directory.UnregisterDeviceAsync(new UnregisterDeviceRequest { DeviceId = deviceId }, Headers()).ResponseAsync);
        return response.Removed;
    }

    /// <summary>The caller's privacy settings.</summary>
    [HubErrorCodes()]
    [RateLimit(HubRatePolicies.Read)]
    public async Task<PrivacyDto> GetPrivacy(DirectoryService.DirectoryServiceClient directory)
    {
        var response = await Call(() => directory.GetPrivacySettingsAsync(new GetPrivacySettingsRequest(), Headers()).ResponseAsync);
        return ToDto(response.Settings);
    }

    /// <summary>Changes the given privacy settings (null fields stay). online must equal lastSeen.</summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument)]
    [RateLimit(HubRatePolicies.Account)]
    public async Task<PrivacyDto> UpdatePrivacy(UpdatePrivacyArgs args, DirectoryService.DirectoryServiceClient directory)
    {
        if (args is null)
        {
            throw HubErrors.Create(ErrorCodes.InvalidArgument, "UpdatePrivacy needs {lastSeen?, online?, readReceipts?, groupAdd?, pushPreviews?}.");
        }

        var lastSeen = args.LastSeen is null ? (LastSeenVisibility?)null : Audience(args.LastSeen, "lastSeen");
        var online = args.Online is null ? (LastSeenVisibility?)null : Audience(args.Online, "online");
        var groupAdd = args.GroupAdd is null ? (GroupAddPolicy?)null : GroupAdd(args.GroupAdd);
        var current = (await Call(() => directory.GetPrivacySettingsAsync(new GetPrivacySettingsRequest(), Headers()).ResponseAsync)).Settings;
        if (online is { } o && o != (lastSeen ?? current.LastSeen))
        {
            throw HubErrors.Create(ErrorCodes.InvalidArgument, "online follows lastSeen (one rule hides both): set them to the same value.");
        }

        var next = new PrivacySettings
        {
            LastSeen = lastSeen ?? online ?? current.LastSeen,
            ReadReceipts = args.ReadReceipts ?? current.ReadReceipts,
            GroupAdd = groupAdd ?? current.GroupAdd,
            PushPreviews = args.PushPreviews ?? current.PushPreviews,
        };
        var response = await Call(() => directory.UpdatePrivacySettingsAsync(new UpdatePrivacySettingsRequest { Settings = next }, Headers()).ResponseAsync);
        return ToDto(response.Settings);
    }

    /// <summary>Changes the caller's display name and/or avatar.</summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument, ErrorCodes.InvalidDisplayName)]
    [RateLimit(HubRatePolicies.Account)]
    public async Task<UserProfileDto> UpdateProfile(UpdateProfileArgs args, DirectoryService.DirectoryServiceClient directory)
    {
        if (args is null || (string.IsNullOrEmpty(args.DisplayName) && string.IsNullOrEmpty(args.AvatarUri)))
        {
            throw HubErrors.Create(ErrorCodes.InvalidArgument, "UpdateProfile needs {displayName?, avatarUri?} with at least one of them set.");
        }

        var response = await Call(() => directory.UpdateProfileAsync(new UpdateProfileRequest { DisplayName = args.DisplayName ?? "", AvatarUri = args.AvatarUri ?? "" }, Headers()).ResponseAsync);
        return ToDto(response.Profile);
    }

    private static PrivacyDto ToDto(PrivacySettings s) =>
        new(Audience(s.LastSeen), Audience(s.LastSeen), s.ReadReceipts, GroupAdd(s.GroupAdd), s.PushPreviews);

    private static string Audience(LastSeenVisibility v) => v switch
    {
        LastSeenVisibility.Contacts => "contacts",
        LastSeenVisibility.Nobody => "nobody",
        _ => "everyone",
    };

    private static LastSeenVisibility Audience(string value, string field) => value.ToLowerInvariant() switch
    {
        "everyone" => LastSeenVisibility.Everyone,
        "contacts" => LastSeenVisibility.Contacts,
        "nobody" => LastSeenVisibility.Nobody,
        _ => throw HubErrors.Create(ErrorCodes.InvalidArgument, $"{field} must be \"everyone\", \"contacts\" or \"nobody\"."),
    };

    private static string GroupAdd(GroupAddPolicy v) => v switch
    {
        GroupAddPolicy.Contacts => "contacts",
        GroupAddPolicy.Nobody => "nobody",
        _ => "everyone",
    };

    private static GroupAddPolicy GroupAdd(string value) => value.ToLowerInvariant() switch
    {
        "everyone" => GroupAddPolicy.Everyone,
        "contacts" => GroupAddPolicy.Contacts,
        "nobody" => GroupAddPolicy.Nobody,
        _ => throw HubErrors.Create(ErrorCodes.InvalidArgument, "groupAdd must be \"everyone\", \"contacts\" or \"nobody\"."),
    };

    private static string Platform(PushPlatform p) => p switch
    {
        PushPlatform.Apns => "apns",
        PushPlatform.Fcm => "fcm",
        PushPlatform.Webpush => "webpush",
        _ => "unspecified",
    };

    private static void RequireId(string? id, string field)
    {
        if (!Identifiers.IsValidId(id))
        {
            throw HubErrors.Create(ErrorCodes.InvalidId, $"{field} '{id}' is not valid ({Identifiers.IdRule}).");
        }
    }
}
