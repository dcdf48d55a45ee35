using System.Net;
using System.Reflection;
using System.Text;
using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Gateway;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Integration.Tests.Security;

/// <summary>Who calls, in the authorization matrix.</summary>
public enum Caller
{
    /// <summary>The owner of what is touched: the user's own account, the group's owner, an allowed app for internal calls.</summary>
    Self,

    /// <summary>Another member of the conversation (for account calls: another user, on their own account).</summary>
    Member,

    /// <summary>A signed-in user outside the conversation.</summary>
    NonMember,

    /// <summary>No access token.</summary>
    Anonymous,

    /// <summary>A token signed with the right key that expired.</summary>
    Expired,

    /// <summary>A token signed with another key.</summary>
    Forged,

    /// <summary>A token with the right key and issuer, for another audience.</summary>
    OtherAudience,

    /// <summary>A valid user token, sent straight to the app's port without its sidecar (no dapr-api-token).</summary>
    Bypass,
}

/// <summary>What a cell must come to.</summary>
public enum Outcome
{
    /// <summary>The call succeeds.</summary>
    Ok,

    /// <summary>Refused before any handler: gRPC UNAUTHENTICATED, or the hub connection refused (401, 404 off the client port).</summary>
    Unauthenticated,

    /// <summary>Refused by the handler: PERMISSION_DENIED or NOT_FOUND (not_member, not_admin, permission_denied, not_found on the hub).</summary>
    Denied,
}

/// <summary>The kinds of rule a method follows; each fixes the outcome of every caller.</summary>
public enum Rule
{
    /// <summary>No token needed (Register, Login, Refresh); still only through the sidecar.</summary>
    Anonymous,

    /// <summary>Any signed-in user, on their own account or data.</summary>
    Account,

    /// <summary>Members of the conversation only.</summary>
    Member,

    /// <summary>The group's owner (or admins) only.</summary>
    GroupAdmin,

    /// <summary>Service-to-service: only calls through the sidecar of an allowed app (messaging, delivery, presence).</summary>
    Internal,

    /// <summary>Only calls through the gateway's sidecar.</summary>
    GatewayOnly,

    /// <summary>Only calls through the bots app's sidecar (webhook secrets, bot tokens).</summary>
    BotsOnly,
}

/// <summary>
/// The authorization matrix: every gRPC method of chat.v1 and every hub method, against every
/// kind of caller. A method without a row fails; docs/authorization.md is generated from the
/// table (set CHAT_UPDATE_DOCS=1 to rewrite it) and must match it.
/// </summary>
[Trait("Area", "Security")]
[Collection(SecurityCollection.Name)]
public sealed class AuthorizationMatrixTests(SecuritySystem fx)
{
    private static readonly Caller[] Callers = Enum.GetValues<Caller>();

    private ChatSystem System => fx.System;

    private sealed record Cell(SecuritySystem Fx, Caller Caller)
    {
        /// <summary>The user acting: Alice, Bob or Carol; Alice's claims for the token columns.</summary>
        public TestUser Actor => Caller switch
        {
            Caller.Member => Fx.Bob,
            Caller.NonMember => Fx.Carol,
            _ => Fx.Alice,
        };
    }

    private sealed record GrpcRow(string Method, Rule Rule, Func<Cell, Task<IMessage>> Request);

    private sealed record HubRow(string Method, Rule Rule, Func<Cell, Task<object?[]>> Args);

    private static Task<IMessage> R(IMessage m) => Task.FromResult(m);

    private static Task<object?[]> A(params object?[] args) => Task.FromResult(args);

