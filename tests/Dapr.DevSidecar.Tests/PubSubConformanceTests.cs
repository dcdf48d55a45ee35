using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapr;
using Dapr.Client;
using Dapr.DevSidecar.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Dapr.DevSidecar.Tests;

/// <summary>Pub/sub through the official SDK on both ends: Dapr.Client publishes, Dapr.AspNetCore apps subscribe.</summary>
[Trait("Area", "DevSidecar")]
public sealed partial class PubSubConformanceTests
{
    public sealed record Order(string Id, int Amount);

    [GeneratedRegex("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$")]
    private static partial Regex TraceParent();

    /// <summary>A host whose sidecars load <c>pubsub</c> (pubsub.in-memory) and <paramref name="extraYaml"/>.</summary>
    internal static SidecarTestHost InMemoryHost(string? extraYaml = null)
    {
        var host = new SidecarTestHost().WithComponent("pubsub.yaml", SidecarTestHost.Component("pubsub", "pubsub.in-memory"));
        if (extraYaml is not null)
        {
            host.WithComponent("extra.yaml", extraYaml);
        }

        return host;
    }

    [Fact]
    public async Task Subscriber_receives_the_CloudEvent_with_daprd_fields()
    {
        await using var host = InMemoryHost();
        var got = new ConcurrentQueue<Order>();
        await using var app = await SubscriberApp.StartAsync(a => a.MapPost("/orders", (Order o) => { got.Enqueue(o); return Results.Ok(); }).WithTopic("pubsub", "orders"));
        var sub = await host.StartSidecarAsync("checkout", app.Port);
        var pub = await host.StartSidecarAsync("frontend");
        await sub.SubscribedAsync();

        var before = DateTimeOffset.UtcNow.AddSeconds(-2);
        await host.ClientFor(pub).PublishEventAsync("pubsub", "orders", new Order("o-1", 42));

        await Wait.UntilAsync(() => !got.IsEmpty, "the order is delivered");
        Assert.Equal(new Order("o-1", 42), got.Single());
        var raw = app.Requests.Single(r => r.Path == "/orders");
        Assert.Equal("application/cloudevents+json", raw.ContentType);
        using var ce = JsonDocument.Parse(raw.Body);
        var e = ce.RootElement;
        Assert.True(Guid.TryParse(e.GetProperty("id").GetString(), out _));
        Assert.Equal("frontend", e.GetProperty("source").GetString());
        Assert.Equal("com.dapr.event.sent", e.GetProperty("type").GetString());
        Assert.Equal("1.0", e.GetProperty("specversion").GetString());
        Assert.Equal("application/json", e.GetProperty("datacontenttype").GetString());
        Assert.Equal("o-1", e.GetProperty("data").GetProperty("id").GetString());
        Assert.Equal(42, e.GetProperty("data").GetProperty("amount").GetInt32());
        Assert.Equal("orders", e.GetProperty("topic").GetString());
        Assert.Equal("pubsub", e.GetProperty("pubsubname").GetString());
        var traceparent = e.GetProperty("traceparent").GetString()!;
        Assert.Matches(TraceParent(), traceparent);
        Assert.Equal(traceparent, e.GetProperty("traceid").GetString());
        Assert.Equal(JsonValueKind.String, e.GetProperty("tracestate").ValueKind);
        var time = DateTimeOffset.Parse(e.GetProperty("time").GetString()!, CultureInfo.InvariantCulture);
        Assert.InRange(time, before, DateTimeOffset.UtcNow.AddSeconds(2));
        Assert.Equal(traceparent, raw.Headers["traceparent"]);
    }

