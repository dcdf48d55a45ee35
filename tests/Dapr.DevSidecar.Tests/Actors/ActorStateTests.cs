using System.Net;
using System.Net.Http.Json;
using System.Text;
using Dapr.DevSidecar.Actors;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.State;

namespace Dapr.DevSidecar.Tests.Actors;

/// <summary>Actor state in the actor state store, lifecycle (idle deactivation) and restarts.</summary>
[Trait("Area", "DevSidecar")]
public sealed class ActorStateTests
{
    [Fact]
    public async Task Idle_actors_are_deactivated_and_their_state_survives_deactivation_and_restart()
    {
        await using var host = ActorInvocationTests.InMemoryHost();
        var app = await ActorTestApp.StartAsync(host, idleTimeout: TimeSpan.FromSeconds(1));
        Assert.Equal(7, await app.Counter("s1").AddAsync(7));

        // No calls for the idle timeout: the sidecar deactivates it (OnDeactivateAsync runs).
        await Wait.UntilAsync(() => app.Probe.Count("deactivate", "s1") == 1, "idle deactivation of s1", TimeSpan.FromSeconds(5));
        Assert.Equal(7, await app.Counter("s1").GetAsync());
        Assert.Equal(2, app.Probe.Count("activate", "s1"));

        // Restart app and sidecar; the store (same process) keeps the state.
        await app.StopAsync();
        await using var again = await ActorTestApp.StartAsync(host);
        Assert.Equal(8, await again.Counter("s1").AddAsync(1));
    }

    [Fact]
    public async Task A_busy_actor_is_not_deactivated_while_it_keeps_being_called()
    {
        await using var host = ActorInvocationTests.InMemoryHost();
        await using var app = await ActorTestApp.StartAsync(host, idleTimeout: TimeSpan.FromSeconds(1));
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        while (DateTime.UtcNow < until)
        {
            await app.Counter("busy").AddAsync(1);
            await Task.Delay(100);
        }

        Assert.Equal(0, app.Probe.Count("deactivate", "busy"));
        await Wait.UntilAsync(() => app.Probe.Count("deactivate", "busy") == 1, "deactivation once calls stop", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task State_keys_ttl_and_missing_values_follow_daprd()
    {
        await using var host = ActorInvocationTests.InMemoryHost();
        await using var app = await ActorTestApp.StartAsync(host, appId: "keys");
        await app.Counter("k1").AddAsync(3);

        // Keys are appID||actorType||actorID||key, written straight to the store.
        var store = (IStateStore)app.Sidecar.Context.Components.All.Single(c => c.Definition.Name == "actorstore").Implementation;
        var stored = await store.GetAsync("keys||CounterActor||k1||count", CancellationToken.None);
        Assert.NotNull(stored);
        Assert.Equal("3", Encoding.UTF8.GetString(stored.Value));

        using var http = new HttpClient { BaseAddress = new Uri(app.Sidecar.HttpEndpoint) };
        var missing = await http.GetAsync("/v1.0/actors/CounterActor/k1/state/nothing");
        Assert.Equal(HttpStatusCode.NoContent, missing.StatusCode);

        var tx = await http.PutAsync("/v1.0/actors/CounterActor/k1/state", new StringContent("""
            [{"operation":"upsert","request":{"key":"temp","value":{"a":1},"metadata":{"ttlInSeconds":"60"}}},
             {"operation":"upsert","request":{"key":"gone","value":"x"}},
             {"operation":"delete","request":{"key":"gone"}}]
            """, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NoContent, tx.StatusCode);

        var temp = await http.GetAsync("/v1.0/actors/CounterActor/k1/state/temp");
        Assert.Equal(HttpStatusCode.OK, temp.StatusCode);
        Assert.Equal("""{"a":1}""", await temp.Content.ReadAsStringAsync());
        var expires = DateTimeOffset.Parse(temp.Headers.GetValues("Metadata.ttlExpireTime").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(61));
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/v1.0/actors/CounterActor/k1/state/gone")).StatusCode);

        var bad = await http.PostAsync("/v1.0/actors/CounterActor/k1/state", new StringContent("{not json", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("ERR_MALFORMED_REQUEST", (await bad.Content.ReadFromJsonAsync<Dictionary<string, string>>())!["errorCode"]);
    }

    [Fact]
    public async Task Actor_state_without_an_actor_state_store_is_ERR_ACTOR_RUNTIME_NOT_FOUND()
    {
        await using var host = new SidecarTestHost().WithComponent("state.yaml", SidecarTestHost.Component("plain", "state.in-memory"));
        var sidecar = await host.StartSidecarAsync("nostore");
        using var http = new HttpClient { BaseAddress = new Uri(sidecar.HttpEndpoint) };
        var response = await http.GetAsync("/v1.0/actors/CounterActor/x/state/k");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("ERR_ACTOR_RUNTIME_NOT_FOUND", (await response.Content.ReadFromJsonAsync<Dictionary<string, string>>())!["errorCode"]);
    }

    [Fact]
    public async Task Two_actor_state_stores_stop_start_up_with_a_clear_error()
    {
        await using var host = new SidecarTestHost()
            .WithComponent("a.yaml", SidecarTestHost.Component("one", "state.in-memory", ("actorStateStore", "true")))
            .WithComponent("b.yaml", SidecarTestHost.Component("two", "state.in-memory", ("actorStateStore", "true")));
        var ex = await Assert.ThrowsAsync<ComponentLoadException>(() => host.StartSidecarAsync("twostores"));
        Assert.Contains("more than one actor state store", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Durations_parse_as_daprd_reads_them()
    {
        var now = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(now.AddSeconds(5), ActorDurations.ParseTime("0h0m5s0ms", now));
        Assert.Equal(now + new TimeSpan(0, 1, 2, 3, 4), ActorDurations.ParseTime("1h2m3s4ms", now));
        Assert.Equal(now.AddSeconds(5), ActorDurations.ParseTime("PT5S", now));
        Assert.Equal(now.AddMilliseconds(1500), ActorDurations.ParseTime("1.5s", now));
        Assert.Equal(new DateTimeOffset(2030, 5, 6, 7, 8, 9, TimeSpan.Zero), ActorDurations.ParseTime("2030-05-06T07:08:09Z", now));
        Assert.Throws<FormatException>(() => ActorDurations.ParseTime("R2/PT1S", now));
        Assert.Throws<FormatException>(() => ActorDurations.ParseTime("soon", now));

        var p = ActorDurations.ParsePeriod("R5/PT1S");
        Assert.Equal((5, TimeSpan.FromSeconds(1)), (p.Repetitions, p.Duration));
        Assert.True(p.Repeats);
        var month = ActorDurations.ParsePeriod("P1M2DT3H");
        Assert.Equal(now.AddMonths(1).AddDays(2).AddHours(3), month.Following(now));
        Assert.Equal(-1, ActorDurations.ParsePeriod("0h0m1s0ms").Repetitions);
        Assert.False(ActorDurations.ParsePeriod("").Repeats);
        Assert.Throws<FormatException>(() => ActorDurations.ParsePeriod("R0/PT1S"));
        Assert.Throws<FormatException>(() => ActorDurations.ParsePeriod("P1H"));
    }
}
