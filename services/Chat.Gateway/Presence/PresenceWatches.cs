using Chat.ServiceDefaults;
using System.Collections.Concurrent;
using Chat.Core.Presence;
using Chat.Domain;
using Dapr;
using Dapr.Client;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Chat.Gateway.Presence;

/// <summary>
/// Which connection watches whose presence. The lists live here, per connection; the presence
/// store holds, per watched user, the set of watching users (<c>watchers:{uid}</c>) so delivery
/// can send a PresenceChanged to those users' gateways only. Store entries expire unless
/// asserted again (this gateway re-asserts live watches every third of the TTL); a stale entry
/// only costs a delivery that this class then drops, since pushes go to connections that watch.
/// </summary>
public sealed partial class PresenceWatches(DaprClient dapr, IOptions<GatewayPresenceOptions> options, TimeProvider time, ILogger<PresenceWatches> log)
{
    public const int MaxWatched = ChatLimits.MaxBatchUsers;
    private const int MaxTargetsPerWrite = 500;
    private const int MaxEtagRetries = 5;

    private readonly ConcurrentDictionary<string, (string UserId, HashSet<string> Targets)> _byConnection = new(StringComparer.Ordinal);
    // (watcher, target) -> when its store entry was last asserted.
    private readonly ConcurrentDictionary<(string Watcher, string Target), DateTimeOffset> _asserted = new();
    private readonly ILogger _logger = log;

    private TimeSpan WatchTtl => TimeSpan.FromSeconds(Math.Max(10, options.Value.PresenceWatchTtlSeconds));

    /// <summary>True when the connection watches <paramref name="targetUserId"/>.</summary>
    public bool IsWatching(string connectionId, string targetUserId) =>
        _byConnection.TryGetValue(connectionId, out var w) && w.Targets.Contains(targetUserId);

    /// <summary>Replaces the connection's watch list and makes sure the store knows about new watches.</summary>
    public Task WatchAsync(string connectionId, string userId, IReadOnlyCollection<string> targets, CancellationToken ct)
    {
        _byConnection[connectionId] = (userId, targets.ToHashSet(StringComparer.Ordinal));
        return AssertAsync(targets.Select(t => (userId, t)), ct);
    }

    public void Forget(string connectionId) => _byConnection.TryRemove(connectionId, out _);

    /// <summary>Re-asserts watches still held by connections here whose store entry is half-way to expiry.</summary>
    public Task RefreshAsync(CancellationToken ct)
    {
        var live = _byConnection.Values.SelectMany(w => w.Targets.Select(t => (w.UserId, t))).ToHashSet();
        foreach (var key in _asserted.Keys.Where(k => !live.Contains(k)))
        {
            _asserted.TryRemove(key, out _);
        }

        return AssertAsync(live, ct);
    }

    private async Task AssertAsync(IEnumerable<(string Watcher, string Target)> pairs, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var due = pairs.Where(p => p.Watcher != p.Target && (!_asserted.TryGetValue(p, out var at) || now - at > WatchTtl / 2)).ToList();
        foreach (var chunk in due.GroupBy(p => p.Target, StringComparer.Ordinal).Chunk(MaxTargetsPerWrite))
        {
            await WriteAsync(chunk.ToDictionary(g => g.Key, g => g.Select(p => p.Watcher).ToList(), StringComparer.Ordinal), now, ct);
            foreach (var p in chunk.SelectMany(g => g))
            {
                _asserted[p] = now;
            }
        }
    }

    // One bulk read and one transaction for up to 500 watched users; ETags keep concurrent gateways' entries.
    private async Task WriteAsync(Dictionary<string, List<string>> watchersByTarget, DateTimeOffset now, CancellationToken ct)
    {
        var expires = (now + WatchTtl).ToUnixTimeMilliseconds();
        var ttl = DaprStateMetadata.Ttl(WatchTtl);
        for (var attempt = 1; ; attempt++)
        {
            var current = await dapr.GetBulkStateAsync<WatcherSet?>(DaprNames.StateStores.Presence,
                watchersByTarget.Keys.Select(PresenceKeys.Watchers).ToList(), parallelism: null, cancellationToken: ct);
            var byKey = current.ToDictionary(c => c.Key, StringComparer.Ordinal);
            var ops = new List<StateTransactionRequest>(watchersByTarget.Count);
            foreach (var (target, watchers) in watchersByTarget)
            {
                var key = PresenceKeys.Watchers(target);
                WatcherSet? set = null;
                string? etag = null;
                if (byKey.TryGetValue(key, out var item) && item.Value is not null)
                {
                    (set, etag) = (item.Value, item.ETag);
                }

                var entries = (set?.Watchers ?? [])
                    .Where(e => e.ExpiresAt > now.ToUnixTimeMilliseconds() && !watchers.Contains(e.UserId, StringComparer.Ordinal))
                    .Concat(watchers.Distinct(StringComparer.Ordinal).Select(w => new WatcherEntry(w, expires)))
                    .ToList();
                ops.Add(new StateTransactionRequest(key, PresenceKeys.Serialize(new WatcherSet(entries)), StateOperationType.Upsert,
                    string.IsNullOrEmpty(etag) ? null : etag, ttl, new StateOptions { Concurrency = ConcurrencyMode.FirstWrite }));
            }

            try
            {
                await dapr.ExecuteStateTransactionAsync(DaprNames.StateStores.Presence, ops, cancellationToken: ct);
                return;
            }
            catch (DaprException ex) when (attempt < MaxEtagRetries && ex.InnerException is RpcException { StatusCode: StatusCode.Aborted })
            {
                LogConflict(ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Watcher sets changed concurrently; retrying")]
    private partial void LogConflict(Exception ex);
}

/// <summary>Re-asserts this instance's watches every third of the watch TTL.</summary>
public sealed partial class PresenceWatchRefresher(PresenceWatches watches, IOptions<GatewayPresenceOptions> options, ILogger<PresenceWatchRefresher> log) : BackgroundService
{
    private readonly ILogger _logger = log;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(10, options.Value.PresenceWatchTtlSeconds) / 3.0));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await watches.RefreshAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogFailed(ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Re-asserting presence watches failed")]
    private partial void LogFailed(Exception ex);
}
