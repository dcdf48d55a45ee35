using System.Collections.Concurrent;
using System.Text.Json;
using Dapr;
using Dapr.AspNetCore;
using Dapr.DevSidecar.PubSub;
using Dapr.DevSidecar.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dapr.DevSidecar.Tests;

/// <summary>
/// Bulk subscribe with the official SDK: Dapr.AspNetCore's <c>WithBulkSubscribe</c> and
/// <c>BulkSubscribeMessage&lt;T&gt;</c> / <c>BulkSubscribeAppResponse</c> against the dev sidecar.
/// </summary>
[Trait("Area", "DevSidecar")]
public sealed class BulkSubscribeTests
{
    public sealed record Order(string Id, int Amount);

    private const string FastRetries = PubSubConformanceTests.FastRetries;

    private static SidecarTestHost InMemoryHost(string? extraYaml = null) => PubSubConformanceTests.InMemoryHost(extraYaml);

    private static BulkSubscribeTopicOptions Bulk(string topic, int max, int awaitMs) =>
        new() { TopicName = topic, MaxMessagesCount = max, MaxAwaitDurationMs = awaitMs };

    private static BulkSubscribeAppResponse AllSucceed(BulkSubscribeMessage<BulkMessageModel<Order>> message) =>
        new([.. message.Entries.Select(e => new BulkSubscribeAppResponseEntry(e.EntryId, BulkSubscribeAppResponseStatus.SUCCESS))]);

    [Fact]
    public async Task A_burst_arrives_in_batches_in_daprd_s_envelope()
    {
        await using var host = InMemoryHost();
        var batches = new ConcurrentQueue<BulkSubscribeMessage<BulkMessageModel<Order>>>();
        await using var app = await SubscriberApp.StartAsync(a => a.MapPost("/orders", (BulkSubscribeMessage<BulkMessageModel<Order>> m) =>
        {
            batches.Enqueue(m);
            return AllSucceed(m);
        }).WithTopic("pubsub", "orders").WithBulkSubscribe(Bulk("orders", 100, 1000)));
        var sub = await host.StartSidecarAsync("bulk-sub", app.Port);
        var pub = await host.StartSidecarAsync("shop");
        await sub.SubscribedAsync();

        var orders = Enumerable.Range(0, 20).Select(i => new Order($"o-{i}", i)).ToList();
        await host.ClientFor(pub).BulkPublishEventAsync("pubsub", "orders", orders);

        await Wait.UntilAsync(() => batches.Sum(b => b.Entries.Count) >= 20, "20 entries delivered");
        var entries = batches.SelectMany(b => b.Entries).ToList();
        Assert.Equal(orders.Select(o => o.Id).Order(), entries.Select(e => e.Event.Data.Id).Order());
        Assert.True(batches.Max(b => b.Entries.Count) > 1, "a burst is delivered several entries per request");
        Assert.Equal(20, entries.Select(e => e.EntryId).Distinct().Count());
        Assert.All(entries, e =>
        {
            Assert.Equal("application/cloudevents+json", e.ContentType);
            Assert.Equal("shop", e.Event.Source);
            Assert.Equal("com.dapr.event.sent", e.Event.Type);
            Assert.Equal("application/json", e.Event.Datacontenttype);
        });
        Assert.All(batches, b => Assert.Equal("orders", b.Topic));

        // The envelope as daprd writes it, before the SDK binds it.
        var raw = app.Requests.First(r => r.Path == "/orders");
        Assert.Equal("application/json", raw.ContentType);
        using var envelope = JsonDocument.Parse(raw.Body);
        var root = envelope.RootElement;
        Assert.True(Guid.TryParse(root.GetProperty("id").GetString(), out _));
        Assert.Equal("com.dapr.event.sent.bulk", root.GetProperty("type").GetString());
        Assert.Equal("pubsub", root.GetProperty("pubsubname").GetString());
        Assert.Equal("pubsub", root.GetProperty("metadata").GetProperty("pubsubName").GetString());
        var first = root.GetProperty("entries")[0];
        Assert.Equal(JsonValueKind.Object, first.GetProperty("event").ValueKind);
        Assert.Equal("orders", first.GetProperty("event").GetProperty("topic").GetString());
        Assert.Equal(JsonValueKind.Object, first.GetProperty("metadata").ValueKind);
    }

