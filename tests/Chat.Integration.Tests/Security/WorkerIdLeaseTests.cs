using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Chat.Integration.Tests.Push;
using Chat.ServiceDefaults;
using Dapr.Client;
using Dapr.DevSidecar.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Chat.Integration.Tests.Security;

/// <summary>Snowflake worker ids are leased in the presence store through the router's dev sidecar: unique among live routers.</summary>
[Trait("Area", "Security")]
public sealed class WorkerIdLeaseTests
{
    private static readonly Dictionary<string, string?> FastLeases = new()
    {
        ["Chat:WorkerId"] = "7",
        // Short enough for a test, long enough that a renewal on a busy machine is never late.
        [$"{WorkerIdLeaseOptions.SectionName}:Ttl"] = "00:00:10",
        [$"{WorkerIdLeaseOptions.SectionName}:RenewEvery"] = "00:00:01",
    };

    [Fact]
    public async Task Routers_starting_at_once_with_the_same_preferred_id_lease_different_ids_and_mint_with_them()
    {
        await using var system = await ChatHarness.InProcessAsync(new()
        {
            Settings = FastLeases,
            Apps = [DaprNames.Apps.Directory, DaprNames.Apps.Router, DaprNames.Apps.Messaging],
        });
        var router = system.InstanceOf(DaprNames.Apps.Router);
        var first = router.App.Services.GetRequiredService<WorkerIdLease>().WorkerId;
        Assert.Equal(7, first);

        // Eight more "routers" start at the same moment against the same store, all preferring 7.
        using var dapr = new DaprClientBuilder().UseGrpcEndpoint(router.Sidecar.GrpcEndpoint).UseHttpEndpoint(router.Sidecar.HttpEndpoint).UseDaprApiToken(router.Tokens.DaprApiToken).Build();
        var leases = Enumerable.Range(0, 8).Select(_ => NewLease(dapr)).ToList();
        await Task.WhenAll(leases.Select(l => l.StartAsync(CancellationToken.None)));
        try
        {
            var ids = leases.Select(l => l.WorkerId).Append(first).ToList();
            Assert.All(ids, id => Assert.NotNull(id));
            Assert.Equal(ids.Count, ids.Distinct().Count());

            // Ids minted by the app carry its leased worker id.
            var alice = await system.RegisterAsync();
            var bob = await system.RegisterAsync();
            var sent = await alice.SendToPeerAsync(bob, "hi");
            Assert.Equal(7, new SnowflakeId((long)sent.Message.MsgId).WorkerId);
        }
        finally
        {
            foreach (var lease in leases)
            {
                await lease.StopAsync(CancellationToken.None);
                lease.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_router_that_loses_its_lease_stops_minting_with_that_id_and_mints_nothing_without_a_lease()
    {
        await using var system = await ChatHarness.InProcessAsync(new() { Settings = FastLeases, Apps = [DaprNames.Apps.Directory, DaprNames.Apps.Router] });
        var router = system.InstanceOf(DaprNames.Apps.Router);
        var lease = router.App.Services.GetRequiredService<WorkerIdLease>();
        var ids = router.App.Services.GetRequiredService<LeasedSnowflakeIds>();
        Assert.True(lease.WorkerId == 7, $"lease {lease.WorkerId}, last error: {lease.LastError}");
        Assert.Equal(7, ids.Next().WorkerId);

        // Someone else takes worker id 7 (as after an expiry): the router notices at its next renewal.
        using var dapr = new DaprClientBuilder().UseGrpcEndpoint(router.Sidecar.GrpcEndpoint).UseHttpEndpoint(router.Sidecar.HttpEndpoint).UseDaprApiToken(router.Tokens.DaprApiToken).Build();
        await dapr.SaveStateAsync(DaprNames.StateStores.Presence, WorkerIdLease.Key(7), new WorkerIdLease.LeaseValue("intruder", DateTimeOffset.UtcNow));
        await Wait.UntilAsync(() => lease.WorkerId is { } id && id != 7, "the router moved off the lost worker id", TimeSpan.FromSeconds(20));
        Assert.NotEqual(7, ids.Next().WorkerId);

        // A router whose sidecar goes away cannot renew: once its lease runs out locally, minting refuses.
        var sidecar = await SidecarHost.StartAsync(new SidecarOptions { AppId = DaprNames.Apps.Router, ResourcesPaths = [system.ResourcesPath] }, system.Runtime);
        using var cutOff = new DaprClientBuilder().UseGrpcEndpoint(sidecar.GrpcEndpoint).UseHttpEndpoint(sidecar.HttpEndpoint).Build();
        using var lonely = NewLease(cutOff);
        await lonely.StartAsync(CancellationToken.None);
        var lonelyIds = new LeasedSnowflakeIds(lonely);
        Assert.Equal(lonely.WorkerId, lonelyIds.Next().WorkerId);
        await sidecar.DisposeAsync();
        await Wait.UntilAsync(() => lonely.WorkerId is null, "the lease ran out without renewal", TimeSpan.FromSeconds(30));
        Assert.Throws<WorkerIdUnavailableException>(() => lonelyIds.Next());
        await lonely.StopAsync(CancellationToken.None);
    }

    private static WorkerIdLease NewLease(DaprClient dapr) =>
        new(dapr, new ConfigurationBuilder().AddInMemoryCollection(FastLeases).Build(),
            Options.Create(new WorkerIdLeaseOptions { Ttl = TimeSpan.FromSeconds(10), RenewEvery = TimeSpan.FromSeconds(1) }),
            TimeProvider.System, NullLogger<WorkerIdLease>.Instance);
}
