using Microsoft.AspNetCore.Builder;

namespace Chat.ServiceDefaults.Boundary;

/// <summary>
/// Marks an endpoint as served to clients (browsers, apps) rather than to the app's sidecar.
/// Every other endpoint, except health, is a sidecar callback: see <see cref="SidecarBoundaryMiddleware"/>.
/// </summary>
public sealed class ClientEndpointMetadata
{
    public static readonly ClientEndpointMetadata Instance = new();

    private ClientEndpointMetadata()
    {
    }
}

/// <summary>Marks endpoints as client-facing.</summary>
public static class ClientEndpointExtensions
{
    /// <summary>Serves these endpoints to clients, on the client port, without the sidecar's app token.</summary>
    public static TBuilder ForClients<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(ClientEndpointMetadata.Instance);
}
