using System.Net;
using Chat.Domain;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.Hosting;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chat.Integration.Tests.Infrastructure;

/// <summary>Which component set a test runs on.</summary>
public enum ComponentSet
{
    /// <summary>SQLite state, in-memory pub/sub (components/embedded, with files in a temp folder).</summary>
    Embedded,

    /// <summary>Redis state and Redis Streams pub/sub on a real redis-server.</summary>
    Redis,
}

/// <summary>Extra settings of a test run.</summary>
public sealed record ChatSystemOptions
{
    /// <summary>Configuration given to every app (e.g. short presence intervals).</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Wraps the presence store in <see cref="CountingStateStore"/> so tests can count its writes.</summary>
    public bool CountPresenceWrites { get; init; }

    /// <summary>Extra entries of the run's secrets file (chat-secrets).</summary>
    public IReadOnlyDictionary<string, string> Secrets { get; init; } = new Dictionary<string, string>();

    /// <summary>Called before each app starts (its sidecar loads the components then): write extra component files here.</summary>
    public Action<string, ChatSystem>? BeforeAppStart { get; init; }

    /// <summary>Called with each app's builder after its own services are added (e.g. a test's hub filter).</summary>
    public Action<string, WebApplicationBuilder>? ConfigureApp { get; init; }
}

/// <summary>
/// The chat apps and their dev sidecars, all in this process on free loopback ports, as
/// <c>dapr run -f</c> would start them. Tests reach the apps the way the gateway does: through a
/// sidecar of their own, by gRPC proxying with <c>dapr-app-id</c>.
/// </summary>
public sealed class ChatSystem : IChatBackends, IAsyncDisposable
{
    public const string JwtKey = "integration-tests-signing-key-0123456789abcdef0123456789abcdef";

    private readonly List<WebApplication> _apps = [];
    private readonly List<RunningSidecar> _sidecars = [];
    private IReadOnlyDictionary<string, string?> _settings = new Dictionary<string, string?>();
    private Action<string, WebApplicationBuilder>? _configureApp;
    private readonly List<AppInstance> _instances = [];
    private readonly List<GrpcChannel> _channels = [];

    private ChatSystem(string resourcesPath, ComponentRuntime runtime)
    {
        ResourcesPath = resourcesPath;
        Runtime = runtime;
    }

    public string ResourcesPath { get; }

    /// <summary>The DAPR_API_TOKEN of <see cref="ClientSidecar"/>: tests send it as the gateway's app does.</summary>
    public string ClientApiToken { get; } = SidecarTokens.New();

    public ComponentRuntime Runtime { get; }

    /// <summary>The sidecar tests call through (app-id <c>test-client</c>, as the gateway would).</summary>
    public RunningSidecar ClientSidecar { get; private set; } = null!;

    /// <summary>The running instances, in start order.</summary>
    public IReadOnlyList<AppInstance> Instances => _instances;

    /// <summary>The first running instance of an app.</summary>
    public AppInstance InstanceOf(string appId) => _instances.First(i => i.AppId == appId && !i.Stopped);

    public RunningSidecar SidecarOf(string appId) => InstanceOf(appId).Sidecar;

    /// <summary>The base URL of the (first) gateway app.</summary>
    public string GatewayUrl => InstanceOf(Chat.Domain.DaprNames.Apps.Gateway).Url;

    public WebApplication AppOf(string appId) => InstanceOf(appId).App;

    /// <summary>Starts the given apps (default: directory, router, messaging).</summary>
    public static Task<ChatSystem> StartAsync(ComponentSet set, string? redisEndpoint = null, params string[] apps) =>
        StartAsync(set, redisEndpoint, new ChatSystemOptions(), apps);

