using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Actors;

/// <summary>
/// Member side (rebalancing): follow <c>table.json</c>; on a locked version start no new turns, deactivate the
/// actors it places elsewhere, acknowledge; on unlock route by it.
/// </summary>
public sealed partial class ActorCluster
{
    private Task MemberLoopAsync() => PollAsync(MemberPoll, "reading the table", FollowTableAsync);

    /// <summary>Reads <c>table.json</c>; returns it when it differs from the last one seen.</summary>
    private ClusterTable? ReadTable()
    {
        var table = ReadJson<ClusterTable>(TablePath);
        if (table is null)
        {
            return null;
        }

        var key = $"{table.Version}/{table.Phase}";
        if (key == _lastSeen)
        {
            return null;
        }

        _lastSeen = key;
        return table;
    }

    private async Task FollowTableAsync(CancellationToken ct)
    {
        if (ReadTable() is not { } table)
        {
            return;
        }

        List<ActorHost> local;
        lock (_gate)
        {
            local = [.. _localHosts];
        }

        var next = RoutingTable.Build(table, MemberId, local);
        // Lock first (no new turns), then move what must move, then acknowledge or route.
        Publish(next.WithLocked(true));
        // A stopping host deactivates its own actors before it leaves the member file (ActorPlacement.RemoveHostAsync).
        await _placement.DrainMovedAsync((entry, on) => !on.IsStopped && next.Owner(entry.Type, entry.Id)?.Local != on, finishLate: true);
        if (table.Phase == ClusterTable.Unlock)
        {
            Publish(next);
            _log.LogInformation("Actor placement: table {Version} in effect ({Members} members).", table.Version, table.Members.Length);
        }
        else
        {
            WritePrivate(Path.Combine(AcksFolder, MemberId), System.Text.Encoding.ASCII.GetBytes(table.Version.ToString(CultureInfo.InvariantCulture)));
        }
    }

    private void Publish(RoutingTable table)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            Volatile.Write(ref _table, table);
            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }
}
