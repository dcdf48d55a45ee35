using Chat.Contracts.V1;
using Chat.Core.Routing;
using Chat.Domain;
using Chat.Unit.Tests.Fakes;
using Microsoft.Extensions.Time.Testing;

namespace Chat.Unit.Tests.Delivery;

/// <summary>Delivery's route table (who is connected where) and its one-publish-per-gateway fan-out.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class RouteTableTests
{
    private readonly FakeTimeProvider _time = FakeDaprClient.Noon();
    private readonly FakeDaprClient _dapr;
    private readonly FanOut _fanOut;

    public RouteTableTests()
    {
        _dapr = FakeDaprClient.WithPresenceStore(_time);
        _fanOut = new FanOut(_dapr, _time);
    }

    [Fact]
    public async Task Users_are_grouped_by_live_gateway_and_the_rest_are_offline()
    {
        await _dapr.LeaseGatewayAsync("gw-1");
        await _dapr.LeaseGatewayAsync("gw-2");
        await _dapr.SaveRoutesAsync("ann", "gw-1");
        await _dapr.SaveRoutesAsync("carl", "gw-1", "gw-2"); // two devices on two instances
        await _dapr.SaveRoutesAsync("dora", "gw-dead");     // no lease: that gateway died
        // eve has no routes at all

        var table = await _fanOut.ResolveAsync(["ann", "carl", "dora", "eve", "ann"], CancellationToken.None);

        Assert.Equal(["ann", "carl"], table.UsersByGateway["gw-1"]);
        Assert.Equal(["carl"], table.UsersByGateway["gw-2"]);
        Assert.False(table.UsersByGateway.ContainsKey("gw-dead"));
        Assert.Equal(["dora", "eve"], table.Offline);
    }

    [Fact]
    public async Task A_member_whose_stored_routes_are_unreadable_counts_as_offline()
    {
        await _dapr.LeaseGatewayAsync("gw-1");
        await _dapr.SaveRoutesAsync("ann", "gw-1");
        await _dapr.SaveStateAsync(DaprNames.StateStores.Presence, RouteKeys.Routes("bob"), "not a routes document");

        var table = await _fanOut.ResolveAsync(["ann", "bob"], CancellationToken.None);

        Assert.Equal(["ann"], table.UsersByGateway["gw-1"]);
        Assert.Equal(["bob"], table.Offline);
    }

    [Fact]
    public async Task Two_devices_on_one_gateway_put_the_user_there_once()
    {
        await _dapr.LeaseGatewayAsync("gw-1");
        await _dapr.SaveRoutesAsync("ann", "gw-1", "gw-1");

        var table = await _fanOut.ResolveAsync(["ann"], CancellationToken.None);

        Assert.Equal(["ann"], table.UsersByGateway["gw-1"]);
    }

    [Fact]
    public async Task A_lease_that_lapses_after_it_was_seen_live_gets_the_event_there_and_a_push_until_a_ttl_has_passed()
    {
        await _dapr.LeaseGatewayAsync("gw-1");
        await _dapr.SaveRoutesAsync("ann", "gw-1");
        await _dapr.SaveRoutesAsync("bob", "gw-never"); // no lease ever seen: dead at once
        Assert.Empty((await _fanOut.ResolveAsync(["ann"], CancellationToken.None)).Offline);

        // A late renewal (a pause, a slow store): the lease is gone, the gateway may well be alive.
        await _dapr.DeleteStateAsync(DaprNames.StateStores.Presence, RouteKeys.GatewayLease("gw-1"));
        _time.Advance(FanOut.LeaseCacheTime * 2);
        var lapsed = await _fanOut.ResolveAsync(["ann", "bob"], CancellationToken.None);
        Assert.Equal(["ann"], lapsed.UsersByGateway["gw-1"]);
        Assert.False(lapsed.UsersByGateway.ContainsKey("gw-never"));
        Assert.Equal(["ann", "bob"], lapsed.Offline);
        Assert.Equal(1, _fanOut.LapsedLeases);

        // A lease's TTL after it was last seen live, the gateway counts as dead.
        _time.Advance(RouteKeys.LeaseTtl);
        var dead = await _fanOut.ResolveAsync(["ann"], CancellationToken.None);
        Assert.Empty(dead.UsersByGateway);
        Assert.Equal(["ann"], dead.Offline);
        Assert.Equal(1, _fanOut.LapsedLeases);

        // Renewed: live again.
        await _dapr.LeaseGatewayAsync("gw-1");
        var back = await _fanOut.ResolveAsync(["ann"], CancellationToken.None);
        Assert.Equal(["ann"], back.UsersByGateway["gw-1"]);
        Assert.Empty(back.Offline);
    }

    [Fact]
    public async Task A_lease_read_is_trusted_for_a_second_then_read_again()
    {
        await _dapr.LeaseGatewayAsync("gw-1", ttlSeconds: 1);
        await _dapr.SaveRoutesAsync("ann", "gw-1");
        Assert.Contains("gw-1", (await _fanOut.ResolveAsync(["ann"], CancellationToken.None)).UsersByGateway.Keys);

        // The lease is gone from the store, but the cached read still counts within LeaseCacheTime.
        await _dapr.DeleteStateAsync(DaprNames.StateStores.Presence, RouteKeys.GatewayLease("gw-1"));
        _time.Advance(FanOut.LeaseCacheTime / 2);
        Assert.Contains("gw-1", (await _fanOut.ResolveAsync(["ann"], CancellationToken.None)).UsersByGateway.Keys);

        _time.Advance(FanOut.LeaseCacheTime);
        Assert.Equal(["ann"], (await _fanOut.ResolveAsync(["ann"], CancellationToken.None)).Offline);
    }

    [Fact]
    public async Task Several_events_cost_one_publish_per_gateway_each_carrying_only_its_users()
    {
        var table = new RouteTable(new Dictionary<string, List<string>>
        {
            ["gw-1"] = ["ann", "carl"],
            ["gw-2"] = ["dora"],
        }, []);
        var first = new Chat.Contracts.V1.Delivery { TypingChanged = new TypingChanged { ConversationId = "c1", UserId = "x" } };
        var second = new Chat.Contracts.V1.Delivery { TypingChanged = new TypingChanged { ConversationId = "c2", UserId = "y" } };

        await _fanOut.PublishManyAsync(table, [(first, ["ann", "dora"]), (second, ["carl", "carl", "eve"])], CancellationToken.None);

        var gw1 = Assert.Single(_dapr.Events<DeliveryBatch>(DaprNames.Topics.Deliveries("gw-1")));
        Assert.Equal(["ann"], gw1.Deliveries[0].UserIds);
        Assert.Equal(["carl"], gw1.Deliveries[1].UserIds);
        var gw2 = Assert.Single(_dapr.Events<DeliveryBatch>(DaprNames.Topics.Deliveries("gw-2")));
        Assert.Equal("c1", Assert.Single(gw2.Deliveries).TypingChanged.ConversationId);
        Assert.Equal(2, _dapr.Published.Count);
    }

    [Fact]
    public async Task A_gateway_with_nothing_for_its_users_gets_no_publish()
    {
        var table = new RouteTable(new Dictionary<string, List<string>> { ["gw-1"] = ["ann"], ["gw-2"] = ["dora"] }, []);

        await _fanOut.PublishManyAsync(table, [(new Chat.Contracts.V1.Delivery { TypingChanged = new TypingChanged() }, ["ann"])], CancellationToken.None);

        Assert.Equal([DaprNames.Topics.Deliveries("gw-1")], _dapr.Published.Select(p => p.Topic));
    }
}
