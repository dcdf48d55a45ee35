using System.Diagnostics;
using Dapr.Actors;
using Dapr.Actors.Client;

namespace Dapr.DevSidecar.Tests.Actors;

/// <summary>Actor calls through the dev sidecar with the official Dapr.Actors SDK on both sides.</summary>
[Trait("Area", "DevSidecar")]
public sealed class ActorInvocationTests
{
    internal static SidecarTestHost InMemoryHost() =>
        new SidecarTestHost().WithComponent("state.yaml", SidecarTestHost.Component("actorstore", "state.in-memory", ("actorStateStore", "true")));

    [Fact]
    public async Task Remoting_and_non_remoting_calls_reach_the_same_actor_state()
    {
        await using var host = InMemoryHost();
        await using var app = await ActorTestApp.StartAsync(host);

        var typed = app.Counter("c1");
        Assert.Equal(2, await typed.AddAsync(2));
        Assert.Equal(5, await typed.AddAsync(3));

        var untyped = app.Proxies().Create(new ActorId("c1"), nameof(CounterActor));
        Assert.Equal(6, await untyped.InvokeMethodAsync<int, int>(nameof(ICounterActor.AddAsync), 1));
        Assert.Equal(6, await untyped.InvokeMethodAsync<int>(nameof(ICounterActor.GetAsync)));
        Assert.Equal(6, await typed.GetAsync());
        Assert.Equal(0, await app.Counter("c2").GetAsync());
        Assert.Equal(1, app.Probe.Count("activate", "c1"));
    }

    [Fact]
    public async Task Actor_exceptions_reach_the_caller_as_the_sdk_expects()
    {
        await using var host = InMemoryHost();
        await using var app = await ActorTestApp.StartAsync(host);

        var remoting = await Assert.ThrowsAsync<ActorMethodInvocationException>(() => app.Counter("boom").FailAsync("kaput"));
        Assert.Contains("kaput", remoting.InnerException?.Message ?? remoting.Message, StringComparison.Ordinal);

        var untyped = app.Proxies().Create(new ActorId("boom"), nameof(CounterActor));
        var plain = await Assert.ThrowsAsync<DaprApiException>(() => untyped.InvokeMethodAsync(nameof(ICounterActor.FailAsync), "kaput"));
        Assert.Equal("ERR_ACTOR_INVOKE_METHOD", plain.ErrorCode);

        // The actor still answers after failing.
        Assert.Equal(1, await app.Counter("boom").AddAsync(1));
    }

    [Fact]
    public async Task Unknown_actor_type_is_ERR_ACTOR_NO_ADDRESS()
    {
        await using var host = InMemoryHost();
        await using var app = await ActorTestApp.StartAsync(host);
        app.Placement.HostWaitTimeout = TimeSpan.FromMilliseconds(200);

        var proxy = app.Proxies().Create(new ActorId("x"), "NoSuchActor");
        var ex = await Assert.ThrowsAsync<DaprApiException>(() => proxy.InvokeMethodAsync<int>("GetAsync"));
        Assert.Equal("ERR_ACTOR_NO_ADDRESS", ex.ErrorCode);
    }

    [Fact]
    public async Task Hundred_concurrent_calls_to_one_actor_never_overlap_while_different_actors_run_in_parallel()
    {
        await using var host = InMemoryHost();
        await using var app = await ActorTestApp.StartAsync(host);

        var one = app.Counter("hot");
        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => one.HoldAsync(2)));
        Assert.Equal(1, app.Probe.MaxConcurrentPerActor);
        Assert.Equal(Enumerable.Range(1, 100), results.Order());
        Assert.Equal(100, await one.GetAsync());

        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => app.Counter($"cold-{i}").HoldAsync(300)));
        clock.Stop();
        Assert.Equal(1, app.Probe.MaxConcurrentPerActor);
        Assert.True(app.Probe.MaxConcurrentOverall >= 5, $"different actors should run in parallel; at most {app.Probe.MaxConcurrentOverall} ran at once");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"20 calls of 300 ms to different actors took {clock.Elapsed}");
    }

    [Fact]
    public async Task Reentrant_calls_work_when_the_app_enables_reentrancy()
    {
        await using var host = InMemoryHost();
        await using var app = await ActorTestApp.StartAsync(host, reentrancy: true);

        // a -> b -> a again, inside the same call chain: without reentrancy a's turn would block it.
        var result = await app.Counter("a").PingAsync("b").WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(10, result);
        Assert.Equal(10, await app.Counter("a").GetAsync());
    }

    [Fact]
    public async Task Without_reentrancy_a_call_back_into_a_busy_actor_waits_for_its_turn()
    {
        await using var host = InMemoryHost();
        await using var app = await ActorTestApp.StartAsync(host, reentrancy: false);

        // a -> b -> a: the inner call to a must wait behind the outer one, so the chain cannot finish.
        var proxy = app.Proxies(TimeSpan.FromSeconds(1)).CreateActorProxy<ICounterActor>(new ActorId("a"), nameof(CounterActor));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => proxy.PingAsync("b"));
        var clock = Stopwatch.StartNew();
        await app.StopAsync();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"stopping with a blocked call chain took {clock.Elapsed}");
    }
}
