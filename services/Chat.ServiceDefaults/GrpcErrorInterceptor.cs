using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Chat.ServiceDefaults;

/// <summary>
/// Turns exceptions a gRPC handler did not map into a status the caller can act on: a failing
/// dependency (sidecar, actor, another service) is Unavailable (retry with the same
/// client_msg_id), anything else Internal. Details stay in the log, not on the wire.
/// </summary>
public sealed partial class GrpcErrorInterceptor(ILogger<GrpcErrorInterceptor> log) : Interceptor
{
    private readonly ILogger _logger = log;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (ex is not RpcException && !context.CancellationToken.IsCancellationRequested)
        {
            throw Map(ex, context.Method);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (ex is not RpcException && !context.CancellationToken.IsCancellationRequested)
        {
            throw Map(ex, context.Method);
        }
    }

    private RpcException Map(Exception ex, string method)
    {
        var dependency = ex is HttpRequestException or TimeoutException or TaskCanceledException
            || ex.GetType().Namespace?.StartsWith("Dapr", StringComparison.Ordinal) == true;
        if (dependency)
        {
            LogDependencyFailed(ex, method);
            return new RpcException(new Status(StatusCode.Unavailable, "A backend dependency is unavailable; retry."));
        }

        LogUnhandled(ex, method);
        return new RpcException(new Status(StatusCode.Internal, "Internal error."));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method}: a dependency failed")]
    private partial void LogDependencyFailed(Exception ex, string method);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method}: unhandled exception")]
    private partial void LogUnhandled(Exception ex, string method);
}
