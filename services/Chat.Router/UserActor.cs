using Chat.Core.Routing;
using Chat.Domain;
using Dapr.Actors.Runtime;
using Dapr.Client;

namespace Chat.Router;

/// <summary>
/// One per user: the user's live connections. Every change is saved in actor state and
/// mirrored to <see cref="RouteKeys.Routes"/> in the presence store, which delivery reads in
/// bulk for a whole group. Connections on gateway instances whose lease expired are dropped
/// whenever the routes are read, so a crashed gateway never keeps a user "online". After each
/// change of the mirror, every route cache is told (<see cref="RouteChangeNotifier"/>) before the
/// call returns.
/// </summary>
public sealed class UserActor(ActorHost host, DaprClient dapr, RouteChangeNotifier notifier) : Actor(host), IUserActor
{
    private const string ConnectionsKey = "connections";

    private List<UserConnection> _connections = [];

    private string UserId => Id.GetId();

    /// <summary>
    /// Each call starts from the stored connections, not the ones in memory: a router whose sidecar
    /// restarted keeps this activation, and placement may bring the user back to it after another
    /// activation changed them (connects and disconnects are rare; one actor-state read each).
    /// </summary>
    private async Task LoadAsync()
    {
        await StateManager.ClearCacheAsync();
        var saved = await StateManager.TryGetStateAsync<List<UserConnection>>(ConnectionsKey);
        _connections = saved.HasValue ? saved.Value : [];
    }

    public async Task<UserRoutes> ConnectAsync(UserConnection connection)
    {
        await LoadAsync();
        _connections.RemoveAll(c => c.ConnectionId == connection.ConnectionId);
        _connections.Add(connection);
        await PruneDeadGatewaysAsync();
        await SaveAsync();
        return Routes();
    }

    public async Task<UserRoutes> DisconnectAsync(DisconnectRequest request)
    {
        await LoadAsync();
        if (_connections.RemoveAll(c => c.ConnectionId == request.ConnectionId) > 0)
        {
            await SaveAsync();
        }

        return Routes();
    }

    public async Task<UserRoutes> GetRoutesAsync()
    {
        await LoadAsync();
        if (await PruneDeadGatewaysAsync())
        {
            await SaveAsync();
        }

        return Routes();
    }

    private async Task<bool> PruneDeadGatewaysAsync()
    {
        var gateways = _connections.Select(c => c.GatewayInstanceId).Distinct(StringComparer.Ordinal).ToList();
        if (gateways.Count == 0)
        {
            return false;
        }

        var live = await LiveGateways.ReadAsync(dapr, gateways);
        return _connections.RemoveAll(c => !live.Contains(c.GatewayInstanceId)) > 0;
    }

    private async Task SaveAsync()
    {
        await StateManager.SetStateAsync(ConnectionsKey, _connections);
        await StateManager.SaveStateAsync();
        if (_connections.Count == 0)
        {
            await dapr.DeleteStateAsync(DaprNames.StateStores.Presence, RouteKeys.Routes(UserId));
        }
        else
        {
            await dapr.SaveStateAsync(DaprNames.StateStores.Presence, RouteKeys.Routes(UserId), Routes());
        }

        await notifier.NotifyAsync(UserId);
    }

    private UserRoutes Routes() => new(UserId, [.. _connections]);
}
