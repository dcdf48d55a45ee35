namespace Dapr.DevSidecar.Hosting;

/// <summary>How one sidecar runs: the options <c>daprd</c> takes on its command line, by the same names.</summary>
public sealed class SidecarOptions
{
    /// <summary>--app-id</summary>
    public required string AppId { get; init; }

    /// <summary>--app-port; null when the app listens on no port (it only calls out).</summary>
    public int? AppPort { get; init; }

    /// <summary>--app-protocol: http or grpc.</summary>
    public string AppProtocol { get; init; } = "http";

    /// <summary>--app-channel-address</summary>
    public string AppChannelAddress { get; init; } = "127.0.0.1";

    /// <summary>--dapr-http-port; 0 picks a free port.</summary>
    public int HttpPort { get; init; }

    /// <summary>--dapr-grpc-port; 0 picks a free port.</summary>
    public int GrpcPort { get; init; }

    /// <summary>The address the sidecar listens on.</summary>
    public string ListenAddress { get; init; } = "127.0.0.1";

    /// <summary>--resources-path (repeatable).</summary>
    public IReadOnlyList<string> ResourcesPaths { get; init; } = [];

    /// <summary>DAPR_API_TOKEN: when set, callers must send it as <c>dapr-api-token</c>.</summary>
    public string? ApiToken { get; init; }

    /// <summary>APP_API_TOKEN: when set, sent to the app as <c>dapr-api-token</c>.</summary>
    public string? AppApiToken { get; init; }

    /// <summary>--app-health-check-path (HTTP apps).</summary>
    public string AppHealthCheckPath { get; init; } = "/healthz";

    /// <summary>An id for this instance of the app, unique among instances of the same app-id.</summary>
    public string InstanceId { get; init; } = Guid.NewGuid().ToString("N")[..8];
}
