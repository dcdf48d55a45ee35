using Chat.Contracts.V1;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Chat.ServiceDefaults.Boundary;
using Grpc.Core;

namespace Chat.Gateway.WebClient;

/// <summary>Body of <c>POST /api/auth/register</c>.</summary>
public sealed record RegisterBody(string? UserName, string? Password, string? DisplayName, string? DeviceId);

/// <summary>Body of <c>POST /api/auth/login</c>.</summary>
public sealed record LoginBody(string? UserName, string? Password, string? DeviceId);

/// <summary>Body of <c>POST /api/auth/refresh</c>.</summary>
public sealed record RefreshBody(string? RefreshToken);

/// <summary>Tokens and (after register and login) the user's profile, as the web client stores them.</summary>
public sealed record AuthResult(
    string UserId, string? UserName, string? DisplayName,
    string AccessToken, DateTimeOffset AccessTokenExpiresAt, string RefreshToken, DateTimeOffset RefreshTokenExpiresAt);

/// <summary>An error answer: a stable code (<see cref="ErrorCodes"/>) and a message for people.</summary>
public sealed record ApiError(string Code, string Message);

/// <summary>
/// JSON auth endpoints for browsers, which cannot speak gRPC to directory. Each forwards to the
/// public DirectoryService through this gateway's sidecar; gRPC errors become 4xx with a reason.
/// </summary>
public static class AuthEndpoints
{
    public static void MapAuthEndpoints(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/api/auth").ForClients();
        auth.MapPost("/register", (RegisterBody body, DirectoryService.DirectoryServiceClient directory, CancellationToken ct) =>
            Forward(async () =>
            {
                var r = await directory.RegisterAsync(new RegisterRequest
                {
                    UserName = body.UserName ?? "", Password = body.Password ?? "", DisplayName = body.DisplayName ?? "", DeviceId = body.DeviceId ?? "",
                }, cancellationToken: ct);
                return ToResult(r.Tokens, r.Profile);
            }));
        auth.MapPost("/login", (LoginBody body, DirectoryService.DirectoryServiceClient directory, CancellationToken ct) =>
            Forward(async () =>
            {
                var r = await directory.LoginAsync(new LoginRequest
                {
                    UserName = body.UserName ?? "", Password = body.Password ?? "", DeviceId = body.DeviceId ?? "",
                }, cancellationToken: ct);
                return ToResult(r.Tokens, r.Profile);
            }));
        auth.MapPost("/refresh", (RefreshBody body, DirectoryService.DirectoryServiceClient directory, CancellationToken ct) =>
            Forward(async () =>
            {
                var r = await directory.RefreshAsync(new RefreshRequest { RefreshToken = body.RefreshToken ?? "" }, cancellationToken: ct);
                return ToResult(r.Tokens, null);
            }));
    }

    private static AuthResult ToResult(AuthTokens tokens, UserProfile? profile) => new(
        tokens.UserId, profile?.UserName, profile?.DisplayName,
        tokens.AccessToken, tokens.AccessTokenExpiresAt.ToDateTimeOffset(), tokens.RefreshToken, tokens.RefreshTokenExpiresAt.ToDateTimeOffset());

    private static async Task<IResult> Forward(Func<Task<AuthResult>> call)
    {
        try
        {
            return TypedResults.Ok(await call());
        }
        catch (RpcException ex)
        {
            return ToHttp(ex);
        }
    }

    /// <summary>A directory error as an HTTP answer; internal failures keep their details to themselves.</summary>
    public static IResult ToHttp(RpcException ex)
    {
        var (status, fallback) = ex.StatusCode switch
        {
            StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange => (StatusCodes.Status400BadRequest, ErrorCodes.InvalidArgument),
            StatusCode.Unauthenticated => (StatusCodes.Status401Unauthorized, ErrorCodes.Unauthenticated),
            StatusCode.PermissionDenied => (StatusCodes.Status403Forbidden, ErrorCodes.PermissionDenied),
            StatusCode.NotFound => (StatusCodes.Status404NotFound, ErrorCodes.NotFound),
            StatusCode.AlreadyExists => (StatusCodes.Status409Conflict, ErrorCodes.InvalidArgument),
            StatusCode.ResourceExhausted => (StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited),
            StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Cancelled => (StatusCodes.Status503ServiceUnavailable, ErrorCodes.Unavailable),
            _ => (StatusCodes.Status500InternalServerError, ErrorCodes.Internal),
        };
        var message = status switch
        {
            StatusCodes.Status503ServiceUnavailable => "The directory service is briefly unavailable; try again.",
            StatusCodes.Status500InternalServerError => "Internal error.",
            _ => ex.Status.Detail,
        };
        return TypedResults.Json(new ApiError(ex.ErrorCode() ?? fallback, message), statusCode: status);
    }
}
