using Dapr.Client.Autogen.Grpc.v1;
using Dapr.DevSidecar.Components;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.PubSub;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dapr.DevSidecar.Components
{
    public static partial class ComponentTypes
    {
        static partial void AddPubSubTypes(Dictionary<string, Func<ComponentDefinition, ComponentRuntime, object>> factories)
        {
            factories["pubsub.in-memory"] = (def, rt) => InMemoryPubSub.For(rt, def.Name);
            factories["pubsub.redis"] = (def, rt) => RedisPubSub.Create(def, rt.LoggerFactory);
        }
    }
}

namespace Dapr.DevSidecar.Hosting
{
    internal static partial class SidecarServices
    {
        static partial void AddPubSub(IServiceCollection services, SidecarContext context)
        {
            services.AddSingleton<PubSubApi>();
            services.AddSingleton<PubSubSubscriber>();
        }

        static partial void StartPubSub(IServiceProvider services, SidecarContext context, List<Func<Task>> starts) =>
            starts.Add(() =>
            {
                services.GetRequiredService<PubSubSubscriber>().Start();
                return Task.CompletedTask;
            });
    }
}

namespace Dapr.DevSidecar.Api
{
    public partial class DaprGrpcService
    {
        static partial void BindPubSub(ServiceBinderBase binder, DaprGrpcService? service)
        {
            Unary(binder, "PublishEvent", PublishEventRequest.Parser, Empty.Parser, service is null ? null : service.PublishEvent);
            Unary(binder, "BulkPublishEvent", BulkPublishRequest.Parser, BulkPublishResponse.Parser, service is null ? null : service.BulkPublishEvent);
            Unary(binder, "BulkPublishEventAlpha1", BulkPublishRequest.Parser, BulkPublishResponse.Parser, service is null ? null : service.BulkPublishEventAlpha1);
        }

        public virtual Task<Empty> PublishEvent(PublishEventRequest request, ServerCallContext context) =>
            DaprErrors.Grpc(async () =>
            {
                await Services.GetRequiredService<PubSubApi>().PublishAsync(request.PubsubName, request.Topic, request.Data.ToByteArray(),
                    request.DataContentType, request.Metadata, GrpcTrace(context), context.CancellationToken);
                return new Empty();
            });

        public virtual Task<BulkPublishResponse> BulkPublishEvent(BulkPublishRequest request, ServerCallContext context) =>
            DaprErrors.Grpc(async () =>
            {
                var entries = request.Entries.Select(e => new PubSubApi.BulkEntry(e.EntryId, e.Event.ToByteArray(), e.ContentType, e.Metadata)).ToList();
                var failed = await Services.GetRequiredService<PubSubApi>().BulkPublishAsync(request.PubsubName, request.Topic, entries,
                    request.Metadata, GrpcTrace(context), context.CancellationToken);
                var response = new BulkPublishResponse();
                response.FailedEntries.Add(failed.Select(f => new BulkPublishResponseFailedEntry { EntryId = f.EntryId, Error = f.Error }));
                return response;
            });

        public virtual Task<BulkPublishResponse> BulkPublishEventAlpha1(BulkPublishRequest request, ServerCallContext context) =>
            BulkPublishEvent(request, context);

        private static PubSubApi.Trace GrpcTrace(ServerCallContext context) =>
            new(context.RequestHeaders.GetValue("traceparent"), context.RequestHeaders.GetValue("tracestate"));
    }

    public static partial class HttpApi
    {
        static partial void MapPubSub(RouteGroupBuilder v1, SidecarContext context)
        {
            v1.MapPost("/publish/{pubsubname}/{*topic}", (string pubsubname, string? topic, HttpRequest request, PubSubApi api) =>
                DaprErrors.Http(async () =>
                {
                    using var buffer = new MemoryStream();
                    await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
                    await api.PublishAsync(pubsubname, topic ?? "", buffer.ToArray(), request.ContentType, Api.HttpApi.QueryMetadata(request),
                        new PubSubApi.Trace(request.Headers["traceparent"].FirstOrDefault(), request.Headers["tracestate"].FirstOrDefault()),
                        request.HttpContext.RequestAborted);
                    return Results.NoContent();
                }));
        }
    }
}
