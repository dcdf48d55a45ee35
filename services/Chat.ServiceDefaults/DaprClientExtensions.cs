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
        return services;
    }
}
