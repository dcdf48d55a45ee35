using Dapr.Client;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dapr.DevSidecar.Tests;

/// <summary>
/// Starts dev sidecars in this process on free loopback ports, with components written to a
/// temporary folder, and hands out official Dapr SDK clients pointed at them.
/// </summary>
public sealed class SidecarTestHost : IAsyncDisposable
{
    private readonly List<RunningSidecar> _sidecars = [];
    private readonly List<IDisposable> _clients = [];

    /// <param name="placementFolder">Shares actor placement with other hosts (stand-ins for dev-sidecar processes) using the same folder.</param>
    public SidecarTestHost(TimeProvider? time = null, string? placementFolder = null)
    {
        ResourcesPath = Directory.CreateTempSubdirectory("devsidecar-test-").FullName;
        Runtime = new ComponentRuntime(NullLoggerFactory.Instance, time ?? TimeProvider.System) { PlacementFolder = placementFolder };
    }

    public string ResourcesPath { get; }

    public ComponentRuntime Runtime { get; }

    /// <summary>Writes a component file (YAML) into the resources folder.</summary>
    public SidecarTestHost WithComponent(string fileName, string yaml)
    {
        File.WriteAllText(Path.Combine(ResourcesPath, fileName), yaml);
        return this;
    }

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

    /// <summary>Stops one sidecar before the host is disposed (e.g. to restart an app).</summary>
    public async Task StopSidecarAsync(RunningSidecar sidecar)
    {
        if (_sidecars.Remove(sidecar))
        {
            await sidecar.DisposeAsync();
        }
    }

    /// <summary>An official DaprClient talking to <paramref name="sidecar"/>.</summary>
    public DaprClient ClientFor(RunningSidecar sidecar, string? apiToken = null)
    {
        var client = new DaprClientBuilder()
            .UseGrpcEndpoint(sidecar.GrpcEndpoint)
            .UseHttpEndpoint(sidecar.HttpEndpoint)
            .UseDaprApiToken(apiToken)
            .Build();
        _clients.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _clients)
        {
            c.Dispose();
        }

        foreach (var s in _sidecars)
        {
            await s.DisposeAsync();
        }

        await Runtime.DisposeAsync();
        try
        {
            Directory.Delete(ResourcesPath, recursive: true);
        }
        catch (IOException)
        {
            // A store may still hold a file open on some platforms; the temp folder is harmless.
        }
    }

    /// <summary>YAML of a component with the given metadata.</summary>
    public static string Component(string name, string type, params (string Key, string Value)[] metadata) =>
        $"""
        apiVersion: dapr.io/v1alpha1
        kind: Component
        metadata:
          name: {name}
        spec:
          type: {type}
          version: v1
          metadata:
        {string.Concat(metadata.Select(m => $"  - name: {m.Key}\n    value: \"{m.Value}\"\n"))}
        """;
}
