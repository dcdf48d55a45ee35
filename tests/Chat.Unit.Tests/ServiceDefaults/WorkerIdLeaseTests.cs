using Chat.Domain;
using Chat.ServiceDefaults;
using Chat.Testing;
using Chat.Unit.Tests.Fakes;
using Grpc.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Chat.Unit.Tests.ServiceDefaults;

/// <summary>Snowflake worker ids leased through the state store (first-write, ETag renewals, TTL), and capability lookups.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class WorkerIdLeaseTests
{
    private readonly FakeTimeProvider _time = FakeDaprClient.Noon();
    private readonly FakeDaprClient _dapr;

    public WorkerIdLeaseTests()
    {
        _dapr = FakeDaprClient.WithPresenceStore(_time);
    }

    private WorkerIdLease Lease(int preferred, TimeSpan? startupWait = null) => new(_dapr,
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Chat:WorkerId"] = preferred.ToString(System.Globalization.CultureInfo.InvariantCulture) }).Build(),
        Options.Create(new WorkerIdLeaseOptions { Ttl = TimeSpan.FromSeconds(30), StartupWait = startupWait ?? TimeSpan.FromSeconds(1) }), _time, NullLogger<WorkerIdLease>.Instance);

    [Fact]
    public async Task Two_instances_preferring_the_same_id_get_different_ones_and_a_clean_stop_frees_it()
    {
        using var first = Lease(5);
        using var second = Lease(5);
        await first.StartAsync(CancellationToken.None);
        await second.StartAsync(CancellationToken.None);

        Assert.Equal(5, first.WorkerId);
        Assert.Equal(6, second.WorkerId);
        Assert.NotNull(_dapr.ExpiresAt(DaprNames.StateStores.Presence, WorkerIdLease.Key(5))); // a lease lapses by itself if its holder dies

        await first.StopAsync(CancellationToken.None);
        using var third = Lease(5);
        await third.StartAsync(CancellationToken.None);
        Assert.Equal(5, third.WorkerId);
        await second.StopAsync(CancellationToken.None);
        await third.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Ids_are_minted_with_the_leased_worker_id_and_refused_once_the_lease_is_no_longer_valid_here()
    {
        using var lease = Lease(9);
        await lease.StartAsync(CancellationToken.None);
        var ids = new LeasedSnowflakeIds(lease);

        Assert.Equal(9, (int)ids.Next().WorkerId);

        // The store stops answering: renewals fail, and the lease stops counting TTL minus one renewal period after it was taken.
        _dapr.FailWrite = (_, _) => FakeDaprClient.Failed(StatusCode.Unavailable, "store down");
        _time.Advance(TimeSpan.FromSeconds(21));

        Assert.Null(lease.WorkerId);
        Assert.Throws<WorkerIdUnavailableException>(() => ids.Next());
        await lease.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task An_instance_that_starts_while_the_store_is_down_mints_nothing_until_the_renew_loop_gets_a_lease()
    {
        _dapr.FailWrite = (_, _) => FakeDaprClient.Failed(StatusCode.Unavailable, "sidecar still starting");
        using var lease = Lease(3, startupWait: TimeSpan.FromMilliseconds(50));
        await lease.StartAsync(CancellationToken.None);
        var ids = new LeasedSnowflakeIds(lease);

        Assert.Null(lease.WorkerId);
        Assert.Throws<WorkerIdUnavailableException>(() => ids.Next());

        _dapr.FailWrite = null;
        _time.Advance(TimeSpan.FromSeconds(10)); // one renewal period: the loop tries again
        await Wait.UntilAsync(() => lease.WorkerId is not null, "a worker id leased once the store answers again");

        Assert.Equal(3, ids.Next().WorkerId);
        await lease.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Component_capabilities_come_from_the_metadata_api()
    {
        var dapr = new FakeDaprClient(_time).WithStore("messages-store", "ETAG", "TRANSACTIONAL").WithStore("other", "ETAG");
        var capabilities = new DaprComponentCapabilities(dapr);

        Assert.True(await capabilities.HasAsync("messages-store", "transactional"));
        Assert.False(await capabilities.HasAsync("other", "TRANSACTIONAL"));
        Assert.False(await capabilities.HasAsync("missing", "ETAG"));
    }
}
