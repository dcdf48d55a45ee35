using Dapr.Client.Autogen.Grpc.v1;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.Invocation;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Dapr.DevSidecar.Api;

public static partial class HttpApi
{
    static partial void MapInvocation(RouteGroupBuilder v1, SidecarContext context)
    {
        // Every verb; the method path is taken from the raw target so its encoding reaches the app as sent.
        v1.Map("/invoke/{appId}/method/{**method}", http =>
        {
            var appId = Uri.UnescapeDataString((string)http.Request.RouteValues["appId"]!);
            return http.RequestServices.GetRequiredService<ServiceInvoker>().InvokeHttpAsync(http, appId, ServiceInvoker.MethodFromRawTarget(http));
        });
    }
}

public partial class DaprGrpcService
{
    static partial void BindInvocation(ServiceBinderBase binder, DaprGrpcService? service) =>
        Unary(binder, "InvokeService", InvokeServiceRequest.Parser, InvokeResponse.Parser, service is null ? null : service.InvokeService);

    public virtual Task<InvokeResponse> InvokeService(InvokeServiceRequest request, ServerCallContext context) =>
        DaprErrors.Grpc(() => Services.GetRequiredService<ServiceInvoker>().InvokeServiceAsync(request, context));
}
