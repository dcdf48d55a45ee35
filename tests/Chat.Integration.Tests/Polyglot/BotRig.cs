using System.Globalization;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Dapr.DevSidecar.Hosting;

namespace Chat.Integration.Tests.Polyglot;

/// <summary>
/// The chat system (every app but presence, in process), a webhook receiver, and the Node.js bots
/// app as its own process behind its own dev sidecar (app-id bots, app protocol http, tokens both
/// ways), with the `bot-webhooks` binding pointed at the receiver. Short webhook timeouts and
/// back-offs keep the retry tests to a few seconds.
/// </summary>
public sealed class BotRig : IAsyncLifetime
{
    public const int MaxAttempts = 3;

    /// <summary>Webhook calls a bot may make at once, then <see cref="RatePerSecond"/>.</summary>
    public const int RateBurst = 3;

    public const int RatePerSecond = 2;

    private readonly HubUsers _users;

    public BotRig()
    {
        _users = new HubUsers(() => System);
    }

    public ChatSystem System { get; private set; } = null!;

    public WebhookReceiver Receiver { get; private set; } = null!;

    public NodeApp Bots { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Receiver = await WebhookReceiver.StartAsync();
        System = await ChatHarness.InProcessAsync(new()
        {
            Settings = new Dictionary<string, string?> { ["Chat:Bots:AllowedWebhookPrefixes:0"] = Receiver.BaseUrl },
            // components/embedded/bot-webhooks.yaml, pointed at the receiver.
            ComponentChanges = [new ComponentChange(DaprNames.Bindings.BotWebhooks) { Metadata = new Dictionary<string, string> { ["url"] = Receiver.BaseUrl, ["responseTimeout"] = "10s" } }],
            Apps = [DaprNames.Apps.Directory, DaprNames.Apps.Router, DaprNames.Apps.Messaging, DaprNames.Apps.Delivery, DaprNames.Apps.Gateway],
        });

        var tokens = new SidecarTokens();
        var appPort = SidecarHost.FreePort();
        var sidecar = await System.StartSidecarAsync(DaprNames.Apps.Bots, appPort, "http", tokens.DaprApiToken, tokens.AppApiToken);
        Bots = await NodeApp.StartAsync(Path.Combine("dist", "main.js"), new Dictionary<string, string>
        {
            ["APP_ID"] = DaprNames.Apps.Bots,
            ["APP_PORT"] = appPort.ToString(CultureInfo.InvariantCulture),
            ["DAPR_HTTP_PORT"] = sidecar.HttpPort.ToString(CultureInfo.InvariantCulture),
            ["DAPR_GRPC_PORT"] = sidecar.GrpcPort.ToString(CultureInfo.InvariantCulture),
            ["DAPR_API_TOKEN"] = tokens.DaprApiToken,
            ["APP_API_TOKEN"] = tokens.AppApiToken,
            ["BOTS_WEBHOOK_BASE_URL"] = Receiver.BaseUrl,
            // Not 1 s: on a busy 2-core CI box (this process hosts several systems at once) a 500 answered
            // through the sidecar's binding once took longer thrice in a row, and counted as timeouts.
            // 3 × 3 s plus backoff still fits the hanging-webhook test's 20 s wait.
            ["BOTS_WEBHOOK_TIMEOUT_MS"] = "3000",
            ["BOTS_WEBHOOK_MAX_ATTEMPTS"] = MaxAttempts.ToString(CultureInfo.InvariantCulture),
            ["BOTS_WEBHOOK_RETRY_BASE_MS"] = "100",
            ["BOTS_RATE_BURST"] = RateBurst.ToString(CultureInfo.InvariantCulture),
            ["BOTS_RATE_PER_SECOND"] = RatePerSecond.ToString(CultureInfo.InvariantCulture),
        });
        try
        {
            // As a readiness probe would: the bots app's subscription is in place before anyone sends.
            await sidecar.Ready.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the bots app did not become ready:\n{Bots.Output}");
        }
    }

    /// <summary>A new user, connected to the gateway with a real SignalR client (closed with the rig).</summary>
    public Task<HubClient> UserAsync() => _users.NewAsync();

    public async Task DisposeAsync()
    {
        await _users.DisposeAsync();
        await Bots.DisposeAsync();
        // Hanging webhook requests end now rather than at the server's shutdown timeout.
        Receiver.Release();
        await Receiver.DisposeAsync();
        await System.DisposeAsync();
    }
}
