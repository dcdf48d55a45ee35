using Chat.ServiceDefaults;
using Chat.Core.Routing;
using Chat.Domain;
using Dapr.Client;

namespace Chat.Gateway;

/// <summary>
/// Keeps this instance's lease alive in the presence store. When the process dies the lease
/// expires, and routers and delivery stop sending to it.
/// </summary>
public sealed partial class GatewayLeaseService(DaprClient dapr, GatewayInstance instance, ILogger<GatewayLeaseService> log) : BackgroundService
{
    private readonly ILogger _logger = log;

    /// <summary>Writes the lease once; called before the gateway accepts connections.</summary>
    public Task RenewAsync(CancellationToken cancellationToken) =>
        dapr.SaveStateAsync(DaprNames.StateStores.Presence, RouteKeys.GatewayLease(instance.Id),
            new GatewayLease(instance.Id, DateTimeOffset.UtcNow),
            metadata: DaprStateMetadata.Ttl(RouteKeys.LeaseTtl),
            cancellationToken: cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RouteKeys.LeaseRefresh);
        do
        {
            try
            {
                await RenewAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogRenewFailed(ex, instance.Id);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            // A clean stop gives up the lease at once instead of waiting for the TTL.
            await dapr.DeleteStateAsync(DaprNames.StateStores.Presence, RouteKeys.GatewayLease(instance.Id), cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRenewFailed(ex, instance.Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not renew or release the lease of gateway {InstanceId}")]
    private partial void LogRenewFailed(Exception ex, string instanceId);
}