    private static readonly GrpcRow[] GrpcRows =
    [
        new("/chat.v1.DirectoryService/Register", Rule.Anonymous, _ => R(new RegisterRequest { UserName = "m" + Guid.NewGuid().ToString("N")[..12], Password = SecuritySystem.Password, DeviceId = "dev1" })),
        new("/chat.v1.DirectoryService/Login", Rule.Anonymous, c => R(new LoginRequest { UserName = c.Fx.Alice.UserName, Password = SecuritySystem.Password, DeviceId = "dev1" })),
        new("/chat.v1.DirectoryService/Refresh", Rule.Anonymous, async c => new RefreshRequest { RefreshToken = (await c.Fx.LoginAliceAsync()).RefreshToken }),
        new("/chat.v1.DirectoryService/GetProfiles", Rule.Account, c => R(new GetProfilesRequest { UserIds = { c.Fx.Alice.UserId } })),
        new("/chat.v1.DirectoryService/FindUser", Rule.Account, c => R(new FindUserRequest { UserName = c.Fx.Alice.UserName })),
        new("/chat.v1.DirectoryService/UpdateProfile", Rule.Account, c => R(new UpdateProfileRequest { DisplayName = "Matrix " + c.Caller })),
        new("/chat.v1.DirectoryService/GetPrivacySettings", Rule.Account, _ => R(new GetPrivacySettingsRequest())),
        new("/chat.v1.DirectoryService/UpdatePrivacySettings", Rule.Account, _ => R(new UpdatePrivacySettingsRequest
        {
            Settings = new PrivacySettings { LastSeen = LastSeenVisibility.Everyone, ReadReceipts = true, PushPreviews = true },
        })),
        new("/chat.v1.DirectoryService/RegisterDevice", Rule.Account, _ => R(new RegisterDeviceRequest { Device = MatrixDevice() })),
        new("/chat.v1.DirectoryService/UnregisterDevice", Rule.Account, async c =>
        {
            if (c.Caller is Caller.Self or Caller.Member or Caller.NonMember)
            {
                await c.Actor.Directory.RegisterDeviceAsync(new RegisterDeviceRequest { Device = MatrixDevice() });
            }

            return new UnregisterDeviceRequest { DeviceId = MatrixDevice().DeviceId };
        }),
        new("/chat.v1.DirectoryService/ListDevices", Rule.Account, _ => R(new ListDevicesRequest())),
        new("/chat.v1.DirectoryService/CreateGroup", Rule.Account, _ => R(new CreateGroupRequest { Title = "made by the matrix" })),
        new("/chat.v1.DirectoryService/AddMembers", Rule.GroupAdmin, async c =>
        {
            var (group, _) = await c.Fx.NewGroupAsync();
            await c.Fx.Alice.Directory.RemoveMemberAsync(new RemoveMemberRequest { GroupId = group, UserId = c.Fx.Dave.UserId });
            return new AddMembersRequest { GroupId = group, UserIds = { c.Fx.Dave.UserId } };
        }),
        new("/chat.v1.DirectoryService/RemoveMember", Rule.GroupAdmin, async c => new RemoveMemberRequest { GroupId = (await c.Fx.NewGroupAsync()).GroupId, UserId = c.Fx.Dave.UserId }),
        new("/chat.v1.DirectoryService/SetRole", Rule.GroupAdmin, async c => new SetRoleRequest { GroupId = (await c.Fx.NewGroupAsync()).GroupId, UserId = c.Fx.Dave.UserId, Role = GroupRole.Admin }),
        new("/chat.v1.DirectoryService/LeaveGroup", Rule.Member, async c => new LeaveGroupRequest { GroupId = (await c.Fx.NewGroupAsync()).GroupId }),
        new("/chat.v1.DirectoryService/RenameGroup", Rule.GroupAdmin, async c => new RenameGroupRequest { GroupId = (await c.Fx.NewGroupAsync()).GroupId, Title = "renamed by the matrix" }),
        new("/chat.v1.DirectoryService/GetGroup", Rule.Member, c => R(new GetGroupRequest { GroupId = c.Fx.GroupKey })),
        new("/chat.v1.DirectoryService/ListMembers", Rule.Member, c => R(new ListMembersRequest { GroupId = c.Fx.GroupKey })),
        new("/chat.v1.DirectoryService/ListUserConversations", Rule.Account, _ => R(new ListUserConversationsRequest())),
        new("/chat.v1.DirectoryService/GetConversationMembers", Rule.Member, c => R(new GetConversationMembersRequest { ConversationId = c.Fx.GroupId })),
        new("/chat.v1.DirectoryService/SetConversationSettings", Rule.Member, c => R(new SetConversationSettingsRequest { ConversationId = c.Fx.GroupId, Settings = new ConversationSettings() })),
        new("/chat.v1.DirectoryService/GetConversationSettings", Rule.Member, c => R(new GetConversationSettingsRequest { ConversationId = c.Fx.GroupId })),
        new("/chat.v1.DirectoryInternalService/GetMembers", Rule.Internal, c => R(new GetMembersRequest { ConversationId = c.Fx.GroupId })),
        new("/chat.v1.DirectoryInternalService/EnsureDirectConversation", Rule.Internal, c => R(new EnsureDirectConversationRequest { UserId = c.Fx.Alice.UserId, PeerUserId = c.Fx.Dave.UserId })),
        new("/chat.v1.DirectoryInternalService/GetPushTargets", Rule.Internal, c => R(new GetPushTargetsRequest { ConversationId = c.Fx.GroupId, SenderId = c.Fx.Alice.UserId, UserIds = { c.Fx.Bob.UserId } })),
        new("/chat.v1.DirectoryInternalService/RemoveDevice", Rule.Internal, c => R(new RemoveDeviceRequest { UserId = c.Fx.Dave.UserId, DeviceId = "no-such-device", PushToken = "x" })),
        new("/chat.v1.DirectoryInternalService/GetPresenceRules", Rule.Internal, c => R(new GetPresenceRulesRequest { ViewerId = c.Fx.Alice.UserId, UserIds = { c.Fx.Bob.UserId } })),
        new("/chat.v1.DirectoryInternalService/GetUserConversations", Rule.Internal, c => R(new GetUserConversationsRequest { UserId = c.Fx.Alice.UserId })),
        new("/chat.v1.DirectoryInternalService/GetReceiptPrivacy", Rule.Internal, c => R(new GetReceiptPrivacyRequest { UserIds = { c.Fx.Bob.UserId } })),
        new("/chat.v1.MessagingService/SendMessage", Rule.Member, c => R(new SendMessageRequest { ConversationId = c.Fx.GroupId, ClientMsgId = Guid.NewGuid().ToString("N"), Content = new MessageContent { Text = "matrix" } })),
        new("/chat.v1.MessagingService/GetHistory", Rule.Member, c => R(new GetHistoryRequest { ConversationId = c.Fx.GroupId, Limit = 5 })),
        new("/chat.v1.MessagingService/Sync", Rule.Account, _ => R(new SyncRequest())),
        new("/chat.v1.MessagingService/UpdateReceipt", Rule.Member, c => R(new UpdateReceiptRequest { ConversationId = c.Fx.GroupId, Kind = ReceiptKind.Delivered, UpToSeq = 1 })),
        new("/chat.v1.MessagingService/GetReceipts", Rule.Member, c => R(new GetReceiptsRequest { ConversationId = c.Fx.GroupId })),
        new("/chat.v1.MessagingService/ListConversations", Rule.Account, _ => R(new ListConversationsRequest { Limit = 10 })),
        new("/chat.v1.MessagingService/EditMessage", Rule.Member, async c => new EditMessageRequest { ConversationId = c.Fx.GroupId, TargetSeq = await OwnMessageAsync(c), ClientMsgId = Guid.NewGuid().ToString("N"), Text = "edited by the matrix" }),
        new("/chat.v1.MessagingService/DeleteMessage", Rule.Member, async c => new DeleteMessageRequest { ConversationId = c.Fx.GroupId, TargetSeq = await OwnMessageAsync(c), ClientMsgId = Guid.NewGuid().ToString("N") }),
        new("/chat.v1.MessagingService/React", Rule.Member, async c => new ReactRequest { ConversationId = c.Fx.GroupId, TargetSeq = await OwnMessageAsync(c), ClientMsgId = Guid.NewGuid().ToString("N"), Emoji = "👍" }),
        new("/chat.v1.MessagingService/CreateUpload", Rule.Account, _ => R(new CreateUploadRequest { ContentType = "image/png", SizeBytes = 10, FileName = "matrix.png" })),
        new("/chat.v1.DirectoryInternalService/GetMemberRole", Rule.Internal, c => R(new GetMemberRoleRequest { ConversationId = c.Fx.GroupId, UserId = c.Fx.Bob.UserId })),
        new("/chat.v1.PresenceService/ReportConnectedUsers", Rule.GatewayOnly, _ => R(new ReportConnectedUsersRequest { GatewayInstanceId = "matrix-gateway", RefreshIntervalSeconds = 15 })),
        new("/chat.v1.PresenceService/ReportDisconnected", Rule.GatewayOnly, c => R(new ReportDisconnectedRequest { GatewayInstanceId = "matrix-gateway", UserId = c.Fx.Dave.UserId, StillConnectedElsewhere = true })),
        new("/chat.v1.PresenceService/GetPresence", Rule.Account, c => R(new GetPresenceRequest { UserIds = { c.Fx.Bob.UserId } })),
        new("/chat.v1.BotService/CreateBot", Rule.Account, _ => R(new CreateBotRequest { UserName = "mx" + Guid.NewGuid().ToString("N")[..12], WebhookUrl = SecuritySystem.WebhookBase + "m" })),
        new("/chat.v1.BotService/ListBots", Rule.Account, _ => R(new ListBotsRequest())),
        new("/chat.v1.BotService/DeleteBot", Rule.Account, _ => R(new DeleteBotRequest { BotUserId = "bnosuchbot000001" })),
        new("/chat.v1.BotInternalService/GetBotWebhooks", Rule.BotsOnly, c => R(new GetBotWebhooksRequest { UserIds = { c.Fx.BotId } })),
        new("/chat.v1.BotInternalService/IssueBotToken", Rule.BotsOnly, c => R(new IssueBotTokenRequest { BotUserId = c.Fx.BotId })),
    ];

