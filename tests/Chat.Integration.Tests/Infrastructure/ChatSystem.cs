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

/// <summary>
/// The chat apps and their dev sidecars, all in this process on free loopback ports, as
/// <c>dapr run -f</c> would start them. Tests reach the apps the way the gateway does: through a
/// sidecar of their own, by gRPC proxying with <c>dapr-app-id</c>.
/// </summary>
public sealed class ChatSystem : IAsyncDisposable
{
    public const string JwtKey = "integration-tests-signing-key-0123456789abcdef0123456789abcdef";

    private readonly List<WebApplication> _apps = [];
    private readonly List<RunningSidecar> _sidecars = [];
    private readonly Dictionary<string, (RunningSidecar Sidecar, WebApplication? App)> _byId = new(StringComparer.Ordinal);
    private readonly List<GrpcChannel> _channels = [];

    private ChatSystem(string resourcesPath, ComponentRuntime runtime)
    {
        ResourcesPath = resourcesPath;
        Runtime = runtime;
    }

    public string ResourcesPath { get; }

    public ComponentRuntime Runtime { get; }

    /// <summary>The sidecar tests call through (app-id <c>test-client</c>, as the gateway would).</summary>
    public RunningSidecar ClientSidecar { get; private set; } = null!;

    public RunningSidecar SidecarOf(string appId) => _byId[appId].Sidecar;

    /// <summary>The base URL of the (first) gateway app.</summary>
    public string GatewayUrl => AppUrls.TryGetValue(Chat.Domain.DaprNames.Apps.Gateway, out var url)
        ? url
        : throw new InvalidOperationException("no gateway started");

    /// <summary>Base URL of each started app.</summary>
    public Dictionary<string, string> AppUrls { get; } = new(StringComparer.Ordinal);

    public WebApplication AppOf(string appId) => _byId[appId].App ?? throw new InvalidOperationException($"{appId} has no app");

    /// <summary>Starts the given apps (default: directory, router, messaging).</summary>
    public static async Task<ChatSystem> StartAsync(ComponentSet set, string? redisEndpoint = null, params string[] apps)
    {
        if (apps.Length == 0)
        {
            apps = [DaprNames.Apps.Directory, DaprNames.Apps.Router, DaprNames.Apps.Messaging];
        }

        var dir = System.IO.Directory.CreateTempSubdirectory("chat-it-").FullName;
        ComponentFiles.Write(dir, set, redisEndpoint);
        var system = new ChatSystem(dir, new ComponentRuntime(NullLoggerFactory.Instance, TimeProvider.System));
        try
        {
            foreach (var appId in apps)
            {
                await system.StartAppAsync(appId);
            }

            system.ClientSidecar = await SidecarHost.StartAsync(new SidecarOptions { AppId = "test-client", ResourcesPaths = [dir] }, system.Runtime);
            system._sidecars.Add(system.ClientSidecar);
            return system;
        }
        catch
        {
            await system.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts one app with its sidecar (on fresh ports again if another process took a free port meanwhile).</summary>
    public async Task StartAppAsync(string appId)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await StartAppOnceAsync(appId);
                return;
            }
            catch (IOException ex) when (attempt < 3 && ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
            }
        }
    }

    private async Task StartAppOnceAsync(string appId)
    {
        var port = SidecarHost.FreePort();
        var grpcApp = appId is DaprNames.Apps.Directory or DaprNames.Apps.Messaging or DaprNames.Apps.Presence;
        var sidecar = await SidecarHost.StartAsync(new SidecarOptions
        {
            AppId = appId,
            AppPort = port,
            AppProtocol = grpcApp ? "grpc" : "http",
            ResourcesPaths = [ResourcesPath],
        }, Runtime);
        _sidecars.Add(sidecar);

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["APP_ID"] = appId,
            ["DAPR_HTTP_ENDPOINT"] = sidecar.HttpEndpoint,
            ["DAPR_GRPC_ENDPOINT"] = sidecar.GrpcEndpoint,
            ["Chat:Auth:SigningKey"] = JwtKey,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        if (Environment.GetEnvironmentVariable("CHAT_TEST_LOGS") != "1")
        {
            builder.Logging.ClearProviders();
        }
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = grpcApp ? HttpProtocols.Http2 : HttpProtocols.Http1AndHttp2));
        ServiceRegistry.Add(appId, builder);
        var app = builder.Build();
        ServiceRegistry.Map(appId, app);
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
        _byId[appId] = (sidecar, app);
        AppUrls[appId] = $"http://127.0.0.1:{port}";
    }

    /// <summary>A gRPC call invoker that reaches <paramref name="appId"/> through the client sidecar.</summary>
    public CallInvoker InvokerFor(string appId, string? accessToken = null)
    {
        var channel = GrpcChannel.ForAddress(ClientSidecar.GrpcEndpoint);
        _channels.Add(channel);
        return channel.Intercept(metadata =>
        {
            metadata.Add("dapr-app-id", appId);
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
