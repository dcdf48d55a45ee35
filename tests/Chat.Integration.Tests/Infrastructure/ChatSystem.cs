using System.Net;
using Chat.Domain;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chat.Integration.Tests.Infrastructure;

/// <summary>
/// The chat apps and their dev sidecars, all in this process on free loopback ports, as
/// <c>dapr run -f</c> would start them. Tests reach the apps the way the gateway does: through a
/// sidecar of their own, by gRPC proxying with <c>dapr-app-id</c>.
/// </summary>
public sealed class ChatSystem : ChatRun
{
    private readonly List<WebApplication> _apps = [];
    private readonly List<AppInstance> _instances = [];
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private readonly Action<string, WebApplicationBuilder>? _configureApp;
    private readonly int _firstGatewayClientPort;

    private ChatSystem(RunFolder folder, RedisServer? redis, ChatHarnessOptions options, int firstGatewayClientPort)
        : base(folder, new ComponentRuntime(NullLoggerFactory.Instance, TimeProvider.System), redis, ownsFolder: options.ComponentsOf is null)
    {
        _settings = options.Settings;
        _configureApp = options.ConfigureApp;
        _firstGatewayClientPort = firstGatewayClientPort;
    }

    /// <summary>The running instances, in start order.</summary>
    public IReadOnlyList<AppInstance> Instances => _instances;

    /// <summary>The first running instance of an app.</summary>
    public AppInstance InstanceOf(string appId) => _instances.First(i => i.AppId == appId && !i.Stopped);

    public RunningSidecar SidecarOf(string appId) => InstanceOf(appId).Sidecar;

    /// <summary>The base URL of the (first) gateway app.</summary>
    public string GatewayUrl => InstanceOf(Chat.Domain.DaprNames.Apps.Gateway).Url;

    public WebApplication AppOf(string appId) => InstanceOf(appId).App;

