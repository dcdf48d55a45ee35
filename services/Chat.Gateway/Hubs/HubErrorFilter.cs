using Chat.Domain;
using Grpc.Core;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Gateway.Hubs;

/// <summary>
/// Every hub method error reaches the client as <c>"{code}: {message}"</c>: backend gRPC errors
/// are mapped, and anything unexpected becomes <c>internal</c> (logged here, details withheld).
/// The connection stays open either way.
/// </summary>
public sealed partial class HubErrorFilter(ILogger<HubErrorFilter> log) : IHubFilter
{
    private readonly ILogger _logger = log;

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            return await next(invocationContext);
        }
        catch (HubException)
        {
            throw;
        }
        catch (RpcException ex)
        {
            throw HubErrors.From(ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogUnexpected(ex, invocationContext.HubMethodName);
            throw HubErrors.Create(ErrorCodes.Internal, "Internal error; retry with the same clientMsgId.");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Hub method {Method} failed")]
    private partial void LogUnexpected(Exception ex, string method);
}
