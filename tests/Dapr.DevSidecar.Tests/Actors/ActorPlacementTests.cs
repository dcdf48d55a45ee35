using Dapr.Actors;
using Dapr.Actors.Client;
using Dapr.DevSidecar.Actors;

namespace Dapr.DevSidecar.Tests.Actors;

/// <summary>Several instances of one actor app: consistent-hash placement, forwarding, failover of actors and reminders.</summary>
[Trait("Area", "DevSidecar")]
public sealed class ActorPlacementTests
{
    [Fact]
    public async Task Two_instances_split_1000_actors_and_after_one_stops_all_answer_with_their_state()
    {
        await using var host = ActorInvocationTests.InMemoryHost();
        await using var a = await ActorTestApp.StartAsync(host, name: "A", idleTimeout: TimeSpan.FromSeconds(60));
        await using var b = await ActorTestApp.StartAsync(host, name: "B", idleTimeout: TimeSpan.FromSeconds(60));
        // Calls may arrive at any sidecar, also one whose app hosts no actors: they are forwarded.
        var caller = await host.StartSidecarAsync("caller");
        var proxies = new ActorProxyFactory(new ActorProxyOptions { HttpEndpoint = caller.HttpEndpoint, RequestTimeout = TimeSpan.FromSeconds(30) });
        ICounterActor Actor(int i) => proxies.CreateActorProxy<ICounterActor>(new ActorId($"user-{i}"), nameof(CounterActor));
        var ids = Enumerable.Range(0, 1000).ToArray();

        var where = new string[ids.Length];
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            Assert.Equal(i % 7 + 1, await Actor(i).AddAsync(i % 7 + 1));
            where[i] = await Actor(i).WhereAsync();
        });

        var onA = where.Count(w => w == "A");
        var onB = where.Count(w => w == "B");
        Assert.Equal(1000, onA + onB);
        Assert.True(onA > 300 && onB > 300, $"the ring should split the actors: {onA} on A, {onB} on B");
        // Each actor lives on one instance only.
        var activatedOnA = a.Probe.Events.Where(e => e.Kind == "activate").Select(e => e.Id).ToHashSet();
        var activatedOnB = b.Probe.Events.Where(e => e.Kind == "activate").Select(e => e.Id).ToHashSet();
        Assert.Empty(activatedOnA.Intersect(activatedOnB));
        Assert.Equal(1000, activatedOnA.Count + activatedOnB.Count);
        Assert.Equal(onB, a.Placement.ActiveCount(b.ActorHost));

        // A reminder of an actor owned by B keeps firing once B is gone.
        var bOwned = ids.First(i => where[i] == "B");
        await Actor(bOwned).SetReminderAsync("beat", 0, 300, repetitions: 0, ttlMilliseconds: 0);
        await Wait.UntilAsync(() => b.Probe.Count("reminder", $"user-{bOwned}", $"beat|state-of-beat|B") >= 1, "a tick on B", TimeSpan.FromSeconds(5));

        await b.StopAsync();
        Assert.Equal(onB, b.Probe.Events.Count(e => e.Kind == "deactivate"));

        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            Assert.Equal(i % 7 + 1, await Actor(i).GetAsync());
            Assert.Equal("A", await Actor(i).WhereAsync());
        });

        await Wait.UntilAsync(() => a.Probe.Count("reminder", $"user-{bOwned}", $"beat|state-of-beat|A") >= 1, "the reminder firing on A", TimeSpan.FromSeconds(5));
        await Actor(bOwned).StopReminderAsync("beat");
    }

    [Fact]
    public async Task A_joining_instance_takes_over_part_of_the_actors_which_leave_the_old_instance_first()
    {
        await using var host = ActorInvocationTests.InMemoryHost();
        await using var a = await ActorTestApp.StartAsync(host, name: "A", idleTimeout: TimeSpan.FromSeconds(60));
        var ids = Enumerable.Range(0, 200).Select(i => $"acct-{i}").ToArray();
        foreach (var id in ids)
        {
            await a.Counter(id).AddAsync(5);
        }

        await using var b = await ActorTestApp.StartAsync(host, name: "B", idleTimeout: TimeSpan.FromSeconds(60));
        var moved = 0;
        foreach (var id in ids)
        {
            Assert.Equal(6, await a.Counter(id).AddAsync(1));
            if (await a.Counter(id).WhereAsync() == "B")
            {
                moved++;
                // It was deactivated on A before being activated on B.
                Assert.Equal(1, a.Probe.Count("deactivate", id));
            }
        }

        Assert.InRange(moved, 40, 160);
    }

    [Fact]
    public void The_hash_ring_moves_only_the_keys_of_the_host_that_left()
    {
        var hosts = new[] { "h1", "h2", "h3" };
        var three = new HashRing<string>(hosts.Select(h => (h, h)));
        var two = new HashRing<string>(hosts.Where(h => h != "h3").Select(h => (h, h)));
        var keys = Enumerable.Range(0, 3000).Select(i => $"k{i}").ToList();
        var counts = keys.GroupBy(k => three.Get(k)!).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(hosts, h => Assert.InRange(counts[h], 600, 1400));
        Assert.All(keys.Where(k => three.Get(k) != "h3"), k => Assert.Equal(three.Get(k), two.Get(k)));
        Assert.Null(new HashRing<string>([]).Get("k"));
    }

    [Fact]
    public void App_config_reads_entities_config_overrides()
    {
        var config = ActorAppConfig.Parse("""
            {"entities":["A","B"],"actorIdleTimeout":"0h0m5s0ms","actorScanInterval":"0h0m1s0ms","drainOngoingCallTimeout":"0h0m3s0ms",
             "reentrancy":{"enabled":true,"maxStackDepth":4},
             "entitiesConfig":[{"entities":["B"],"actorIdleTimeout":"1m","reentrancy":{"enabled":false}}]}
            """u8);
        Assert.Equal(TimeSpan.FromSeconds(1), config.ScanInterval);
        Assert.Equal(new ActorTypeConfig("A", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(3), false, true, 4), config.Types["A"]);
        Assert.Equal(new ActorTypeConfig("B", TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(3), false, false, ActorAppConfig.DefaultMaxStackDepth), config.Types["B"]);
        Assert.Equal(ActorAppConfig.DefaultIdleTimeout, ActorAppConfig.Parse("""{"entities":["X"],"actorIdleTimeout":"soon"}"""u8).Types["X"].IdleTimeout);
    }
}
