using Dapr.Client.Autogen.Grpc.v1;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.State;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Dapr.DevSidecar.Api;

/// <summary>
/// The sidecar's gRPC API, <c>dapr.proto.runtime.v1.Dapr</c>, bound by hand over the message
/// types of the Dapr.Protos package (which ships no server base class). Grpc.AspNetCore
/// finds each handler as a public virtual method named like the RPC. RPCs not bound here are
/// answered Unimplemented, naming the method, by <see cref="GrpcFallbackMiddleware"/>.
/// </summary>
[BindServiceMethod(typeof(DaprGrpcService), nameof(BindService))]
public partial class DaprGrpcService(SidecarContext sidecar, StateApi state, IServiceProvider services)
{
    public const string ServiceName = "dapr.proto.runtime.v1.Dapr";

    private static readonly HashSet<string> BoundMethods = new(StringComparer.Ordinal);

    /// <summary>The RPC names this sidecar implements.</summary>
    public static IReadOnlySet<string> Implemented
    {
        get
        {
            lock (BoundMethods)
            {
                if (BoundMethods.Count == 0)
                {
                    BindService(new NameCollector(BoundMethods), null);
                }

                return BoundMethods;
            }
        }
    }

    protected SidecarContext Sidecar { get; } = sidecar;

    /// <summary>The sidecar's services, for building blocks that keep their own API objects in DI.</summary>
    protected IServiceProvider Services { get; } = services;

    public static void BindService(ServiceBinderBase binder, DaprGrpcService? service)
    {
        // State
        Unary(binder, "GetState", GetStateRequest.Parser, GetStateResponse.Parser, service is null ? null : service.GetState);
        Unary(binder, "GetBulkState", GetBulkStateRequest.Parser, GetBulkStateResponse.Parser, service is null ? null : service.GetBulkState);
        Unary(binder, "SaveState", SaveStateRequest.Parser, Empty.Parser, service is null ? null : service.SaveState);
        Unary(binder, "DeleteState", DeleteStateRequest.Parser, Empty.Parser, service is null ? null : service.DeleteState);
        Unary(binder, "DeleteBulkState", DeleteBulkStateRequest.Parser, Empty.Parser, service is null ? null : service.DeleteBulkState);
        Unary(binder, "ExecuteStateTransaction", ExecuteStateTransactionRequest.Parser, Empty.Parser, service is null ? null : service.ExecuteStateTransaction);
        // Each other building block binds its RPCs in its own partial file.
        BindPubSub(binder, service);
        BindBindings(binder, service);
        BindSecrets(binder, service);
        BindMetadata(binder, service);
        BindInvocation(binder, service);
        BindActors(binder, service);
    }

    static partial void BindPubSub(ServiceBinderBase binder, DaprGrpcService? service);

    static partial void BindBindings(ServiceBinderBase binder, DaprGrpcService? service);

    static partial void BindSecrets(ServiceBinderBase binder, DaprGrpcService? service);

    static partial void BindMetadata(ServiceBinderBase binder, DaprGrpcService? service);

    static partial void BindInvocation(ServiceBinderBase binder, DaprGrpcService? service);

    static partial void BindActors(ServiceBinderBase binder, DaprGrpcService? service);

    /// <summary>Adds one unary RPC of the Dapr service.</summary>
    protected static void Unary<TRequest, TResponse>(
        ServiceBinderBase binder, string name, MessageParser<TRequest> requestParser, MessageParser<TResponse> responseParser,
        UnaryServerMethod<TRequest, TResponse>? handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var method = new Method<TRequest, TResponse>(
            MethodType.Unary, ServiceName, name,
            Marshallers.Create(m => m.ToByteArray(), requestParser.ParseFrom),
            Marshallers.Create(m => m.ToByteArray(), responseParser.ParseFrom));
        binder.AddMethod(method, handler);
    }

    public virtual Task<GetStateResponse> GetState(GetStateRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            var entry = await state.GetAsync(request.StoreName, request.Key, context.CancellationToken);
            var response = new GetStateResponse();
            if (entry is not null)
            {
                response.Data = ByteString.CopyFrom(entry.Value);
                response.Etag = entry.ETag;
                response.Metadata.Add(StateApi.ResponseMetadata(entry));
            }

            return response;
        });

    public virtual Task<GetBulkStateResponse> GetBulkState(GetBulkStateRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            var found = await state.GetBulkAsync(request.StoreName, request.Keys, context.CancellationToken);
            var response = new GetBulkStateResponse();
            foreach (var got in found)
            {
                var item = new BulkStateItem { Key = got.Key };
                if (got.Entry is { } e)
                {
                    item.Data = ByteString.CopyFrom(e.Value);
                    item.Etag = e.ETag;
                    item.Metadata.Add(StateApi.ResponseMetadata(e));
                }

                response.Items.Add(item);
            }

            return response;
        });

    public virtual Task<Empty> SaveState(SaveStateRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            await state.SaveAsync(request.StoreName, request.States.Select(ToItem).ToList(), context.CancellationToken);
            return new Empty();
        });

    public virtual Task<Empty> DeleteState(DeleteStateRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            await state.DeleteAsync(request.StoreName, request.Key, request.Etag?.Value, Concurrency(request.Options), context.CancellationToken);
            return new Empty();
        });

    public virtual Task<Empty> DeleteBulkState(DeleteBulkStateRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            foreach (var item in request.States)
            {
                await state.DeleteAsync(request.StoreName, item.Key, item.Etag?.Value, Concurrency(item.Options), context.CancellationToken);
            }

            return new Empty();
        });

    public virtual Task<Empty> ExecuteStateTransaction(ExecuteStateTransactionRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            var ops = request.Operations.Select(o => (o.OperationType, ToItem(o.Request ?? new StateItem()))).ToList();
            await state.TransactAsync(request.StoreName, ops, context.CancellationToken);
            return new Empty();
        });

    private static StateApi.Item ToItem(StateItem item) =>
        new(item.Key, item.Value.ToByteArray(), item.Etag?.Value, Concurrency(item.Options), item.Metadata);

    private static StateConcurrency Concurrency(StateOptions? options) =>
        options?.Concurrency == StateOptions.Types.StateConcurrency.ConcurrencyFirstWrite ? StateConcurrency.FirstWrite : StateConcurrency.LastWrite;

    /// <summary>Collects the bound RPC names without building handlers.</summary>
    private sealed class NameCollector(HashSet<string> names) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) => names.Add(method.Name);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) => names.Add(method.Name);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) => names.Add(method.Name);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) => names.Add(method.Name);
    }
}
