using Chat.Contracts.V1;
using Chat.Domain;
using Dapr;
using Dapr.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat.Core.Routing;

/// <summary>The instances that cache routes, each with the time its registration expires (key <see cref="RouteCacheRegistry.Key"/>).</summary>
public sealed record RouteCacheHolders(Dictionary<string, DateTimeOffset> Until);

/// <summary>This process's identity as a route cache: it names its topic <c>route-changes.{id}</c>.</summary>
public sealed class RouteCacheInstance(IConfiguration configuration)
{
    public string Id { get; } = $"{configuration["APP_ID"] ?? "app"}-{Guid.NewGuid().ToString("N")[..12]}";
}

/// <summary>
/// The list of route caches in the presence store, one document updated under its ETag. Every
/// cache renews its entry every <see cref="Renew"/>; an entry not renewed for <see cref="Ttl"/>
/// is ignored and pruned by the next writer.
/// </summary>
public static class RouteCacheRegistry
{
    public const string Key = "routecaches";

    public static readonly TimeSpan Renew = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(20);

    /// <summary>How long a publisher trusts its read of the list.</summary>
    public static readonly TimeSpan ReadCacheTime = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Added to <see cref="ReadCacheTime"/> before a new cache serves, and taken off its TTL:
    /// room for clock skew between instances and for the time a publish takes to arrive.
    /// </summary>
    public static readonly TimeSpan Margin = TimeSpan.FromSeconds(2);

    private const int MaxAttempts = 8;

    /// <summary>Adds (<paramref name="until"/> set) or removes (null) <paramref name="instanceId"/>, retrying on concurrent updates. False if every attempt collided.</summary>
    public static async Task<bool> UpdateAsync(DaprClient dapr, string instanceId, DateTimeOffset? until, DateTimeOffset now, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var (current, etag) = await dapr.GetStateAndETagAsync<RouteCacheHolders?>(DaprNames.StateStores.Presence, Key, cancellationToken: ct);
            var holders = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            foreach (var (id, expires) in current?.Until ?? [])
            {
                if (expires > now && id != instanceId)
                {
                    holders[id] = expires;
                }
            }

            if (until is { } u)
            {
                holders[instanceId] = u;
            }

            if (string.IsNullOrEmpty(etag))
            {
                try
                {
                    await dapr.SaveStateAsync(DaprNames.StateStores.Presence, Key, new RouteCacheHolders(holders),
                        new StateOptions { Concurrency = ConcurrencyMode.FirstWrite }, cancellationToken: ct);
                    return true;
                }
                catch (DaprException ex) when (ex.InnerException is Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Aborted })
                {
                    continue; // Another instance created it first.
                }
            }

            if (await dapr.TrySaveStateAsync(DaprNames.StateStores.Presence, Key, new RouteCacheHolders(holders), etag, cancellationToken: ct))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The caches registered and not expired at <paramref name="now"/>.</summary>
    public static async Task<IReadOnlyList<string>> ReadLiveAsync(DaprClient dapr, DateTimeOffset now, CancellationToken ct)
    {
        var holders = await dapr.GetStateAsync<RouteCacheHolders?>(DaprNames.StateStores.Presence, Key, cancellationToken: ct);
        return holders is null ? [] : [.. holders.Until.Where(h => h.Value > now).Select(h => h.Key)];
    }
}

/// <summary>Keeps this instance in the route-cache list while it runs, and tells its <see cref="RouteCache"/> when it may serve.</summary>
public sealed partial class RouteCacheRegistration(
    DaprClient dapr, RouteCache cache, RouteCacheInstance instance, IHostApplicationLifetime lifetime, IOptions<RouteCacheOptions> options,
    TimeProvider time, ILogger<RouteCacheRegistration> log) : BackgroundService
{
    private readonly ILogger _logger = log;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        // Registered only once the app serves requests, so the sidecar has its subscription to
        // route-changes.{id} by the time publishers see the entry.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            await started.Task.ConfigureAwait(false);
        }

        using var timer = new PeriodicTimer(RouteCacheRegistry.Renew, time);
        do
        {
            try
            {
                var sentAt = time.GetTimestamp();
                var now = time.GetUtcNow();
                if (await RouteCacheRegistry.UpdateAsync(dapr, instance.Id, now + RouteCacheRegistry.Ttl, now, stoppingToken))
                {
                    var until = sentAt + (long)((RouteCacheRegistry.Ttl - RouteCacheRegistry.Margin).TotalSeconds * time.TimestampFrequency);
                    cache.Registered(sentAt, until, RouteCacheRegistry.ReadCacheTime + RouteCacheRegistry.Margin);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The cache stops serving by itself when the registration runs out.
                LogRegisterFailed(ex, instance.Id);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (!options.Value.Enabled)
        {
            return;
        }

        cache.Unregistered();
        try
        {
            await RouteCacheRegistry.UpdateAsync(dapr, instance.Id, null, time.GetUtcNow(), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRegisterFailed(ex, instance.Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not renew or remove the route-cache registration of {InstanceId}")]
    private partial void LogRegisterFailed(Exception ex, string instanceId);
}

/// <summary>
/// Tells every registered route cache that a user's routes changed. Called by the UserActor after
/// it stored them: the cache of this process (the router's) at once, before the call returns, so a
/// send that follows a connect in this process never sees the old routes; the others through their
/// topics, which leaves them a window of one pub/sub hop. Throws if a publish fails, so the connect
/// or disconnect fails and is retried rather than leaving a cache with stale routes.
/// </summary>
public sealed class RouteChangeNotifier(DaprClient dapr, TimeProvider time, RouteCache? local = null, RouteCacheInstance? self = null)
{
    private HolderList? _read;

    private sealed record HolderList(IReadOnlyList<string> Holders, long Until);

    public async Task NotifyAsync(string userId, CancellationToken ct = default)
    {
        local?.Invalidate([userId]);
        var holders = await HoldersAsync(ct);
        if (holders.Count == 0)
        {
            return;
        }

        var evt = new RoutesChanged { UserIds = { userId } };
        await Task.WhenAll(holders.Where(h => h != self?.Id).Select(h => dapr.PublishProtoAsync(DaprNames.PubSub, DaprNames.Topics.RouteChanges(h), evt, ct)));
    }

    private async Task<IReadOnlyList<string>> HoldersAsync(CancellationToken ct)
    {
        var now = time.GetTimestamp();
        if (Volatile.Read(ref _read) is { } read && read.Until > now)
        {
            return read.Holders;
        }

        var holders = await RouteCacheRegistry.ReadLiveAsync(dapr, time.GetUtcNow(), ct);
        Volatile.Write(ref _read, new HolderList(holders, now + (long)(RouteCacheRegistry.ReadCacheTime.TotalSeconds * time.TimestampFrequency)));
        return holders;
    }
}
