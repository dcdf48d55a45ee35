using Dapr;
using Dapr.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Chat.ServiceDefaults;

/// <summary>The official Dapr client, pointed at the sidecar named in the app's configuration.</summary>
public static class DaprClientExtensions
{
    /// <summary>
    /// Registers one <see cref="DaprClient"/> (unless one is registered already) whose endpoints
    /// and API token come from the app's <see cref="IConfiguration"/> (DAPR_GRPC_ENDPOINT,
    /// DAPR_HTTP_ENDPOINT or the *_PORT variables, DAPR_API_TOKEN), not from process-wide
    /// environment variables, so several apps can share a process in tests.
    /// </summary>
    public static IServiceCollection AddChatDaprClient(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(_ => new DaprClientBuilder()
            .UseGrpcEndpoint(DaprEndpoints.GrpcEndpoint(configuration).ToString())
            .UseHttpEndpoint(DaprEndpoints.HttpEndpoint(configuration).ToString())
            .UseDaprApiToken(configuration["DAPR_API_TOKEN"])
            .Build());
        services.TryAddSingleton<DaprComponentCapabilities>();
        return services;
    }
}

/// <summary>
/// What a component can do, as the sidecar's metadata API reports it (daprd lists ETAG,
/// TRANSACTIONAL, TTL and ACTOR for state stores). Registered with the Dapr client. Apps use it to pick the cheapest correct
/// write path for the store the YAML names, so swapping the component never needs new code.
/// Asked once per process; a failed ask is retried on the next call and answers "no" meanwhile.
/// </summary>
public sealed class DaprComponentCapabilities(DaprClient dapr)
{
    private Task<IReadOnlyDictionary<string, IReadOnlySet<string>>>? _known;

    /// <summary>True when the component <paramref name="name"/> reports <paramref name="capability"/>.</summary>
    public async Task<bool> HasAsync(string name, string capability, CancellationToken cancellationToken = default)
    {
        var known = _known ??= LoadAsync(cancellationToken);
        try
        {
            return (await known).TryGetValue(name, out var caps) && caps.Contains(capability);
        }
        catch (Exception ex) when (ex is DaprException or HttpRequestException or OperationCanceledException)
        {
            _known = null;
            return false;
        }
    }

    private async Task<IReadOnlyDictionary<string, IReadOnlySet<string>>> LoadAsync(CancellationToken cancellationToken)
    {
        var metadata = await dapr.GetMetadataAsync(cancellationToken);
        return metadata.Components.ToDictionary(
            c => c.Name,
            c => (IReadOnlySet<string>)new HashSet<string>(c.Capabilities ?? [], StringComparer.OrdinalIgnoreCase),
            StringComparer.Ordinal);
    }
}
