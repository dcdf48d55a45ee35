using System.Diagnostics;
using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Dapr.DevSidecar.Hosting;
using Xunit.Abstractions;

namespace Chat.Integration.Tests;

/// <summary>
/// The cost of one presence refresh with 20k users online on one gateway: one ReportConnectedUsers
/// call (a bulk read of 20k markers, one transaction of 20k upserts). Numbers go to the test output
/// and docs/benchmarks.md:
/// <c>dotnet test tests/Chat.Integration.Tests --filter "Area=PresenceBenchmark" --logger "console;verbosity=detailed"</c>
/// </summary>
[Trait("Area", "PresenceBenchmark")]
[Collection(RedisCollection.Name)]
public sealed class PresenceBenchmarkTests(RedisServerFixture redis, ITestOutputHelper output)
{
    private const int Users = 20_000;
    private const int WarmRefreshes = 5;

    [Theory]
    [InlineData(ComponentSet.Embedded)]
    [InlineData(ComponentSet.Redis)]
    public async Task One_refresh_with_20k_users_online(ComponentSet set)
    {
        await using var system = await ChatHarness.InProcessAsync(new()
        {
            Components = set,
            Redis = set == ComponentSet.Redis ? redis.Endpoint : null,
            CountPresenceWrites = true,
            Settings = new Dictionary<string, string?> { ["Presence:SweepSeconds"] = "3600" },
            Apps = [DaprNames.Apps.Presence],
        });
        // The reports come through a sidecar with the gateway's app-id, as a gateway's would.
        var gatewaySidecar = await system.StartSidecarAsync(DaprNames.Apps.Gateway);
        var presence = new PresenceService.PresenceServiceClient(Dapr.Client.DaprClient.CreateInvocationInvoker(DaprNames.Apps.Presence, gatewaySidecar.GrpcEndpoint));
        var gatewayId = "bench-" + Guid.NewGuid().ToString("N")[..8];
        var request = new ReportConnectedUsersRequest { GatewayInstanceId = gatewayId, RefreshIntervalSeconds = 600 };
        request.UserIds.AddRange(Enumerable.Range(0, Users).Select(i => $"{gatewayId}-user-{i:D5}"));
        var store = CountingStateStore.In(system.ResourcesPath);

        var cold = Stopwatch.StartNew();
        var first = await presence.ReportConnectedUsersAsync(request);
        cold.Stop();
        Assert.Equal(Users, first.CameOnlineUserIds.Count);

        var writesBefore = store.Writes.Count;
        var warm = new List<double>();
        for (var i = 0; i < WarmRefreshes; i++)
        {
            var sw = Stopwatch.StartNew();
            var again = await presence.ReportConnectedUsersAsync(request);
            warm.Add(sw.Elapsed.TotalMilliseconds);
            Assert.Empty(again.CameOnlineUserIds);
        }

        var writes = store.Writes.Skip(writesBefore).ToList();
        Assert.Equal(WarmRefreshes, writes.Count);
        Assert.All(writes, w => Assert.Equal(Users + 1, w.Count)); // the markers and the gateway snapshot

        warm.Sort();
        output.WriteLine($"presence refresh, {set}, {Users} users: cold (all came online, {Users} events published) {cold.Elapsed.TotalMilliseconds:F0} ms; " +
            $"steady refresh median {warm[warm.Count / 2]:F0} ms, min {warm[0]:F0} ms, max {warm[^1]:F0} ms over {WarmRefreshes}; {writes.Count / WarmRefreshes} state write per refresh");
    }
}