    [Fact]
    public async Task Healthz_is_not_ready_until_the_app_answers_and_its_subscriptions_are_in_place()
    {
        await using var host = InMemoryHost();
        var port = Dapr.DevSidecar.Hosting.SidecarHost.FreePort();
        var sub = await host.StartSidecarAsync("checkout", port);
        using var http = new HttpClient { BaseAddress = new Uri(sub.HttpEndpoint) };

        // The app is not listening yet: outbound calls work, but a publish now would find no subscriber.
        var early = await http.GetAsync("/v1.0/healthz");
        Assert.Equal(HttpStatusCode.InternalServerError, early.StatusCode);
        Assert.Contains("ERR_HEALTH_NOT_READY", await early.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/v1.0/healthz/outbound")).StatusCode);

        var got = new ConcurrentQueue<Order>();
        await using var app = await SubscriberApp.StartAsync(a => a.MapPost("/orders", (Order o) => { got.Enqueue(o); return Results.Ok(); }).WithTopic("pubsub", "orders"), port);
        await Wait.UntilAsync(async () => (await http.GetAsync("/v1.0/healthz")).StatusCode == HttpStatusCode.NoContent, "the sidecar reports ready");

        // Ready means subscribed: the very first publish is delivered.
        var pub = await host.StartSidecarAsync("frontend");
        await host.ClientFor(pub).PublishEventAsync("pubsub", "orders", new Order("o-1", 1));
        await Wait.UntilAsync(() => !got.IsEmpty, "the first order is delivered");
    }

    [Fact]
    public async Task Cloudevent_metadata_overrides_and_binary_data_base64()
    {
        await using var host = InMemoryHost();
        await using var app = await SubscriberApp.StartAsync(a => a.MapPost("/bin", () => Results.Ok()).WithTopic("pubsub", "bin"));
        var sub = await host.StartSidecarAsync("sub", app.Port);
        var pub = await host.StartSidecarAsync("pub");
        await sub.SubscribedAsync();

        // Over the HTTP API: a binary body, cloudevent.* metadata in the query.
        using var http = new HttpClient();
        using var content = new ByteArrayContent([1, 2, 3, 250]);
        content.Headers.ContentType = new("application/octet-stream");
        var response = await http.PostAsync($"{pub.HttpEndpoint}/v1.0/publish/pubsub/bin?metadata.cloudevent.id=my-id&metadata.cloudevent.type=my.type&metadata.cloudevent.source=elsewhere", content);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);

        await Wait.UntilAsync(() => app.Requests.Any(r => r.Path == "/bin"), "delivery");
        using var ce = JsonDocument.Parse(app.Requests.Single(r => r.Path == "/bin").Body);
        Assert.Equal("my-id", ce.RootElement.GetProperty("id").GetString());
        Assert.Equal("my.type", ce.RootElement.GetProperty("type").GetString());
        Assert.Equal("elsewhere", ce.RootElement.GetProperty("source").GetString());
        Assert.Equal(Convert.ToBase64String(new byte[] { 1, 2, 3, 250 }), ce.RootElement.GetProperty("data_base64").GetString());
        Assert.False(ce.RootElement.TryGetProperty("data", out _));
    }

    [Fact]
    public async Task A_published_CloudEvent_keeps_its_fields_and_gets_topic_and_pubsub()
    {
        await using var host = InMemoryHost();
        var got = new ConcurrentQueue<Order>();
        await using var app = await SubscriberApp.StartAsync(a => a.MapPost("/ce", (Order o) => { got.Enqueue(o); return Results.Ok(); }).WithTopic("pubsub", "ce"));
        var sub = await host.StartSidecarAsync("sub", app.Port);
        var pub = await host.StartSidecarAsync("pub");
        await sub.SubscribedAsync();

        await host.ClientFor(pub).PublishEventAsync("pubsub", "ce", new CloudEvent<Order>(new Order("c", 7))
        {
            Source = new Uri("urn:custom-source"),
            Type = "custom.type",
        });

        await Wait.UntilAsync(() => !got.IsEmpty, "delivery");
        Assert.Equal(new Order("c", 7), got.Single());
        using var ce = JsonDocument.Parse(app.Requests.Single(r => r.Path == "/ce").Body);
        Assert.Equal("urn:custom-source", ce.RootElement.GetProperty("source").GetString());
        Assert.Equal("custom.type", ce.RootElement.GetProperty("type").GetString());
        Assert.Equal("ce", ce.RootElement.GetProperty("topic").GetString());
        Assert.Equal("pubsub", ce.RootElement.GetProperty("pubsubname").GetString());
        Assert.True(ce.RootElement.TryGetProperty("time", out _));
    }

