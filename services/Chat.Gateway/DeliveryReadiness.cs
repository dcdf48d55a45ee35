using Chat.ServiceDefaults;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Chat.Gateway;

/// <summary>
/// Opens once this gateway's sidecar reports ready (<c>GET /v1.0/healthz</c> answers 204: the app
/// channel is up and the <c>deliveries.{instance}</c> subscription is in place). Before that, a
/// delivery published for a client connected here could find no subscriber and be lost to a
/// broker that keeps nothing for absent groups (in-memory, Kafka at the newest offset), so the
/// hub takes no connections and the readiness probe says not ready. App start is not blocked:
/// the sidecar needs the app listening to become ready.
/// </summary>
public sealed partial class DeliveryReadiness(IConfiguration configuration, ILogger<DeliveryReadiness> log) : BackgroundService
{
    /// <summary>How long a connecting client waits for a gateway that is still starting.</summary>
    public static readonly TimeSpan ConnectWait = TimeSpan.FromSeconds(10);

    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ILogger _logger = log;

    public bool IsReady => _ready.Task.IsCompleted;

    /// <summary>Waits until deliveries can reach this instance; false when <paramref name="timeout"/> passes first.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            await _ready.Task.WaitAsync(timeout, ct);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var health = new Uri(DaprEndpoints.HttpEndpoint(configuration), "/v1.0/healthz");
        var delay = TimeSpan.FromMilliseconds(20);
        // Its own client: this loop is the retry policy (a resilience handler would log every 500 as a failure).
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var response = await http.GetAsync(health, stoppingToken);
                if (response.IsSuccessStatusCode)
                {
                    _ready.TrySetResult();
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
            {
                LogNotYet(ex.Message);
            }

            await Task.Delay(delay, stoppingToken);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 1000));
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sidecar not ready yet: {Reason}")]
    private partial void LogNotYet(string reason);
}

/// <summary>Readiness probe entry: not ready until <see cref="DeliveryReadiness"/> opens.</summary>
public sealed class DeliveryReadinessCheck(DeliveryReadiness readiness) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(readiness.IsReady
            ? HealthCheckResult.Healthy("Deliveries reach this instance.")
            : HealthCheckResult.Unhealthy("The sidecar has not reported ready: deliveries.{instance} may not be subscribed yet."));
}
