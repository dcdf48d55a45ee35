using Chat.Directory;
using Chat.ServiceDefaults;
using Dapr.Client;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chat.Integration.Tests.Infrastructure;

/// <summary>
/// Dev sidecars and chat apps in this process, on free loopback ports, sharing one component
/// runtime (so they find each other by app-id), with a component set copied from
/// <c>components/{set}</c> into a temporary folder (relative file paths made absolute).
/// </summary>
public sealed class ChatCluster : IAsyncDisposable
{
    private readonly List<RunningSidecar> _sidecars = [];
    private readonly List<WebApplication> _apps = [];

    private ChatCluster(string folder)
    {
        Folder = folder;
        Runtime = new ComponentRuntime(NullLoggerFactory.Instance, TimeProvider.System);
    }

    /// <summary>The temporary folder: <c>components/</c> and <c>data/</c>.</summary>
    public string Folder { get; }

    public string ComponentsPath => Path.Combine(Folder, "components");

    public ComponentRuntime Runtime { get; }

    /// <summary>A cluster with the named components of a set (e.g. "embedded").</summary>
    public static ChatCluster WithComponents(string set, params string[] componentFiles)
    {
        var cluster = new ChatCluster(System.IO.Directory.CreateTempSubdirectory("chat-it-").FullName);
        System.IO.Directory.CreateDirectory(cluster.ComponentsPath);
        System.IO.Directory.CreateDirectory(Path.Combine(cluster.Folder, "data"));
        var source = RepoPaths.Components(set);
        foreach (var file in componentFiles)
        {
            // Component files name paths relative to the repo root (where run.sh starts the sidecars).
            var yaml = File.ReadAllText(Path.Combine(source, file))
                .Replace("\"data/", $"\"{cluster.Folder}/data/", StringComparison.Ordinal)
                .Replace("\"components/", $"\"{RepoPaths.Root}/components/", StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(cluster.ComponentsPath, file), yaml);
        }

        return cluster;
    }

    /// <summary>A sidecar with no app (a caller, like the gateway's).</summary>
    public async Task<RunningSidecar> StartSidecarAsync(string appId, int? appPort = null, string appProtocol = "http", string? apiToken = null, string? appApiToken = null)
    {
        var sidecar = await SidecarHost.StartAsync(new SidecarOptions
        {
            AppId = appId,
            AppPort = appPort,
            AppProtocol = appProtocol,
            ResourcesPaths = [ComponentsPath],
            ApiToken = apiToken,
            AppApiToken = appApiToken,
        }, Runtime);
        _sidecars.Add(sidecar);
        return sidecar;
    }

    /// <summary>
    /// Starts an app with app protocol grpc behind its own sidecar: the sidecar first (the app
    /// reads secrets and state through it), then the app, configured the way <c>dapr run</c>
    /// configures it (APP_PORT, DAPR_*_ENDPOINT, API tokens).
    /// </summary>
    public async Task<(RunningSidecar Sidecar, WebApplication App)> StartGrpcAppAsync(
        string appId, Action<WebApplicationBuilder> addServices, Action<WebApplication> map,
        IDictionary<string, string?>? settings = null, string? apiToken = null, string? appApiToken = null)
    {
        var appPort = SidecarHost.FreePort();
        var sidecar = await StartSidecarAsync(appId, appPort, "grpc", apiToken, appApiToken);

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = appId,
            EnvironmentName = "Development",
            ContentRootPath = Folder,
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        var config = new Dictionary<string, string?>
        {
            ["APP_ID"] = appId,
            ["APP_PORT"] = appPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DAPR_GRPC_ENDPOINT"] = sidecar.GrpcEndpoint,
            ["DAPR_HTTP_ENDPOINT"] = sidecar.HttpEndpoint,
            ["DAPR_API_TOKEN"] = apiToken,
            ["APP_API_TOKEN"] = appApiToken,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(config);
        builder.AddServiceDefaults();
        addServices(builder);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        map(app);
        await app.StartAsync();
        _apps.Add(app);
        return (sidecar, app);
    }

    /// <summary>Starts the directory app (app-id "directory") behind its sidecar.</summary>
    public Task<(RunningSidecar Sidecar, WebApplication App)> StartDirectoryAsync(IDictionary<string, string?>? settings = null, string? apiToken = null, string? appApiToken = null) =>
        StartGrpcAppAsync(Chat.Domain.DaprNames.Apps.Directory, b => b.AddDirectoryServices(), a => a.MapDirectoryServices(), settings, apiToken, appApiToken);

    /// <summary>A gRPC call invoker that goes through <paramref name="caller"/> to <paramref name="appId"/> (Dapr gRPC proxying).</summary>
    public static Grpc.Core.CallInvoker Through(RunningSidecar caller, string appId, string? apiToken = null) =>
        DaprClient.CreateInvocationInvoker(appId, caller.GrpcEndpoint, apiToken);

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        foreach (var sidecar in _sidecars)
        {
            await sidecar.DisposeAsync();
        }

        await Runtime.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may still hold a file for a moment; a leftover temp folder is harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
