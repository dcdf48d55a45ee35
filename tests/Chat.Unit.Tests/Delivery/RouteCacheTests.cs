using Chat.Contracts.V1;
using Chat.Core.Routing;
using Chat.Domain;
using Chat.Unit.Tests.Fakes;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Chat.Unit.Tests.Delivery;

/// <summary>
/// The route cache of the fan-out (router, delivery): it saves the route read of known users,
/// and it never serves a route that changed, whatever the order of reads and invalidations.
/// </summary>
[Trait("Category", "Unit")]
[Trait("Area", "Delivery")]
public sealed class RouteCacheTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(3);
    private readonly FakeTimeProvider _time = FakeDaprClient.Noon();
    private readonly FakeDaprClient _dapr;
    private readonly RouteCacheOptions _options = new();
    private readonly RouteCache _cache;
    private readonly FanOut _fanOut;

    public RouteCacheTests()
    {
        _dapr = FakeDaprClient.WithPresenceStore(_time);
        _cache = new RouteCache(_time, Options.Create(_options));
        _fanOut = new FanOut(_dapr, _time, _cache);
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    /// <summary>Registered now, until <paramref name="lifetime"/> from now, serving after <see cref="Grace"/>.</summary>
    private void Register(TimeSpan lifetime)
    {
        var now = _time.GetTimestamp();
        _cache.Registered(now, now + Ticks(lifetime), Grace);
    }

    private void RegisterAndServe()
    {
        Register(TimeSpan.FromSeconds(60));
        _time.Advance(Grace);
        Assert.True(_cache.Serving);
    }

    private async Task<string> WhereAsync(string userId)
    {
        var table = await _fanOut.ResolveAsync([userId], CancellationToken.None);
        return table.Offline.Contains(userId) ? "offline" : string.Join(",", table.UsersByGateway.Where(kv => kv.Value.Contains(userId)).Select(kv => kv.Key).Order());
    }

    [Fact]
    public async Task A_known_user_is_resolved_without_a_route_read_until_an_invalidation_names_them()
    {
        await _dapr.LeaseGatewayAsync("gw-1");
        await _dapr.LeaseGatewayAsync("gw-2");
        await _dapr.SaveRoutesAsync("ann", "gw-1");
        RegisterAndServe();

        Assert.Equal("gw-1", await WhereAsync("ann"));

        // The store changes behind the cache's back, and route reads would fail: the cache answers.
        await _dapr.SaveRoutesAsync("ann", "gw-2");
        _dapr.FailBulkRead = _ => new InvalidOperationException("route read");
        Assert.Equal("gw-1", await WhereAsync("ann"));

        _cache.Invalidate(["bob"]);
        Assert.Equal("gw-1", await WhereAsync("ann"));

        _dapr.FailBulkRead = null;
        _cache.Invalidate(["ann"]);
        Assert.Equal("gw-2", await WhereAsync("ann"));
    }

    [Fact]
    public async Task An_offline_user_stays_offline_in_the_cache_until_they_connect()
    {
        await _dapr.LeaseGatewayAsync("gw-1");
        RegisterAndServe();

        Assert.Equal("offline", await WhereAsync("carl"));
        await _dapr.SaveRoutesAsync("carl", "gw-1");
        Assert.Equal("offline", await WhereAsync("carl"));

        _cache.Invalidate(["carl"]);
        Assert.Equal("gw-1", await WhereAsync("carl"));
    }

    [Fact]
    public async Task A_cached_route_to_a_gateway_whose_lease_ran_out_counts_as_offline()
    {
        await _dapr.LeaseGatewayAsync("gw-1", ttlSeconds: 5);
        await _dapr.SaveRoutesAsync("ann", "gw-1");
        RegisterAndServe();
        Assert.Equal("gw-1", await WhereAsync("ann"));

        _time.Advance(TimeSpan.FromSeconds(6));

        Assert.Equal("offline", await WhereAsync("ann"));
    }

    [Fact]
    public void A_read_that_an_invalidation_overtook_is_not_cached()
    {
        RegisterAndServe();
        var before = _cache.Version;
        _cache.Invalidate(["ann"]); // The routes changed while the read was under way.
        _cache.Store([new("ann", ["gw-old"])], before);
        Assert.False(_cache.TryGet("ann", out _));

        var now = _cache.Version;
        _cache.Store([new("ann", ["gw-new"])], now);
        Assert.True(_cache.TryGet("ann", out var gateways));
        Assert.Equal(["gw-new"], gateways);
    }

    [Fact]
    public async Task The_cache_serves_only_after_the_grace_and_while_registered_and_starts_empty_after_a_lapse()
    {
        await _dapr.LeaseGatewayAsync("gw-1", ttlSeconds: 3600);
        await _dapr.SaveRoutesAsync("ann", "gw-1");
        Assert.False(_cache.Serving); // Never registered.

        Register(TimeSpan.FromSeconds(10));
        Assert.False(_cache.Serving); // Publishers may not know this instance yet.
        Assert.Equal("gw-1", await WhereAsync("ann"));
        Assert.Equal(0, _cache.Count);

        _time.Advance(Grace);
        Assert.True(_cache.Serving);
        Assert.Equal("gw-1", await WhereAsync("ann"));
        Assert.Equal(1, _cache.Count);

        // Renewed in time: still serving, the entries kept.
        _time.Advance(TimeSpan.FromSeconds(5));
        Register(TimeSpan.FromSeconds(10));
        Assert.True(_cache.Serving);
        Assert.Equal(1, _cache.Count);

        // Not renewed: it stops serving, and after the next registration it starts empty, after the grace again.
        _time.Advance(TimeSpan.FromSeconds(11));
        Assert.False(_cache.Serving);
        Register(TimeSpan.FromSeconds(10));
        Assert.Equal(0, _cache.Count);
        Assert.False(_cache.Serving);
        _time.Advance(Grace);
        Assert.True(_cache.Serving);
    }

    [Fact]
    public async Task Entries_expire_after_their_ttl_and_a_disabled_cache_never_serves()
    {
        await _dapr.LeaseGatewayAsync("gw-1", ttlSeconds: 3600);
        await _dapr.SaveRoutesAsync("ann", "gw-1");
        Register(TimeSpan.FromHours(1));
        _time.Advance(Grace);
        Assert.Equal("gw-1", await WhereAsync("ann"));
        await _dapr.SaveRoutesAsync("ann", "gw-2");
        await _dapr.LeaseGatewayAsync("gw-2", ttlSeconds: 3600);

        _time.Advance(_options.EntryTtl);
        Assert.Equal("gw-2", await WhereAsync("ann"));

        _options.Enabled = false;
        Assert.False(_cache.Serving);
    }

    [Fact]
    public void A_full_cache_makes_room_instead_of_growing()
    {
        _options.MaxUsers = 3;
        RegisterAndServe();
        _cache.Store([new("a", []), new("b", []), new("c", [])], _cache.Version);
        Assert.Equal(3, _cache.Count);

        _cache.Store([new("d", [])], _cache.Version);

        Assert.True(_cache.Count <= 3);
        Assert.True(_cache.TryGet("d", out _));
    }

    [Fact]
    public async Task The_registry_adds_renews_prunes_expired_and_removes_holders()
    {
        var now = _time.GetUtcNow();
        Assert.True(await RouteCacheRegistry.UpdateAsync(_dapr, "router-1", now + RouteCacheRegistry.Ttl, now, CancellationToken.None));
        Assert.True(await RouteCacheRegistry.UpdateAsync(_dapr, "delivery-1", now + TimeSpan.FromSeconds(5), now, CancellationToken.None));
        Assert.Equal(["delivery-1", "router-1"], (await RouteCacheRegistry.ReadLiveAsync(_dapr, now, CancellationToken.None)).Order());

        _time.Advance(TimeSpan.FromSeconds(6));
        now = _time.GetUtcNow();
        Assert.Equal(["router-1"], await RouteCacheRegistry.ReadLiveAsync(_dapr, now, CancellationToken.None));
        Assert.True(await RouteCacheRegistry.UpdateAsync(_dapr, "router-2", now + RouteCacheRegistry.Ttl, now, CancellationToken.None));
        var stored = await _dapr.GetStateAsync<RouteCacheHolders>(DaprNames.StateStores.Presence, RouteCacheRegistry.Key);
        Assert.Equal(["router-1", "router-2"], stored.Until.Keys.Order()); // delivery-1 pruned by the writer

        Assert.True(await RouteCacheRegistry.UpdateAsync(_dapr, "router-1", null, now, CancellationToken.None));
        Assert.Equal(["router-2"], await RouteCacheRegistry.ReadLiveAsync(_dapr, now, CancellationToken.None));
    }

    [Fact]
    public async Task The_notifier_tells_every_live_holder_and_rereads_the_list_after_its_cache_time()
    {
        var now = _time.GetUtcNow();
        await RouteCacheRegistry.UpdateAsync(_dapr, "router-1", now + RouteCacheRegistry.Ttl, now, CancellationToken.None);
        await RouteCacheRegistry.UpdateAsync(_dapr, "delivery-1", now + RouteCacheRegistry.Ttl, now, CancellationToken.None);
        var notifier = new RouteChangeNotifier(_dapr, _time);

        await notifier.NotifyAsync("ann");
        Assert.Equal(["ann"], _dapr.Events<RoutesChanged>(DaprNames.Topics.RouteChanges("router-1")).Single().UserIds);
        Assert.Equal(["ann"], _dapr.Events<RoutesChanged>(DaprNames.Topics.RouteChanges("delivery-1")).Single().UserIds);

        // A holder that registers later is told once the notifier's read of the list is older than its cache time (within the holder's grace).
        await RouteCacheRegistry.UpdateAsync(_dapr, "router-2", now + RouteCacheRegistry.Ttl, now, CancellationToken.None);
        _time.Advance(RouteCacheRegistry.ReadCacheTime);
        await notifier.NotifyAsync("bob");
        Assert.Equal(["bob"], _dapr.Events<RoutesChanged>(DaprNames.Topics.RouteChanges("router-2")).Single().UserIds);

        // In the process that hosts the UserActor (the router) its own cache is told at once, not through its topic.
        var self = new RouteCacheInstance(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        await RouteCacheRegistry.UpdateAsync(_dapr, self.Id, now + RouteCacheRegistry.Ttl, now, CancellationToken.None);
        _time.Advance(RouteCacheRegistry.ReadCacheTime);
        RegisterAndServe();
        _cache.Store([new("dora", ["gw-1"])], _cache.Version);
        await new RouteChangeNotifier(_dapr, _time, _cache, self).NotifyAsync("dora");
        Assert.False(_cache.TryGet("dora", out _));
        Assert.Empty(_dapr.Events<RoutesChanged>(DaprNames.Topics.RouteChanges(self.Id)));
        Assert.Equal(["dora"], _dapr.Events<RoutesChanged>(DaprNames.Topics.RouteChanges("router-2")).Last().UserIds);

        // A publish that fails fails the notification (the connect or disconnect is retried).
        _dapr.FailPublish = (_, topic) => topic == DaprNames.Topics.RouteChanges("router-1") ? new InvalidOperationException("publish") : null;
        await Assert.ThrowsAnyAsync<Exception>(() => notifier.NotifyAsync("carl"));
    }
}
