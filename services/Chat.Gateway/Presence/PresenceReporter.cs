using Chat.Contracts.V1;
using Chat.Gateway.Hubs;
using Microsoft.Extensions.Options;

namespace Chat.Gateway.Presence;

/// <summary>Presence settings of the gateway, bound from <c>Gateway</c>.</summary>
public sealed class GatewayPresenceOptions
{
    /// <summary>How often the instance reports all its connected users (seconds; <c>Gateway:PresenceRefreshSeconds</c>).</summary>
    public uint PresenceRefreshSeconds { get; set; } = 10;

    /// <summary>
    /// After a user's first connection here, the next report comes this soon (milliseconds)
    /// instead of at the next tick, so "online" shows quickly; connects within the delay share it.
    /// </summary>
    public int PresenceConnectDelayMs { get; set; } = 300;

    /// <summary>How long a watch is kept in the presence store without being asserted again (seconds).</summary>
    public int PresenceWatchTtlSeconds { get; set; } = 600;
}

/// <summary>
/// Every refresh interval, one <c>ReportConnectedUsers</c> call with every user connected to this
/// instance (one state write in presence, whatever the number of users), plus an early report
/// shortly after new users connect.
/// </summary>
public sealed partial class PresenceReporter(
    PresenceService.PresenceServiceClient presence,
    LocalConnections connections,
    GatewayInstance instance,
    IOptions<GatewayPresenceOptions> options,
    ILogger<PresenceReporter> log) : BackgroundService
{
    private readonly ILogger _logger = log;
    private readonly SemaphoreSlim _one = new(1, 1);
    private readonly SemaphoreSlim _arrived = new(0, 1);
    private long _reports;

    /// <summary>Reports completed by this instance.</summary>
    public long ReportsSent => Interlocked.Read(ref _reports);

    /// <summary>How many users the last completed report carried.</summary>
    public int LastReportedUsers { get; private set; }

    /// <summary>A user connected here for the first time: report soon.</summary>
    public void UserArrived()
    {
        if (_arrived.CurrentCount == 0)
        {
            try
            {
                _arrived.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled.
            }
        }
    }

    /// <summary>Sends one report now (serialised with the periodic ones).</summary>
    public async Task ReportNowAsync(CancellationToken ct)
    {
        await _one.WaitAsync(ct);
        try
        {
            var users = connections.Users;
            var request = new ReportConnectedUsersRequest { GatewayInstanceId = instance.Id, RefreshIntervalSeconds = options.Value.PresenceRefreshSeconds };
            request.UserIds.AddRange(users);
            await presence.ReportConnectedUsersAsync(request, cancellationToken: ct);
            LastReportedUsers = users.Count;
            Interlocked.Increment(ref _reports);
        }
        finally
        {
            _one.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(Math.Max(1, options.Value.PresenceRefreshSeconds));
        var next = DateTimeOffset.UtcNow;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = next - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero && await _arrived.WaitAsync(wait, stoppingToken))
            {
                await Task.Delay(Math.Max(0, options.Value.PresenceConnectDelayMs), stoppingToken);
            }

            next = DateTimeOffset.UtcNow + interval;
            try
            {
                await ReportNowAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Markers outlive 2 missed reports (TTL 2.5 intervals); the next tick tries again.
                LogReportFailed(ex, instance.Id);
            }
        }
    }

    public override void Dispose()
    {
        _one.Dispose();
        _arrived.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Presence report of gateway {InstanceId} failed")]
    private partial void LogReportFailed(Exception ex, string instanceId);
}
