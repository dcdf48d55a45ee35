using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Chat.ServiceDefaults;

/// <summary>
/// Healthy when the app's Dapr sidecar answers <c>GET /v1.0/healthz/outbound</c> (the same
/// probe the Dapr SDK's WaitForSidecarAsync uses; it does not wait on the app itself).
/// </summary>
public sealed class DaprSidecarHealthCheck(IHttpClientFactory httpClients, IConfiguration configuration) : IHealthCheck
{
    public const string HttpClientName = "dapr-sidecar-health";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var endpoint = DaprEndpoints.HttpEndpoint(configuration);
        try
        {
            using var client = httpClients.CreateClient(HttpClientName);
            using var response = await client.GetAsync(new Uri(endpoint, "/v1.0/healthz/outbound"), cancellationToken);
            return response.IsSuccessStatusCode
                ? HealthCheckResult.Healthy($"Dapr sidecar at {endpoint} is up.")
                : HealthCheckResult.Unhealthy($"Dapr sidecar at {endpoint} answered {(int)response.StatusCode}.");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return HealthCheckResult.Unhealthy($"Dapr sidecar at {endpoint} is unreachable.", ex);
        }
    }
}

/// <summary>Resolves the sidecar endpoints the way the Dapr SDK does: *_ENDPOINT wins over *_PORT.</summary>
public static class DaprEndpoints
{
    /// <summary>The sidecar's HTTP endpoint (DAPR_HTTP_ENDPOINT, else localhost:DAPR_HTTP_PORT, else :3500).</summary>
    public static Uri HttpEndpoint(IConfiguration configuration) =>
        Resolve(configuration, "DAPR_HTTP_ENDPOINT", "DAPR_HTTP_PORT", 3500);

    /// <summary>The sidecar's gRPC endpoint (DAPR_GRPC_ENDPOINT, else localhost:DAPR_GRPC_PORT, else :50001).</summary>
    public static Uri GrpcEndpoint(IConfiguration configuration) =>
        Resolve(configuration, "DAPR_GRPC_ENDPOINT", "DAPR_GRPC_PORT", 50001);

    private static Uri Resolve(IConfiguration configuration, string endpointKey, string portKey, int defaultPort)
    {
        var endpoint = configuration[endpointKey] ?? Environment.GetEnvironmentVariable(endpointKey);
        if (!string.IsNullOrWhiteSpace(endpoint))
        {
            return new Uri(endpoint);
        }

        var port = configuration[portKey] ?? Environment.GetEnvironmentVariable(portKey);
        return new Uri($"http://127.0.0.1:{(int.TryParse(port, out var p) ? p : defaultPort)}");
    }
}
