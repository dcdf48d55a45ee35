using Chat.Contracts.V1;
using Chat.Domain;

namespace Chat.Integration.Tests.Infrastructure;

/// <summary>A registered test user with clients that carry their access token.</summary>
public sealed record TestUser(string UserId, string UserName, string AccessToken, MessagingService.MessagingServiceClient Messaging, DirectoryService.DirectoryServiceClient Directory);

/// <summary>Something that reaches the backend apps by gRPC (through a sidecar of the test).</summary>
public interface IChatBackends
{
    /// <summary>A call invoker to <paramref name="appId"/>, carrying <paramref name="accessToken"/> when given.</summary>
    Grpc.Core.CallInvoker InvokerFor(string appId, string? accessToken = null);
}

/// <summary>Helpers to create users and groups through the public contracts.</summary>
public static class ChatClients
{
    private static int _counter;

    public static async Task<TestUser> RegisterAsync(this IChatBackends system, string? name = null)
    {
        var userName = name ?? $"user{Interlocked.Increment(ref _counter)}x{Random.Shared.Next(100000)}";
        var anonymous = new DirectoryService.DirectoryServiceClient(system.InvokerFor(DaprNames.Apps.Directory));
        var registered = await anonymous.RegisterAsync(new RegisterRequest { UserName = userName, Password = "correct horse battery", DeviceId = "dev1" });
        var token = registered.Tokens.AccessToken;
        return new TestUser(registered.Profile.UserId, userName, token,
            new MessagingService.MessagingServiceClient(system.InvokerFor(DaprNames.Apps.Messaging, token)),
            new DirectoryService.DirectoryServiceClient(system.InvokerFor(DaprNames.Apps.Directory, token)));
    }

    /// <summary>Logs <paramref name="user"/> in on another device; returns that device's access token.</summary>
    public static async Task<string> LoginAsync(this IChatBackends system, TestUser user, string deviceId)
    {
        var anonymous = new DirectoryService.DirectoryServiceClient(system.InvokerFor(DaprNames.Apps.Directory));
        var login = await anonymous.LoginAsync(new LoginRequest { UserName = user.UserName, Password = "correct horse battery", DeviceId = deviceId });
        return login.Tokens.AccessToken;
    }

    public static async Task<string> CreateGroupAsync(this TestUser owner, string title, params TestUser[] members)
    {
        var request = new CreateGroupRequest { Title = title };
        request.MemberIds.AddRange(members.Select(m => m.UserId));
        var created = await owner.Directory.CreateGroupAsync(request);
        return created.Group.ConversationId;
    }

    public static Task<SendMessageResponse> SendAsync(this TestUser user, string conversationId, string text, string? clientMsgId = null) =>
        user.Messaging.SendMessageAsync(new SendMessageRequest
        {
            ConversationId = conversationId,
            ClientMsgId = clientMsgId ?? Guid.NewGuid().ToString("N"),
            Content = new MessageContent { Text = text },
        }).ResponseAsync;

    public static Task<SendMessageResponse> SendToPeerAsync(this TestUser user, TestUser peer, string text, string? clientMsgId = null) =>
        user.Messaging.SendMessageAsync(new SendMessageRequest
        {
            PeerUserId = peer.UserId,
            ClientMsgId = clientMsgId ?? Guid.NewGuid().ToString("N"),
            Content = new MessageContent { Text = text },
        }).ResponseAsync;
}
