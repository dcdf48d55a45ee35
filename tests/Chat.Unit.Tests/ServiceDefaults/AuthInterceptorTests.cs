using Chat.Contracts.V1;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Chat.Unit.Tests.Fakes;
using Grpc.Core;

namespace Chat.Unit.Tests.ServiceDefaults;

/// <summary>Who may call what, as the gRPC auth interceptor decides before any handler runs.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class AuthInterceptorTests
{
    private const string Internal = "/chat.v1.DirectoryInternalService/GetMembers";
    private readonly GrpcCalls _calls = new(FakeDaprClient.Noon());
    private int _ran;

    private Task<GetMembersResponse> Handler(GetMembersRequest request, ServerCallContext context)
    {
        _ran++;
        return Task.FromResult(new GetMembersResponse { Exists = true });
    }

    [Theory]
    [InlineData(DaprNames.Apps.Messaging)]
    [InlineData(DaprNames.Apps.Delivery)]
    [InlineData(DaprNames.Apps.Presence)]
    public async Task The_internal_directory_service_answers_the_chat_services(string caller)
    {
        var response = await _calls.Anonymous(Internal, new GetMembersRequest(), Handler, new Metadata { { "dapr-caller-app-id", caller } });

        Assert.True(response.Exists);
        Assert.Equal(1, _ran);
    }

    [Theory]
    [InlineData(DaprNames.Apps.Gateway)]
    [InlineData(null)]
    public async Task The_internal_directory_service_refuses_anyone_else_even_with_a_user_token(string? caller)
    {
        var headers = caller is null ? new Metadata() : new Metadata { { "dapr-caller-app-id", caller } };

        var error = await Assert.ThrowsAsync<RpcException>(() => _calls.AsUser("ann", Internal, new GetMembersRequest(), Handler, headers));

        Assert.Equal((StatusCode.PermissionDenied, ErrorCodes.PermissionDenied), (error.StatusCode, error.ErrorCode()));
        Assert.Equal(0, _ran);
    }

    [Fact]
    public async Task With_an_app_token_configured_only_calls_through_the_sidecar_get_in()
    {
        var options = new ChatAuthOptions { AppApiToken = "sidecar-secret" };
        var calls = new GrpcCalls(FakeDaprClient.Noon(), options);
        var messaging = new Metadata { { "dapr-caller-app-id", DaprNames.Apps.Messaging } };

        var direct = await Assert.ThrowsAsync<RpcException>(() => calls.Anonymous(Internal, new GetMembersRequest(), Handler, messaging));
        var wrong = await Assert.ThrowsAsync<RpcException>(() => calls.Anonymous(Internal, new GetMembersRequest(), Handler,
            new Metadata { { "dapr-caller-app-id", DaprNames.Apps.Messaging }, { "dapr-api-token", "guess" } }));
        var through = await calls.Anonymous(Internal, new GetMembersRequest(), Handler,
            new Metadata { { "dapr-caller-app-id", DaprNames.Apps.Messaging }, { "dapr-api-token", "sidecar-secret" } });

        Assert.Equal(StatusCode.Unauthenticated, direct.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.True(through.Exists);
        Assert.Equal(1, _ran);
    }

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        var time = FakeDaprClient.Noon();
        var calls = new GrpcCalls(time);
        var token = calls.Tokens.IssueAccessToken(new ChatUser("ann", "d1", "ann"), out var expires);
        time.Advance(expires - time.GetUtcNow() + new ChatAuthOptions().ClockSkew + TimeSpan.FromSeconds(1));

        var error = await Assert.ThrowsAsync<RpcException>(() => calls.Anonymous("/chat.v1.MessagingService/Sync", new GetMembersRequest(), Handler,
            new Metadata { { "authorization", "Bearer " + token } }));

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal(0, _ran);
    }
}
