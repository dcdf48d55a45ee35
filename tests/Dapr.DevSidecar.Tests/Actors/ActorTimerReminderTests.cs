using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Dapr.DevSidecar.Tests.Actors;

/// <summary>Actor timers and reminders, registered through the SDK (Actor.RegisterTimerAsync / RegisterReminderAsync).</summary>
[Trait("Area", "DevSidecar")]
public sealed class ActorTimerReminderTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task Timers_fire_with_their_data_and_stop_when_unregistered()
    {
        await using var host = ActorInvocationTests.InMemoryHost();
        await using var app = await ActorTestApp.StartAsync(host, idleTimeout: TimeSpan.FromSeconds(30));
        var actor = app.Counter("t1");

        await actor.StartTimerAsync("tick", 0, 100);
        await Wait.UntilAsync(() => app.Probe.Count("timer", "t1", "tick") >= 3, "three ticks of timer 'tick'", Deadline);
        await actor.StopTimerAsync("tick");
        var after = app.Probe.Count("timer", "t1", "tick");
        await MarkerAsync(app, 500); // five periods of 'tick'
        Assert.InRange(app.Probe.Count("timer", "t1", "tick"), after, after + 1);

        // No period: fires once.
        await actor.StartTimerAsync("once", 50, -1);
        await Wait.UntilAsync(() => app.Probe.Count("timer", "t1", "once") == 1, "the one-shot timer", Deadline);
        await MarkerAsync(app, 300);
        Assert.Equal(1, app.Probe.Count("timer", "t1", "once"));
    }

    [Fact]
    public async Task Timers_stop_when_the_actor_is_deactivated()
    {
        await using var host = ActorInvocationTests.InMemoryHost();
        await using var app = await ActorTestApp.StartAsync(host, idleTimeout: TimeSpan.FromSeconds(1));
        using var http = new HttpClient { BaseAddress = new Uri(app.Sidecar.HttpEndpoint) };
        await app.Counter("t2").AddAsync(1);

        // A timer registered over HTTP (ISO 8601 period, 3 repetitions) with a callback; the SDK reads dueTime only in its own h/m/s/ms form.
        var response = await http.PutAsJsonAsync("/v1.0/actors/CounterActor/t2/timers/iso",
            new { dueTime = "0h0m0s0ms", period = "R3/PT1S", callback = "OnTimerAsync", data = Convert.ToBase64String("iso"u8.ToArray()) });
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        await Wait.UntilAsync(() => app.Probe.Count("timer", "t2", "iso") == 1, "first tick", Deadline);

        // Timer ticks keep the actor active (they reset its idle time), so unregister and let it go idle.
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync("/v1.0/actors/CounterActor/t2/timers/iso")).StatusCode);
        await Wait.UntilAsync(() => app.Probe.Count("deactivate", "t2") == 1, "idle deactivation", Deadline);

        // A timer due after the actor goes idle never fires: deactivation drops it.
        await app.Counter("t2").StartTimerAsync("late", 1500, -1);
        var marker = MarkerAsync(app, 2200); // set with 'late': fires after it was due
        await Wait.UntilAsync(() => app.Probe.Count("deactivate", "t2") == 2, "second idle deactivation", Deadline);
        await marker;
        Assert.Equal(0, app.Probe.Count("timer", "t2", "late"));
    }

    [Fact]
    public async Task Reminders_fire_with_their_state_and_honour_repetitions_and_ttl()
    {
        await using var host = ActorInvocationTests.InMemoryHost();
        await using var app = await ActorTestApp.StartAsync(host, idleTimeout: TimeSpan.FromSeconds(30));
        var actor = app.Counter("r1");

        // R2/PT1S: exactly two ticks.
        await actor.SetReminderAsync("twice", 0, 1000, repetitions: 2, ttlMilliseconds: 0);
        // Every 200 ms for a TTL of 1 s: at most six ticks (fewer on a loaded machine), then it is removed.
        await actor.SetReminderAsync("ttl", 0, 200, repetitions: 0, ttlMilliseconds: 1000);

        await Wait.UntilAsync(() => Ticks(app, "r1", "twice") == 2, "two ticks of 'twice'", Deadline);
        await Wait.UntilAsync(() => Ticks(app, "r1", "ttl") >= 2, "ticks of 'ttl'", Deadline);
        await MarkerAsync(app, 900);
        Assert.Equal(2, Ticks(app, "r1", "twice"));
        var ttlTicks = Ticks(app, "r1", "ttl");
        Assert.InRange(ttlTicks, 2, 6);
        await MarkerAsync(app, 500);
        Assert.Equal(ttlTicks, Ticks(app, "r1", "ttl"));
        Assert.Contains(app.Probe.Events, e => e.Kind == "reminder" && e.What.StartsWith("twice|state-of-twice|", StringComparison.Ordinal));

        // Both are gone from the reminder list.
        using var http = new HttpClient { BaseAddress = new Uri(app.Sidecar.HttpEndpoint) };
        var missing = await http.GetAsync("/v1.0/actors/CounterActor/r1/reminders/twice");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("ERR_ACTOR_REMINDER_NOT_FOUND", (await missing.Content.ReadFromJsonAsync<Dictionary<string, string>>())!["errorCode"]);
    }

    [Fact]
    public async Task Reminders_can_be_read_unregistered_and_refused_for_types_the_app_does_not_host()
    {
        await using var host = ActorInvocationTests.InMemoryHost();
        await using var app = await ActorTestApp.StartAsync(host);
        using var http = new HttpClient { BaseAddress = new Uri(app.Sidecar.HttpEndpoint) };

        var data = JsonSerializer.Serialize(Convert.ToBase64String("hello"u8.ToArray()));
        var put = await http.PostAsync("/v1.0/actors/CounterActor/r2/reminders/later",
            new StringContent($$"""{"dueTime":"1h","period":"PT10M","data":{{data}},"ttl":"2030-01-01T00:00:00Z"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);

        var got = JsonDocument.Parse(await http.GetStringAsync("/v1.0/actors/CounterActor/r2/reminders/later")).RootElement;
        Assert.Equal("1h", got.GetProperty("dueTime").GetString());
        Assert.Equal("PT10M", got.GetProperty("period").GetString());
        Assert.Equal("hello", Encoding.UTF8.GetString(got.GetProperty("data").GetBytesFromBase64()));
        Assert.StartsWith("2030-01-01T00:00:00", got.GetProperty("ttl").GetString(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync("/v1.0/actors/CounterActor/r2/reminders/later")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/v1.0/actors/CounterActor/r2/reminders/later")).StatusCode);

        var bad = await http.PutAsync("/v1.0/actors/CounterActor/r2/reminders/bad", new StringContent("""{"period":"every so often"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.InternalServerError, bad.StatusCode);
        Assert.Equal("ERR_ACTOR_REMINDER_CREATE", (await bad.Content.ReadFromJsonAsync<Dictionary<string, string>>())!["errorCode"]);

        var other = await http.PutAsync("/v1.0/actors/OtherActor/x/reminders/r", new StringContent("""{"dueTime":"1s"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Equal("ERR_ACTOR_REMINDER_NON_HOSTED", (await other.Content.ReadFromJsonAsync<Dictionary<string, string>>())!["errorCode"]);
    }

    [Fact]
    public async Task Reminders_persist_and_fire_after_every_sidecar_restarted_and_activate_idle_actors()
    {
        await using var host = ActorInvocationTests.InMemoryHost();
        var app = await ActorTestApp.StartAsync(host, idleTimeout: TimeSpan.FromSeconds(1));
        await app.Counter("r3").SetReminderAsync("wake", 1500, -1, repetitions: 0, ttlMilliseconds: 0);
        await app.StopAsync();
        Assert.Equal(0, Ticks(app, "r3", "wake"));

        // Nothing hosts the type for a while; a new app instance loads the reminder from the store.
        await using var again = await ActorTestApp.StartAsync(host, idleTimeout: TimeSpan.FromSeconds(1));
        await Wait.UntilAsync(() => Ticks(again, "r3", "wake") == 1, "reminder after restart", Deadline);
        Assert.Equal(1, again.Probe.Count("activate", "r3"));
        await MarkerAsync(again, 300);
        Assert.Equal(1, Ticks(again, "r3", "wake"));
    }

    /// <summary>
    /// Waits until a one-shot reminder of a separate actor, due in <paramref name="dueMs"/>, has
    /// fired: the sidecar's own clock has then passed the window in which something must not
    /// happen. A reminder, not a timer: it fires even if its actor went idle meanwhile.
    /// </summary>
    private static async Task MarkerAsync(ActorTestApp app, int dueMs)
    {
        var id = "marker-" + Guid.NewGuid().ToString("N");
        await app.Counter(id).SetReminderAsync("marker", dueMs, -1, repetitions: 0, ttlMilliseconds: 0);
        await Wait.UntilAsync(() => Ticks(app, id, "marker") == 1, $"the {dueMs} ms marker reminder", Deadline);
    }

    private static int Ticks(ActorTestApp app, string id, string name) =>
        app.Probe.Events.Count(e => e.Kind == "reminder" && e.Id == id && e.What.StartsWith(name + "|", StringComparison.Ordinal));
}