    /// <summary>Starts the given apps, every one (and any started later) with <see cref="ChatSystemOptions.Settings"/>.</summary>
    public static async Task<ChatSystem> StartAsync(ComponentSet set, string? redisEndpoint, ChatSystemOptions options, params string[] apps)
    {
        if (apps.Length == 0)
        {
            apps = [DaprNames.Apps.Directory, DaprNames.Apps.Router, DaprNames.Apps.Messaging];
        }

        var dir = System.IO.Directory.CreateTempSubdirectory("chat-it-").FullName;
        ComponentFiles.Write(dir, set, redisEndpoint, options.CountPresenceWrites, options.Secrets);
        var system = new ChatSystem(dir, new ComponentRuntime(NullLoggerFactory.Instance, TimeProvider.System)) { _settings = options.Settings, _configureApp = options.ConfigureApp };
        try
        {
            foreach (var appId in apps)
            {
                options.BeforeAppStart?.Invoke(appId, system);
                await system.StartAppAsync(appId);
            }

            system.ClientSidecar = await SidecarHost.StartAsync(new SidecarOptions { AppId = "test-client", ResourcesPaths = [dir], ApiToken = system.ClientApiToken }, system.Runtime);
            system._sidecars.Add(system.ClientSidecar);
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
                return await StartAppOnceAsync(appId, settings, add ?? (b => ServiceRegistry.Add(appId, b)), map ?? (a => ServiceRegistry.Map(appId, a)));
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
            _sidecars.Remove(instance.Sidecar);
            await instance.Sidecar.DisposeAsync();
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
            _sidecars.Remove(instance.Sidecar);
            await instance.Sidecar.DisposeAsync();
        }
    }

    private async Task<AppInstance> StartAppOnceAsync(string appId, IReadOnlyDictionary<string, string?>? settings, Action<WebApplicationBuilder> add, Action<WebApplication> map)
    {
        var port = SidecarHost.FreePort();
        // The gateway serves clients on a port of its own, as in dapr.yaml (5080 for clients, 5090 for its sidecar).
        var clientPort = appId == DaprNames.Apps.Gateway ? SidecarHost.FreePort() : port;
        var grpcApp = appId is DaprNames.Apps.Directory or DaprNames.Apps.Messaging or DaprNames.Apps.Presence;
        // Token authentication both ways, on as in dapr.yaml: every instance its own tokens.
        var tokens = new SidecarTokens();
        var sidecar = await SidecarHost.StartAsync(new SidecarOptions
        {
            AppId = appId,
            AppPort = port,
            AppProtocol = grpcApp ? "grpc" : "http",
            ResourcesPaths = [ResourcesPath],
            ApiToken = tokens.DaprApiToken,
            AppApiToken = tokens.AppApiToken,
        }, Runtime);
        _sidecars.Add(sidecar);

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
            ["Chat:Auth:SigningKey"] = JwtKey,
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
            // Directory listens on APP_PORT by itself.
            if (appId != DaprNames.Apps.Directory)
            {
                k.Listen(IPAddress.Loopback, port, l => l.Protocols = grpcApp ? HttpProtocols.Http2 : HttpProtocols.Http1AndHttp2);
            }

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
            _sidecars.Remove(sidecar);
            await sidecar.DisposeAsync();
            throw;
        }

        _apps.Add(app);
        // As a readiness probe would: the app's subscriptions are in place before anyone publishes to them.
        await sidecar.Ready.WaitAsync(TimeSpan.FromSeconds(30));
        var instance = new AppInstance(appId, sidecar, app, $"http://127.0.0.1:{clientPort}", $"http://127.0.0.1:{port}", tokens);
        _instances.Add(instance);
        return instance;
    }

    /// <summary>Stops <paramref name="sidecar"/> (started by a test for an app of its own) with the system.</summary>
    public void Adopt(RunningSidecar sidecar) => _sidecars.Add(sidecar);

    /// <summary>A gRPC call invoker that reaches <paramref name="appId"/> through the client sidecar.</summary>
    public CallInvoker InvokerFor(string appId, string? accessToken = null)
    {
        var channel = GrpcChannel.ForAddress(ClientSidecar.GrpcEndpoint);
        _channels.Add(channel);
        return channel.Intercept(metadata =>
        {
            metadata.Add("dapr-app-id", appId);
            metadata.Add(SidecarTokens.Header, ClientApiToken);
            if (accessToken is not null)
            {
                metadata.Add("authorization", "Bearer " + accessToken);
            }

            return metadata;
        });
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _channels)
        {
            c.Dispose();
        }

        foreach (var app in Enumerable.Reverse(_apps))
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        foreach (var s in Enumerable.Reverse(_sidecars))
        {
            await s.DisposeAsync();
        }

        await Runtime.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(ResourcesPath, recursive: true);
        }
        catch (IOException)
        {
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
