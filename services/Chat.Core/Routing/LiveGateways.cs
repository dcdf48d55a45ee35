using Chat.Domain;
using Dapr.Client;

namespace Chat.Core.Routing;

/// <summary>Which gateway instances hold a live lease.</summary>
public static class LiveGateways
{
    /// <summary>The subset of <paramref name="gatewayInstanceIds"/> whose lease has not expired (one bulk read).</summary>
    public static async Task<HashSet<string>> ReadAsync(DaprClient dapr, IReadOnlyList<string> gatewayInstanceIds, CancellationToken cancellationToken = default)
    {
        var live = new HashSet<string>(StringComparer.Ordinal);
        if (gatewayInstanceIds.Count == 0)
        {
            return live;
        }

        var leases = await dapr.GetBulkStateAsync<GatewayLease?>(DaprNames.StateStores.Presence,
            gatewayInstanceIds.Select(RouteKeys.GatewayLease).ToList(), parallelism: null, cancellationToken: cancellationToken);
        foreach (var lease in leases)
        {
            if (lease.Value is { } l)
            {
                live.Add(l.GatewayInstanceId);
            }
        }

        return live;
    }
}
