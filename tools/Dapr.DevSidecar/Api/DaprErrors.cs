using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Dapr.DevSidecar.Api;

/// <summary>
/// An API error as daprd reports it: an <c>ERR_*</c> code, a message, the gRPC status and
/// the HTTP status. Handlers throw it; the gRPC and HTTP layers render it.
/// </summary>
public sealed class DaprApiException(string errorCode, string message, StatusCode grpcStatus, int httpStatus) : Exception(message)
{
    public string ErrorCode { get; } = errorCode;

    public StatusCode GrpcStatus { get; } = grpcStatus;

    public int HttpStatus { get; } = httpStatus;

    public RpcException ToRpcException() => new(new Status(GrpcStatus, Message));

    /// <summary>daprd's HTTP error body: <c>{"errorCode":"ERR_…","message":"…"}</c>.</summary>
    public IResult ToHttpResult() => Results.Json(new { errorCode = ErrorCode, message = Message }, statusCode: HttpStatus);

    public static DaprApiException InvalidArgument(string code, string message) => new(code, message, StatusCode.InvalidArgument, StatusCodes.Status400BadRequest);

    public static DaprApiException NotFound(string code, string message) => new(code, message, StatusCode.InvalidArgument, StatusCodes.Status400BadRequest);

    public static DaprApiException Internal(string code, string message) => new(code, message, StatusCode.Internal, StatusCodes.Status500InternalServerError);

    public static DaprApiException NotConfigured(string code, string what) =>
        new(code, $"{what} is not configured", StatusCode.FailedPrecondition, StatusCodes.Status500InternalServerError);
}

/// <summary>Runs an API handler and maps <see cref="DaprApiException"/> to the transport's error form.</summary>
public static class DaprErrors
{
    public static async Task<T> Grpc<T>(Func<Task<T>> handler)
    {
        try
        {
            return await handler();
        }
        catch (DaprApiException ex)
        {
            throw ex.ToRpcException();
        }
    }

    public static async Task<IResult> Http(Func<Task<IResult>> handler)
    {
        try
        {
            return await handler();
        }
        catch (DaprApiException ex)
        {
            return ex.ToHttpResult();
        }
        catch (JsonException ex)
        {
            return DaprApiException.InvalidArgument("ERR_MALFORMED_REQUEST", $"failed deserializing HTTP body: {ex.Message}").ToHttpResult();
        }
    }
}
