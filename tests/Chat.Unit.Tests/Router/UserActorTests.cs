using Chat.Contracts.V1;
using Chat.Core.Routing;
using Chat.Domain;
using Chat.Router;
using Chat.Unit.Tests.Fakes;
using Dapr.Actors;
using Dapr.Actors.Runtime;
using Microsoft.Extensions.Time.Testing;

namespace Chat.Unit.Tests.Router;

/// <summary>The user actor's connections and the route mirror delivery reads.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class UserActorTests
{
    private readonly FakeTimeProvider _time = FakeDaprClient.Noon();
    private readonly FakeDaprClient _dapr;
    private readonly Dictionary<string, byte[]> _actorState = new(StringComparer.Ordinal);

    public UserActorTests()
    {
        _dapr = FakeDaprClient.WithPresenceStore(_time);
    }

    private async Task<UserActor> ActivateAsync(string userId)
    {
        var host = ActorHost.CreateForTest<UserActor>(DaprNames.Actors.User, new ActorTestOptions { ActorId = new ActorId(userId) });
        var actor = new UserActor(host, _dapr, new RouteChangeNotifier(_dapr, _time));
        ActorRuntimeSteps.UseStateManager(actor, new InMemoryActorStateManager(_actorState));
        await ActorRuntimeSteps.ActivateAsync(actor);
        return actor;
    }

    private Task<UserRoutes?> MirrorAsync(string userId) =>
        _dapr.GetStateAsync<UserRoutes?>(DaprNames.StateStores.Presence, RouteKeys.Routes(userId));

    private UserConnection Conn(string id, string gateway, string device = "d1") => new(id, device, gateway, _time.GetUtcNow());

    [Fact]
    public async Task Connections_are_mirrored_to_the_routes_key_and_the_last_disconnect_removes_it()
    {
        await _dapr.LeaseGatewayAsync("gw-1");
        var actor = await ActivateAsync("ann");

        await actor.ConnectAsync(Conn("c1", "gw-1"));
        var routes = await actor.ConnectAsync(Conn("c2", "gw-1", "d2"));

        Assert.Equal(["c1", "c2"], routes.Connections.Select(c => c.ConnectionId));
        Assert.Equal(["c1", "c2"], (await MirrorAsync("ann"))!.Connections.Select(c => c.ConnectionId));

        await actor.DisconnectAsync(new DisconnectRequest("c1"));
        Assert.Equal(["c2"], (await MirrorAsync("ann"))!.Connections.Select(c => c.ConnectionId));

        var none = await actor.DisconnectAsync(new DisconnectRequest("c2"));
        Assert.Empty(none.Connections);
        Assert.Null(await MirrorAsync("ann"));
    }

    [Fact]
    public async Task Every_change_of_the_routes_is_told_to_each_registered_route_cache_after_it_is_stored()
    {
        await _dapr.LeaseGatewayAsync("gw-1");
        var now = _time.GetUtcNow();
        await RouteCacheRegistry.UpdateAsync(_dapr, "router-a", now + RouteCacheRegistry.Ttl, now, CancellationToken.None);
        await RouteCacheRegistry.UpdateAsync(_dapr, "delivery-a", now + RouteCacheRegistry.Ttl, now, CancellationToken.None);
        var actor = await ActivateAsync("ann");
        var stored = new List<bool>();
        _dapr.FailPublish = (_, topic) =>
        {
            // When a cache hears of the change, the store already has it.
            if (topic.StartsWith(DaprNames.Topics.RouteChangesPrefix, StringComparison.Ordinal))
            {
                stored.Add(MirrorAsync("ann").GetAwaiter().GetResult() is not null);
            }

            return null;
        };

        await actor.ConnectAsync(Conn("c1", "gw-1"));
        Assert.Equal([true, true], stored);
        await actor.DisconnectAsync(new DisconnectRequest("c1"));
        await actor.DisconnectAsync(new DisconnectRequest("c-unknown")); // no change, nothing told

        foreach (var holder in new[] { "router-a", "delivery-a" })
        {
            Assert.Equal(["ann", "ann"], _dapr.Events<RoutesChanged>(DaprNames.Topics.RouteChanges(holder)).SelectMany(e => e.UserIds));
        }

        // A cache that cannot be told fails the connect, which the gateway retries.
        _dapr.FailPublish = (_, topic) => topic == DaprNames.Topics.RouteChanges("delivery-a") ? new InvalidOperationException("publish") : null;
        await Assert.ThrowsAnyAsync<Exception>(() => actor.ConnectAsync(Conn("c2", "gw-1")));
    }

    [Fact]
    public async Task A_reconnect_with_the_same_connection_id_replaces_the_old_entry()
    {
        await _dapr.LeaseGatewayAsync("gw-1");
        await _dapr.LeaseGatewayAsync("gw-2");
        var actor = await ActivateAsync("ann");
        await actor.ConnectAsync(Conn("c1", "gw-1"));

        var routes = await actor.ConnectAsync(Conn("c1", "gw-2"));

        Assert.Equal("gw-2", Assert.Single(routes.Connections).GatewayInstanceId);
    }

    [Fact]
    public async Task Connections_on_gateways_whose_lease_lapsed_are_dropped_when_routes_are_read()
    {
        await _dapr.LeaseGatewayAsync("gw-1");
        var actor = await ActivateAsync("ann");
        await actor.ConnectAsync(Conn("c1", "gw-1"));
        _time.Advance(TimeSpan.FromSeconds(5));
        await _dapr.LeaseGatewayAsync("gw-2");
        await actor.ConnectAsync(Conn("c2", "gw-2"));

        _time.Advance(TimeSpan.FromSeconds(6)); // gw-1's lease (10 s) lapsed, gw-2's has 4 s left
        var routes = await actor.GetRoutesAsync();

        Assert.Equal(["c2"], routes.Connections.Select(c => c.ConnectionId));
        Assert.Equal(["c2"], (await MirrorAsync("ann"))!.Connections.Select(c => c.ConnectionId));
    }

    [Fact]
    public async Task A_new_activation_restores_the_connections_from_actor_state()
    {
        await _dapr.LeaseGatewayAsync("gw-1");
        await (await ActivateAsync("ann")).ConnectAsync(Conn("c1", "gw-1"));

        var routes = await (await ActivateAsync("ann")).GetRoutesAsync();

        Assert.Equal("c1", Assert.Single(routes.Connections).ConnectionId);
    }

    /// <summary>
    /// A router whose sidecar restarted keeps its activations; another activation of the user took
    /// connections meanwhile. When placement brings the user back, the stale activation's next
    /// change must start from the stored connections, or it drops the ones it never saw (their
    /// devices would get no live message until they reconnect).
    /// </summary>
    [Fact]
    public async Task A_stale_activation_keeps_the_connections_another_activation_added()
    {
        await _dapr.LeaseGatewayAsync("gw-1");
        var stale = await ActivateAsync("ann");
        await stale.ConnectAsync(Conn("c1", "gw-1"));
        var other = await ActivateAsync("ann");
        await other.ConnectAsync(Conn("c2", "gw-1", "d2"));

        var routes = await stale.ConnectAsync(Conn("c3", "gw-1", "d3"));
        await stale.DisconnectAsync(new DisconnectRequest("c1"));

        Assert.Equal(["c1", "c2", "c3"], routes.Connections.Select(c => c.ConnectionId));
        Assert.Equal(["c2", "c3"], (await MirrorAsync("ann"))!.Connections.Select(c => c.ConnectionId));
    }
}