    private static readonly HubRow[] HubRows =
    [
        new(nameof(ChatHub.Ping), Rule.Account, _ => A()),
        new(nameof(ChatHub.SendMessage), Rule.Member, c => A(new SendMessageArgs(c.Fx.GroupId, null, Guid.NewGuid().ToString("N"), "matrix"))),
        new(nameof(ChatHub.UpdateReceipt), Rule.Member, c => A(new UpdateReceiptArgs(c.Fx.GroupId, "delivered", 1))),
        new(nameof(ChatHub.Sync), Rule.Account, _ => A(new SyncArgs(null))),
        new(nameof(ChatHub.GetHistory), Rule.Member, c => A(new GetHistoryArgs(c.Fx.GroupId, Limit: 5))),
        new(nameof(ChatHub.ListConversations), Rule.Account, _ => A(new ListConversationsArgs(Limit: 10))),
        new(nameof(ChatHub.GetReceipts), Rule.Member, c => A(c.Fx.GroupId)),
        new(nameof(ChatHub.UpdateAccessToken), Rule.Account, c => A(c.Actor.AccessToken)),
        new(nameof(ChatHub.FindUser), Rule.Account, c => A(c.Fx.Alice.UserName)),
        new(nameof(ChatHub.GetProfiles), Rule.Account, c => A((object)new[] { c.Fx.Alice.UserId })),
        new(nameof(ChatHub.CreateGroup), Rule.Account, _ => A("made on the hub", Array.Empty<string>())),
        new(nameof(ChatHub.AddMembers), Rule.GroupAdmin, async c =>
        {
            var (group, _) = await c.Fx.NewGroupAsync();
            await c.Fx.Alice.Directory.RemoveMemberAsync(new RemoveMemberRequest { GroupId = group, UserId = c.Fx.Dave.UserId });
            return [group, new[] { c.Fx.Dave.UserId }];
        }),
        new(nameof(ChatHub.WatchPresence), Rule.Account, c => A((object)new[] { c.Fx.Bob.UserId })),
        new(nameof(ChatHub.SetTyping), Rule.Member, c => A(c.Fx.GroupId, true)),
        new(nameof(ChatHub.RegisterDevice), Rule.Account, _ => A(new RegisterDeviceArgs("apns", "matrix-hub-device", Token: "00ff00ff"))),
        new(nameof(ChatHub.UnregisterDevice), Rule.Account, _ => A("matrix-hub-device")),
        new(nameof(ChatHub.GetPrivacy), Rule.Account, _ => A()),
        new(nameof(ChatHub.UpdatePrivacy), Rule.Account, _ => A(new UpdatePrivacyArgs(PushPreviews: true))),
        new(nameof(ChatHub.UpdateProfile), Rule.Account, c => A(new UpdateProfileArgs(DisplayName: "Matrix hub " + c.Caller))),
        new(nameof(ChatHub.GetGroup), Rule.Member, c => A(c.Fx.GroupId)),
        new(nameof(ChatHub.LeaveGroup), Rule.Member, async c => [(await c.Fx.NewGroupAsync()).ConversationId]),
        new(nameof(ChatHub.RemoveMember), Rule.GroupAdmin, async c => [(await c.Fx.NewGroupAsync()).ConversationId, c.Fx.Dave.UserId]),
        new(nameof(ChatHub.SetRole), Rule.GroupAdmin, async c => [(await c.Fx.NewGroupAsync()).ConversationId, c.Fx.Dave.UserId, "admin"]),
        new(nameof(ChatHub.RenameGroup), Rule.GroupAdmin, async c => [(await c.Fx.NewGroupAsync()).ConversationId, "renamed on the hub"]),
        new(nameof(ChatHub.GetConversationSettings), Rule.Member, c => A(c.Fx.GroupId)),
        new(nameof(ChatHub.SetConversationSettings), Rule.Member, c => A(c.Fx.GroupId, new ConversationSettingsArgs())),
        new(nameof(ChatHub.CreateBot), Rule.Account, _ => A(new CreateBotArgs("hx" + Guid.NewGuid().ToString("N")[..12], SecuritySystem.WebhookBase + "h"))),
        new(nameof(ChatHub.ListBots), Rule.Account, _ => A()),
        new(nameof(ChatHub.DeleteBot), Rule.Account, _ => A("bnosuchbot000001")),
        new(nameof(ChatHub.CreateUpload), Rule.Account, _ => A(new CreateUploadArgs("image/png", 10, "matrix.png"))),
        new(nameof(ChatHub.EditMessage), Rule.Member, async c => [new EditMessageArgs(c.Fx.GroupId, await OwnMessageAsync(c), Guid.NewGuid().ToString("N"), "edited on the hub")]),
        new(nameof(ChatHub.DeleteMessage), Rule.Member, async c => [new DeleteMessageArgs(c.Fx.GroupId, await OwnMessageAsync(c), Guid.NewGuid().ToString("N"))]),
        new(nameof(ChatHub.React), Rule.Member, async c => [new ReactArgs(c.Fx.GroupId, await OwnMessageAsync(c), Guid.NewGuid().ToString("N"), "👍")]),
    ];