    [Fact]
    public async Task Entries_answered_RETRY_come_back_alone_and_DROP_goes_to_the_dead_letter_topic()
    {
        await using var host = InMemoryHost(FastRetries);
        var seen = new ConcurrentQueue<(int Batch, string Id, string CloudEventId)>();
        var batchNo = 0;
        var dead = new ConcurrentQueue<Order>();
        await using var app = await SubscriberApp.StartAsync(a =>
        {
            a.MapPost("/orders", (BulkSubscribeMessage<BulkMessageModel<Order>> m) =>
            {
                var n = Interlocked.Increment(ref batchNo);
                var statuses = new List<BulkSubscribeAppResponseEntry>();
                foreach (var e in m.Entries)
                {
                    var retriedBefore = seen.Any(s => s.Id == e.Event.Data.Id);
                    seen.Enqueue((n, e.Event.Data.Id, e.Event.Id));
                    var status = e.Event.Data.Id switch
                    {
                        "retry" when !retriedBefore => BulkSubscribeAppResponseStatus.RETRY,
                        "drop" => BulkSubscribeAppResponseStatus.DROP,
                        _ => BulkSubscribeAppResponseStatus.SUCCESS,
                    };
                    statuses.Add(new BulkSubscribeAppResponseEntry(e.EntryId, status));
                }

                return new BulkSubscribeAppResponse(statuses);
            }).WithTopic(new TopicOptions { PubsubName = "pubsub", Name = "orders", DeadLetterTopic = "orders-dead" })
              .WithBulkSubscribe(Bulk("orders", 10, 1000));
            a.MapPost("/dead", (Order o) => { dead.Enqueue(o); return Results.Ok(); }).WithTopic("pubsub", "orders-dead");
        });
        var sub = await host.StartSidecarAsync("bulk-retry", app.Port);
        await sub.SubscribedAsync();

        // Three entries in one batch: maxMessagesCount 3 would also do; a full second of await keeps them together.
        await host.ClientFor(sub).BulkPublishEventAsync("pubsub", "orders", new List<Order> { new("ok", 1), new("retry", 2), new("drop", 3) });

        await Wait.UntilAsync(() => seen.Count(s => s.Id == "retry") == 2 && !dead.IsEmpty, "the RETRY entry again and the DROP entry dead-lettered");
        Assert.Equal("drop", dead.Single().Id);
        var retried = seen.Where(s => s.Id == "retry").ToList();
        Assert.Equal(retried[0].CloudEventId, retried[1].CloudEventId);
        // The second try carries only the entry that asked for it.
        Assert.Equal(["retry"], seen.Where(s => s.Batch == retried[1].Batch).Select(s => s.Id));
        Assert.Single(seen, s => s.Id == "ok");
        Assert.Single(seen, s => s.Id == "drop");
    }

    [Fact]
    public async Task An_unreadable_answer_retries_every_entry_and_a_lone_message_arrives_with_a_small_await()
    {
        await using var host = InMemoryHost(FastRetries);
        var calls = 0;
        var delivered = new ConcurrentQueue<string>();
        await using var app = await SubscriberApp.StartAsync(a => a.MapPost("/orders", (BulkSubscribeMessage<BulkMessageModel<Order>> m) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                return Results.Text(""); // 200 with an empty body: daprd cannot read statuses and retries all
            }

            foreach (var e in m.Entries)
            {
                delivered.Enqueue(e.Event.Data.Id);
            }

            return Results.Json(AllSucceed(m));
        }).WithTopic("pubsub", "orders").WithBulkSubscribe(Bulk("orders", 100, 5)));
        var sub = await host.StartSidecarAsync("bulk-lone", app.Port);
        await sub.SubscribedAsync();

        await host.ClientFor(sub).PublishEventAsync("pubsub", "orders", new Order("lone", 1));

        await Wait.UntilAsync(() => !delivered.IsEmpty, "the lone message, after the retry");
        Assert.Equal(["lone"], delivered);
        Assert.Equal(2, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task A_declarative_subscription_with_bulkSubscribe_is_delivered_in_bulk()
    {
        const string subscription = """
            apiVersion: dapr.io/v2alpha1
            kind: Subscription
            metadata:
              name: decl-bulk
            spec:
              pubsubname: pubsub
              topic: decl
              routes:
                default: /decl
              bulkSubscribe:
                enabled: true
                maxMessagesCount: 3
                maxAwaitDurationMs: 60000
            """;
        await using var host = InMemoryHost(subscription);
        var batches = new ConcurrentQueue<int>();
        await using var app = await SubscriberApp.StartAsync(a => a.MapPost("/decl", (BulkSubscribeMessage<BulkMessageModel<Order>> m) =>
        {
            batches.Enqueue(m.Entries.Count);
            return AllSucceed(m);
        }));
        var sub = await host.StartSidecarAsync("bulk-decl", app.Port);
        await sub.SubscribedAsync();

        // A full batch goes at once; the await (a minute) would never pass within the test.
        await host.ClientFor(sub).BulkPublishEventAsync("pubsub", "decl", new List<Order> { new("1", 1), new("2", 2), new("3", 3) });

        await Wait.UntilAsync(() => batches.Sum() == 3, "three entries");
        Assert.Equal([3], batches);
    }

    [Fact]
    public void Subscribe_discovery_reads_the_SDK_s_bulkSubscribe_and_daprd_s_defaults()
    {
        var (subs, _) = Subscription.ParseProgrammatic("""
            [{"pubsubname":"p","topic":"a","route":"a","bulkSubscribe":{"enabled":true,"maxMessagesCount":7,"maxAwaitDurationMs":5}},
             {"pubsubname":"p","topic":"b","route":"b","bulkSubscribe":{"enabled":true}},
             {"pubsubname":"p","topic":"c","route":"c","bulkSubscribe":{"enabled":false,"maxMessagesCount":7}}]
            """, "app");
        Assert.Equal(new BulkSubscribeOptions(7, TimeSpan.FromMilliseconds(5)), subs[0].Bulk);
        Assert.Equal(new BulkSubscribeOptions(100, TimeSpan.FromSeconds(1)), subs[1].Bulk);
        Assert.Null(subs[2].Bulk);
    }
}
