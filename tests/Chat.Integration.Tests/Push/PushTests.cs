using System.Net.Http.Json;
using Chat.Domain;
using Chat.Contracts.V1;
using Chat.Delivery.Push;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;

namespace Chat.Integration.Tests.Push;

/// <summary>Issue 8: pushes to offline devices through the Dapr output bindings, against fakes of APNs, FCM and a Web Push service.</summary>
[Trait("Area", "Push")]
public sealed class PushTests
{
    private const string LongText = "Are we still on for Saturday? I was thinking we could meet at ten and walk";

    [Fact]
    public async Task Offline_user_gets_exactly_one_push_per_device_and_online_user_and_sender_none()
    {
        await using var rig = await PushRig.StartAsync();
        var alice = await rig.System.RegisterAsync();
        var bob = await rig.System.RegisterAsync();
        var carol = await rig.System.RegisterAsync();
        var aliceDevices = await rig.RegisterDevicesAsync(alice);
        var bobDevices = await rig.RegisterDevicesAsync(bob);
        var carolDevices = await rig.RegisterDevicesAsync(carol);
        var group = await alice.CreateGroupAsync("Weekend", bob, carol);
        await using var carolHub = await HubClient.ConnectAsync(rig.System.GatewayUrl, carol);

        // Alice sends through gRPC with no hub connection: she is offline too, but she is the sender.
        var sent = await alice.SendAsync(group, LongText);
        await carolHub.WaitForAsync<MessageDto>(m => m.MsgId == sent.Message.MsgId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await rig.WaitProcessedAsync(1);

        rig.AssertWireClean();
        var apns = Assert.Single(rig.Apns.Pushes);
        var fcm = Assert.Single(rig.Fcm.Pushes);
        var web = Assert.Single(rig.WebPush.Pushes);
        Assert.Equal(bobDevices.ApnsToken, apns.DeviceToken);
        Assert.Equal(bobDevices.FcmToken, fcm.Token);
        Assert.Equal(bobDevices.Browser.Id, web.SubscriptionId);
        Assert.Empty(rig.Apns.To(carolDevices.ApnsToken).Concat(rig.Apns.To(aliceDevices.ApnsToken)));
        Assert.Equal(3, rig.Stats.Sent);
        rig.AssertWireClean();

        // Title: the group; body: the first 50 characters; badge: one unread; collapse per conversation.
        var preview = LongText[..50];
        var aps = apns.Payload.GetProperty("aps");
        Assert.Equal("Weekend", aps.GetProperty("alert").GetProperty("title").GetString());
        Assert.Equal(preview, aps.GetProperty("alert").GetProperty("body").GetString());
        Assert.Equal(1, aps.GetProperty("badge").GetInt32());
        Assert.Equal(group, aps.GetProperty("thread-id").GetString());
        Assert.Equal("alert", apns.Headers["apns-push-type"]);
        Assert.Equal("io.chatdapr.app", apns.Headers["apns-topic"]);
        Assert.Equal(group, apns.Headers["apns-collapse-id"]);
        Assert.True(long.Parse(apns.Headers["apns-expiration"], System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.ToUnixTimeSeconds());

        Assert.Equal(FakeFcm.ProjectId, fcm.ProjectId);
        Assert.Equal("Weekend", fcm.Message.GetProperty("notification").GetProperty("title").GetString());
        Assert.Equal(preview, fcm.Message.GetProperty("notification").GetProperty("body").GetString());
        Assert.Equal(group, fcm.Message.GetProperty("android").GetProperty("collapse_key").GetString());
        Assert.Equal(1, fcm.Message.GetProperty("android").GetProperty("notification").GetProperty("notification_count").GetInt32());
        Assert.Equal(group, fcm.Message.GetProperty("data").GetProperty("conversation_id").GetString());

        Assert.Equal("Weekend", web.Payload.GetProperty("title").GetString());
        Assert.Equal(preview, web.Payload.GetProperty("body").GetString());
        Assert.Equal(1, web.Payload.GetProperty("badge").GetInt32());
        Assert.Equal(new PushContent(group, "", "", 0, 0, 0).WebPushTopic, web.Headers["Topic"]);
        Assert.Matches("^[A-Za-z0-9_-]{1,32}$", web.Headers["Topic"]);
        Assert.Equal("high", web.Headers["Urgency"]);
    }
}

/// <summary>Issue 8: collapsing, the per-conversation rate limit, invalid tokens, preview rules and the development sink.</summary>
[Trait("Area", "Push")]
public sealed class PushBehaviourTests
{
    private static readonly System.Globalization.CultureInfo Inv = System.Globalization.CultureInfo.InvariantCulture;

    [Fact]
    public async Task Pushes_collapse_per_conversation_and_are_limited_per_window_until_read()
    {
        const int window = 5;
        await using var rig = await PushRig.StartAsync(throttleSeconds: window);
        var alice = await rig.System.RegisterAsync();
        var carol = await rig.System.RegisterAsync();
        var bob = await rig.System.RegisterAsync();
        var devices = await rig.RegisterDevicesAsync(bob);
        int Pushes(string cid) => rig.Apns.To(devices.ApnsToken).Count(p => p.Headers["apns-collapse-id"] == cid);

        var first = await alice.SendToPeerAsync(bob, "one");
        var cid = first.Message.ConversationId;
        await rig.WaitProcessedAsync(1);
        var firstPushAt = DateTime.UtcNow;
        Assert.Equal(1, Pushes(cid));

        // Within the window and still unread: no second push on any device.
        await alice.SendAsync(cid, "two");
        await rig.WaitProcessedAsync(2);
        Assert.Equal(1, Pushes(cid));
        Assert.Single(rig.Fcm.To(devices.FcmToken));
        Assert.Single(rig.WebPush.To(devices.Browser.Id));
        Assert.Equal(3, rig.Stats.Throttled);

        // Another conversation has its own limit and its own collapse id.
        var fromCarol = await carol.SendToPeerAsync(bob, "hi from carol");
        await rig.WaitProcessedAsync(3);
        Assert.Equal(1, Pushes(fromCarol.Message.ConversationId));
        Assert.NotEqual(cid, fromCarol.Message.ConversationId);
        Assert.Equal(carol.UserName, rig.Apns.To(devices.ApnsToken).Last().Payload.GetProperty("aps").GetProperty("alert").GetProperty("title").GetString());

        // Reading lifts the limit at once; the badge counts what is unread after the read.
        await bob.Messaging.UpdateReceiptAsync(new UpdateReceiptRequest { ConversationId = cid, Kind = ReceiptKind.Read, UpToSeq = 2 });
        await alice.SendAsync(cid, "three");
        await rig.WaitProcessedAsync(4);
        Assert.True(DateTime.UtcNow - firstPushAt < TimeSpan.FromSeconds(window), "the read, not the window, must have lifted the limit");
        Assert.Equal(2, Pushes(cid));
        Assert.Equal(1, rig.Apns.To(devices.ApnsToken).Last().Payload.GetProperty("aps").GetProperty("badge").GetInt32());
        var secondPushAt = DateTime.UtcNow;

        await alice.SendAsync(cid, "four");
        await rig.WaitProcessedAsync(5);
        Assert.Equal(2, Pushes(cid));

        // Once the window has passed, the next message pushes again, with everything unread counted.
        await Wait.UntilAsync(() => DateTime.UtcNow - secondPushAt > TimeSpan.FromSeconds(window + 0.2), "the throttle window to pass");
        await alice.SendAsync(cid, "five");
        await rig.WaitProcessedAsync(6);
        Assert.Equal(3, Pushes(cid));
        Assert.Equal(3, rig.Apns.To(devices.ApnsToken).Last().Payload.GetProperty("aps").GetProperty("badge").GetInt32());

        // Every push of a conversation carries the same collapse key on every platform.
        var fcm = rig.Fcm.To(devices.FcmToken).Where(p => p.Message.GetProperty("data").GetProperty("conversation_id").GetString() == cid).ToList();
        Assert.Equal(3, fcm.Count);
        Assert.All(fcm, p => Assert.Equal(cid, p.Message.GetProperty("android").GetProperty("collapse_key").GetString()));
        var web = rig.WebPush.To(devices.Browser.Id).Where(p => p.Payload.GetProperty("conversation_id").GetString() == cid).ToList();
        Assert.Equal(3, web.Count);
        Assert.Single(web.Select(p => p.Headers["Topic"]).Distinct());
        Assert.NotEqual(web[0].Headers["Topic"], rig.WebPush.To(devices.Browser.Id).Single(p => p.Payload.GetProperty("conversation_id").GetString() == fromCarol.Message.ConversationId).Headers["Topic"]);

        // One OAuth token served every FCM push: Google.Apis.Auth keeps it until it expires.
        Assert.Equal(1, rig.Fcm.TokenRequests);
        rig.AssertWireClean();
    }

    [Fact]
    public async Task Invalid_tokens_remove_their_registrations_and_keep_the_others()
    {
        await using var rig = await PushRig.StartAsync();
        var alice = await rig.System.RegisterAsync();
        var bob = await rig.System.RegisterAsync();
        var devices = await rig.RegisterDevicesAsync(bob);
        var ipadToken = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await bob.Directory.RegisterDeviceAsync(new RegisterDeviceRequest { Device = new Device { DeviceId = "ipad", Platform = PushPlatform.Apns, PushToken = ipadToken, ApnsTopic = "io.chatdapr.app" } });
        await bob.Directory.RegisterDeviceAsync(new RegisterDeviceRequest { Device = new Device { DeviceId = "tablet", Platform = PushPlatform.Fcm, PushToken = "not-a-token" } });
        await bob.Directory.RegisterDeviceAsync(new RegisterDeviceRequest { Device = new Device { DeviceId = "work-phone", Platform = PushPlatform.Fcm, PushToken = "fcm:still-valid" } });
        rig.Apns.Unregistered[devices.ApnsToken] = true;
        rig.Apns.BadTokens[ipadToken] = true;
        rig.Fcm.Unregistered[devices.FcmToken] = true;
        rig.Fcm.Malformed["not-a-token"] = true;
        rig.WebPush.Expired[devices.Browser.Id] = true;

        await alice.SendToPeerAsync(bob, "are you there?");
        await rig.WaitProcessedAsync(1);
        await Wait.UntilAsync(async () => (await bob.Directory.ListDevicesAsync(new ListDevicesRequest())).Devices.Count == 1, "the five invalid registrations to be removed");

        var left = Assert.Single((await bob.Directory.ListDevicesAsync(new ListDevicesRequest())).Devices);
        Assert.Equal("work-phone", left.DeviceId);
        Assert.Single(rig.Fcm.To("fcm:still-valid"));
        Assert.Equal(5, rig.Stats.InvalidTokens);
        Assert.Equal(0, rig.Stats.Failed);
        rig.AssertWireClean();
    }

    [Fact]
    public async Task Previews_are_hidden_when_the_user_or_conversation_hides_them_or_the_content_is_opaque_and_muted_users_get_none()
    {
        await using var rig = await PushRig.StartAsync(throttleSeconds: 0);
        var alice = await rig.System.RegisterAsync();
        var bob = await rig.System.RegisterAsync();
        var dave = await rig.System.RegisterAsync();
        var erin = await rig.System.RegisterAsync();
        var frank = await rig.System.RegisterAsync();
        var bobDevices = await rig.RegisterDevicesAsync(bob);
        var daveDevices = await rig.RegisterDevicesAsync(dave);
        var erinDevices = await rig.RegisterDevicesAsync(erin);
        var frankDevices = await rig.RegisterDevicesAsync(frank);
        var group = await alice.CreateGroupAsync("Book club", bob, dave, erin, frank);
        await bob.Directory.UpdatePrivacySettingsAsync(new UpdatePrivacySettingsRequest { Settings = new PrivacySettings { PushPreviews = false, ReadReceipts = true, LastSeen = LastSeenVisibility.Everyone } });
        await frank.Directory.SetConversationSettingsAsync(new SetConversationSettingsRequest { ConversationId = group, Settings = new ConversationSettings { HidePreviews = true } });
        await erin.Directory.SetConversationSettingsAsync(new SetConversationSettingsRequest { ConversationId = group, Settings = new ConversationSettings { Muted = true } });

        await alice.SendAsync(group, "Chapter 3 tonight");
        await rig.WaitProcessedAsync(1);
        await alice.Messaging.SendMessageAsync(new SendMessageRequest { ConversationId = group, ClientMsgId = Guid.NewGuid().ToString("N"), Content = new MessageContent { Text = "c2VjcmV0", Opaque = true } });
        await rig.WaitProcessedAsync(2);

        string[] Bodies(UserDevices d) => [.. rig.Apns.To(d.ApnsToken).Select(p => p.Payload.GetProperty("aps").GetProperty("alert").GetProperty("body").GetString()!)];
        Assert.Equal([PushContent.NoPreview, PushContent.NoPreview], Bodies(bobDevices));
        Assert.Equal([PushContent.NoPreview, PushContent.NoPreview], Bodies(frankDevices));
        Assert.Equal(["Chapter 3 tonight", PushContent.NoPreview], Bodies(daveDevices));
        Assert.Equal([PushContent.NoPreview, PushContent.NoPreview], rig.Fcm.To(bobDevices.FcmToken).Select(p => p.Message.GetProperty("notification").GetProperty("body").GetString()));
        Assert.Equal(["Chapter 3 tonight", PushContent.NoPreview], rig.WebPush.To(daveDevices.Browser.Id).Select(p => p.Payload.GetProperty("body").GetString()));
        Assert.Empty(rig.Apns.To(erinDevices.ApnsToken));
        Assert.Empty(rig.Fcm.To(erinDevices.FcmToken));
        Assert.Equal([1, 2], rig.Apns.To(daveDevices.ApnsToken).Select(p => p.Payload.GetProperty("aps").GetProperty("badge").GetInt32()));
        rig.AssertWireClean();
    }

    [Fact]
    public async Task Embedded_bindings_post_to_the_gateway_push_sink_which_shows_what_would_have_been_pushed()
    {
        // components/embedded as it is: the development secrets (a placeholder instead of a service
        // account, a VAPID pair) and push bindings that post to the gateway's sink (this run's gateway).
        await using var system = await ChatHarness.InProcessAsync(new() { Apps = PushRig.Apps });
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        using var browser = new BrowserSubscription("https://updates.push.services.mozilla.com/wpush/v2/abc123");
        await bob.Directory.RegisterDeviceAsync(new RegisterDeviceRequest { Device = new Device { DeviceId = "iphone", Platform = PushPlatform.Apns, PushToken = "ab12cd34", ApnsTopic = "io.chatdapr.app" } });
        await bob.Directory.RegisterDeviceAsync(new RegisterDeviceRequest { Device = new Device { DeviceId = "pixel", Platform = PushPlatform.Fcm, PushToken = "fcm-token-1" } });
        await bob.Directory.RegisterDeviceAsync(new RegisterDeviceRequest { Device = new Device { DeviceId = "browser", Platform = PushPlatform.Webpush, WebPush = new WebPushSubscription { Endpoint = browser.Endpoint, P256Dh = browser.P256dh, Auth = browser.Auth } } });

        var sent = await alice.SendToPeerAsync(bob, "see you at noon");
        using var http = new HttpClient();
        System.Text.Json.JsonElement[] items = [];
        await Wait.UntilAsync(async () =>
        {
            items = [.. (await http.GetFromJsonAsync<System.Text.Json.JsonElement>(system.GatewayUrl + "/dev/push-sink")).EnumerateArray()];
            return items.Length >= 3;
        }, "three pushes in the sink");

        Assert.Equal(3, items.Length);
        var apns = items.Single(i => i.GetProperty("platform").GetString() == "apns");
        Assert.Equal("/3/device/ab12cd34", apns.GetProperty("path").GetString());
        Assert.Equal(sent.Message.ConversationId, apns.GetProperty("headers").GetProperty("apns-collapse-id").GetString());
        Assert.Equal("see you at noon", apns.GetProperty("json").GetProperty("aps").GetProperty("alert").GetProperty("body").GetString());

        var fcm = items.Single(i => i.GetProperty("platform").GetString() == "fcm");
        Assert.Equal("/v1/projects/dev-project/messages:send", fcm.GetProperty("path").GetString());
        Assert.Equal("fcm-token-1", fcm.GetProperty("json").GetProperty("message").GetProperty("token").GetString());

        var web = items.Single(i => i.GetProperty("platform").GetString() == "webpush");
        Assert.Equal("/wpush/v2/abc123", web.GetProperty("path").GetString());
        Assert.Equal("aes128gcm", web.GetProperty("headers").GetProperty("content-encoding").GetString());
        Assert.Equal(browser.Endpoint, web.GetProperty("headers").GetProperty("push-endpoint").GetString());
        // The sink keeps the ciphertext; the subscription's keys still open it.
        var decrypted = FakeWebPush.Decrypt(Convert.FromBase64String(web.GetProperty("bodyBase64").GetString()!), browser);
        Assert.Equal("see you at noon", System.Text.Json.JsonDocument.Parse(decrypted).RootElement.GetProperty("body").GetString());
    }
}
