using Chat.Domain;
using Chat.ServiceDefaults.Boundary;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Chat.ServiceDefaults.Auth;

/// <summary>
/// gRPC server interceptor: every call needs <c>authorization: Bearer &lt;jwt&gt;</c> metadata
/// holding a valid access token, except anonymous methods (see <see cref="ChatAuthOptions"/>
/// and <see cref="AllowAnonymousCallAttribute"/>) and internal services, which need a calling
/// app-id from <see cref="ChatAuthOptions.InternalCallers"/> instead. When APP_API_TOKEN is
/// set, every call must also carry it as <c>dapr-api-token</c> (only the sidecar knows it).
/// The caller is then available through
/// <see cref="ChatAuthExtensions.GetChatUser"/>. Register it with
/// <c>services.AddGrpc(o =&gt; o.Interceptors.Add&lt;ChatAuthInterceptor&gt;())</c>.
/// </summary>
public sealed class ChatAuthInterceptor(ChatTokenService tokens, IOptions<ChatAuthOptions> options) : Interceptor
{
    internal const string UserStateKey = "chat.user";
    private const string CallerAppIdHeader = "dapr-caller-app-id";

    // The options are fixed once built (IOptions), so the token is hashed once.
    private readonly byte[]? _appTokenHash = options.Value.AppApiToken is { } token ? SidecarToken.Hash(token) : null;

    // A call that arrives while the key is still being read waits at most this long.
    private static readonly TimeSpan KeyWait = TimeSpan.FromSeconds(10);

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context);
        return await continuation(request, context);
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context);
        return await continuation(requestStream, context);
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context);
        await continuation(request, responseStream, context);
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context);
        await continuation(requestStream, responseStream, context);
    }

    private async Task AuthenticateAsync(ServerCallContext context)
    {
        var settings = options.Value;
        if (_appTokenHash is { } appToken && !SidecarToken.Matches(context.RequestHeaders.GetValue(SidecarToken.Header), appToken))
        {
            throw ChatStatus.Unauthenticated($"{context.Method} is only callable through the app's Dapr sidecar (missing or wrong {SidecarToken.Header}).");
        }

        // Anonymous calls may still issue tokens (Login), so every call waits for the key.
        await WaitForKeyAsync(context);
        var service = ServiceName(context.Method);
        if (settings.InternalServices.Contains(service))
        {
            RequireCaller(context, service, settings.InternalCallers);
            return;
        }

        if (settings.CallerRestrictedMethods.TryGetValue(context.Method, out var callers))
        {
            RequireCaller(context, context.Method, callers);
            return;
        }

        if (IsAnonymous(context, service))
        {
            return;
        }

        var header = context.RequestHeaders.GetValue("authorization");
        if (string.IsNullOrWhiteSpace(header))
        {
            throw ChatStatus.Unauthenticated($"{context.Method} needs an access token: send 'authorization: Bearer <token>' metadata.");
        }

        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw ChatStatus.Unauthenticated("The authorization metadata must be 'Bearer <token>'.");
        }

        var user = tokens.Validate(header[scheme.Length..].Trim())
            ?? throw ChatStatus.Unauthenticated("The access token is invalid or expired; log in or refresh to get a new one.");
        context.UserState[UserStateKey] = user;
    }

    private static void RequireCaller(ServerCallContext context, string what, ISet<string> callers)
    {
        var caller = context.RequestHeaders.GetValue(CallerAppIdHeader);
        if (caller is null || !callers.Contains(caller))
        {
            throw ChatStatus.PermissionDenied(
                $"{what} is for the chat services ({string.Join(", ", callers)}); caller '{caller ?? "(not through Dapr)"}' may not use it.",
                ErrorCodes.PermissionDenied);
        }
    }

    private async Task WaitForKeyAsync(ServerCallContext context)
    {
        if (tokens.IsReady)
        {
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        timeout.CancelAfter(KeyWait);
        try
        {
            await tokens.WaitUntilReadyAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "The service is starting: its token signing key is not loaded yet."));
        }
        catch (Exception ex)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"The service cannot check tokens: {ex.Message}"));
        }
    }

    private bool IsAnonymous(ServerCallContext context, string service) =>
        options.Value.AnonymousMethods.Contains(context.Method)
        || options.Value.AnonymousServices.Contains(service)
        || context.GetHttpContext().GetEndpoint()?.Metadata.GetMetadata<AllowAnonymousCallAttribute>() is not null;

    // "/package.Service/Method" -> "package.Service".
    private static string ServiceName(string method)
    {
        var slash = method.LastIndexOf('/');
        return slash > 1 ? method[1..slash] : method;
    }
}
