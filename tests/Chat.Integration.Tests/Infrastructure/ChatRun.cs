using Chat.Testing;
using Dapr.Client;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.Hosting;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace Chat.Integration.Tests.Infrastructure;

/// <summary>
/// What every run of the chat system has, however its apps are hosted: the run's folder (the
/// repo's component set, <see cref="RunFolder"/>), the component runtime its in-process sidecars
/// share, a redis-server when the set needs one, and a sidecar of the test's own (app-id
/// <c>test-client</c>) through which tests call the apps, as the gateway does (gRPC proxying with
/// <c>dapr-app-id</c>).
/// </summary>
public abstract class ChatRun : IChatBackends, IAsyncDisposable
{
    private readonly List<RunningSidecar> _sidecars = [];
    private readonly bool _ownsFolder;
    private GrpcChannel? _clientChannel;

    private protected ChatRun(RunFolder folder, ComponentRuntime runtime, RedisServer? ownRedis, bool ownsFolder = true)
    {
        Folder = folder;
        _ownsFolder = ownsFolder;
        Runtime = runtime;
        Redis = ownRedis;
    }

    public RunFolder Folder { get; }

    /// <summary>The resources path of every sidecar of the run.</summary>
    public string ResourcesPath => Folder.ComponentsPath;

    /// <summary>The run's SQLite files and media (the <c>data/</c> of the component files).</summary>
    public string DataPath => Folder.DataPath;

    public ComponentRuntime Runtime { get; }

    /// <summary>The redis-server this run started (null when it uses none or one given in the options).</summary>
    public RedisServer? Redis { get; }

    /// <summary>The sidecar tests call through (app-id <c>test-client</c>, as the gateway would).</summary>
    public RunningSidecar ClientSidecar { get; private set; } = null!;

    /// <summary>The DAPR_API_TOKEN of <see cref="ClientSidecar"/>: tests send it as the gateway's app does.</summary>
    public string ClientApiToken { get; } = SidecarTokens.New();

    /// <summary>One channel to the client sidecar for every test call (HTTP/2 multiplexes them).</summary>
    private GrpcChannel ClientChannel => _clientChannel ??= GrpcChannel.ForAddress(ClientSidecar.GrpcEndpoint);

    /// <summary>The repo's development signing key (tests mint tokens the apps must judge).</summary>
    public static string JwtKey => RunFolder.RepoSecrets[Chat.Domain.DaprNames.Secrets.JwtSigningKey];

    /// <summary>The redis-server of a run: the one given, else a new one when the set needs it.</summary>
    private protected static async Task<(string? Endpoint, RedisServer? Owned)> RedisForAsync(ChatHarnessOptions options, bool persistent)
    {
        if (options.Components != ComponentSet.Redis || options.Redis is not null || options.ComponentsOf is not null)
        {
            return (options.Redis, null);
        }

        var redis = await RedisServer.StartAsync(persistent);
        return (redis.Endpoint, redis);
    }

    private protected async Task StartClientSidecarAsync() =>
        ClientSidecar = await StartSidecarAsync("test-client", apiToken: ClientApiToken);

    /// <summary>A sidecar with no app (a caller, like a gateway's), stopped with the run.</summary>
    public async Task<RunningSidecar> StartSidecarAsync(string appId, int? appPort = null, string appProtocol = "http", string? apiToken = null, string? appApiToken = null)
    {
        var sidecar = await SidecarHost.StartAsync(new SidecarOptions
        {
            AppId = appId,
            AppPort = appPort,
            AppProtocol = appProtocol,
            ResourcesPaths = [ResourcesPath],
            ApiToken = apiToken,
            AppApiToken = appApiToken,
        }, Runtime);
        _sidecars.Add(sidecar);
        return sidecar;
    }

    /// <summary>Stops <paramref name="sidecar"/> (started by a test for an app of its own) with the run.</summary>
    public void Adopt(RunningSidecar sidecar) => _sidecars.Add(sidecar);

    /// <summary>Stops a sidecar of the run now.</summary>
    private protected async Task StopSidecarAsync(RunningSidecar sidecar)
    {
        _sidecars.Remove(sidecar);
        await sidecar.DisposeAsync();
    }

    /// <summary>A gRPC call invoker that reaches <paramref name="appId"/> through the client sidecar.</summary>
    public CallInvoker InvokerFor(string appId, string? accessToken = null) =>
        ClientChannel.CreateCallInvoker().Intercept(metadata =>
        {
            metadata.Add("dapr-app-id", appId);
            metadata.Add(SidecarTokens.Header, ClientApiToken);
            if (accessToken is not null)
            {
                metadata.Add("authorization", "Bearer " + accessToken);
            }

            return metadata;
        });

    /// <summary>A gRPC call invoker that goes through <paramref name="caller"/> to <paramref name="appId"/> (Dapr gRPC proxying).</summary>
    public static CallInvoker Through(RunningSidecar caller, string appId, string? apiToken = null) =>
        DaprClient.CreateInvocationInvoker(appId, caller.GrpcEndpoint, apiToken);

    /// <summary>Stops the run's apps (before the sidecars go).</summary>
    private protected abstract ValueTask StopAppsAsync();

    public async ValueTask DisposeAsync()
    {
        _clientChannel?.Dispose();
        await StopAppsAsync();
        foreach (var s in Enumerable.Reverse(_sidecars))
        {
            await s.DisposeAsync();
        }

        await Runtime.DisposeAsync();
        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }

        if (_ownsFolder)
        {
            Folder.Delete();
        }

        GC.SuppressFinalize(this);
    }
}