    [Fact]
    public async Task Retry_status_redelivers_the_same_event()
    {
        await using var host = InMemoryHost();
        var calls = 0;
        await using var app = await SubscriberApp.StartAsync(a => a.MapPost("/orders", () =>
            Interlocked.Increment(ref calls) == 1 ? Results.Json(new { status = "RETRY" }) : Results.Json(new { status = "SUCCESS" })).WithTopic("pubsub", "orders"));
        var sub = await host.StartSidecarAsync("sub", app.Port);
        await sub.SubscribedAsync();

        await host.ClientFor(sub).PublishEventAsync("pubsub", "orders", new Order("r", 1));

        await Wait.UntilAsync(() => Volatile.Read(ref calls) >= 2, "a second delivery after RETRY");
        var ids = app.Requests.Where(r => r.Path == "/orders").Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("id").GetString()).ToList();
        Assert.Equal(2, ids.Count);
        Assert.Equal(ids[0], ids[1]);
    }

    /// <summary>An inbound retry policy for <c>pubsub</c>: two retries, 50 ms apart.</summary>
    internal const string FastRetries = """
        apiVersion: dapr.io/v1alpha1
        kind: Resiliency
        metadata:
          name: fast
        spec:
          policies:
            retries:
              quick:
                policy: constant
                duration: 50ms
                maxRetries: 2
          targets:
            components:
              pubsub:
                inbound:
                  retry: quick
        """;

    [Fact]
    public async Task Drop_status_drops_to_the_dead_letter_topic_without_retrying()
    {
        await using var host = InMemoryHost(FastRetries);
        var calls = 0;
        var dead = new ConcurrentQueue<Order>();
        await using var app = await SubscriberApp.StartAsync(a =>
        {
            a.MapPost("/orders", () => { Interlocked.Increment(ref calls); return Results.Json(new { status = "DROP" }); })
                .WithTopic(new TopicOptions { PubsubName = "pubsub", Name = "orders", DeadLetterTopic = "orders-dead" });
            a.MapPost("/dead", (Order o) => { dead.Enqueue(o); return Results.Ok(); }).WithTopic("pubsub", "orders-dead");
        });
        var sub = await host.StartSidecarAsync("sub", app.Port);
        await sub.SubscribedAsync();

        await host.ClientFor(sub).PublishEventAsync("pubsub", "orders", new Order("d", 1));

        await Wait.UntilAsync(() => !dead.IsEmpty, "the dead-letter topic receives the dropped event");
        Assert.Equal(new Order("d", 1), dead.Single());
        // Dead-lettering ends the event's handling (retries come before it): one call, none after.
        Assert.Equal(1, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task Not_found_drops_and_errors_retry_per_the_Resiliency_policy_then_dead_letter()
    {
        await using var host = InMemoryHost(FastRetries);
        var failing = 0;
        var dead = new ConcurrentQueue<string>();
        await using var app = await SubscriberApp.StartAsync(a =>
        {
            a.MapPost("/failing", () => { Interlocked.Increment(ref failing); return Results.StatusCode(500); })
                .WithTopic(new TopicOptions { PubsubName = "pubsub", Name = "failing", DeadLetterTopic = "dead" });
            a.MapPost("/missing", () => Results.NotFound())
                .WithTopic(new TopicOptions { PubsubName = "pubsub", Name = "missing", DeadLetterTopic = "dead" });
            a.MapPost("/dead", (Order o) => { dead.Enqueue(o.Id); return Results.Ok(); }).WithTopic("pubsub", "dead");
        });
        var sub = await host.StartSidecarAsync("sub", app.Port);
        await sub.SubscribedAsync();
        var dapr = host.ClientFor(sub);

        await dapr.PublishEventAsync("pubsub", "missing", new Order("404", 1));
        await Wait.UntilAsync(() => dead.Contains("404"), "404 goes to the dead-letter topic");
        Assert.Single(app.Requests, r => r.Path == "/missing");

        await dapr.PublishEventAsync("pubsub", "failing", new Order("500", 1));
        await Wait.UntilAsync(() => dead.Contains("500"), "after the retries, the dead-letter topic");
        Assert.Equal(3, Volatile.Read(ref failing)); // the first try and maxRetries: 2
    }

    [Fact]
    public async Task Route_rules_pick_the_path_by_event_type()
    {
        await using var host = InMemoryHost();
        var created = new ConcurrentQueue<Order>();
        var other = new ConcurrentQueue<Order>();
        await using var app = await SubscriberApp.StartAsync(a =>
        {
            a.MapPost("/created", (Order o) => { created.Enqueue(o); return Results.Ok(); })
                .WithTopic(new TopicOptions { PubsubName = "pubsub", Name = "events", Match = "event.type == \"order.created\" && event.source == \"shop\"", Priority = 1 });
            a.MapPost("/other", (Order o) => { other.Enqueue(o); return Results.Ok(); }).WithTopic("pubsub", "events");
        });
        var sub = await host.StartSidecarAsync("sub", app.Port);
        var pub = await host.StartSidecarAsync("shop");
        await sub.SubscribedAsync();
        var dapr = host.ClientFor(pub);

        await dapr.PublishEventAsync("pubsub", "events", new Order("a", 1), new Dictionary<string, string> { ["cloudevent.type"] = "order.created" });
        await dapr.PublishEventAsync("pubsub", "events", new Order("b", 2), new Dictionary<string, string> { ["cloudevent.type"] = "order.cancelled" });

        await Wait.UntilAsync(() => created.Count + other.Count == 2, "both events delivered");
        Assert.Equal("a", created.Single().Id);
        Assert.Equal("b", other.Single().Id);
    }

    [Fact]
    public async Task Unsupported_match_expression_fails_discovery_clearly()
    {
        await using var host = InMemoryHost();
        await using var app = await SubscriberApp.StartAsync(a =>
        {
            a.MapPost("/x", () => Results.Ok()).WithTopic(new TopicOptions { PubsubName = "pubsub", Name = "t", Match = "event.data.amount > 10", Priority = 1 });
            a.MapPost("/y", () => Results.Ok()).WithTopic("pubsub", "t");
        });
        var sub = await host.StartSidecarAsync("sub", app.Port);

        var ex = await Assert.ThrowsAsync<FormatException>(() => sub.SubscribedAsync());
        Assert.Contains("event.data.amount > 10", ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not support '>'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bulk_publish_through_the_SDK_delivers_every_entry()
    {
        await using var host = InMemoryHost();
        var got = new ConcurrentQueue<Order>();
        await using var app = await SubscriberApp.StartAsync(a => a.MapPost("/orders", (Order o) => { got.Enqueue(o); return Results.Ok(); }).WithTopic("pubsub", "orders"));
        var sub = await host.StartSidecarAsync("sub", app.Port);
        await sub.SubscribedAsync();

        var result = await host.ClientFor(sub).BulkPublishEventAsync("pubsub", "orders", new List<Order> { new("1", 1), new("2", 2), new("3", 3) });

        Assert.Empty(result.FailedEntries);
        await Wait.UntilAsync(() => got.Count == 3, "three deliveries");
        Assert.Equal(["1", "2", "3"], got.Select(o => o.Id).Order());
    }

    [Fact]
    public async Task Raw_payload_publish_reaches_a_raw_subscriber_as_the_bytes_published()
    {
        await using var host = InMemoryHost();
        var got = new ConcurrentQueue<string>();
        await using var app = await SubscriberApp.StartAsync(a => a.MapPost("/raw", async (HttpRequest r) =>
        {
            using var reader = new StreamReader(r.Body);
            got.Enqueue(await reader.ReadToEndAsync());
            return Results.Ok();
        }).WithTopic("pubsub", "raw", enableRawPayload: true));
        var sub = await host.StartSidecarAsync("sub", app.Port);
        await sub.SubscribedAsync();

        using var http = new HttpClient();
        var response = await http.PostAsync($"{sub.HttpEndpoint}/v1.0/publish/pubsub/raw?metadata.rawPayload=true", new StringContent("plain bytes <3", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);

        await Wait.UntilAsync(() => !got.IsEmpty, "raw delivery");
        Assert.Equal("plain bytes <3", got.Single());
        using var ce = JsonDocument.Parse(app.Requests.Single(r => r.Path == "/raw").Body);
        Assert.Equal("application/octet-stream", ce.RootElement.GetProperty("datacontenttype").GetString());
    }

    [Fact]
    public async Task Apps_share_one_consumer_group_per_app_id_and_each_app_gets_every_message()
    {
        await using var host = InMemoryHost();
        var a1 = new ConcurrentQueue<string>();
        var a2 = new ConcurrentQueue<string>();
        var b = new ConcurrentQueue<string>();
        await using var app1 = await SubscriberApp.StartAsync(a => a.MapPost("/o", (Order o) => { a1.Enqueue(o.Id); return Results.Ok(); }).WithTopic("pubsub", "o"));
        await using var app2 = await SubscriberApp.StartAsync(a => a.MapPost("/o", (Order o) => { a2.Enqueue(o.Id); return Results.Ok(); }).WithTopic("pubsub", "o"));
        await using var other = await SubscriberApp.StartAsync(a => a.MapPost("/o", (Order o) => { b.Enqueue(o.Id); return Results.Ok(); }).WithTopic("pubsub", "o"));
        var s1 = await host.StartSidecarAsync("billing", app1.Port);
        var s2 = await host.StartSidecarAsync("billing", app2.Port);
        var s3 = await host.StartSidecarAsync("audit", other.Port);
        await Task.WhenAll(s1.SubscribedAsync(), s2.SubscribedAsync(), s3.SubscribedAsync());

        var dapr = host.ClientFor(s3);
        for (var i = 0; i < 10; i++)
        {
            await dapr.PublishEventAsync("pubsub", "o", new Order(i.ToString(CultureInfo.InvariantCulture), i));
        }

        await Wait.UntilAsync(() => b.Count == 10 && a1.Count + a2.Count == 10, "10 to audit, 10 across billing's instances");
        Assert.Equal(10, a1.Concat(a2).Distinct().Count());
        Assert.NotEmpty(a1);
        Assert.NotEmpty(a2);
    }

    [Fact]
    public async Task Publish_errors_are_daprd_s()
    {
        await using var host = InMemoryHost();
        var sidecar = await host.StartSidecarAsync("pub");
        var dapr = host.ClientFor(sidecar);

        var ex = await Assert.ThrowsAsync<DaprException>(() => dapr.PublishEventAsync("nope", "t", new Order("x", 1)));
        var rpc = Assert.IsType<Grpc.Core.RpcException>(ex.InnerException);
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, rpc.StatusCode);
        Assert.Equal("pubsub nope is not found", rpc.Status.Detail);

        using var http = new HttpClient();
        var response = await http.PostAsync($"{sidecar.HttpEndpoint}/v1.0/publish/nope/t", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("ERR_PUBSUB_NOT_FOUND", body.RootElement.GetProperty("errorCode").GetString());

        var emptyTopic = await http.PostAsync($"{sidecar.HttpEndpoint}/v1.0/publish/pubsub/", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.NotFound, emptyTopic.StatusCode);
        using var emptyBody = JsonDocument.Parse(await emptyTopic.Content.ReadAsStringAsync());
        Assert.Equal("ERR_TOPIC_NAME_EMPTY", emptyBody.RootElement.GetProperty("errorCode").GetString());
        Assert.Equal("topic is empty in pubsub pubsub", emptyBody.RootElement.GetProperty("message").GetString());

        await using var bare = new SidecarTestHost();
        var none = await bare.StartSidecarAsync("none");
        var notConfigured = await Assert.ThrowsAsync<DaprException>(() => bare.ClientFor(none).PublishEventAsync("pubsub", "t", new Order("x", 1)));
        Assert.Equal(Grpc.Core.StatusCode.FailedPrecondition, ((Grpc.Core.RpcException)notConfigured.InnerException!).StatusCode);
    }

    [Fact]
    public async Task Declarative_subscription_v2alpha1_is_delivered()
    {
        const string subscription = """
            apiVersion: dapr.io/v2alpha1
            kind: Subscription
            metadata:
              name: decl
            spec:
              pubsubname: pubsub
              topic: decl
              routes:
                rules:
                  - match: event.type == "special"
                    path: /special
                default: /plain
            scopes:
              - sub
            """;
        await using var host = InMemoryHost(subscription);
        var special = new ConcurrentQueue<Order>();
        var plain = new ConcurrentQueue<Order>();
        await using var app = await SubscriberApp.StartAsync(a =>
        {
            a.MapPost("/special", (Order o) => { special.Enqueue(o); return Results.Ok(); });
            a.MapPost("/plain", (Order o) => { plain.Enqueue(o); return Results.Ok(); });
        });
        var sub = await host.StartSidecarAsync("sub", app.Port);
        await sub.SubscribedAsync();
        var dapr = host.ClientFor(sub);

        await dapr.PublishEventAsync("pubsub", "decl", new Order("s", 1), new Dictionary<string, string> { ["cloudevent.type"] = "special" });
        await dapr.PublishEventAsync("pubsub", "decl", new Order("p", 2));

        await Wait.UntilAsync(() => special.Count == 1 && plain.Count == 1, "one to each route");
        Assert.Equal("s", special.Single().Id);
    }
}
