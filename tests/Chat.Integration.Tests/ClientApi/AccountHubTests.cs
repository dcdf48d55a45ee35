using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Push;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using static Chat.Integration.Tests.ClientApi.ClientApiSystem;

namespace Chat.Integration.Tests.ClientApi;

/// <summary>Issue 16: devices, privacy and profile through the hub, with a real SignalR client.</summary>
[Trait("Area", "ClientApi")]
public sealed class AccountHubTests(ClientApiSystem fx) : IClassFixture<ClientApiSystem>
{
    [Fact]
    public async Task RegisterDevice_stores_fcm_and_webpush_targets_and_UnregisterDevice_removes_only_the_callers()
    {
        var alice = await fx.UserAsync();
        var bob = await fx.UserAsync();
        var fcm = await alice.Connection.InvokeAsync<DeviceDto>("RegisterDevice", new RegisterDeviceArgs("fcm", "phone", Token: "fcm-token-1"));
        Assert.Equal(("phone", "fcm"), (fcm.DeviceId, fcm.Platform));
        var web = await alice.Connection.InvokeAsync<DeviceDto>("RegisterDevice",
            new RegisterDeviceArgs("webpush", "browser", Subscription: new WebPushSubscriptionDto("https://updates.push.services.mozilla.com/wpush/v2/sub1", "BKey", "auth")));
        Assert.Equal("webpush", web.Platform);
        await bob.Connection.InvokeAsync<DeviceDto>("RegisterDevice", new RegisterDeviceArgs("apns", "phone", Token: "abcdef0123"));

        var devices = (await alice.User.Directory.ListDevicesAsync(new ListDevicesRequest())).Devices;
        Assert.Equal(["browser", "phone"], devices.Select(d => d.DeviceId).Order());
        Assert.Equal("https://updates.push.services.mozilla.com/wpush/v2/sub1", devices.Single(d => d.DeviceId == "browser").WebPush.Endpoint);

        // Alice removes her phone; bob's device of the same id stays.
        Assert.True(await alice.Connection.InvokeAsync<bool>("UnregisterDevice", "phone"));
        Assert.False(await alice.Connection.InvokeAsync<bool>("UnregisterDevice", "phone"));
        Assert.Equal(["browser"], (await alice.User.Directory.ListDevicesAsync(new ListDevicesRequest())).Devices.Select(d => d.DeviceId));
        Assert.Equal(["phone"], (await bob.User.Directory.ListDevicesAsync(new ListDevicesRequest())).Devices.Select(d => d.DeviceId));
    }

    [Fact]
    public async Task RegisterDevice_refuses_bad_input()
    {
        var user = await fx.UserAsync();
        await Refused(ErrorCodes.InvalidArgument, () => user.Connection.InvokeAsync<DeviceDto>("RegisterDevice", new RegisterDeviceArgs("sms", "phone", Token: "t")));
        await Refused(ErrorCodes.InvalidArgument, () => user.Connection.InvokeAsync<DeviceDto>("RegisterDevice", new RegisterDeviceArgs("webpush", "browser")));
        await Refused(ErrorCodes.InvalidPushEndpoint, () => user.Connection.InvokeAsync<DeviceDto>("RegisterDevice",
            new RegisterDeviceArgs("webpush", "browser", Subscription: new WebPushSubscriptionDto("file:///etc/passwd", "k", "a"))));
        await Refused(ErrorCodes.InvalidArgument, () => user.Connection.InvokeAsync<DeviceDto>("RegisterDevice", new RegisterDeviceArgs("fcm", "phone")));
        await Refused(ErrorCodes.InvalidId, () => user.Connection.InvokeAsync<DeviceDto>("RegisterDevice", new RegisterDeviceArgs("fcm", "no spaces!", Token: "t")));
        await Refused(ErrorCodes.InvalidId, () => user.Connection.InvokeAsync<bool>("UnregisterDevice", "../x"));
        Assert.Empty((await user.User.Directory.ListDevicesAsync(new ListDevicesRequest())).Devices);
    }