    // A fresh message of the acting member to edit, delete or react to (a non-member names seq 1 and is refused first).
    private static async Task<ulong> OwnMessageAsync(Cell c) =>
        c.Caller == Caller.NonMember ? 1 : (await c.Actor.SendAsync(c.Fx.GroupId, "matrix target")).Message.Seq;

    /// <summary>The outcome the rule gives a caller.</summary>
    public static Outcome Expected(Rule rule, Caller caller) => (rule, caller) switch
    {
        (_, Caller.Bypass) => Outcome.Unauthenticated,
        (Rule.Internal or Rule.GatewayOnly or Rule.BotsOnly, Caller.Self) => Outcome.Ok,
        (Rule.Internal or Rule.GatewayOnly or Rule.BotsOnly, _) => Outcome.Denied,
        (Rule.Anonymous, _) => Outcome.Ok,
        (_, Caller.Anonymous or Caller.Expired or Caller.Forged or Caller.OtherAudience) => Outcome.Unauthenticated,
        (Rule.Account, _) => Outcome.Ok,
        (Rule.Member, Caller.NonMember) => Outcome.Denied,
        (Rule.Member, _) => Outcome.Ok,
        (Rule.GroupAdmin, Caller.Self) => Outcome.Ok,
        (Rule.GroupAdmin, _) => Outcome.Denied,
        _ => throw new ArgumentOutOfRangeException(nameof(rule)),
    };

