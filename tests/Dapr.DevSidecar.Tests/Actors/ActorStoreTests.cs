using Dapr.DevSidecar.State;
using Dapr.DevSidecar.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Dapr.DevSidecar.Tests.Actors;

/// <summary>
/// Actors on the persistent stores: state and reminders survive a full restart (a new process's
/// worth of sidecars: new component runtime, new placement) and the keys are daprd's.
/// </summary>
public static class ActorStoreScenario
{
    public static async Task StateAndRemindersSurviveAFullRestartAsync(Func<SidecarTestHost> newHost, string appId)
    {
        // A type name of its own, so tests sharing a store keep their reminder lists apart.
        var type = "Counter" + Guid.NewGuid().ToString("N")[..8];
        await using (var host = newHost())
        {
            await using var app = await ActorTestApp.StartAsync(host, appId, actorType: type);
            Assert.Equal(3, await app.Counter("p1").AddAsync(3));
            await app.Counter("p1").SetReminderAsync("after-restart", 2500, -1, repetitions: 0, ttlMilliseconds: 0);
            var store = (IStateStore)app.Sidecar.Context.Components.All.Single(c => c.Definition.Name == "actorstore").Implementation;
            Assert.NotNull(await store.GetAsync($"{appId}||{type}||p1||count", CancellationToken.None));
            Assert.NotNull(await store.GetAsync($"actors||{type}", CancellationToken.None));
        }

        await using (var host = newHost())
        {
            await using var app = await ActorTestApp.StartAsync(host, appId, actorType: type);
            await Wait.UntilAsync(() => app.Probe.Events.Any(e => e.Kind == "reminder" && e.Id == "p1"), "the reminder after a full restart", TimeSpan.FromSeconds(8));
            Assert.Equal(4, await app.Counter("p1").AddAsync(1));
        }
    }
}

[Trait("Area", "DevSidecar")]
[Collection(RedisCollection.Name)]
public sealed class RedisActorStoreTests(RedisServerFixture redis)
{
    [Fact]
    public Task State_and_reminders_survive_a_full_restart_on_redis() =>
        ActorStoreScenario.StateAndRemindersSurviveAFullRestartAsync(
            () => new SidecarTestHost().WithComponent("actors.yaml",
                SidecarTestHost.Component("actorstore", "state.redis", ("redisHost", redis.Endpoint), ("redisPassword", ""), ("actorStateStore", "true"))),
            "redis-actors");
}

[Trait("Area", "DevSidecar")]
public sealed class SqliteActorStoreTests
{
    [Fact]
    public async Task State_and_reminders_survive_a_full_restart_on_sqlite()
    {
        var folder = Directory.CreateTempSubdirectory("devsidecar-actors-").FullName;
        try
        {
            await ActorStoreScenario.StateAndRemindersSurviveAFullRestartAsync(
                () => new SidecarTestHost().WithComponent("actors.yaml",
                    SidecarTestHost.Component("actorstore", "state.sqlite", ("connectionString", Path.Combine(folder, "actors.db")), ("actorStateStore", "true"))),
                "sqlite-actors");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }
}
