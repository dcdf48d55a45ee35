using Dapr.Client.Autogen.Grpc.v1;
using Dapr.DevSidecar.Actors;
using Dapr.DevSidecar.State;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Dapr.DevSidecar.Api;

/// <summary>The actor RPCs, answering as the HTTP actor API does (the same <see cref="ActorApi"/>).</summary>
public partial class DaprGrpcService
{
    static partial void BindActors(ServiceBinderBase binder, DaprGrpcService? service)
    {
        Unary(binder, "InvokeActor", InvokeActorRequest.Parser, InvokeActorResponse.Parser, service is null ? null : service.InvokeActor);
        Unary(binder, "GetActorState", GetActorStateRequest.Parser, GetActorStateResponse.Parser, service is null ? null : service.GetActorState);
        Unary(binder, "ExecuteActorStateTransaction", ExecuteActorStateTransactionRequest.Parser, Empty.Parser, service is null ? null : service.ExecuteActorStateTransaction);
        Unary(binder, "RegisterActorTimer", RegisterActorTimerRequest.Parser, Empty.Parser, service is null ? null : service.RegisterActorTimer);
        Unary(binder, "UnregisterActorTimer", UnregisterActorTimerRequest.Parser, Empty.Parser, service is null ? null : service.UnregisterActorTimer);
        Unary(binder, "RegisterActorReminder", RegisterActorReminderRequest.Parser, Empty.Parser, service is null ? null : service.RegisterActorReminder);
        Unary(binder, "UnregisterActorReminder", UnregisterActorReminderRequest.Parser, Empty.Parser, service is null ? null : service.UnregisterActorReminder);
        Unary(binder, "GetActorReminder", GetActorReminderRequest.Parser, GetActorReminderResponse.Parser, service is null ? null : service.GetActorReminder);
    }

    private ActorApi Actors => Services.GetRequiredService<ActorApi>();

    /// <summary>
    /// Metadata becomes request headers to the app. As in daprd, an actor error (an answer with
    /// <c>X-DaprErrorResponseHeader</c>) still returns its body as data.
    /// </summary>
    public virtual Task<InvokeActorResponse> InvokeActor(InvokeActorRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            var headers = request.Metadata.Select(m => new KeyValuePair<string, string[]>(m.Key, [m.Value])).ToList();
            request.Metadata.TryGetValue("content-type", out var contentType);
            request.Metadata.TryGetValue(ActorHost.ReentrancyHeader, out var reentrancy);
            var response = await Actors.InvokeAsync(request.ActorType, request.ActorId, request.Method, request.Data.Memory,
                contentType, headers, reentrancy, context.CancellationToken);
            return new InvokeActorResponse { Data = ByteString.CopyFrom(response.Body) };
        });

    public virtual Task<GetActorStateResponse> GetActorState(GetActorStateRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            var entry = await Actors.GetStateAsync(request.ActorType, request.ActorId, request.Key, context.CancellationToken);
            var response = new GetActorStateResponse();
            if (entry is not null)
            {
                response.Data = ByteString.CopyFrom(entry.Value);
                response.Metadata.Add(StateApi.ResponseMetadata(entry));
            }

            return response;
        });

    public virtual Task<Empty> ExecuteActorStateTransaction(ExecuteActorStateTransactionRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            // daprd stores the Any's bytes as the value.
            var ops = request.Operations.Select(o => new ActorStateOperation(o.OperationType, o.Key, o.Value?.Value.ToByteArray(), null, o.Metadata)).ToList();
            await Actors.TransactAsync(request.ActorType, request.ActorId, ops, context.CancellationToken);
            return new Empty();
        });

    public virtual Task<Empty> RegisterActorTimer(RegisterActorTimerRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            await Actors.CreateTimerAsync(request.ActorType, request.ActorId, request.Name, request.DueTime, request.Period, request.Ttl,
                request.Callback, CallbackBody.FromBytes(request.Data.Span));
            return new Empty();
        });

    public virtual Task<Empty> UnregisterActorTimer(UnregisterActorTimerRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            await Actors.DeleteTimerAsync(request.ActorType, request.ActorId, request.Name);
            return new Empty();
        });

    public virtual Task<Empty> RegisterActorReminder(RegisterActorReminderRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            await Actors.CreateReminderAsync(request.ActorType, request.ActorId, request.Name, request.DueTime, request.Period, request.Ttl,
                CallbackBody.FromBytes(request.Data.Span), context.CancellationToken);
            return new Empty();
        });

    public virtual Task<Empty> UnregisterActorReminder(UnregisterActorReminderRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            await Actors.DeleteReminderAsync(request.ActorType, request.ActorId, request.Name, context.CancellationToken);
            return new Empty();
        });

    public virtual Task<GetActorReminderResponse> GetActorReminder(GetActorReminderRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(async () =>
        {
            var reminder = await Actors.GetReminderAsync(request.ActorType, request.ActorId, request.Name, context.CancellationToken);
            var (dueTime, period, ttl) = ActorApi.Describe(reminder);
            var response = new GetActorReminderResponse { ActorType = reminder.ActorType, ActorId = reminder.ActorId };
            if (dueTime is not null)
            {
                response.DueTime = dueTime;
            }

            if (period is not null)
            {
                response.Period = period;
            }

            if (ttl is not null)
            {
                response.Ttl = ttl;
            }

            if (reminder.Data is { } data)
            {
                response.Data = Any.Pack(new BytesValue { Value = ByteString.CopyFromUtf8(data.GetRawText()) });
            }

            return response;
        });
}