    [Fact]
    public void Every_grpc_method_of_chat_v1_has_a_row()
    {
        var methods = ChatV1Services().SelectMany(s => s.Methods).Select(m => $"/{m.Service.FullName}/{m.Name}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(methods, GrpcRows.Select(r => r.Method).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_hub_method_has_a_row()
    {
        var methods = typeof(ChatHub).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => m.GetBaseDefinition().DeclaringType == typeof(ChatHub) && !m.IsSpecialName)
            .Select(m => m.Name).Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.Equal(methods, HubRows.Select(r => r.Method).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Docs_authorization_md_is_the_table()
    {
        var path = Path.Combine(RepoPaths.Root, "docs", "authorization.md");
        var expected = RenderDocs();
        if (Environment.GetEnvironmentVariable("CHAT_UPDATE_DOCS") == "1")
        {
            File.WriteAllText(path, expected);
        }

        Assert.True(File.Exists(path), "docs/authorization.md is missing: run this test with CHAT_UPDATE_DOCS=1");
        Assert.True(expected == File.ReadAllText(path), "docs/authorization.md differs from the matrix: run this test with CHAT_UPDATE_DOCS=1 and commit the result");
    }

    [Fact]
    public async Task Every_grpc_method_allows_exactly_the_allowed_callers()
    {
        var wrong = new List<string>();
        var services = ChatV1Services().SelectMany(s => s.Methods).ToDictionary(m => $"/{m.Service.FullName}/{m.Name}", StringComparer.Ordinal);
        foreach (var row in GrpcRows)
        {
            var descriptor = services[row.Method];
            foreach (var caller in Callers)
            {
                var cell = new Cell(fx, caller);
                var request = await row.Request(cell);
                var (outcome, detail) = await CallAsync(descriptor, row.Rule, cell, request);
                var expected = Expected(row.Rule, caller);
                if (outcome != expected)
                {
                    wrong.Add($"{row.Method} × {caller}: expected {expected}, got {outcome} ({detail})");
                }
            }
        }

        Assert.True(wrong.Count == 0, string.Join('\n', wrong));
    }

    [Fact]
    public async Task Every_hub_method_allows_exactly_the_allowed_callers()
    {
        var gateway = System.InstanceOf(DaprNames.Apps.Gateway);
        var connected = new Dictionary<Caller, HubClient>();
        var wrong = new List<string>();
        try
        {
            foreach (var caller in new[] { Caller.Self, Caller.Member, Caller.NonMember })
            {
                connected[caller] = await HubClient.ConnectAsync(gateway.Url, new Cell(fx, caller).Actor);
            }

            foreach (var row in HubRows)
            {
                foreach (var caller in Callers)
                {
                    var cell = new Cell(fx, caller);
                    var args = await row.Args(cell);
                    var (outcome, detail) = connected.TryGetValue(caller, out var client)
                        ? await InvokeAsync(client.Connection, row.Method, args)
                        : await ConnectAndInvokeAsync(gateway, cell, row.Method, args);
                    var expected = Expected(row.Rule, caller);
                    if (outcome != expected)
                    {
                        wrong.Add($"hub {row.Method} × {caller}: expected {expected}, got {outcome} ({detail})");
                    }
                }
            }
        }
        finally
        {
            foreach (var client in connected.Values)
            {
                await client.DisposeAsync();
            }
        }

        Assert.True(wrong.Count == 0, string.Join('\n', wrong));
    }

    private static IEnumerable<Google.Protobuf.Reflection.ServiceDescriptor> ChatV1Services() =>
        new[] { DirectoryReflection.Descriptor, MessagingReflection.Descriptor, PresenceReflection.Descriptor, BotsReflection.Descriptor, EventsReflection.Descriptor, CommonReflection.Descriptor }
            .Where(f => f.Package == "chat.v1")
            .SelectMany(f => f.Services);

    private static string AppOf(string method) => method.Split('/')[1] switch
    {
        "chat.v1.DirectoryService" or "chat.v1.DirectoryInternalService" or "chat.v1.BotService" or "chat.v1.BotInternalService" => DaprNames.Apps.Directory,
        "chat.v1.MessagingService" => DaprNames.Apps.Messaging,
        "chat.v1.PresenceService" => DaprNames.Apps.Presence,
        var s => throw new InvalidOperationException($"No app serves {s}: add it to the matrix."),
    };

    private async Task<(Outcome Outcome, string Detail)> CallAsync(MethodDescriptor descriptor, Rule rule, Cell cell, IMessage request)
    {
        var fullName = $"/{descriptor.Service.FullName}/{descriptor.Name}";
        var appId = AppOf(fullName);
        var method = new Method<IMessage, IMessage>(MethodType.Unary, descriptor.Service.FullName, descriptor.Name,
            Marshallers.Create<IMessage>(m => m.ToByteArray(), b => descriptor.InputType.Parser.ParseFrom(b)),
            Marshallers.Create<IMessage>(m => m.ToByteArray(), b => descriptor.OutputType.Parser.ParseFrom(b)));
        GrpcChannel? own = null;
        try
        {
            CallInvoker invoker;
            switch (cell.Caller)
            {
                case Caller.Self when rule is Rule.Internal or Rule.GatewayOnly or Rule.BotsOnly:
                    // Through the sidecar of an app that may call it, with that app's own API token.
                    var from = rule == Rule.BotsOnly ? null : System.InstanceOf(rule == Rule.Internal ? DaprNames.Apps.Delivery : DaprNames.Apps.Gateway);
                    var endpoint = from?.Sidecar.GrpcEndpoint ?? fx.BotsSidecar.GrpcEndpoint;
                    var apiToken = from?.Tokens.DaprApiToken ?? fx.BotsApiToken;
                    own = GrpcChannel.ForAddress(endpoint);
                    invoker = own.Intercept(m =>
                    {
                        m.Add("dapr-app-id", appId);
                        m.Add(SidecarTokens.Header, apiToken);
                        return m;
                    });
                    break;
                case Caller.Self or Caller.Member or Caller.NonMember:
                    invoker = System.InvokerFor(appId, cell.Actor.AccessToken);
                    break;
                case Caller.Anonymous:
                    invoker = System.InvokerFor(appId);
                    break;
                case Caller.Expired:
                    invoker = System.InvokerFor(appId, fx.ExpiredToken);
                    break;
                case Caller.Forged:
                    invoker = System.InvokerFor(appId, fx.ForgedToken);
                    break;
                case Caller.OtherAudience:
                    invoker = System.InvokerFor(appId, fx.OtherAudienceToken);
                    break;
                default:
                    own = GrpcChannel.ForAddress(System.InstanceOf(appId).AppPortUrl);
                    invoker = own.Intercept(m =>
                    {
                        m.Add("authorization", "Bearer " + fx.Alice.AccessToken);
                        return m;
                    });
                    break;
            }

            await invoker.AsyncUnaryCall(method, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), request);
            return (Outcome.Ok, "OK");
        }
        catch (RpcException ex)
        {
            var outcome = ex.StatusCode switch
            {
                StatusCode.Unauthenticated => Outcome.Unauthenticated,
                StatusCode.PermissionDenied or StatusCode.NotFound => Outcome.Denied,
                _ => (Outcome)(-1),
            };
            return (outcome, $"{ex.StatusCode}: {ex.Status.Detail}");
        }
        finally
        {
            own?.Dispose();
        }
    }

    private static async Task<(Outcome Outcome, string Detail)> InvokeAsync(HubConnection connection, string method, object?[] args)
    {
        try
        {
            await connection.InvokeCoreAsync(method, typeof(object), args);
            return (Outcome.Ok, "OK");
        }
        catch (HubException ex)
        {
            // The client prefixes the server's "{code}: {message}" with its own words.
            const string marker = "HubException: ";
            var message = ex.Message.Contains(marker, StringComparison.Ordinal) ? ex.Message[(ex.Message.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..] : ex.Message;
            var code = message.Split(':')[0].Trim();
            var outcome = code switch
            {
                ErrorCodes.Unauthenticated => Outcome.Unauthenticated,
                ErrorCodes.NotMember or ErrorCodes.NotAdmin or ErrorCodes.PermissionDenied or ErrorCodes.NotFound => Outcome.Denied,
                _ => (Outcome)(-1),
            };
            return (outcome, ex.Message);
        }
    }

    /// <summary>A connection with a bad token, none, or to the app port; refused at connect, or the call's outcome if not.</summary>
    private async Task<(Outcome Outcome, string Detail)> ConnectAndInvokeAsync(AppInstance gateway, Cell cell, string method, object?[] args)
    {
        var token = cell.Caller switch
        {
            Caller.Anonymous => null,
            Caller.Expired => fx.ExpiredToken,
            Caller.Forged => fx.ForgedToken,
            Caller.OtherAudience => fx.OtherAudienceToken,
            _ => fx.Alice.AccessToken,
        };
        var url = (cell.Caller == Caller.Bypass ? gateway.AppPortUrl : gateway.Url) + GatewayServices.HubPath;
        await using var connection = new HubConnectionBuilder()
            .WithUrl(url, o => o.AccessTokenProvider = () => Task.FromResult(token))
            .Build();
        try
        {
            await connection.StartAsync();
        }
        catch (HttpRequestException ex) when (ex.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.NotFound)
        {
            return (Outcome.Unauthenticated, $"connect: {(int)ex.StatusCode!}");
        }

        return await InvokeAsync(connection, method, args);
    }

    private static Device MatrixDevice() => new() { DeviceId = "matrix-device", Platform = PushPlatform.Apns, PushToken = "00ff00ff" };

    private static string RenderDocs()
    {
        var text = new StringBuilder();
        text.AppendLine("# Authorization matrix");
        text.AppendLine();
        text.AppendLine("Generated from `tests/Chat.Integration.Tests/Security/AuthorizationMatrixTests.cs`, which runs");
        text.AppendLine("every cell against a running system and fails when a gRPC method of `chat.v1` or a hub method has");
        text.AppendLine("no row, or when this file differs from the table (`CHAT_UPDATE_DOCS=1` rewrites it). See");
        text.AppendLine("[security.md](security.md) for the boundaries behind it.");
        text.AppendLine();
        text.AppendLine("Callers:");
        text.AppendLine();
        text.AppendLine("- **self**: the owner of what is touched (own account, the group's owner); for internal and");
        text.AppendLine("  gateway-only methods, an app allowed to call them, through its own sidecar.");
        text.AppendLine("- **member**: another member of the conversation (on account methods, another user on their own account).");
        text.AppendLine("- **non-member**: a signed-in user outside the conversation.");
        text.AppendLine("- **anonymous**: no access token. **expired**: right key, expired. **forged**: signed with another key.");
        text.AppendLine("  **other-aud**: right key and issuer, another audience.");
        text.AppendLine("- **bypass**: a valid user token sent straight to the app's port, not through its sidecar (no `dapr-api-token`).");
        text.AppendLine();
        text.AppendLine("Outcomes: **ok**; **unauth** = refused before any handler runs (gRPC `UNAUTHENTICATED`; on the hub the");
        text.AppendLine("connection is refused with 401, or 404 on the gateway's sidecar port); **denied** = refused by the handler");
        text.AppendLine("(`PERMISSION_DENIED`/`NOT_FOUND`; hub codes `not_member`, `not_admin`, `permission_denied`, `not_found`).");
        text.AppendLine();
        text.AppendLine("| surface | method | rule | " + string.Join(" | ", Callers.Select(Header)) + " |");
        text.AppendLine("| --- | --- | --- | " + string.Join(" | ", Callers.Select(_ => "---")) + " |");
        foreach (var row in GrpcRows.OrderBy(r => r.Method, StringComparer.Ordinal))
        {
            var parts = row.Method.Split('/');
            text.AppendLine($"| gRPC `{parts[1]}` | `{parts[2]}` | {RuleName(row.Rule)} | " + string.Join(" | ", Callers.Select(c => Cell(Expected(row.Rule, c)))) + " |");
        }

        foreach (var row in HubRows.OrderBy(r => r.Method, StringComparer.Ordinal))
        {
            text.AppendLine($"| hub `/hubs/chat` | `{row.Method}` | {RuleName(row.Rule)} | " + string.Join(" | ", Callers.Select(c => Cell(Expected(row.Rule, c)))) + " |");
        }

        text.AppendLine();
        text.AppendLine("Rules: **anonymous** needs no token; **account** any signed-in user, on their own data; **member** members");
        text.AppendLine("of the conversation; **group admin** the group's owner or admins; **internal** only through the sidecar of");
        text.AppendLine("messaging, delivery or presence (`dapr-caller-app-id`); **gateway only** only through the gateway's sidecar;");
        text.AppendLine("**bots only** only through the bots app's sidecar.");
        return text.ToString();

        static string Header(Caller c) => c switch
        {
            Caller.NonMember => "non-member",
            Caller.OtherAudience => "other-aud",
            _ => c.ToString().ToLowerInvariant(),
        };

        static string Cell(Outcome o) => o switch
        {
            Outcome.Ok => "ok",
            Outcome.Unauthenticated => "unauth",
            _ => "denied",
        };

        static string RuleName(Rule r) => r switch
        {
            Rule.GroupAdmin => "group admin",
            Rule.GatewayOnly => "gateway only",
            Rule.BotsOnly => "bots only",
            _ => r.ToString().ToLowerInvariant(),
        };
    }
}
