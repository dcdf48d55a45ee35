using Chat.Domain;
using Grpc.Core;

namespace Chat.ServiceDefaults.Auth;

/// <summary>
/// The RpcExceptions services answer with. The message is for people; the stable code from
/// <see cref="ErrorCodes"/> travels in the <see cref="ErrorCodeTrailer"/> trailer so the
/// gateway can map it to hub errors.
/// </summary>
public static class ChatStatus
{
    /// <summary>Trailer holding the stable error code.</summary>
    public const string ErrorCodeTrailer = "chat-error-code";

    /// <summary>Trailer of RESOURCE_EXHAUSTED answers: milliseconds before a retry can pass.</summary>
    public const string RetryAfterTrailer = "retry-after-ms";

    /// <summary>The status of <see cref="ValidationError.Kind"/> (InvalidArgument unless it says otherwise) with the error's message and code.</summary>
    public static RpcException From(ValidationError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var status = error.Kind switch
        {
            ValidationKind.FailedPrecondition => StatusCode.FailedPrecondition,
            ValidationKind.PermissionDenied => StatusCode.PermissionDenied,
            ValidationKind.NotFound => StatusCode.NotFound,
            _ => StatusCode.InvalidArgument,
        };
        return Create(status, error.Code, error.Message);
    }

    /// <summary>Throws <see cref="From"/> of the error, if there is one.</summary>
    public static void ThrowIfInvalid(ValidationError? error)
    {
        if (error is not null)
        {
            throw From(error);
        }
    }

    /// <summary>PermissionDenied: the caller is not a member of the conversation or group.</summary>
    public static RpcException NotMember(string conversationOrGroupId) =>
        Create(StatusCode.PermissionDenied, ErrorCodes.NotMember, $"You are not a member of {conversationOrGroupId}.");

    /// <summary>NotFound, e.g. <c>NotFound("user", id)</c>.</summary>
    public static RpcException NotFound(string what, string id) =>
        Create(StatusCode.NotFound, ErrorCodes.NotFound, $"No {what} '{id}' exists.");

    /// <summary>PermissionDenied for anything the caller's role does not allow.</summary>
    public static RpcException PermissionDenied(string message, string code = ErrorCodes.NotAdmin) =>
        Create(StatusCode.PermissionDenied, code, message);

    /// <summary>Unauthenticated: no token, or a token that does not validate.</summary>
    public static RpcException Unauthenticated(string message) =>
        Create(StatusCode.Unauthenticated, ErrorCodes.Unauthenticated, message);

    /// <summary>ResourceExhausted (<c>rate_limited</c>) with the wait in the <see cref="RetryAfterTrailer"/> trailer.</summary>
    public static RpcException RateLimited(string message, TimeSpan retryAfter)
    {
        var ms = ((long)Math.Ceiling(retryAfter.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var trailers = new Metadata { { ErrorCodeTrailer, ErrorCodes.RateLimited }, { RetryAfterTrailer, ms } };
        return new RpcException(new Status(StatusCode.ResourceExhausted, $"{message} Retry after {ms} ms."), trailers, message);
    }

    /// <summary>Any status with a code trailer.</summary>
    public static RpcException Create(StatusCode status, string code, string message)
    {
        var trailers = new Metadata { { ErrorCodeTrailer, code } };
        return new RpcException(new Status(status, message), trailers, message);
    }

    /// <summary>The error code a caller got, from the trailer, or null.</summary>
    public static string? ErrorCode(this RpcException exception) =>
        exception?.Trailers.GetValue(ErrorCodeTrailer);
}
