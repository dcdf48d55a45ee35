using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Grpc.Core;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Gateway.Hubs;

/// <summary>
/// Hub errors carry a stable code before the message: <c>"{code}: {message}"</c>. Clients
/// switch on the code (rate_limited, invalid_argument, not_member, unauthenticated…).
/// </summary>
public static class HubErrors
{
    /// <summary>Trailer of a service's RESOURCE_EXHAUSTED answer: milliseconds to wait.</summary>
    public const string RetryAfterTrailer = Chat.ServiceDefaults.Auth.ChatStatus.RetryAfterTrailer;

    public static HubException Create(string code, string message) => new($"{code}: {message}");

    /// <summary><c>rate_limited</c> with the wait before the next call may pass (<c>retryAfterMs=…</c> at the end).</summary>
    public static HubException RateLimited(string method, TimeSpan retryAfter) =>
        Create(ErrorCodes.RateLimited, $"Too many {method} calls; retry later (sends with the same clientMsgId). {RetryAfter.Format(retryAfter)}");

    /// <summary>A backend gRPC error as the client should see it (details of internal failures are not passed on).</summary>
    public static HubException From(RpcException ex)
    {
        var code = ex.ErrorCode() ?? ex.StatusCode switch
        {
            StatusCode.InvalidArgument => ErrorCodes.InvalidArgument,
            StatusCode.PermissionDenied => ErrorCodes.NotMember,
            StatusCode.NotFound => ErrorCodes.NotFound,
            StatusCode.Unauthenticated => ErrorCodes.Unauthenticated,
            StatusCode.FailedPrecondition => ErrorCodes.InvalidArgument,
            StatusCode.ResourceExhausted => ErrorCodes.RateLimited,
            StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled => ErrorCodes.Unavailable,
            _ => ErrorCodes.Internal,
        };
        var message = ex.StatusCode switch
        {
            StatusCode.InvalidArgument or StatusCode.PermissionDenied or StatusCode.NotFound or StatusCode.Unauthenticated or StatusCode.FailedPrecondition or StatusCode.AlreadyExists => ex.Status.Detail,
            StatusCode.ResourceExhausted => ex.Trailers.GetValue(RetryAfterTrailer) is { } ms ? $"{ex.Status.Detail} {RetryAfter.Marker}{ms}" : ex.Status.Detail,
            StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled => "The service is briefly unavailable; retry with the same client_msg_id.",
            _ => "Internal error.",
        };
        return Create(code, message);
    }
}
