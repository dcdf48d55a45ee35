using Microsoft.Extensions.Options;

namespace Chat.Presence;

/// <summary>
/// Runs <see cref="PresenceTracker.SweepAsync"/> every <see cref="PresenceOptions.SweepSeconds"/>:
/// the users of a gateway that died go offline (EXPIRED) within the marker TTL plus one sweep.
/// A pass reads the gateway index, the snapshots and the leases (three small reads) and writes
/// nothing unless a gateway is dead. Several presence replicas may each sweep; a user set offline
/// twice gets a second identical event, which watchers absorb.
/// </summary>
public sealed partial class PresenceSweeper(PresenceTracker tracker, IOptions<PresenceOptions> options, ILogger<PresenceSweeper> log) : BackgroundService
{
    private readonly ILogger _logger = log;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(0.1, options.Value.SweepSeconds)));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var offline = await tracker.SweepAsync(stoppingToken);
                if (offline.Count > 0)
                {
                    LogExpired(offline.Count);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The sidecar may not be up yet, or the store is briefly away: the next pass retries.
                LogSweepFailed(ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Presence sweep: {Count} users of dead gateways went offline")]
    private partial void LogExpired(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Presence sweep failed")]
    private partial void LogSweepFailed(Exception ex);
}
