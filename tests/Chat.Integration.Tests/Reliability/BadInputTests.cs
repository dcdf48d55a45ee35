using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Gateway;
using Chat.Integration.Tests.Infrastructure;
using Chat.ServiceDefaults.Auth;
using Grpc.Core;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Integration.Tests.Reliability;

/// <summary>
/// Issue 11: malformed hub invocations, malformed gRPC requests and invalid tokens each get a
/// clear error (a hub error with a code, a gRPC status with a message, a 401 with a reason),
/// and the connection or the process survives: the next valid call works.
/// </summary>
[Trait("Area", "Reliability")]
[Collection(ReliabilityCollection.Name)]
public sealed class BadInputTests(OneGatewaySystem fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<OneGatewaySystem>
{
    private AppProcesses System => fixture.System;

    private string Gateway => System.LiveGatewayUrls[0];

    public static TheoryData<string, string, string, string> HubCases => new()
    {
        // name, target, arguments (raw JSON), expected code
        { "wrong argument type", "SendMessage", "[42]", ErrorCodes.InvalidArgument },
        { "wrong field type", "SendMessage", """[{"conversationId":{"a":1},"clientMsgId":"x","text":"t"}]""", ErrorCodes.InvalidArgument },
        { "missing argument", "SendMessage", "[]", ErrorCodes.InvalidArgument },
        { "too many arguments", "GetHistory", """[{"conversationId":"dm:a:b"},{"conversationId":"dm:a:b"}]""", ErrorCodes.InvalidArgument },
        { "null argument", "SendMessage", "[null]", ErrorCodes.InvalidArgument },
        { "unknown method", "DropAllTables", "[]", ErrorCodes.UnknownMethod },
        { "bad receipt kind", "UpdateReceipt", """[{"conversationId":"dm:a:b","kind":"seen","upToSeq":1}]""", ErrorCodes.InvalidArgument },
        { "bad conversation id", "GetHistory", """[{"conversationId":"not an id"}]""", ErrorCodes.InvalidConversationId },
    };

    [Theory]
    [MemberData(nameof(HubCases))]
    public async Task Malformed_hub_invocation_gets_a_coded_error_and_the_connection_survives(string name, string target, string arguments, string code)
    {
        var user = await System.RegisterAsync();
        await using var hub = await RawHubSocket.ConnectAsync(Gateway, user.AccessToken);

        var completion = await hub.InvokeAsync("1", target, arguments);
        Assert.True(completion.TryGetProperty("error", out var error), $"{name}: expected an error, got {completion}");
        output.WriteLine($"{name}: {error.GetString()}");
        Assert.Contains($"HubException: {code}: ", error.GetString(), StringComparison.Ordinal);

        var next = await hub.InvokeAsync("2", "ListConversations", "[null]");
        Assert.False(next.TryGetProperty("error", out var nextError), $"{name}: the next call failed: {nextError}");
    }

    [Fact]
    public async Task Over_MessagePack_binding_failures_and_unknown_methods_get_codes_too()
    {
        var user = await System.RegisterAsync();
        await using var hub = await HubClient.ConnectAsync(Gateway, user, messagePack: true);

        var wrongType = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => hub.Connection.InvokeCoreAsync<object>("SendMessage", [42]));
        Assert.Contains($"HubException: {ErrorCodes.InvalidArgument}: ", wrongType.Message, StringComparison.Ordinal);
        var unknown = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => hub.Connection.InvokeCoreAsync<object>("DropAllTables", []));
        Assert.Contains($"HubException: {ErrorCodes.UnknownMethod}: ", unknown.Message, StringComparison.Ordinal);

        var conversations = await hub.Connection.InvokeCoreAsync<Chat.Gateway.Hubs.ConversationPageDto>("ListConversations", [null]);
        Assert.NotNull(conversations);
    }

    [Theory]
    [InlineData("not JSON", "{not json")]
    [InlineData("arguments not an array", """{"type":1,"invocationId":"1","target":"SendMessage","arguments":"x"}""")]
    [InlineData("over the size limit", null)]
    public async Task Unreadable_frame_closes_with_a_coded_error_and_a_new_connection_works(string name, string? frame)
    {
        var user = await System.RegisterAsync();
        await using (var hub = await RawHubSocket.ConnectAsync(Gateway, user.AccessToken))
        {
            await hub.SendAsync(frame ?? $$"""{"type":1,"invocationId":"1","target":"SendMessage","arguments":[{"text":"{{new string('x', (int)GatewayServices.MaxHubMessageBytes)}}"}]}""");
            var close = await hub.ReceiveAsync();
            Assert.Equal(7, close.GetProperty("type").GetInt32());
            Assert.Contains($"HubException: {ErrorCodes.InvalidFrame}: ", close.GetProperty("error").GetString(), StringComparison.Ordinal);
        }

        Assert.True(System.InstanceOf(DaprNames.Apps.Gateway).IsRunning, $"{name}: the gateway process died");
        await using var again = await RawHubSocket.ConnectAsync(Gateway, user.AccessToken);
        var next = await again.InvokeAsync("2", "ListConversations", "[null]");
        Assert.False(next.TryGetProperty("error", out _), $"{name}: the next call failed");
    }

    public static TheoryData<string, string, byte[]> GrpcCases => new()
    {
        { "garbage bytes", "/chat.v1.MessagingService/SendMessage", Frame([0xff, 0xfe, 0xfd, 0x00, 0x13, 0x37]) },
        { "wrong field type", "/chat.v1.MessagingService/GetHistory", Frame([0x08, 0x05]) },
        { "length past the end", "/chat.v1.MessagingService/Sync", [0, 0, 0, 0, 100, 1, 2, 3] },
        { "garbage bytes", "/chat.v1.DirectoryService/Login", Frame([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]) },
        { "wrong field type", "/chat.v1.DirectoryService/Register", Frame([0x0d, 1, 2, 3, 4]) },
        { "unknown method", "/chat.v1.MessagingService/DropAllTables", Frame([]) },
    };

    [Theory]
    [MemberData(nameof(GrpcCases))]
    public async Task Malformed_grpc_request_gets_a_status_with_a_message_and_the_app_survives(string name, string path, byte[] body)
    {
        var user = await System.RegisterAsync();
        var appId = path.Contains("Messaging", StringComparison.Ordinal) ? DaprNames.Apps.Messaging : DaprNames.Apps.Directory;
        var (status, message) = await RawGrpcAsync(path, appId, body, user.AccessToken);
        output.WriteLine($"{name} {path}: {status} {message}");
        Assert.NotEqual(StatusCode.OK, status);
        Assert.False(string.IsNullOrWhiteSpace(message), $"{name}: status {status} without a message");
        if (name == "garbage bytes")
        {
            // The framework's own parse failure names what is wrong (not just "Exception was thrown by handler.").
            Assert.Contains("InvalidProtocolBufferException", message, StringComparison.Ordinal);
        }

        Assert.True(System.InstanceOf(appId).IsRunning, $"{name}: {appId} died");
        var conversations = await user.Messaging.ListConversationsAsync(new ListConversationsRequest());
        Assert.NotNull(conversations);
        await user.Directory.GetPrivacySettingsAsync(new GetPrivacySettingsRequest());
    }

    [Fact]
    public async Task A_WebSocket_to_the_hub_without_a_valid_token_is_refused_before_it_opens()
    {
        var forged = new ChatTokenService(new byte[32]).IssueAccessToken(new ChatUser("mallory", "dev1", "mallory"), out _);
        foreach (var query in new[] { "", "?access_token=" + forged })
        {
            using var socket = new System.Net.WebSockets.ClientWebSocket { Options = { CollectHttpResponseDetails = true } };
            var url = new Uri(Gateway.Replace("http", "ws", StringComparison.Ordinal).TrimEnd('/') + GatewayServices.HubPath + query);

            await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => socket.ConnectAsync(url, CancellationToken.None));
            Assert.Equal(HttpStatusCode.Unauthorized, socket.HttpStatusCode);
        }
    }

    [Fact]
    public async Task Invalid_tokens_get_401_with_a_reason_and_the_gateway_survives()
    {
        var user = await System.RegisterAsync();
        var login = await new DirectoryService.DirectoryServiceClient(System.InvokerFor(DaprNames.Apps.Directory))
            .LoginAsync(new LoginRequest { UserName = user.UserName, Password = "correct horse battery", DeviceId = "laptop" });
        var forged = new ChatTokenService(new byte[32]).IssueAccessToken(new ChatUser(user.UserId, "dev1", user.UserName), out _);
        var expired = new ChatTokenService(ChatSigningKeys.Parse(ChatRun.JwtKey), time: new FixedTime(DateTimeOffset.UtcNow.AddHours(-2)))
            .IssueAccessToken(new ChatUser(user.UserId, "dev1", user.UserName), out _);

        using var http = new HttpClient();
        foreach (var (name, token) in new[] { ("forged", forged), ("expired", expired), ("none", (string?)null), ("a refresh token", login.Tokens.RefreshToken) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"{Gateway}{GatewayServices.HubPath}/negotiate?negotiateVersion=1");
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(ErrorCodes.Unauthenticated, body.GetProperty("code").GetString());
            Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("message").GetString()), name);
            Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            if (token is not null)
            {
                Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            }
        }

        // The same tokens on gRPC: Unauthenticated with a message.
        foreach (var token in new[] { forged, expired, login.Tokens.RefreshToken })
        {
            var client = new MessagingService.MessagingServiceClient(System.InvokerFor(DaprNames.Apps.Messaging, token));
            var refused = await Assert.ThrowsAsync<RpcException>(() => client.ListConversationsAsync(new ListConversationsRequest()).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
            Assert.False(string.IsNullOrWhiteSpace(refused.Status.Detail));
        }

        // Another user's token on a live connection is refused; the connection stays usable.
        var other = await System.RegisterAsync();
        await using var hub = await RawHubSocket.ConnectAsync(Gateway, user.AccessToken);
        var swap = await hub.InvokeAsync("1", "UpdateAccessToken", JsonSerializer.Serialize(new[] { other.AccessToken }));
        Assert.Contains($"HubException: {ErrorCodes.Unauthenticated}: ", swap.GetProperty("error").GetString(), StringComparison.Ordinal);
        var next = await hub.InvokeAsync("2", "ListConversations", "[null]");
        Assert.False(next.TryGetProperty("error", out _));

        // A refresh token works once; used again (e.g. stolen and replayed) it is refused.
        var anonymous = new DirectoryService.DirectoryServiceClient(System.InvokerFor(DaprNames.Apps.Directory));
        await anonymous.RefreshAsync(new RefreshRequest { RefreshToken = login.Tokens.RefreshToken });
        var replay = await Assert.ThrowsAsync<RpcException>(() => anonymous.RefreshAsync(new RefreshRequest { RefreshToken = login.Tokens.RefreshToken }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, replay.StatusCode);
        Assert.Contains("refresh token", replay.Status.Detail, StringComparison.Ordinal);
        Assert.True(System.InstanceOf(DaprNames.Apps.Gateway).IsRunning);
    }

    /// <summary>A gRPC frame: no compression, big-endian length, the bytes.</summary>
    private static byte[] Frame(byte[] message) =>
        [0, (byte)(message.Length >> 24), (byte)(message.Length >> 16), (byte)(message.Length >> 8), (byte)message.Length, .. message];

    /// <summary>Posts raw bytes as a gRPC call through the client sidecar; returns grpc-status and grpc-message.</summary>
    private async Task<(StatusCode Status, string Message)> RawGrpcAsync(string path, string appId, byte[] body, string accessToken)
    {
        using var handler = new SocketsHttpHandler();
        using var http = new HttpClient(handler);
        using var request = new HttpRequestMessage(HttpMethod.Post, System.ClientSidecar.GrpcEndpoint + path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.Add("dapr-app-id", appId);
        request.Headers.Add(SidecarTokens.Header, System.ClientApiToken);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        string? Header(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var t) ? t.First()
            : response.Headers.TryGetValues(name, out var h) ? h.First() : null;
        var status = (StatusCode)int.Parse(Header("grpc-status") ?? "-1", CultureInfo.InvariantCulture);
        return (status, Uri.UnescapeDataString(Header("grpc-message") ?? ""));
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
