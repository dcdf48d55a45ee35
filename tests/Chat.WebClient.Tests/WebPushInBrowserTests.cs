using System.Net.Http.Json;
using System.Text.Json;
using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Gateway.WebClient;
using Chat.Integration.Tests.Infrastructure;
using Chat.Integration.Tests.Push;
using Chat.WebClient.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Chat.WebClient.Tests;

/// <summary>
/// Issue 16 item 2: Web Push to the web client, with one honest split. Chromium's
/// PushManager.subscribe needs Google's push service, which this machine cannot reach, so the
/// test plays the browser's subscription (a P-256 key pair and auth secret, as a browser makes)
/// and registers it for Bob's browser device with RegisterDevice. The delivery app sends through
/// the push-webpush binding to a Web Push service that checks VAPID and aes128gcm and decrypts
/// with that private key; the decrypted payload is then delivered to Bob's real service worker in
/// Chromium (CDP ServiceWorker.deliverPushMessage), which shows the notification.
/// </summary>
[Trait("Area", "WebClient")]
[Trait("Area", "ClientApi")]
public sealed class WebPushInBrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    private PushRig _rig = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        _rig = await PushRig.StartAsync(throttleSeconds: 0);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = WebClientFixture.ChromiumPath,
            Headless = true,
            Args = WebClientFixture.ChromiumArgs,
        });
    }

    [Fact]
    public async Task A_message_to_an_offline_browser_is_pushed_and_its_service_worker_shows_the_notification()
    {
        var gateway = _rig.System.GatewayUrl;
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = gateway, Permissions = ["notifications"] });
        await using var bob = new ChatPage("bob", context, await context.NewPageAsync());
        var bobName = ChatPage.NewUserName("bob");
        await bob.RegisterAsync(bobName, "Bob W");

        // The gateway serves the VAPID public key (no token needed) that the delivery app signs with.
        using (var http = new HttpClient())
        {
            var key = await http.GetFromJsonAsync<VapidKeyResult>(gateway + PushKeyEndpoint.Route);
            Assert.Equal(_rig.WebPush.VapidPublicKey, key!.PublicKey);
        }

        // Bob turns push on in the settings: the client registers its service worker and asks the
        // browser's push service for a subscription, which needs Google's servers in Chromium.
        await bob.Page.GetByRole(AriaRole.Button, new() { Name = "Settings" }).ClickAsync();
        // A click, not CheckAsync: the box unchecks itself again when the browser refuses.
        await bob.Page.GetByLabel("Push notifications in this browser").ClickAsync();
        var outcome = bob.Page.Locator("#settings-error:not(:empty), #settings-status:not(:empty)");
        await Expect(outcome.First).ToBeVisibleAsync();
        output.WriteLine("PushManager.subscribe in this Chromium: " + await outcome.First.TextContentAsync());
        Assert.True(await bob.Page.EvaluateAsync<bool>("async () => !!(await navigator.serviceWorker.getRegistration('/'))?.active"), "the service worker is active");
        await bob.Page.Keyboard.PressAsync("Escape");

        // The test plays the browser's subscription for Bob's device, registered through the hub as the client does.
        var (subscriptionId, subscription) = _rig.WebPush.Subscribe();
        var bobId = await bob.UserIdAsync();
        var token = await bob.AccessTokenAsync();
        var bobUser = new TestUser(bobId, bobName, token,
            new MessagingService.MessagingServiceClient(_rig.System.InvokerFor(DaprNames.Apps.Messaging, token)),
            new DirectoryService.DirectoryServiceClient(_rig.System.InvokerFor(DaprNames.Apps.Directory, token)));
        var deviceId = await bob.Page.EvaluateAsync<string>("() => localStorage.getItem('chat.deviceId')");
        await using (var hub = await HubClient.ConnectAsync(gateway, bobUser))
        {
            await hub.Connection.InvokeAsync<DeviceDto>("RegisterDevice",
                new RegisterDeviceArgs("webpush", deviceId, Subscription: new WebPushSubscriptionDto(subscription.Endpoint, subscription.P256dh, subscription.Auth)));
        }

        // Bob closes the chat (the page leaves; his service worker stays registered) and Alice writes.
        await bob.Page.GotoAsync("about:blank");
        var connections = _rig.System.AppOf(DaprNames.Apps.Gateway).Services.GetRequiredService<LocalConnections>();
        await Wait.UntilAsync(() => !connections.Of(bobId).Any(), "bob is offline");
        var alice = await _rig.System.RegisterAsync();
        var sent = await alice.SendToPeerAsync(bobUser, "are you coming tonight?");
        await Wait.UntilAsync(() => _rig.WebPush.To(subscriptionId).Any(), "the push reaches the Web Push service");
        _rig.AssertWireClean(); // VAPID signed for this service, aes128gcm, TTL: all as browsers' push services require.
        var push = _rig.WebPush.To(subscriptionId).Single();
        Assert.Equal("are you coming tonight?", push.Payload.GetProperty("body").GetString());
        Assert.Equal(sent.Message.ConversationId, push.Payload.GetProperty("conversation_id").GetString());

        // The payload, as decrypted with the subscription's private key, goes to Bob's service worker.
        await bob.Page.GotoAsync("/");
        await Expect(bob.Page.Locator("#me")).ToContainTextAsync("Bob W");
        await DeliverPushAsync(bob, push.Payload.GetRawText());
        var shown = await WaitForNotificationAsync(bob);
        Assert.Equal(push.Payload.GetProperty("title").GetString(), shown.GetProperty("title").GetString());
        Assert.Equal("are you coming tonight?", shown.GetProperty("body").GetString());
        Assert.Equal(sent.Message.ConversationId, shown.GetProperty("conversationId").GetString());

        _rig.AssertWireClean();
    }

    /// <summary>Hands a push message's plaintext to the page origin's service worker, as Chromium's push service client does.</summary>
    private static async Task DeliverPushAsync(ChatPage page, string payload)
    {
        var cdp = await page.Context.NewCDPSessionAsync(page.Page);
        var registrationId = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var origin = new Uri(page.Page.Url).GetLeftPart(UriPartial.Authority);
        cdp.Event("ServiceWorker.workerRegistrationUpdated").OnEvent += (_, e) =>
        {
            foreach (var r in e?.GetProperty("registrations").EnumerateArray() ?? Enumerable.Empty<JsonElement>())
            {
                if (r.GetProperty("scopeURL").GetString() == origin + "/" && !r.GetProperty("isDeleted").GetBoolean())
                {
                    registrationId.TrySetResult(r.GetProperty("registrationId").GetString()!);
                }
            }
        };
        await cdp.SendAsync("ServiceWorker.enable");
        var id = await registrationId.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await cdp.SendAsync("ServiceWorker.deliverPushMessage", new Dictionary<string, object> { ["origin"] = origin, ["registrationId"] = id, ["data"] = payload });
        await cdp.DetachAsync();
    }

    /// <summary>The notifications the service worker shows (title, body, tag, conversationId), polled until one matches.</summary>
    private static async Task<JsonElement> WaitForNotificationAsync(ChatPage page, Func<JsonElement, bool>? match = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var list = await page.Page.EvaluateAsync<JsonElement>("""
                async () => (await (await navigator.serviceWorker.ready).getNotifications())
                  .map(n => ({ title: n.title, body: n.body, tag: n.tag, conversationId: n.data?.conversationId ?? null }))
                """);
            var found = list.EnumerateArray().Where(n => match?.Invoke(n) ?? true).ToList();
            if (found.Count > 0)
            {
                return found[^1];
            }

            Assert.True(DateTime.UtcNow < deadline, "the service worker showed no notification");
            await Task.Delay(50);
        }
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
        if (_rig is not null)
        {
            await _rig.DisposeAsync();
        }
    }
}
