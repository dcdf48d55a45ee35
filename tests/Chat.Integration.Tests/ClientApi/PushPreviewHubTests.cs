using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Chat.Core.Routing;
using Chat.Delivery.Push;
using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Chat.Integration.Tests.Push;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Integration.Tests.ClientApi;

/// <summary>
/// Issue 16: the preview settings changed through the hub (UpdatePrivacy pushPreviews,
/// SetConversationSettings previews) hold for the very next push, on APNs, FCM and Web Push
/// alike, with real SignalR clients on both sides and the fake push services of the push rig.
/// </summary>
[Trait("Area", "ClientApi")]
public sealed class PushPreviewHubTests : IAsyncLifetime
{
    private PushRig _rig = null!;

    public async Task InitializeAsync() => _rig = await PushRig.StartAsync(throttleSeconds: 0);

    public async Task DisposeAsync()
    {
        if (_rig is not null)
        {
            await _rig.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_push_sent_right_after_previews_are_turned_off_through_the_hub_carries_no_text()
    {
        var (alice, bob) = (await _rig.System.RegisterAsync(), await _rig.System.RegisterAsync());
        await using var aliceHub = await HubClient.ConnectAsync(_rig.System.GatewayUrl, alice);
        var devices = await RegisterThroughHubAsync(bob);
        var first = await SendWhileOfflineAsync(aliceHub, bob, null, "hello there");
        var conversationId = first.Message.ConversationId;
        AssertPushes(devices, first.Message.Seq, "hello there");

        // Each round changes a setting with Bob's client, which then closes, and Alice writes at once.
        var rounds = new (UpdatePrivacyArgs? Privacy, ConversationSettingsArgs? Conversation, bool Shown)[]
        {
            (new UpdatePrivacyArgs(PushPreviews: false), null, false),
            (new UpdatePrivacyArgs(PushPreviews: true), null, true),
            (new UpdatePrivacyArgs(PushPreviews: false), null, false),
            (new UpdatePrivacyArgs(PushPreviews: true), new ConversationSettingsArgs(Previews: "hide"), false),
            (null, new ConversationSettingsArgs(Previews: "show"), true),
        };
        foreach (var (privacy, conversation, shown) in rounds)
        {
            await using (var bobHub = await HubClient.ConnectAsync(_rig.System.GatewayUrl, bob))
            {
                if (privacy is not null)
                {
                    Assert.Equal(privacy.PushPreviews, (await bobHub.Connection.InvokeAsync<PrivacyDto>("UpdatePrivacy", privacy)).PushPreviews);
                }

                if (conversation is not null)
                {
                    Assert.Equal(conversation.Previews, (await bobHub.Connection.InvokeAsync<ConversationSettingsDto>("SetConversationSettings", conversationId, conversation)).Previews);
                }
            }

            var text = "secret " + Guid.NewGuid().ToString("N")[..8];
            var sent = await SendWhileOfflineAsync(aliceHub, bob, conversationId, text);
            AssertPushes(devices, sent.Message.Seq, shown ? text : null);
        }

        // No push ever carried a text after its setting was off, whatever its seq.
        Assert.Equal(rounds.Length + 1, _rig.WebPush.To(devices.Browser.Id).Count());
        _rig.AssertWireClean();
    }

    [Fact]
    public async Task Muting_through_the_hub_keeps_hidden_previews_hidden_and_hiding_previews_keeps_the_mute()
    {
        var (alice, bob) = (await _rig.System.RegisterAsync(), await _rig.System.RegisterAsync());
        await using var aliceHub = await HubClient.ConnectAsync(_rig.System.GatewayUrl, alice);
        var devices = await RegisterThroughHubAsync(bob);
        var first = await SendWhileOfflineAsync(aliceHub, bob, null, "hello there");
        var conversationId = first.Message.ConversationId;

        await using (var bobHub = await HubClient.ConnectAsync(_rig.System.GatewayUrl, bob))
        {
            // As the web client's Mute button does: only "muted" is sent, and the hidden previews stay hidden.
            await bobHub.Connection.InvokeAsync<ConversationSettingsDto>("SetConversationSettings", conversationId, new ConversationSettingsArgs(Previews: "hide"));
            var muted = await bobHub.Connection.InvokeAsync<ConversationSettingsDto>("SetConversationSettings", conversationId, new ConversationSettingsArgs(Muted: true));
            Assert.Equal((true, "hide"), (muted.Muted, muted.Previews));
            // Showing previews again leaves the mute as it is.
            var shown = await bobHub.Connection.InvokeAsync<ConversationSettingsDto>("SetConversationSettings", conversationId, new ConversationSettingsArgs(Previews: "show"));
            Assert.Equal((true, "show"), (shown.Muted, shown.Previews));
            await bobHub.Connection.InvokeAsync<ConversationSettingsDto>("SetConversationSettings", conversationId, new ConversationSettingsArgs(Previews: "hide"));
            var unmuted = await bobHub.Connection.InvokeAsync<ConversationSettingsDto>("SetConversationSettings", conversationId, new ConversationSettingsArgs(Muted: false));
            Assert.Equal((false, "hide"), (unmuted.Muted, unmuted.Previews));
        }

        var sent = await SendWhileOfflineAsync(aliceHub, bob, conversationId, "the plan for tonight");
        AssertPushes(devices, sent.Message.Seq, null);
        _rig.AssertWireClean();
    }

    /// <summary>Bob registers an iPhone, an Android phone and a browser with RegisterDevice, then closes his client.</summary>
    private async Task<UserDevices> RegisterThroughHubAsync(TestUser bob)
    {
        var devices = new UserDevices(bob, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant(), "fcm:" + Guid.NewGuid().ToString("N"), _rig.WebPush.Subscribe());
        await using var hub = await HubClient.ConnectAsync(_rig.System.GatewayUrl, bob);
        await hub.Connection.InvokeAsync<DeviceDto>("RegisterDevice", new RegisterDeviceArgs("apns", "iphone", Token: devices.ApnsToken, ApnsTopic: "io.chatdapr.app"));
        await hub.Connection.InvokeAsync<DeviceDto>("RegisterDevice", new RegisterDeviceArgs("fcm", "pixel", Token: devices.FcmToken));
        var browser = devices.Browser.Subscription;
        await hub.Connection.InvokeAsync<DeviceDto>("RegisterDevice", new RegisterDeviceArgs("webpush", "browser", Subscription: new WebPushSubscriptionDto(browser.Endpoint, browser.P256dh, browser.Auth)));
        return devices;
    }

    /// <summary>Waits until the router (which delivers direct messages) sees <paramref name="bob"/> with no connection, then Alice sends through her hub client and the push is processed.</summary>
    private async Task<MessageAcceptedDto> SendWhileOfflineAsync(HubClient alice, TestUser bob, string? conversationId, string text)
    {
        var fanOut = _rig.System.AppOf(DaprNames.Apps.Router).Services.GetRequiredService<FanOut>();
        await Wait.UntilAsync(async () => (await fanOut.ResolveAsync([bob.UserId], default)).Offline.Contains(bob.UserId), "the router sees bob offline");
        var processed = _rig.Stats.Processed;
        var sent = await alice.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage",
            new SendMessageArgs(conversationId, conversationId is null ? bob.UserId : null, Guid.NewGuid().ToString("N"), text));
        await _rig.WaitProcessedAsync(processed + 1);
        return sent;
    }

    /// <summary>
    /// Each of Bob's three devices got exactly one push for <paramref name="seq"/>, whose body is
    /// <paramref name="text"/>, or "New message" with the text nowhere in the payload when null.
    /// </summary>
    private void AssertPushes(UserDevices devices, ulong seq, string? text)
    {
        var s = seq.ToString(CultureInfo.InvariantCulture);
        var apns = Assert.Single(_rig.Apns.To(devices.ApnsToken), p => p.Payload.GetProperty("seq").GetString() == s).Payload;
        var fcm = Assert.Single(_rig.Fcm.To(devices.FcmToken), p => p.Message.GetProperty("data").GetProperty("seq").GetString() == s).Message;
        var web = Assert.Single(_rig.WebPush.To(devices.Browser.Id), p => p.Payload.GetProperty("seq").GetString() == s).Payload;
        var bodies = new[]
        {
            apns.GetProperty("aps").GetProperty("alert").GetProperty("body").GetString(),
            fcm.GetProperty("notification").GetProperty("body").GetString(),
            web.GetProperty("body").GetString(),
        };
        Assert.All(bodies, body => Assert.Equal(text ?? PushContent.NoPreview, body));
        if (text is null)
        {
            foreach (var payload in new JsonElement[] { apns, fcm, web })
            {
                Assert.DoesNotContain("secret", payload.GetRawText(), StringComparison.Ordinal);
                Assert.DoesNotContain("tonight", payload.GetRawText(), StringComparison.Ordinal);
            }
        }
    }
}
