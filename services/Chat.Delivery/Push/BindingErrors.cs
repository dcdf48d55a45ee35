using Dapr;
using Grpc.Core;

namespace Chat.Delivery.Push;

internal static class BindingErrors
{
    /// <summary>
    /// What the sidecar said about a failed binding call: the SDK wraps the sidecar's gRPC error
    /// (<c>error invoking output binding …: …</c>) in a <see cref="DaprException"/>.
    /// </summary>
    public static string Describe(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is RpcException rpc)
            {
                return rpc.Status.Detail;
            }
        }

        return ex.Message;
    }
}
