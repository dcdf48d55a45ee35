using Dapr.Actors;
using Dapr.Actors.Client;
using Dapr.DevSidecar.Hosting;

namespace Dapr.DevSidecar.Tests.Actors;

/// <summary>
/// Actor placement shared between dev-sidecar runtimes through a placement folder (issue 20), as
/// separate dev-sidecar processes share it: each <see cref="SidecarTestHost"/> here has its own
/// runtime, placement and internal endpoint, and they meet only through the folder and a SQLite
/// actor state store. (Separate OS processes and kill -9 are in the ScaleOut and Reliability
/// tests of Chat.Integration.Tests.)
/// </summary>
[Trait("Area", "ScaleOut")]
public sealed class ActorClusterTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("devsidecar-cluster-").FullName;
    private readonly List<SidecarTestHost> _hosts = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A runtime standing for one dev-sidecar process of the cluster.</summary>
    private SidecarTestHost Process()
    {
        var host = new SidecarTestHost(placementFolder: Path.Combine(_folder, "placement"))
            .WithComponent("state.yaml", SidecarTestHost.Component("actorstore", "state.sqlite",
                ("connectionString", "file:" + Path.Combine(_folder, "actors.db")), ("actorStateStore", "true")));
        _hosts.Add(host);
        return host;
    }

    private static ActorProxyFactory Proxies(RunningSidecar caller) =>
        new(new ActorProxyOptions { HttpEndpoint = caller.HttpEndpoint, RequestTimeout = TimeSpan.FromSeconds(30) });

    [Fact]
    public async Task Two_processes_split_1000_actors_reach_them_from_either_side_and_take_over_when_one_leaves()
    {
        var one = Process();
        var two = Process();
        await using var a = await ActorTestApp.StartAsync(one, name: "A", idleTimeout: TimeSpan.FromSeconds(60));
        await using var b = await ActorTestApp.StartAsync(two, name: "B", idleTimeout: TimeSpan.FromSeconds(60));
        // Callers whose apps host no actors, one in each process.
        var fromOne = Proxies(await one.StartSidecarAsync("caller"));
        var fromTwo = Proxies(await two.StartSidecarAsync("caller"));
        ICounterActor Actor(ActorProxyFactory f, int i) => f.CreateActorProxy<ICounterActor>(new ActorId($"user-{i}"), nameof(CounterActor));
        await Wait.UntilAsync(() => a.Placement.Cluster!.HostCount(nameof(CounterActor)) == 2 && b.Placement.Cluster!.HostCount(nameof(CounterActor)) == 2, "both processes routing by a table with both hosts", TimeSpan.FromSeconds(10));

        var ids = Enumerable.Range(0, 1000).ToArray();
        var where = new string[ids.Length];
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            var (first, second) = i % 2 == 0 ? (fromOne, fromTwo) : (fromTwo, fromOne);
            Assert.Equal(i % 7 + 1, await Actor(first, i).AddAsync(i % 7 + 1));
            where[i] = await Actor(second, i).WhereAsync();
            Assert.Equal(i % 7 + 1, await Actor(second, i).GetAsync());
        });

        var onA = where.Count(w => w == "A");
        var onB = where.Count(w => w == "B");
        Assert.Equal(1000, onA + onB);
        Assert.True(onA > 300 && onB > 300, $"the ring should split the actors: {onA} on A, {onB} on B");
        var activatedOnA = a.Probe.Events.Where(e => e.Kind == "activate").Select(e => e.Id).ToHashSet();
        var activatedOnB = b.Probe.Events.Where(e => e.Kind == "activate").Select(e => e.Id).ToHashSet();
        Assert.Empty(activatedOnA.Intersect(activatedOnB));
        Assert.Equal(1000, activatedOnA.Count + activatedOnB.Count);

        // Turn-based: calls from both processes to one actor never overlap, and none is lost.
        var busy = ids.First(i => where[i] == "B");
        await Task.WhenAll(Enumerable.Range(0, 20).Select(k => Actor(k % 2 == 0 ? fromOne : fromTwo, busy).HoldAsync(10)));
        Assert.Equal(1, b.Probe.MaxConcurrentPerActor);
        Assert.Equal(21 + busy % 7, await Actor(fromOne, busy).GetAsync());

        // A reminder of an actor owned by B keeps firing once B is gone.
        await Actor(fromOne, busy).SetReminderAsync("beat", 0, 300, repetitions: 0, ttlMilliseconds: 0);
        await Wait.UntilAsync(() => b.Probe.Count("reminder", $"user-{busy}", "beat|state-of-beat|B") >= 1, "a tick on B", TimeSpan.FromSeconds(5));

        await b.StopAsync();
        Assert.Equal(onB, b.Probe.Events.Count(e => e.Kind == "deactivate"));
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            Assert.Equal(i % 7 + 1 + (i == busy ? 20 : 0), await Actor(fromTwo, i).GetAsync());
            Assert.Equal("A", await Actor(fromOne, i).WhereAsync());
        });

        await Wait.UntilAsync(() => a.Probe.Count("reminder", $"user-{busy}", "beat|state-of-beat|A") >= 1, "the reminder firing on A", TimeSpan.FromSeconds(5));
        await Actor(fromTwo, busy).StopReminderAsync("beat");
    }

    [Fact]
    public async Task A_joining_process_takes_over_its_actors_only_after_the_old_owner_deactivated_them()
    {
        var one = Process();
        await using var a = await ActorTestApp.StartAsync(one, name: "A", idleTimeout: TimeSpan.FromSeconds(60));
        var ids = Enumerable.Range(0, 200).Select(i => $"acct-{i}").ToArray();
        await Wait.UntilAsync(() => a.Placement.Cluster!.HostCount(nameof(CounterActor)) == 1, "a table with A", TimeSpan.FromSeconds(10));
        foreach (var id in ids)
        {
            await a.Counter(id).AddAsync(5);
        }

        var two = Process();
        await using var b = await ActorTestApp.StartAsync(two, name: "B", idleTimeout: TimeSpan.FromSeconds(60));
        await Wait.UntilAsync(() => a.Placement.Cluster!.HostCount(nameof(CounterActor)) == 2 && b.Placement.Cluster!.HostCount(nameof(CounterActor)) == 2, "both processes routing by a table with both hosts", TimeSpan.FromSeconds(10));
        var moved = 0;
        foreach (var id in ids)
        {
            Assert.Equal(6, await a.Counter(id).AddAsync(1));
            if (await b.Counter(id).WhereAsync() == "B")
            {
                moved++;
                var deactivated = a.Probe.Events.Single(e => e.Kind == "deactivate" && e.Id == id).At;
                var activated = b.Probe.Events.Single(e => e.Kind == "activate" && e.Id == id).At;
                Assert.True(deactivated <= activated, $"{id} was activated on B before A deactivated it");
            }
        }

        Assert.InRange(moved, 40, 160);
    }
}
