using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Chat.WebClient.Tests.Infrastructure;

/// <summary>
/// The whole chat system (every app with its dev sidecar, embedded components) and one headless
/// Debian Chromium driven by Playwright, shared by the web client tests. Each test makes its own
/// users and browser contexts, so tests do not see each other's state.
/// </summary>
public sealed class WebClientFixture : IAsyncLifetime
{
    /// <summary>Debian's chromium; Playwright never downloads a browser here.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>Headless flags that work on a machine without GPU, sandbox or outside network.</summary>
    public static readonly string[] ChromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    public static readonly string[] Apps =
    [
        DaprNames.Apps.Directory, DaprNames.Apps.Router, DaprNames.Apps.Messaging, DaprNames.Apps.Delivery,
        DaprNames.Apps.Presence, DaprNames.Apps.Gateway,
    ];

    /// <summary>
    /// Access tokens live 35 s, so every client refreshes its token 5 s after signing in (and then
    /// every 5 s) while the tests run; presence is reported every second and swept twice a second.
    /// </summary>
    public static readonly Dictionary<string, string?> Settings = new()
    {
        ["Chat:Auth:AccessTokenLifetime"] = "00:00:35",
        ["Gateway:PresenceRefreshSeconds"] = "1",
        ["Gateway:PresenceConnectDelayMs"] = "50",
        ["Presence:SweepSeconds"] = "0.5",
        // A socket cut shorter than this resumes the same hub connection; a longer one reconnects anew.
        ["Gateway:ReconnectWindowSeconds"] = "5",
        // Upload URLs expire soon, so a test sees one refused after it expired.
        ["Messaging:Media:UploadUrlLifetime"] = "00:00:05",
    };

    private IPlaywright? _playwright;

    public ChatSystem System { get; private set; } = null!;

    /// <summary>Counts the hub methods each user called on the gateway.</summary>
    public HubCallCounter Calls { get; } = new();

    public IBrowser Browser { get; private set; } = null!;

    public string BaseUrl => System.GatewayUrl;

    public async Task InitializeAsync()
    {
        if (!File.Exists(Path.Combine(RepoPaths.GatewayWebRoot, "app.js")))
        {
            throw new InvalidOperationException($"The web client bundle is missing from {RepoPaths.GatewayWebRoot}: build services/Chat.Gateway (it runs npm).");
        }

        System = await ChatHarness.InProcessAsync(new()
        {
            Apps = Apps,
            Settings = Settings,
            ConfigureApp = (appId, b) =>
            {
                if (appId == DaprNames.Apps.Gateway)
                {
                    Calls.AddTo(b);
                }
            },
        });
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
        });
    }

    /// <summary>A fresh browser profile (its own storage, cookies, network state) on the gateway (or <paramref name="baseUrl"/>, e.g. a proxy to it).</summary>
    public async Task<ChatPage> NewUserPageAsync(string label, string? baseUrl = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl ?? BaseUrl,
            ViewportSize = new ViewportSize { Width = 1100, Height = 720 },
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        var page = await context.NewPageAsync();
        return new ChatPage(label, context, page);
    }

    /// <summary>How many connections of the user the gateway holds now.</summary>
    public int GatewayConnections(string userId) =>
        System.AppOf(DaprNames.Apps.Gateway).Services.GetRequiredService<LocalConnections>().Of(userId).Count();

    /// <summary>Waits until the gateway holds exactly <paramref name="count"/> connections of the user.</summary>
    public async Task WaitForGatewayConnectionsAsync(string userId, int count)
    {
        var connections = System.AppOf(DaprNames.Apps.Gateway).Services.GetRequiredService<LocalConnections>();
        await Wait.UntilAsync(() => connections.Of(userId).Count() == count, $"the gateway to hold {count} connections of {userId} (it holds {connections.Of(userId).Count()})");
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        if (System is not null)
        {
            await System.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class WebClientCollection : ICollectionFixture<WebClientFixture>
{
    public const string Name = "WebClient";
}
