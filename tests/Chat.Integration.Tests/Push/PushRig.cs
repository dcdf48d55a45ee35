using System.Security.Cryptography;
using Chat.Contracts.V1;
using Chat.Delivery.Push;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Integration.Tests.Push;

/// <summary>
/// The chat apps with their push bindings pointed at the fake Apple, Google and browser push
/// services: push-apns is a real <c>bindings.apns</c> (HTTP/2, TLS pinned by thumbprint, ES256
/// provider token), push-fcm and push-webpush are <c>bindings.http</c> to the fakes' origins.
/// </summary>
public sealed class PushRig : IAsyncDisposable
{
    public static readonly string[] Apps =
        [DaprNames.Apps.Directory, DaprNames.Apps.Router, DaprNames.Apps.Messaging, DaprNames.Apps.Gateway, DaprNames.Apps.Delivery];

    private PushRig(FakeApns apns, FakeFcm fcm, FakeWebPush webPush, ChatSystem system)
    {
        Apns = apns;
        Fcm = fcm;
        WebPush = webPush;
        System = system;
    }

    public FakeApns Apns { get; }

    public FakeFcm Fcm { get; }

    public FakeWebPush WebPush { get; }

    public ChatSystem System { get; }

    public PushStats Stats => System.AppOf(DaprNames.Apps.Delivery).Services.GetRequiredService<PushStats>();

    public static async Task<PushRig> StartAsync(ComponentSet set = ComponentSet.Embedded, string? redis = null, int throttleSeconds = 10)
    {
        using var vapid = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var vapidPublic = Jws.ToBase64Url(Jws.UncompressedPoint(vapid));
        var vapidPrivate = Jws.ToBase64Url(vapid.ExportParameters(true).D!);
        var apns = await FakeApns.StartAsync();
        var fcm = await FakeFcm.StartAsync();
        var webPush = await FakeWebPush.StartAsync(vapidPublic);
        try
        {
            var options = new ChatHarnessOptions
            {
                Components = set,
                Redis = redis,
                Apps = Apps,
                Secrets = new Dictionary<string, string>
                {
                    [DaprNames.Secrets.FcmServiceAccount] = fcm.ServiceAccountJson(),
                    [DaprNames.Secrets.VapidPublicKey] = vapidPublic,
                    [DaprNames.Secrets.VapidPrivateKey] = vapidPrivate,
                },
                Settings = new Dictionary<string, string?>
                {
                    ["Push:ThrottleSeconds"] = throttleSeconds.ToString(global::System.Globalization.CultureInfo.InvariantCulture),
                    // The fake push service is on loopback http: allowed explicitly, as a local sink would be.
                    [WebPushEndpointOptions.SectionName + ":AllowedOrigins:0"] = webPush.Origin,
                },
                // The push bindings point at the fake push services; APNs as the real bindings.apns (HTTP/2, JWT).
                ComponentChanges =
                [
                    new ComponentChange(DaprNames.Bindings.Apns)
                    {
                        Type = "bindings.apns",
                        Metadata = new Dictionary<string, string>
                        {
                            ["key-id"] = FakeApns.KeyId,
                            ["team-id"] = FakeApns.TeamId,
                            ["private-key"] = apns.PrivateKeyPem,
                            ["endpoint"] = apns.Origin,
                            ["endpointCertificateThumbprint"] = apns.Thumbprint,
                        },
                    },
                    new ComponentChange(DaprNames.Bindings.Fcm) { Metadata = new Dictionary<string, string> { ["url"] = fcm.Origin } },
                    new ComponentChange(DaprNames.Bindings.WebPush) { Metadata = new Dictionary<string, string> { ["url"] = webPush.Origin } },
                ],
            };
            return new PushRig(apns, fcm, webPush, await ChatHarness.InProcessAsync(options));
        }
        catch
        {
            await apns.DisposeAsync();
            await fcm.DisposeAsync();
            await webPush.DisposeAsync();
            throw;
        }
    }

    /// <summary>Registers an iPhone, an Android phone and a browser for <paramref name="user"/>.</summary>
    public async Task<UserDevices> RegisterDevicesAsync(TestUser user)
    {
        var devices = new UserDevices(user, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant(),
            "fcm:" + Guid.NewGuid().ToString("N"), WebPush.Subscribe());
        await user.Directory.RegisterDeviceAsync(new RegisterDeviceRequest { Device = new Device { DeviceId = "iphone", Platform = PushPlatform.Apns, PushToken = devices.ApnsToken, ApnsTopic = "io.chatdapr.app" } });
        await user.Directory.RegisterDeviceAsync(new RegisterDeviceRequest { Device = new Device { DeviceId = "pixel", Platform = PushPlatform.Fcm, PushToken = devices.FcmToken } });
        await user.Directory.RegisterDeviceAsync(new RegisterDeviceRequest
        {
            Device = new Device
            {
                DeviceId = "browser",
                Platform = PushPlatform.Webpush,
                WebPush = new WebPushSubscription { Endpoint = devices.Browser.Subscription.Endpoint, P256Dh = devices.Browser.Subscription.P256dh, Auth = devices.Browser.Subscription.Auth },
            },
        });
        return devices;
    }

    /// <summary>Waits until delivery has finished the push part of <paramref name="count"/> MessageCreated events.</summary>
    public Task WaitProcessedAsync(long count) => Wait.UntilAsync(() => Stats.Processed >= count, $"{count} messages processed by push (now {Stats.Processed})");

    /// <summary>No fake saw anything wrong in a request.</summary>
    public void AssertWireClean()
    {
        var problems = string.Join("\n", Apns.Problems.Concat(Fcm.Problems).Concat(WebPush.Problems));
        Assert.True(problems.Length == 0, problems);
    }

    public async ValueTask DisposeAsync()
    {
        await System.DisposeAsync();
        await Apns.DisposeAsync();
        await Fcm.DisposeAsync();
        await WebPush.DisposeAsync();
    }
}

/// <summary>One user's three registered devices.</summary>
public sealed record UserDevices(TestUser User, string ApnsToken, string FcmToken, (string Id, BrowserSubscription Subscription) Browser);
