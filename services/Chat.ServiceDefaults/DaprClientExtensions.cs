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
    /// <summary>
    /// State store types whose transactions refuse a first-write save of an existing key, as a
    /// single save does (components-contrib's sqlite and postgresql run each operation of a
    /// transaction through their single-save code). Redis applies first-write to single saves
    /// only, and other types are not known to: they are not listed.
    /// </summary>
    private static readonly HashSet<string> FirstWriteInTransactionTypes = new(["state.sqlite", "state.postgresql"], StringComparer.OrdinalIgnoreCase);

    private Task<IReadOnlyDictionary<string, Component>>? _known;

    /// <summary>True when the component <paramref name="name"/> reports <paramref name="capability"/>.</summary>
    public async Task<bool> HasAsync(string name, string capability, CancellationToken cancellationToken = default) =>
        await FindAsync(name, cancellationToken) is { } component && component.Capabilities.Contains(capability);

    /// <summary>
    /// True when the state store <paramref name="name"/> is transactional and its transactions
    /// enforce first-write (by its component type; see <see cref="FirstWriteInTransactionTypes"/>).
    /// </summary>
    public async Task<bool> EnforcesFirstWriteInTransactionsAsync(string name, CancellationToken cancellationToken = default) =>
        await FindAsync(name, cancellationToken) is { } component
        && component.Capabilities.Contains("TRANSACTIONAL") && FirstWriteInTransactionTypes.Contains(component.Type);

    private async Task<Component?> FindAsync(string name, CancellationToken cancellationToken)
    {
        var known = _known ??= LoadAsync(cancellationToken);
        try
        {
            return (await known).GetValueOrDefault(name);
        }
        catch (Exception ex) when (ex is DaprException or HttpRequestException or OperationCanceledException)
        {
            _known = null;
            return null;
        }
    }

    private async Task<IReadOnlyDictionary<string, Component>> LoadAsync(CancellationToken cancellationToken)
    {
        var metadata = await dapr.GetMetadataAsync(cancellationToken);
        return metadata.Components.ToDictionary(
            c => c.Name,
            c => new Component(c.Type ?? "", new HashSet<string>(c.Capabilities ?? [], StringComparer.OrdinalIgnoreCase)),
            StringComparer.Ordinal);
    }

    private sealed record Component(string Type, IReadOnlySet<string> Capabilities);
}