    [Fact]
    public async Task RegisterDevice_through_the_hub_makes_an_offline_browser_get_a_web_push()
    {
        await using var rig = await PushRig.StartAsync();
        var (subscriptionId, browser) = rig.WebPush.Subscribe();
        using var _ = browser;
        var alice = await Chat.Integration.Tests.Infrastructure.ChatClients.RegisterAsync(rig.System);
        var bob = await Chat.Integration.Tests.Infrastructure.ChatClients.RegisterAsync(rig.System);
        await using (var bobHub = await Chat.Integration.Tests.Infrastructure.HubClient.ConnectAsync(rig.System.GatewayUrl, bob))
        {
            await bobHub.Connection.InvokeAsync<DeviceDto>("RegisterDevice",
                new RegisterDeviceArgs("webpush", "browser", Subscription: new WebPushSubscriptionDto(browser.Endpoint, browser.P256dh, browser.Auth)));
        }

        // Bob's disconnect is processed by the server after the client closes: wait until the router, which delivers direct messages, sees him offline.
        var fanOut = rig.System.AppOf(DaprNames.Apps.Router).Services.GetRequiredService<Chat.Core.Routing.FanOut>();
        await Wait.UntilAsync(async () => (await fanOut.ResolveAsync([bob.UserId], default)).Offline.Contains(bob.UserId), "the router (which delivers direct messages) to see bob offline", TimeSpan.FromSeconds(15));

        await Chat.Integration.Tests.Infrastructure.ChatClients.SendToPeerAsync(alice, bob, "while you were away");
        await Wait.UntilAsync(() => rig.WebPush.To(subscriptionId).Any(), "a web push to bob's browser", TimeSpan.FromSeconds(15));

        var push = Assert.Single(rig.WebPush.To(subscriptionId));
        Assert.Contains("while you were away", push.Payload.GetRawText());
    }

    [Fact]
    public async Task Privacy_reads_and_changes_only_the_given_fields_and_refuses_unknown_values()
    {
        var user = await fx.UserAsync();
        var other = await fx.UserAsync();
        var defaults = await user.Connection.InvokeAsync<PrivacyDto>("GetPrivacy");
        Assert.Equal(new PrivacyDto("everyone", "everyone", true, "everyone", true), defaults);

        var changed = await user.Connection.InvokeAsync<PrivacyDto>("UpdatePrivacy", new UpdatePrivacyArgs(LastSeen: "contacts", GroupAdd: "nobody", ReadReceipts: false));
        Assert.Equal(new PrivacyDto("contacts", "contacts", false, "nobody", true), changed);
        Assert.Equal(changed, await user.Connection.InvokeAsync<PrivacyDto>("GetPrivacy"));
        var stored = (await user.User.Directory.GetPrivacySettingsAsync(new GetPrivacySettingsRequest())).Settings;
        Assert.Equal((LastSeenVisibility.Contacts, GroupAddPolicy.Nobody, false), (stored.LastSeen, stored.GroupAdd, stored.ReadReceipts));

        await Refused(ErrorCodes.InvalidArgument, () => user.Connection.InvokeAsync<PrivacyDto>("UpdatePrivacy", new UpdatePrivacyArgs(LastSeen: "friends")));
        await Refused(ErrorCodes.InvalidArgument, () => user.Connection.InvokeAsync<PrivacyDto>("UpdatePrivacy", new UpdatePrivacyArgs(Online: "everyone")));
        await Refused(ErrorCodes.InvalidArgument, () => user.Connection.InvokeAsync<PrivacyDto>("UpdatePrivacy", new UpdatePrivacyArgs(GroupAdd: "")));
        // Nothing changed by the refused calls, and nobody else's settings moved.
        Assert.Equal(changed, await user.Connection.InvokeAsync<PrivacyDto>("GetPrivacy"));
        Assert.Equal(defaults, await other.Connection.InvokeAsync<PrivacyDto>("GetPrivacy"));
    }

    [Fact]
    public async Task UpdateProfile_changes_what_others_see_and_refuses_bad_names_and_uris()
    {
        var user = await fx.UserAsync();
        var other = await fx.UserAsync();
        var profile = await user.Connection.InvokeAsync<UserProfileDto>("UpdateProfile", new UpdateProfileArgs("Ada L.", "https://cdn.example/ada.png"));
        Assert.Equal(("Ada L.", "https://cdn.example/ada.png"), (profile.DisplayName, profile.AvatarUri));
        var seen = await other.Connection.InvokeAsync<UserProfileDto>("FindUser", user.User.UserName);
        Assert.Equal("Ada L.", seen.DisplayName);

        await Refused(ErrorCodes.InvalidArgument, () => user.Connection.InvokeAsync<UserProfileDto>("UpdateProfile", new UpdateProfileArgs()));
        await Refused(ErrorCodes.InvalidDisplayName, () => user.Connection.InvokeAsync<UserProfileDto>("UpdateProfile", new UpdateProfileArgs(new string('x', 65))));
        await Refused(ErrorCodes.InvalidArgument, () => user.Connection.InvokeAsync<UserProfileDto>("UpdateProfile", new UpdateProfileArgs(AvatarUri: "javascript:alert(1)")));
        Assert.Equal("Ada L.", (await other.Connection.InvokeAsync<UserProfileDto>("FindUser", user.User.UserName)).DisplayName);
    }
}
