using Dapr.Actors;

namespace Chat.Core.Routing;

/// <summary>One live SignalR connection of a user.</summary>
public sealed record UserConnection(string ConnectionId, string DeviceId, string GatewayInstanceId, DateTimeOffset ConnectedAt);

/// <summary>Where a user is connected right now: every connection, per device and gateway instance.</summary>
public sealed record UserRoutes(string UserId, IReadOnlyList<UserConnection> Connections);

/// <summary>Removes one connection.</summary>
public sealed record DisconnectRequest(string ConnectionId);

/// <summary>
/// One per user (hosted by the router app): the user's live connections, which gateway
/// instance holds each, and the user's routing entry for delivery. Connect and disconnect of
/// several devices serialise here, so the routing entry is never torn. Called without remoting
/// (JSON).
/// </summary>
public interface IUserActor : IActor
{
    /// <summary>Adds a connection; returns the routes after the change.</summary>
    Task<UserRoutes> ConnectAsync(UserConnection connection);

    /// <summary>Removes a connection; returns the routes after the change.</summary>
    Task<UserRoutes> DisconnectAsync(DisconnectRequest request);

    /// <summary>Drops every connection held by gateway instances whose lease has expired.</summary>
    Task<UserRoutes> GetRoutesAsync();
}

/// <summary>Wire names of the actor's methods.</summary>
public static class UserActorMethods
{
    public const string Connect = nameof(IUserActor.ConnectAsync);
    public const string Disconnect = nameof(IUserActor.DisconnectAsync);
    public const string GetRoutes = nameof(IUserActor.GetRoutesAsync);
}

/// <summary>
/// Keys in the presence store (keyPrefix "name", shared by gateway, router, delivery and
/// presence): the routing mirror that the fan-out (delivery; the router for small conversations)
/// bulk-reads for a whole group at once, and the gateway leases that tell live instances from
/// dead ones.
/// </summary>
public static class RouteKeys
{
    /// <summary>The user's routes, mirrored by the UserActor on every change.</summary>
    public static string Routes(string userId) => $"routes:{userId}";

    /// <summary>A gateway instance's lease, refreshed every <see cref="LeaseRefresh"/> with a TTL of <see cref="LeaseTtl"/>.</summary>
    public static string GatewayLease(string gatewayInstanceId) => $"gateway:{gatewayInstanceId}:lease";

    public static readonly TimeSpan LeaseRefresh = TimeSpan.FromSeconds(3);

    public static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(10);
}

/// <summary>What a gateway lease holds.</summary>
public sealed record GatewayLease(string GatewayInstanceId, DateTimeOffset RenewedAt);
