using Dapr.DevSidecar.Components;

namespace Dapr.DevSidecar.Hosting;

/// <summary>The running state of one sidecar, shared by its HTTP and gRPC APIs.</summary>
public sealed class SidecarContext(SidecarOptions options, AppComponents components, ComponentRuntime runtime)
{
    public SidecarOptions Options { get; } = options;

    public string AppId => Options.AppId;

    public AppComponents Components { get; } = components;

    public ComponentRuntime Runtime { get; } = runtime;

    /// <summary>The ports actually bound (after 0 was resolved).</summary>
    public int HttpPort { get; set; }

    public int GrpcPort { get; set; }

    /// <summary>Cancelled when the sidecar is asked to shut down (Shutdown API or the host stopping).</summary>
    public CancellationTokenSource ShutdownRequested { get; } = new();
}
