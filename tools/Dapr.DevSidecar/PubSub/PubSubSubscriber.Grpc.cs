using System.Text.Json.Nodes;
using Dapr.AppCallback.Autogen.Grpc.v1;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.Invocation;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.PubSub;

/// <summary>
/// Pub/sub for apps whose app protocol is grpc, as daprd does it: subscriptions from
/// <c>AppCallback/ListTopicSubscriptions</c>, each event delivered by <c>AppCallback/OnTopicEvent</c>
/// with the CloudEvent's fields, its data as bytes and its other attributes as extensions. The app's
/// <c>TopicEventResponse</c> status is read like the HTTP <c>status</c>; an app error is retried,
/// except <c>Unimplemented</c>, which drops the event. Bulk delivery to gRPC apps
/// (<c>AppCallbackAlpha/OnBulkTopicEventAlpha1</c>) is not implemented: such a subscription is
/// refused with an error naming that API.
/// </summary>
public sealed partial class PubSubSubscriber
{
    private static readonly Method<Empty, ListTopicSubscriptionsResponse> ListTopicSubscriptions =
        AppConnections.AppCallbackMethod("ListTopicSubscriptions", Empty.Parser, ListTopicSubscriptionsResponse.Parser);

    private static readonly Method<TopicEventRequest, TopicEventResponse> OnTopicEvent =
        AppConnections.AppCallbackMethod("OnTopicEvent", TopicEventRequest.Parser, TopicEventResponse.Parser);

    /// <summary>CloudEvent attributes that have fields of their own in <c>TopicEventRequest</c>.</summary>
    private static readonly HashSet<string> RequestFields = new(StringComparer.Ordinal)
    {
        "id", "source", "type", "specversion", "datacontenttype", "data", "data_base64", "topic", "pubsubname",
    };

    private bool IsGrpcApp => string.Equals(_app.Options.AppProtocol, "grpc", StringComparison.OrdinalIgnoreCase);

    private CallInvoker GrpcApp => AppConnections.GrpcTo(_app.Options.AppChannelAddress, _app.Options.AppPort!.Value).CreateCallInvoker();

    private Metadata GrpcHeaders(string? traceParent = null)
    {
        var headers = new Metadata();
        if (!string.IsNullOrEmpty(_app.Options.AppApiToken))
        {
            headers.Add(AppChannel.ApiTokenHeader, _app.Options.AppApiToken);
        }

        if (!string.IsNullOrEmpty(traceParent))
        {
            headers.Add("traceparent", traceParent);
        }

        return headers;
    }

    /// <summary>Asks the gRPC app for its subscriptions, retrying until it listens; <c>Unimplemented</c> means none.</summary>
    private async Task<List<Subscription>> DiscoverGrpcAsync(CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                using var call = GrpcApp.AsyncUnaryCall(ListTopicSubscriptions, null, new CallOptions(GrpcHeaders(), cancellationToken: ct), new Empty());
                var response = await call.ResponseAsync;
                var (subs, warnings) = Subscription.ParseProgrammatic(ToSubscribeJson(response), _sidecar.AppId);
                foreach (var w in warnings)
                {
                    _log.LogWarning("{Warning}", w);
                }

                return subs;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
            {
                return [];
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
            {
                // The app is not listening yet.
                await Task.Delay(delay, _time, ct);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 500));
            }
        }
    }

    /// <summary>The gRPC answer in the shape of <c>GET /dapr/subscribe</c>, so both read through one parser.</summary>
    private static string ToSubscribeJson(ListTopicSubscriptionsResponse response)
    {
        var array = new JsonArray();
        foreach (var s in response.Subscriptions)
        {
            var item = new JsonObject { ["pubsubname"] = s.PubsubName, ["topic"] = s.Topic };
            if (s.Metadata.Count > 0)
            {
                item["metadata"] = new JsonObject(s.Metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value))));
            }

            if (s.Routes is { } routes)
            {
                var rules = new JsonArray();
                foreach (var rule in routes.Rules)
                {
                    rules.Add(new JsonObject { ["match"] = rule.Match, ["path"] = rule.Path });
                }

                item["routes"] = new JsonObject { ["rules"] = rules, ["default"] = routes.Default };
            }

            if (s.DeadLetterTopic.Length > 0)
            {
                item["deadLetterTopic"] = s.DeadLetterTopic;
            }

            if (s.BulkSubscribe is { Enabled: true } bulk)
            {
                item["bulkSubscribe"] = new JsonObject { ["enabled"] = true, ["maxMessagesCount"] = bulk.MaxMessagesCount, ["maxAwaitDurationMs"] = bulk.MaxAwaitDurationMs };
            }

            array.Add(item);
        }

        return array.ToJsonString();
    }

    private async Task<Outcome> DeliverOnceGrpcAsync(Subscription sub, string path, JsonObject cloudEvent, CancellationToken ct)
    {
        var request = new TopicEventRequest
        {
            Id = Text(cloudEvent, "id"),
            Source = Text(cloudEvent, "source"),
            Type = Text(cloudEvent, "type"),
            SpecVersion = Text(cloudEvent, "specversion"),
            DataContentType = Text(cloudEvent, "datacontenttype"),
            Topic = sub.Topic,
            PubsubName = sub.PubSubName,
            Path = path,
            Data = ByteString.CopyFrom(CloudEvents.DataBytes(cloudEvent)),
        };
        var extensions = new JsonObject(cloudEvent.Where(kv => !RequestFields.Contains(kv.Key)).Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.DeepClone())));
        if (extensions.Count > 0)
        {
            request.Extensions = Struct.Parser.ParseJson(extensions.ToJsonString());
        }

        try
        {
            using var call = GrpcApp.AsyncUnaryCall(OnTopicEvent, null, new CallOptions(GrpcHeaders(Text(cloudEvent, "traceparent")), cancellationToken: ct), request);
            var response = await call.ResponseAsync;
            switch (response.Status)
            {
                case TopicEventResponse.Types.TopicEventResponseStatus.Success:
                    return Outcome.Success;
                case TopicEventResponse.Types.TopicEventResponseStatus.Drop:
                    Log.AppDropped(_log, sub, cloudEvent["id"]);
                    return Outcome.Drop;
                case TopicEventResponse.Types.TopicEventResponseStatus.Retry:
                    return Outcome.Retry;
                default:
                    Log.UnknownStatus(_log, sub, response.Status.ToString(), cloudEvent["id"]);
                    return Outcome.Retry;
            }
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
        {
            Log.AppNotFound(_log, sub, cloudEvent["id"], path);
            return Outcome.Drop;
        }
        catch (RpcException ex) when (!ct.IsCancellationRequested)
        {
            Log.DeliveryFailed(_log, sub, cloudEvent["id"], path, $"{ex.StatusCode}: {ex.Status.Detail}");
            return Outcome.Retry;
        }
    }

    private static string Text(JsonObject cloudEvent, string name) =>
        cloudEvent[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
}
