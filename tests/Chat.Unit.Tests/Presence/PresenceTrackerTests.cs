using Chat.Contracts.V1;
using Chat.Core.Presence;
using Chat.Core.Routing;
using Chat.Domain;
using Chat.Presence;
using Chat.Unit.Tests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Chat.Unit.Tests.Presence;

/// <summary>Presence over the presence store: reports, disconnects, TTL lapses and the expiry sweep.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class PresenceTrackerTests
{
    private readonly FakeTimeProvider _time = FakeDaprClient.Noon();
    private readonly FakeDaprClient _dapr;
    private readonly PresenceTracker _tracker;

    public PresenceTrackerTests()
    {
        _dapr = FakeDaprClient.WithPresenceStore(_time);
        _tracker = new PresenceTracker(_dapr, _time, NullLogger<PresenceTracker>.Instance);
    }

    private List<PresenceChanged> Changes() => _dapr.Events<PresenceChanged>(DaprNames.Topics.PresenceChanged);

    private async Task<bool> OnlineAsync(string user) => (await _tracker.ReadAsync([user], CancellationToken.None)).Online.ContainsKey(user);

    [Fact]
    public async Task The_first_report_brings_users_online_and_a_repeat_changes_nothing()
    {
        var first = await _tracker.ReportAsync("gw-1", ["ann", "carl", "ann"], 10, CancellationToken.None);
        var again = await _tracker.ReportAsync("gw-1", ["ann", "carl"], 10, CancellationToken.None);

        Assert.Equal(["ann", "carl"], first.CameOnline);
        Assert.Empty(again.CameOnline);
        Assert.Empty(again.WentOffline);
        Assert.Equal(["ann", "carl"], Changes().Select(c => c.UserId).Order());
        Assert.All(Changes(), c => Assert.Equal((true, PresenceChangeCause.Connected), (c.Online, c.Cause)));
        Assert.True(await OnlineAsync("ann"));
    }

    [Fact]
    public async Task Online_markers_lapse_after_two_and_a_half_refresh_intervals_without_a_report()
    {
        await _tracker.ReportAsync("gw-1", ["ann"], 10, CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(24));
        Assert.True(await OnlineAsync("ann"));
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(await OnlineAsync("ann"));
    }

    [Fact]
    public async Task A_user_missing_from_the_next_report_went_offline_and_gets_a_last_seen()
    {
        await _tracker.ReportAsync("gw-1", ["ann", "carl"], 10, CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(10));

        var outcome = await _tracker.ReportAsync("gw-1", ["ann"], 10, CancellationToken.None);

        Assert.Equal(["carl"], outcome.WentOffline);
        var (online, lastSeen) = await _tracker.ReadAsync(["carl"], CancellationToken.None);
        Assert.Empty(online);
        Assert.Equal(_time.GetUtcNow(), lastSeen["carl"].Time);
        var offline = Changes().Last();
        Assert.Equal(("carl", false, PresenceChangeCause.Disconnected), (offline.UserId, offline.Online, offline.Cause));
    }

    [Fact]
    public async Task A_user_now_reported_by_another_gateway_does_not_go_offline_when_the_first_drops_them()
    {
        await _tracker.ReportAsync("gw-1", ["ann"], 10, CancellationToken.None);
        await _tracker.ReportAsync("gw-2", ["ann"], 10, CancellationToken.None);

        var outcome = await _tracker.ReportAsync("gw-1", [], 10, CancellationToken.None);

        Assert.Empty(outcome.WentOffline);
        Assert.True(await OnlineAsync("ann"));
    }

    [Fact]
    public async Task A_disconnect_sets_offline_unless_the_user_is_connected_elsewhere()
    {
        await _tracker.ReportAsync("gw-1", ["ann"], 10, CancellationToken.None);

        Assert.Null(await _tracker.DisconnectedAsync("ann", stillConnectedElsewhere: true, CancellationToken.None));
        Assert.True(await OnlineAsync("ann"));

        var at = await _tracker.DisconnectedAsync("ann", stillConnectedElsewhere: false, CancellationToken.None);
        Assert.Equal(_time.GetUtcNow(), at);
        Assert.False(await OnlineAsync("ann"));
        Assert.False(Changes().Last().Online);
    }

    [Fact]
    public async Task The_sweep_expires_the_users_of_a_gateway_whose_lease_is_gone()
    {
        await _dapr.LeaseGatewayAsync("gw-1");
        await _tracker.ReportAsync("gw-1", ["ann", "carl"], 10, CancellationToken.None);
        Assert.Empty(await _tracker.SweepAsync(CancellationToken.None)); // alive: nothing to do

        await _dapr.DeleteStateAsync(DaprNames.StateStores.Presence, RouteKeys.GatewayLease("gw-1"));
        var reportedAt = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromSeconds(3));
        var expired = await _tracker.SweepAsync(CancellationToken.None);

        Assert.Equal(["ann", "carl"], expired.Order());
        var events = Changes().Where(c => !c.Online).ToList();
        Assert.All(events, e => Assert.Equal(PresenceChangeCause.Expired, e.Cause));
        Assert.All(events, e => Assert.Equal(reportedAt, e.LastSeen.ToDateTimeOffset()));
        Assert.False(await OnlineAsync("ann"));
        var index = await _dapr.GetStateAsync<GatewayIndex?>(DaprNames.StateStores.Presence, PresenceKeys.Gateways);
        Assert.Empty(index!.Gateways);
        Assert.Empty(await _tracker.SweepAsync(CancellationToken.None)); // done once
    }

    [Fact]
    public async Task The_sweep_keeps_online_a_user_also_connected_through_a_live_gateway()
    {
        await _dapr.LeaseGatewayAsync("gw-2");
        await _tracker.ReportAsync("gw-1", ["ann", "carl"], 10, CancellationToken.None);
        await _dapr.SaveStateAsync(DaprNames.StateStores.Presence, RouteKeys.Routes("ann"),
            new UserRoutes("ann", [new UserConnection("c1", "d1", "gw-1", _time.GetUtcNow()), new UserConnection("c2", "d2", "gw-2", _time.GetUtcNow())]));

        var expired = await _tracker.SweepAsync(CancellationToken.None); // gw-1 never had a lease

        Assert.Equal(["carl"], expired);
    }

    [Fact]
    public async Task The_sweep_leaves_a_user_whose_marker_another_gateway_has_taken_over()
    {
        await _dapr.LeaseGatewayAsync("gw-2");
        await _tracker.ReportAsync("gw-1", ["ann", "carl"], 10, CancellationToken.None);
        await _tracker.ReportAsync("gw-2", ["ann"], 10, CancellationToken.None);

        var expired = await _tracker.SweepAsync(CancellationToken.None); // gw-1 never had a lease

        Assert.Equal(["carl"], expired);
        Assert.True(await OnlineAsync("ann"));
    }
}