    /// <summary>Starts the run (use <see cref="ChatHarness"/>).</summary>
    internal static async Task<ChatSystem> StartAsync(ChatHarnessOptions options)
    {
        var (redisEndpoint, ownRedis) = await RedisForAsync(options, persistent: false);
        // The first gateway's client port is known before any sidecar loads the components (push bindings post to its sink).
        var gatewayPort = SidecarHost.FreePort();
        RunFolder folder;
        try
        {
            folder = options.ComponentsOf?.Folder
                ?? RunFolder.Create(options.Components, redisEndpoint, $"http://127.0.0.1:{gatewayPort}", options.Secrets, options.AllComponentChanges());
        }
        catch when (ownRedis is not null)
        {
            await ownRedis.DisposeAsync();
            throw;
        }

        var system = new ChatSystem(folder, ownRedis, options, gatewayPort);
        try
        {
            foreach (var appId in options.StartList())
            {
                await system.StartAppAsync(appId);
            }

            await system.StartClientSidecarAsync();
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Starts one instance of an app with its own sidecar (again on fresh ports if another process
    /// took a free port meanwhile). Several instances of one app-id may run at once.
    /// </summary>
    public async Task<AppInstance> StartAppAsync(
        string appId,
        IReadOnlyDictionary<string, string?>? settings = null,
        Action<WebApplicationBuilder>? add = null,
        Action<WebApplication>? map = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await StartAppOnceAsync(appId, attempt, settings, add ?? (b => ServiceRegistry.Add(appId, b)), map ?? (a => ServiceRegistry.Map(appId, a)));
            }
            catch (IOException ex) when (attempt < 3 && ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
            }
        }
    }

    /// <summary>
    /// Stops an instance the way a crash does: its connections drop at once, hosted services get
    /// no time for clean-up (a gateway keeps its lease until the TTL), and its sidecar goes away.
    /// </summary>
    /// <param name="sidecarFirst">
    /// Take the sidecar away before stopping the app, so the app cannot tell anyone anything
    /// while its connections drop (no disconnect reports: only TTLs and sweeps notice).
    /// </param>
    public async Task KillAsync(AppInstance instance, bool sidecarFirst = false)
    {
        instance.Stopped = true;
        if (sidecarFirst)
        {
            await StopSidecarAsync(instance.Sidecar);
        }

        using (var cancelled = new CancellationTokenSource())
        {
            await cancelled.CancelAsync();
            try
            {
                await instance.App.StopAsync(cancelled.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or AggregateException)
            {
                // Expected: nothing was allowed to finish.
            }
        }

        await instance.App.DisposeAsync();
        _apps.Remove(instance.App);
        if (!sidecarFirst)
        {
            await StopSidecarAsync(instance.Sidecar);
        }
    }

    private async Task<AppInstance> StartAppOnceAsync(string appId, int attempt, IReadOnlyDictionary<string, string?>? settings, Action<WebApplicationBuilder> add, Action<WebApplication> map)
    {
        var port = SidecarHost.FreePort();
        // The gateway serves clients on a port of its own, as in dapr.yaml (5080 for clients, 5090 for its sidecar).
        var clientPort = appId != DaprNames.Apps.Gateway ? port
            : _instances.Any(i => i.AppId == DaprNames.Apps.Gateway) || attempt > 0 ? SidecarHost.FreePort() : _firstGatewayClientPort;
        var grpcApp = appId is DaprNames.Apps.Directory or DaprNames.Apps.Messaging or DaprNames.Apps.Presence;
        // Token authentication both ways, on as in dapr.yaml: every instance its own tokens.
        var tokens = new SidecarTokens();
        var sidecar = await StartSidecarAsync(appId, port, grpcApp ? "grpc" : "http", tokens.DaprApiToken, tokens.AppApiToken);

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Development",
            // The gateway serves the web client from its project's wwwroot (index.html and the esbuild bundle).
            WebRootPath = appId == DaprNames.Apps.Gateway ? RepoPaths.GatewayWebRoot : null,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["APP_ID"] = appId,
            ["APP_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DAPR_API_TOKEN"] = tokens.DaprApiToken,
            ["APP_API_TOKEN"] = tokens.AppApiToken,
            ["DAPR_HTTP_ENDPOINT"] = sidecar.HttpEndpoint,
            ["DAPR_GRPC_ENDPOINT"] = sidecar.GrpcEndpoint,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.Configuration.AddInMemoryCollection(_settings);
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        if (Environment.GetEnvironmentVariable("CHAT_TEST_LOGS") != "1")
        {
            builder.Logging.ClearProviders();
        }
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port, l => l.Protocols = grpcApp ? HttpProtocols.Http2 : HttpProtocols.Http1AndHttp2);

            if (clientPort != port)
            {
                k.Listen(IPAddress.Loopback, clientPort);
            }
        });
        add(builder);
        _configureApp?.Invoke(appId, builder);
        var app = builder.Build();
        map(app);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            await StopSidecarAsync(sidecar);
            throw;
        }

        _apps.Add(app);
        // As a readiness probe would: the app's subscriptions are in place before anyone publishes to them.
        await sidecar.Ready.WaitAsync(TimeSpan.FromSeconds(30));
        var instance = new AppInstance(appId, sidecar, app, $"http://127.0.0.1:{clientPort}", $"http://127.0.0.1:{port}", tokens);
        _instances.Add(instance);
        return instance;
    }

    private protected override async ValueTask StopAppsAsync()
    {
        foreach (var app in Enumerable.Reverse(_apps))
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}

/// <summary>One running instance of an app, with its sidecar.</summary>
public sealed class AppInstance(string appId, RunningSidecar sidecar, WebApplication app, string url, string appPortUrl, SidecarTokens tokens)
{
    public string AppId { get; } = appId;

    public RunningSidecar Sidecar { get; } = sidecar;

    public WebApplication App { get; } = app;

    /// <summary>The app's own base URL: the client port (the gateway's hub), else the app port.</summary>
    public string Url { get; } = url;

    /// <summary>The app port, where its sidecar calls it (the same as <see cref="Url"/> except for the gateway).</summary>
    public string AppPortUrl { get; } = appPortUrl;

    /// <summary>The tokens between this instance and its sidecar.</summary>
    public SidecarTokens Tokens { get; } = tokens;

    public bool Stopped { get; set; }
}
