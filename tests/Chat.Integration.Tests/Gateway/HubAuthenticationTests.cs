using System.Security.Claims;
using System.Text.Json;
using Chat.Domain;
using Chat.Gateway;
using Chat.Gateway.Hubs;
using Chat.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Chat.Integration.Tests.Gateway;

/// <summary>
/// Who may reach a hub: only requests with a valid access token, on every hub endpoint, and
/// nothing else in the gateway is touched by it. The middleware keeps no per-request services.
/// </summary>
[Trait("Area", "Security")]
public sealed class HubAuthenticationTests
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    [Theory]
    [InlineData(null, "Bearer")]
    [InlineData("not-a-jwt", "Bearer error=\"invalid_token\"")]
    public async Task A_hub_request_without_a_valid_token_gets_401_with_a_reason_and_goes_no_further(string? token, string challenge)
    {
        var (context, reached) = await RunAsync(new ChatTokenService(Key), HubEndpoint(), token);

        Assert.False(reached());
        Assert.Equal(StatusCodes.Status401Unauthorized, context.Response.StatusCode);
        Assert.StartsWith(challenge, context.Response.Headers.WWWAuthenticate.ToString(), StringComparison.Ordinal);
        var body = Body(context);
        Assert.Equal(ErrorCodes.Unauthenticated, body.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task A_token_signed_with_another_key_is_refused()
    {
        var forged = new ChatTokenService(new byte[32]).IssueAccessToken(new ChatUser("alice", "d1", "Alice"), out _);

        var (context, reached) = await RunAsync(new ChatTokenService(Key), HubEndpoint(), forged);

        Assert.False(reached());
        Assert.Equal(StatusCodes.Status401Unauthorized, context.Response.StatusCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_valid_token_in_the_header_or_the_query_string_reaches_the_hub_as_its_user(bool inHeader)
    {
        var tokens = new ChatTokenService(Key);
        var token = tokens.IssueAccessToken(new ChatUser("alice", "d1", "Alice"), out _);
        var scopes = new CountingScopes();

        var (context, reached) = await RunAsync(tokens, HubEndpoint(), token, inHeader, scopes);

        Assert.True(reached());
        Assert.Equal(new ChatUser("alice", "d1", "Alice"), HubAuthenticationMiddleware.ToChatUser(context.User));
        Assert.True(context.User.Identity?.IsAuthenticated);
        // No DI scope was created for the request: a WebSocket's request would keep it for the connection's life.
        Assert.Equal(0, scopes.Created);
    }

    [Fact]
    public async Task Other_endpoints_pass_through_untouched()
    {
        var other = new Endpoint(_ => Task.CompletedTask, new EndpointMetadataCollection(), "api");
        foreach (var endpoint in new[] { other, null })
        {
            var (context, reached) = await RunAsync(new ChatTokenService(Key), endpoint, token: null);

            Assert.True(reached());
            Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
            Assert.False(context.User.Identity?.IsAuthenticated ?? false);
        }
    }

    [Fact]
    public async Task Right_after_start_up_a_request_waits_for_the_signing_key()
    {
        var tokens = new ChatTokenService(Options.Create(new ChatAuthOptions()));
        var token = new ChatTokenService(Key).IssueAccessToken(new ChatUser("bob", "d2", "Bob"), out _);
        var context = Context(HubEndpoint(), token, inHeader: true);
        var reached = false;
        var middleware = new HubAuthenticationMiddleware(_ => { reached = true; return Task.CompletedTask; }, tokens);

        var pending = middleware.InvokeAsync(context);
        Assert.False(pending.IsCompleted);
        tokens.SetSigningKey(Key);
        await pending.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(reached);
        Assert.Equal("bob", HubAuthenticationMiddleware.ToChatUser(context.User)?.UserId);
    }

    private static Endpoint HubEndpoint() =>
        new(_ => Task.CompletedTask, new EndpointMetadataCollection(new HubMetadata(typeof(ChatHub))), "/hubs/chat");

    private static DefaultHttpContext Context(Endpoint? endpoint, string? token, bool inHeader)
    {
        var context = new DefaultHttpContext();
        context.Request.Path = GatewayServices.HubPath;
        context.Response.Body = new MemoryStream();
        context.SetEndpoint(endpoint);
        if (token is not null && inHeader)
        {
            context.Request.Headers.Authorization = "Bearer " + token;
        }
        else if (token is not null)
        {
            context.Request.QueryString = QueryString.Create("access_token", token);
        }

        return context;
    }

    private static async Task<(DefaultHttpContext Context, Func<bool> Reached)> RunAsync(ChatTokenService tokens, Endpoint? endpoint, string? token, bool inHeader = true, CountingScopes? scopes = null)
    {
        var context = Context(endpoint, token, inHeader);
        context.ServiceScopeFactory = scopes ?? new CountingScopes();
        var reached = false;
        await new HubAuthenticationMiddleware(_ => { reached = true; return Task.CompletedTask; }, tokens).InvokeAsync(context);
        return (context, () => reached);
    }

    private static JsonElement Body(DefaultHttpContext context)
    {
        context.Response.Body.Position = 0;
        return JsonDocument.Parse(context.Response.Body).RootElement;
    }

    /// <summary>The request's scope factory, as the host gives it, counting the scopes it creates.</summary>
    private sealed class CountingScopes : IServiceScopeFactory
    {
        private readonly IServiceScopeFactory _inner = new ServiceCollection().BuildServiceProvider().GetRequiredService<IServiceScopeFactory>();

        public int Created { get; private set; }

        public IServiceScope CreateScope()
        {
            Created++;
            return _inner.CreateScope();
        }
    }
}
