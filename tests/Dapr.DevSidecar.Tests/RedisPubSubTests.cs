using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Dapr.Client;
using Dapr.DevSidecar.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using StackExchange.Redis;

namespace Dapr.DevSidecar.Tests;

/// <summary>pubsub.redis against a real redis-server: streams, consumer groups, redelivery.</summary>
[Collection(RedisCollection.Name)]
[Trait("Area", "DevSidecar")]
public sealed class RedisPubSubTests(RedisServerFixture redis)
{
    public sealed record Job(string Id);

    private SidecarTestHost Host(params (string, string)[] extra) =>
        new SidecarTestHost().WithComponent("pubsub.yaml", SidecarTestHost.Component("pubsub", "pubsub.redis",
            [("redisHost", redis.Endpoint), .. extra]));

    private static string Topic() => "jobs-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task A_subscriber_killed_mid_message_gets_it_again_after_it_restarts()
    {
        // processingTimeout as a bare number is milliseconds, as in components-contrib. It is shorter
        // than the first delivery retry (500 ms), so only XPENDING + XCLAIM can bring the message back.
        await using var host = Host(("processingTimeout", "300"), ("redeliverInterval", "100ms"));
        var topic = Topic();
        var entered = new TaskCompletionSource();
        var hang = new TaskCompletionSource();
        var first = await SubscriberApp.StartAsync(a => a.MapPost("/jobs", async () =>
        {
            entered.TrySetResult();
            await hang.Task; // never answers: the app dies while handling the message
            return Results.Ok();
        }).WithTopic("pubsub", topic));
        var port = first.Port;
        var sidecar = await host.StartSidecarAsync("worker-" + topic, port);
        await sidecar.SubscribedAsync();

        await host.ClientFor(sidecar).PublishEventAsync("pubsub", topic, new Job("j-1"));
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var firstId = JsonDocument.Parse(first.Requests.First(r => r.Path == "/jobs").Body).RootElement.GetProperty("id").GetString();
        await first.DisposeAsync();

        var got = new ConcurrentQueue<Job>();
        await using var restarted = await SubscriberApp.StartAsync(a => a.MapPost("/jobs", (Job j) => { got.Enqueue(j); return Results.Ok(); }).WithTopic("pubsub", topic), port);

        await Wait.UntilAsync(() => !got.IsEmpty, "the restarted app gets the message again");
        Assert.Equal("j-1", got.Single().Id);
        var againId = JsonDocument.Parse(restarted.Requests.First(r => r.Path == "/jobs").Body).RootElement.GetProperty("id").GetString();
        Assert.Equal(firstId, againId);

        // Handled now: acknowledged, nothing left pending in the app's consumer group.
        var db = (await ConnectionMultiplexer.ConnectAsync(redis.Endpoint)).GetDatabase();
        await Wait.UntilAsync(() => db.StreamPending(topic, "worker-" + topic).PendingMessageCount == 0, "no pending entries");
    }

    [Fact]
    public async Task Two_instances_of_an_app_share_one_consumer_group()
    {
        await using var host = Host(("maxLenApprox", "1000"));
        var topic = Topic();
        var handled = new ConcurrentQueue<(int Instance, string Id)>();
        await using var app1 = await SubscriberApp.StartAsync(a => a.MapPost("/jobs", (Job j) => { handled.Enqueue((1, j.Id)); return Results.Ok(); }).WithTopic("pubsub", topic));
        await using var app2 = await SubscriberApp.StartAsync(a => a.MapPost("/jobs", (Job j) => { handled.Enqueue((2, j.Id)); return Results.Ok(); }).WithTopic("pubsub", topic));
        var s1 = await host.StartSidecarAsync("pool", app1.Port);
        var s2 = await host.StartSidecarAsync("pool", app2.Port);
        var publisher = await host.StartSidecarAsync("producer");
        await Task.WhenAll(s1.SubscribedAsync(), s2.SubscribedAsync());

        var dapr = host.ClientFor(publisher);
        for (var i = 0; i < 20; i++)
        {
            await dapr.PublishEventAsync("pubsub", topic, new Job(i.ToString(CultureInfo.InvariantCulture)));
        }

        await Wait.UntilAsync(() => handled.Count >= 20, "20 messages handled");
        // A marker published after them: once it is handled, the group has read past all 20, so
        // one of them read by both instances would be in `handled` by now.
        await dapr.PublishEventAsync("pubsub", topic, new Job("marker"));
        await Wait.UntilAsync(() => handled.Any(h => h.Id == "marker"), "the marker handled");
        Assert.Equal(21, handled.Count);
        Assert.Equal(21, handled.Select(h => h.Id).Distinct().Count());

        // On the wire as components-contrib writes it: one group named by the app-id, entries with data + metadata.
        var db = (await ConnectionMultiplexer.ConnectAsync(redis.Endpoint)).GetDatabase();
        var groups = await db.StreamGroupInfoAsync(topic);
        Assert.Equal("pool", Assert.Single(groups).Name);
        var entry = (await db.StreamRangeAsync(topic, count: 1)).Single();
        using var ce = JsonDocument.Parse((string)entry["data"]!);
        Assert.Equal("producer", ce.RootElement.GetProperty("source").GetString());
        Assert.Equal(topic, ce.RootElement.GetProperty("topic").GetString());
        Assert.False(entry["metadata"].IsNull);
    }

    [Fact]
    public async Task New_entries_are_read_by_a_blocking_XREADGROUP_and_an_XADD_from_any_client_is_delivered()
    {
        await using var host = Host();
        var topic = Topic();
        var appId = "blocking-" + topic;
        var got = new ConcurrentQueue<Job>();
        await using var app = await SubscriberApp.StartAsync(a => a.MapPost("/jobs", (Job j) => { got.Enqueue(j); return Results.Ok(); }).WithTopic("pubsub", topic));
        var sidecar = await host.StartSidecarAsync(appId, app.Port);
        await sidecar.SubscribedAsync();

        // While idle, the subscription's reader sits in redis blocked in XREADGROUP (flag b), rather
        // than polling: a polling reader is never seen blocked.
        await using var observer = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint + ",allowAdmin=true");
        var server = observer.GetServer(redis.Endpoint);
        await Wait.UntilAsync(() => server.ClientList().Any(c =>
            c.Name == "dapr-dev-sidecar-read-" + appId && c.LastCommand == "xreadgroup" && (c.FlagsRaw ?? "").Contains('b', StringComparison.Ordinal)), "a client of the subscription blocked in xreadgroup");

        // An entry written by a plain redis client (no dev sidecar publish, so no in-process signal)
        // in components-contrib's layout reaches the app.
        var cloudEvent = JsonSerializer.Serialize(new
        {
            id = Guid.NewGuid().ToString(),
            source = "elsewhere",
            type = "com.dapr.event.sent",
            specversion = "1.0",
            datacontenttype = "application/json",
            topic,
            pubsubname = "pubsub",
            data = new { id = "from-xadd" },
        });
        await observer.GetDatabase().StreamAddAsync(topic, [new("data", cloudEvent), new("metadata", "{}")]);

        await Wait.UntilAsync(() => !got.IsEmpty, "the XADDed entry is delivered");
        Assert.Equal("from-xadd", got.Single().Id);
    }
}
