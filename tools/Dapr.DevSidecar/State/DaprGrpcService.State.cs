using Dapr.Client.Autogen.Grpc.v1;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.State;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Dapr.DevSidecar.Api;

/// <summary>The state RPCs of the Dapr gRPC API, over <see cref="StateApi"/>.</summary>
public partial class DaprGrpcService
{
    static partial void BindState(ServiceBinderBase binder, DaprGrpcService? service)
    {
        Unary(binder, "GetState", GetStateRequest.Parser, GetStateResponse.Parser, service is null ? null : service.GetState);
        Unary(binder, "GetBulkState", GetBulkStateRequest.Parser, GetBulkStateResponse.Parser, service is null ? null : service.GetBulkState);
        Unary(binder, "SaveState", SaveStateRequest.Parser, Empty.Parser, service is null ? null : service.SaveState);
        Unary(binder, "DeleteState", DeleteStateRequest.Parser, Empty.Parser, service is null ? null : service.DeleteState);
        Unary(binder, "DeleteBulkState", DeleteBulkStateRequest.Parser, Empty.Parser, service is null ? null : service.DeleteBulkState);
        Unary(binder, "ExecuteStateTransaction", ExecuteStateTransactionRequest.Parser, Empty.Parser, service is null ? null : service.ExecuteStateTransaction);
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
}
