using System.Collections.Concurrent;
using System.Text;
using Dapr.AppCallback.Autogen.Grpc.v1;
using Dapr.Client;
using Dapr.DevSidecar.Tests.Infrastructure;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Dapr.DevSidecar.Tests;

/// <summary>Pub/sub to an app with app protocol grpc: ListTopicSubscriptions and OnTopicEvent, as daprd calls them.</summary>
[Trait("Area", "DevSidecar")]
public sealed class GrpcAppPubSubTests
{
    /// <summary>A gRPC app subscribing to "orders" (rule for priority orders, default route) and recording what it gets.</summary>
    public sealed class Subscriber : Dapr.AppCallback.Autogen.Grpc.v1.AppCallback.AppCallbackBase
    {
        public ConcurrentQueue<(TopicEventRequest Event, string? Token)> Events { get; } = new();

        /// <summary>Answers RETRY to the first delivery of each event id listed here.</summary>
        public ConcurrentDictionary<string, bool> RetryOnce { get; } = new();

        public override Task<ListTopicSubscriptionsResponse> ListTopicSubscriptions(Empty request, ServerCallContext context)
        {
            var sub = new TopicSubscription { PubsubName = "pubsub", Topic = "orders", Routes = new TopicRoutes { Default = "/orders" } };
            sub.Routes.Rules.Add(new TopicRule { Match = "event.type == \"priority\"", Path = "/orders/priority" });
            return Task.FromResult(new ListTopicSubscriptionsResponse { Subscriptions = { sub } });
        }

        public override Task<TopicEventResponse> OnTopicEvent(TopicEventRequest request, ServerCallContext context)
        {
            Events.Enqueue((request, context.RequestHeaders.GetValue("dapr-api-token")));
            var status = RetryOnce.TryRemove(request.Id, out _)
                ? TopicEventResponse.Types.TopicEventResponseStatus.Retry
                : TopicEventResponse.Types.TopicEventResponseStatus.Success;
            return Task.FromResult(new TopicEventResponse { Status = status });
        }
    }

    [Fact]
    public async Task A_grpc_app_gets_its_subscriptions_events_with_data_and_token_and_retry_redelivers()
    {
        var subscriber = new Subscriber();
        await using var app = await TestApp.StartAsync(a => a.MapGrpcService<Subscriber>(), grpc: true, services: s => s.AddSingleton(subscriber));
        await using var host = PubSubConformanceTests.InMemoryHost();
        var sub = await host.StartSidecarAsync("grpc-subscriber", app.Port, appProtocol: "grpc", appApiToken: "sub-app-token");
        var pub = await host.StartSidecarAsync("publisher");
        await sub.SubscribedAsync();

        var client = host.ClientFor(pub);
        await client.PublishEventAsync("pubsub", "orders", new { id = "o-1" });
        await client.PublishByteEventAsync("pubsub", "orders", Encoding.UTF8.GetBytes("raw bytes"), "application/octet-stream",
            new Dictionary<string, string> { ["cloudevent.type"] = "priority", ["cloudevent.id"] = "ce-2" });
        subscriber.RetryOnce["ce-3"] = true;
        await client.PublishEventAsync("pubsub", "orders", "third", new Dictionary<string, string> { ["cloudevent.id"] = "ce-3" });

        await Wait.UntilAsync(() => subscriber.Events.Count(e => e.Event.Id == "ce-3") == 2 && subscriber.Events.Count >= 4, "all events, the third twice");
        var all = subscriber.Events.ToList();
        Assert.All(all, e => Assert.Equal("sub-app-token", e.Token));
        Assert.All(all, e => Assert.Equal(("orders", "pubsub"), (e.Event.Topic, e.Event.PubsubName)));

        var first = all.Single(e => e.Event.Path == "/orders" && e.Event.Data.ToStringUtf8().Contains("o-1", StringComparison.Ordinal)).Event;
        Assert.Equal("application/json", first.DataContentType);
        Assert.Equal("publisher", first.Source);
        Assert.Equal("1.0", first.SpecVersion);
        Assert.True(first.Extensions.Fields.ContainsKey("traceparent"));

        var priority = all.Single(e => e.Event.Id == "ce-2").Event;
        Assert.Equal("/orders/priority", priority.Path);
        Assert.Equal("raw bytes", priority.Data.ToStringUtf8());
        Assert.Equal("application/octet-stream", priority.DataContentType);
    }

    [Fact]
    public async Task A_grpc_app_without_AppCallback_has_no_subscriptions_and_the_sidecar_gets_ready()
    {
        await using var app = await TestApp.StartAsync(a => a.MapGrpcService<GrpcProxyTests.EchoService>(), grpc: true);
        await using var host = PubSubConformanceTests.InMemoryHost();
        var sidecar = await host.StartSidecarAsync("no-callback", app.Port, appProtocol: "grpc");
        await sidecar.SubscribedAsync();
        Assert.Empty(sidecar.Services.GetRequiredService<Dapr.DevSidecar.PubSub.PubSubSubscriber>().Subscriptions);
    }
}
