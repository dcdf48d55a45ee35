using Chat.ServiceDefaults;
using Chat.Contracts.V1;
using Chat.Core;
using Chat.Core.Presence;
using Chat.Core.Routing;
using Chat.Domain;
using Dapr;
using Dapr.Client;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Chat.Presence;

/// <summary>What one report did: who came online, who silently left this gateway.</summary>
public sealed record ReportOutcome(IReadOnlyList<string> CameOnline, IReadOnlyList<string> WentOffline);

/// <summary>
/// Presence over the presence store. Per gateway report: one bulk read of the reported users'
/// markers (to find who came online), then ONE transaction that rewrites every marker with its
/// TTL, the gateway's snapshot and, when needed, the gateway index. Offline is a marker that is
/// gone: deleted on disconnect, or lapsed when a gateway stops reporting, which the sweep turns
/// into PresenceChanged(EXPIRED) events.
/// </summary>
public sealed partial class PresenceTracker(DaprClient dapr, TimeProvider time, ILogger<PresenceTracker> log)
{
    private const string Store = DaprNames.StateStores.Presence;
    private const int MaxEtagRetries = 5;
    private const int PublishParallelism = 32;

    private readonly ILogger _logger = log;

    /// <summary>A gateway's full list of connected users: one state transaction, then the events.</summary>
    public async Task<ReportOutcome> ReportAsync(string gatewayId, IReadOnlyList<string> reported, uint refreshSeconds, CancellationToken ct)
    {
        var users = reported.Distinct(StringComparer.Ordinal).ToList();
        var ttl = PresenceKeys.TtlSeconds(refreshSeconds);
        var ttlMeta = Ttl(ttl);
        for (var attempt = 1; ; attempt++)
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var markers = await GetEntriesAsync(users.Select(PresenceKeys.Online), ct);
            var (previous, _) = await dapr.GetStateAndETagAsync<GatewayPresenceSnapshot?>(Store, PresenceKeys.GatewaySnapshot(gatewayId), cancellationToken: ct);
            var (index, indexEtag) = await dapr.GetStateAndETagAsync<GatewayIndex?>(Store, PresenceKeys.Gateways, cancellationToken: ct);

            // Users this gateway reported last time and not now, whose marker is still ours: their
            // ReportDisconnected was lost. They go offline in this same write.
            var reportedSet = users.ToHashSet(StringComparer.Ordinal);
            var left = previous?.Users.Where(u => !reportedSet.Contains(u)).ToList() ?? [];
            var leftMarkers = left.Count == 0 ? [] : await GetEntriesAsync(left.Select(PresenceKeys.Online), ct);
            var wentOffline = left.Where(u => leftMarkers.TryGetValue(PresenceKeys.Online(u), out var m) && m.GatewayInstanceId == gatewayId).ToList();

            var marker = PresenceKeys.Serialize(new PresenceEntry(gatewayId, now));
            var ops = new List<StateTransactionRequest>(users.Count + wentOffline.Count * 2 + 2);
            ops.AddRange(users.Select(u => new StateTransactionRequest(PresenceKeys.Online(u), marker, StateOperationType.Upsert, metadata: ttlMeta)));
            ops.Add(new StateTransactionRequest(PresenceKeys.GatewaySnapshot(gatewayId),
                PresenceKeys.Serialize(new GatewayPresenceSnapshot(users, now, ttl)), StateOperationType.Upsert,
                metadata: Ttl(PresenceKeys.SnapshotTtlSeconds(ttl))));
            if (index is null || !index.Gateways.Contains(gatewayId, StringComparer.Ordinal))
            {
                ops.Add(IndexWrite([.. index?.Gateways ?? [], gatewayId], indexEtag));
            }

            var lastSeen = PresenceKeys.Serialize(new PresenceEntry(null, now));
            foreach (var u in wentOffline)
            {
                ops.Add(new StateTransactionRequest(PresenceKeys.Online(u), null, StateOperationType.Delete));
                ops.Add(new StateTransactionRequest(PresenceKeys.LastSeen(u), lastSeen, StateOperationType.Upsert));
            }

            if (!await TryTransactAsync(ops, attempt, ct))
            {
                continue;
            }

            var cameOnline = users.Where(u => !markers.ContainsKey(PresenceKeys.Online(u))).ToList();
            await PublishAsync(cameOnline.Select(u => new PresenceChanged { UserId = u, Online = true, Cause = PresenceChangeCause.Connected })
                .Concat(wentOffline.Select(u => Offline(u, now, PresenceChangeCause.Disconnected))), ct);
            return new ReportOutcome(cameOnline, wentOffline);
        }
    }

    /// <summary>A user's last connection on a gateway closed. Returns the stored last-seen time, or null when still online elsewhere.</summary>
    public async Task<DateTimeOffset?> DisconnectedAsync(string userId, bool stillConnectedElsewhere, CancellationToken ct)
    {
        if (stillConnectedElsewhere)
        {
            // The other gateway's next report keeps the marker alive: nothing changes.
            return null;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await dapr.ExecuteStateTransactionAsync(Store,
        [
            new StateTransactionRequest(PresenceKeys.Online(userId), null, StateOperationType.Delete),
            new StateTransactionRequest(PresenceKeys.LastSeen(userId), PresenceKeys.Serialize(new PresenceEntry(null, now)), StateOperationType.Upsert),
        ], cancellationToken: ct);
        await PublishAsync([Offline(userId, now, PresenceChangeCause.Disconnected)], ct);
        return DateTimeOffset.FromUnixTimeMilliseconds(now);
    }

    /// <summary>Online markers and last-seen times of some users (missing users are absent).</summary>
    public async Task<(IReadOnlyDictionary<string, PresenceEntry> Online, IReadOnlyDictionary<string, PresenceEntry> LastSeen)> ReadAsync(IReadOnlyList<string> userIds, CancellationToken ct)
    {
        var entries = await GetEntriesAsync(userIds.Select(PresenceKeys.Online).Concat(userIds.Select(PresenceKeys.LastSeen)), ct);
        var online = new Dictionary<string, PresenceEntry>(StringComparer.Ordinal);
        var lastSeen = new Dictionary<string, PresenceEntry>(StringComparer.Ordinal);
        foreach (var u in userIds)
        {
            if (entries.TryGetValue(PresenceKeys.Online(u), out var o))
            {
                online[u] = o;
            }

            if (entries.TryGetValue(PresenceKeys.LastSeen(u), out var l))
            {
                lastSeen[u] = l;
            }
        }

        return (online, lastSeen);
    }

    /// <summary>
    /// One pass of the expiry sweep. A gateway is done for when its lease is gone or its last
    /// report is older than the marker TTL. Its reported users whose marker lapsed (or still names
    /// it) and who have no connection on another live gateway go offline (EXPIRED), with last seen
    /// = the gateway's last report, in one transaction per dead gateway. Returns the users set offline.
    /// </summary>
    public async Task<IReadOnlyList<string>> SweepAsync(CancellationToken ct)
    {
        var (index, indexEtag) = await dapr.GetStateAndETagAsync<GatewayIndex?>(Store, PresenceKeys.Gateways, cancellationToken: ct);
        if (index is null || index.Gateways.Count == 0)
        {
            return [];
        }

        var snapshots = (await dapr.GetBulkStateAsync<GatewayPresenceSnapshot?>(Store, index.Gateways.Select(PresenceKeys.GatewaySnapshot).ToList(), parallelism: null, cancellationToken: ct))
            .ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);
        var leased = await LiveGateways.ReadAsync(dapr, index.Gateways, ct);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();

        var dead = new List<(string Gateway, GatewayPresenceSnapshot? Snapshot)>();
        foreach (var gw in index.Gateways)
        {
            var snapshot = snapshots.GetValueOrDefault(PresenceKeys.GatewaySnapshot(gw));
            if (snapshot is null || !leased.Contains(gw) || snapshot.ReportedAt + (snapshot.TtlSeconds * 1000L) < now)
            {
                dead.Add((gw, snapshot));
            }
        }

        if (dead.Count == 0)
        {
            return [];
        }

        var ops = new List<StateTransactionRequest>();
        var events = new List<PresenceChanged>();
        foreach (var (gw, snapshot) in dead)
        {
            ops.Add(new StateTransactionRequest(PresenceKeys.GatewaySnapshot(gw), null, StateOperationType.Delete));
            if (snapshot is null || snapshot.Users.Count == 0)
            {
                continue;
            }

            var offline = await ExpiredUsersAsync(gw, snapshot, ct);
            var lastSeen = PresenceKeys.Serialize(new PresenceEntry(null, snapshot.ReportedAt));
            foreach (var (user, ownsMarker) in offline)
            {
                if (ownsMarker)
                {
                    ops.Add(new StateTransactionRequest(PresenceKeys.Online(user), null, StateOperationType.Delete));
                }

                ops.Add(new StateTransactionRequest(PresenceKeys.LastSeen(user), lastSeen, StateOperationType.Upsert));
                events.Add(Offline(user, snapshot.ReportedAt, PresenceChangeCause.Expired));
            }
        }

        var deadIds = dead.Select(d => d.Gateway).ToHashSet(StringComparer.Ordinal);
        ops.Add(IndexWrite(index.Gateways.Where(g => !deadIds.Contains(g)).ToList(), indexEtag));
        // A concurrent report changed the index: the next pass sees the new state.
        if (!await TryTransactAsync(ops, MaxEtagRetries, ct))
        {
            return [];
        }

        await PublishAsync(events, ct);
        return events.Select(e => e.UserId).ToList();
    }

    private async Task<List<(string User, bool OwnsMarker)>> ExpiredUsersAsync(string gateway, GatewayPresenceSnapshot snapshot, CancellationToken ct)
    {
        var users = snapshot.Users;
        var entries = await GetEntriesAsync(users.Select(PresenceKeys.Online).Concat(users.Select(PresenceKeys.LastSeen)), ct);
        var candidates = new List<(string User, bool OwnsMarker)>();
        foreach (var u in users)
        {
            var marker = entries.GetValueOrDefault(PresenceKeys.Online(u));
            if (marker is not null && marker.GatewayInstanceId != gateway)
            {
                continue; // another gateway reported the user since
            }

            if (marker is null && entries.GetValueOrDefault(PresenceKeys.LastSeen(u)) is { } seen && seen.At >= snapshot.ReportedAt)
            {
                continue; // a disconnect already recorded it
            }

            candidates.Add((u, marker is not null));
        }

        if (candidates.Count == 0)
        {
            return candidates;
        }

        // A user also connected through another live gateway stays online: its next report refreshes the marker.
        var routes = await dapr.GetBulkStateAsync<UserRoutes?>(Store, candidates.Select(c => RouteKeys.Routes(c.User)).ToList(), parallelism: null, cancellationToken: ct);
        var elsewhere = routes.Where(r => r.Value is not null)
            .ToDictionary(r => r.Value!.UserId, r => r.Value!.Connections.Select(c => c.GatewayInstanceId).Where(g => g != gateway).Distinct(StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
        var live = await LiveGateways.ReadAsync(dapr, elsewhere.Values.SelectMany(g => g).Distinct(StringComparer.Ordinal).ToList(), ct);
        return candidates.Where(c => !(elsewhere.TryGetValue(c.User, out var gws) && gws.Any(live.Contains))).ToList();
    }

    private async Task<Dictionary<string, PresenceEntry>> GetEntriesAsync(IEnumerable<string> keys, CancellationToken ct)
    {
        var list = keys.ToList();
        var result = new Dictionary<string, PresenceEntry>(StringComparer.Ordinal);
        if (list.Count == 0)
        {
            return result;
        }

        foreach (var item in await dapr.GetBulkStateAsync<PresenceEntry?>(Store, list, parallelism: null, cancellationToken: ct))
        {
            if (item.Value is { } v)
            {
                result[item.Key] = v;
            }
        }

        return result;
    }

    private async Task<bool> TryTransactAsync(List<StateTransactionRequest> ops, int attempt, CancellationToken ct)
    {
        try
        {
            await dapr.ExecuteStateTransactionAsync(Store, ops, cancellationToken: ct);
            return true;
        }
        catch (DaprException ex) when (attempt < MaxEtagRetries && ex.InnerException is RpcException { StatusCode: StatusCode.Aborted })
        {
            // Only the index carries an ETag: another gateway joined or the sweep removed one.
            LogIndexConflict(ex);
            return false;
        }
    }

    private static StateTransactionRequest IndexWrite(List<string> gateways, string? etag) =>
        string.IsNullOrEmpty(etag)
            // No index yet: first-write, so two gateways creating it at once cannot both win.
            ? new StateTransactionRequest(PresenceKeys.Gateways, PresenceKeys.Serialize(new GatewayIndex(gateways)), StateOperationType.Upsert,
                options: new StateOptions { Concurrency = ConcurrencyMode.FirstWrite })
            : new StateTransactionRequest(PresenceKeys.Gateways, PresenceKeys.Serialize(new GatewayIndex(gateways)), StateOperationType.Upsert, etag,
                options: new StateOptions { Concurrency = ConcurrencyMode.FirstWrite });

    private static IReadOnlyDictionary<string, string> Ttl(int seconds) => DaprStateMetadata.Ttl(TimeSpan.FromSeconds(seconds));

    private static PresenceChanged Offline(string userId, long at, PresenceChangeCause cause) => new()
    {
        UserId = userId,
        Online = false,
        LastSeen = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(at)),
        Cause = cause,
    };

    private Task PublishAsync(IEnumerable<PresenceChanged> events, CancellationToken ct) =>
        Parallel.ForEachAsync(events, new ParallelOptions { MaxDegreeOfParallelism = PublishParallelism, CancellationToken = ct },
            async (e, token) => await dapr.PublishProtoAsync(DaprNames.PubSub, DaprNames.Topics.PresenceChanged, e, token));

    [LoggerMessage(Level = LogLevel.Debug, Message = "The gateway index changed during a presence write; retrying")]
    private partial void LogIndexConflict(Exception ex);
}
