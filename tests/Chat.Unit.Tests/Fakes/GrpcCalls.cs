using System.Security.Cryptography;
using Chat.ServiceDefaults.Auth;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Chat.Unit.Tests.Fakes;

/// <summary>
/// Calls a gRPC service method in-process as the server would: through the real
/// <see cref="ChatAuthInterceptor"/>, with a bearer token issued by a real <see cref="ChatTokenService"/>.
/// </summary>
public sealed class GrpcCalls
{
    private readonly ChatAuthInterceptor _interceptor;

    public GrpcCalls(TimeProvider time, ChatAuthOptions? options = null)
    {
        Tokens = new ChatTokenService(RandomNumberGenerator.GetBytes(32), time: time);
        _interceptor = new ChatAuthInterceptor(Tokens, Options.Create(options ?? new ChatAuthOptions()));
    }

    public ChatTokenService Tokens { get; }

    /// <summary>Runs <paramref name="handler"/> for <paramref name="userId"/> (device "d1"), named as gRPC method <paramref name="method"/>.</summary>
    public Task<TResponse> AsUser<TRequest, TResponse>(string userId, string method, TRequest request, Func<TRequest, ServerCallContext, Task<TResponse>> handler,
        Metadata? headers = null)
        where TRequest : class where TResponse : class
    {
        var token = Tokens.IssueAccessToken(new ChatUser(userId, "d1", userId), out _);
        var metadata = headers ?? [];
        metadata.Add("authorization", "Bearer " + token);
        return _interceptor.UnaryServerHandler(request, new TestCallContext(method, metadata), (r, c) => handler(r, c));
    }

    /// <summary>Runs <paramref name="handler"/> with the given metadata only (no token unless it carries one).</summary>
    public Task<TResponse> Anonymous<TRequest, TResponse>(string method, TRequest request, Func<TRequest, ServerCallContext, Task<TResponse>> handler, Metadata? headers = null)
        where TRequest : class where TResponse : class =>
        _interceptor.UnaryServerHandler(request, new TestCallContext(method, headers ?? []), (r, c) => handler(r, c));
}

/// <summary>A server call context for in-process calls; carries an HttpContext as ASP.NET Core's does.</summary>
public sealed class TestCallContext : ServerCallContext
{
    private readonly Metadata _headers;
    private readonly Dictionary<object, object> _userState = [];

    public TestCallContext(string method, Metadata headers)
    {
        MethodCore = method;
        _headers = headers;
        // Where Grpc.AspNetCore's GetHttpContext() looks for contexts that are not its own.
        _userState["__HttpContext"] = new DefaultHttpContext();
    }

    protected override string MethodCore { get; }

    protected override string HostCore => "localhost";

    protected override string PeerCore => "ipv4:127.0.0.1:1";

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore => _headers;

    protected override CancellationToken CancellationTokenCore => CancellationToken.None;

    protected override Metadata ResponseTrailersCore { get; } = [];

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore { get; } = new(null, []);

    protected override IDictionary<object, object> UserStateCore => _userState;

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("In-process test calls do not propagate to child calls.");

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
