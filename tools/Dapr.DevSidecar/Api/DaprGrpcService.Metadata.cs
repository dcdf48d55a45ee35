using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Dapr.DevSidecar.Api;

public partial class DaprGrpcService
{
    static partial void BindMetadata(ServiceBinderBase binder, DaprGrpcService? service)
    {
        Unary(binder, "GetMetadata", GetMetadataRequest.Parser, GetMetadataResponse.Parser, service is null ? null : service.GetMetadata);
        Unary(binder, "Shutdown", ShutdownRequest.Parser, Empty.Parser, service is null ? null : service.Shutdown);
    }

    public virtual Task<GetMetadataResponse> GetMetadata(GetMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(MetadataApi.Build(Sidecar, Services));

    /// <summary>Like daprd, answers first and shuts down after the response is sent.</summary>
    public virtual Task<Empty> Shutdown(ShutdownRequest request, ServerCallContext context)
    {
        HttpApi.ShutdownAfterResponse(context.GetHttpContext(), Sidecar);
        return Task.FromResult(new Empty());
    }
}
