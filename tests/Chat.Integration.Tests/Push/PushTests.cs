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
