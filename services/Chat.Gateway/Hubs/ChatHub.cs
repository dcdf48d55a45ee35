using Chat.Contracts.V1;
using Chat.Core;
using Chat.Core.Routing;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Dapr.Actors;
using Dapr.Actors.Client;
using Grpc.Core;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Gateway.Hubs;

/// <summary>
/// The client-facing hub at <c>/hubs/chat</c>. Each call is forwarded to the owning service
/// through Dapr with the caller's own access token, so services authorize the user themselves.
/// Errors reach the client as hub errors <c>"{code}: {message}"</c> and never close the connection.
/// </summary>
// No [Authorize]: HubAuthenticationMiddleware lets no request reach a hub's endpoints without a valid
// access token, so every connection has its user, and no hub call needs a policy check of its own.
public sealed partial class ChatHub(
    MessagingService.MessagingServiceClient messaging,
    MessageSender sender,
    IActorProxyFactory actors,
    GatewayInstance instance,
    LocalConnections connections,
    ChatTokenService tokens,
    // The hub call's scope, not the connect request's: the first use of a request's services creates
    // a DI scope that a WebSocket's request keeps for the connection's life.
    IServiceProvider services,
    ILogger<ChatHub> log) : Hub<IChatClient>
{
    private readonly ILogger _logger = log;

    public override async Task OnConnectedAsync()
    {
        var user = CurrentUser();
        // A connection taken before deliveries reach this instance could miss its messages.
        if (!await services.GetRequiredService<DeliveryReadiness>().WaitAsync(DeliveryReadiness.ConnectWait, Context.ConnectionAborted))
        {
            throw HubErrors.Create(ErrorCodes.Unavailable, "This gateway is still starting; reconnect in a moment.");
        }

        connections.Add(new LocalConnection(Context.ConnectionId, user.UserId, user.DeviceId));
        await UserActor(user.UserId).InvokeMethodAsync<UserConnection, UserRoutes>(UserActorMethods.Connect,
            new UserConnection(Context.ConnectionId, user.DeviceId, instance.Id, DateTimeOffset.UtcNow));
        PresenceOnConnected(user);
        await base.OnConnectedAsync();
    }

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        var user = CurrentUser();
        var lastHere = connections.Remove(user.UserId, Context.ConnectionId);
        UserRoutes? routes = null;
        try
        {
            routes = await UserActor(user.UserId).InvokeMethodAsync<DisconnectRequest, UserRoutes>(UserActorMethods.Disconnect, new DisconnectRequest(Context.ConnectionId));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The route goes stale at worst; the lease check and the next connect clean it up.
            LogDisconnectFailed(ex, user.UserId);
        }

        await PresenceOnDisconnectedAsync(user, lastHere, routes);

        await base.OnDisconnectedAsync(exception);
    }

    /// <summary>
    /// Returns the server time. SignalR runs OnConnectedAsync before the first invocation, so when
    /// this returns, the connection is registered for deliveries: clients call it (or any method)
    /// right after connecting, then Sync.
    /// </summary>
    [HubErrorCodes()]
    [NotRateLimited("Answers the time from memory, like a keep-alive; no backend call.")]
    public DateTimeOffset Ping() => DateTimeOffset.UtcNow;

    /// <summary>Sends a message. Returns the ack (sent ✓) and also raises MessageAccepted on the caller.</summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument, ErrorCodes.InvalidClientMsgId, ErrorCodes.ContentEmpty, ErrorCodes.ContentTooLarge, ErrorCodes.InvalidConversationId, ErrorCodes.InvalidId, ErrorCodes.NotMember, ErrorCodes.RateLimited, ErrorCodes.InvalidReplyTo, ErrorCodes.InvalidMedia)]
    [RateLimit(HubRatePolicies.Send)]
    public async Task<MessageAcceptedDto> SendMessage(SendMessageArgs args)
    {
        var user = CurrentUser();
        if (args is null)
        {
            throw HubErrors.Create(ErrorCodes.InvalidArgument, "SendMessage needs an argument {conversationId | peerUserId, clientMsgId, text}.");
        }

        var request = new SendMessageRequest
        {
            ClientMsgId = args.ClientMsgId ?? "",
            Content = new MessageContent { Text = args.Text ?? "", ReplyToSeq = args.ReplyToSeq, Opaque = args.Opaque },
        };
        if (args.Attachment is { } a)
        {
            request.Content.Attachment = new Attachment { Uri = a.Uri ?? "", ContentType = a.ContentType ?? "", SizeBytes = a.SizeBytes, FileName = a.FileName ?? "", MediaId = a.MediaId ?? "" };
        }

        if (!string.IsNullOrEmpty(args.ConversationId))
        {
            request.ConversationId = args.ConversationId;
        }
        else if (!string.IsNullOrEmpty(args.PeerUserId))
        {
            request.PeerUserId = args.PeerUserId;
        }

        // Straight to the conversation's actor, which checks membership itself (no messaging hop).
        // The sending connection has the message through the ack: delivery leaves out this connection only.
        var response = await Call(() => sender.SendAsync(user, request, Context.ConnectionId, Context.ConnectionAborted));
        var accepted = new MessageAcceptedDto(request.ClientMsgId, response.Message.ToDto(), response.Duplicate);
        await Clients.Caller.MessageAccepted(accepted);
        return accepted;
    }

    /// <summary>Moves the caller's delivered or read cursor ("delivered" | "read").</summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument, ErrorCodes.InvalidConversationId, ErrorCodes.NotMember)]
    [RateLimit(HubRatePolicies.Receipt)]
    public async Task<CursorDto> UpdateReceipt(UpdateReceiptArgs args)
    {
        if (args is null)
        {
            throw HubErrors.Create(ErrorCodes.InvalidArgument, "UpdateReceipt needs {conversationId, kind, upToSeq}.");
        }

        var kind = args.Kind?.ToLowerInvariant() switch
        {
            "delivered" => ReceiptKind.Delivered,
            "read" => ReceiptKind.Read,
            _ => throw HubErrors.Create(ErrorCodes.InvalidArgument, "kind must be \"delivered\" or \"read\"."),
        };
        var response = await Call(() => messaging.UpdateReceiptAsync(
            new UpdateReceiptRequest { ConversationId = args.ConversationId ?? "", Kind = kind, UpToSeq = args.UpToSeq }, Headers()).ResponseAsync);
        return response.Cursor.ToDto();
    }

    /// <summary>Catch-up after a reconnect.</summary>
    [HubErrorCodes(ErrorCodes.InvalidLimit, ErrorCodes.InvalidConversationId)]
    [RateLimit(HubRatePolicies.Read)]
    public async Task<SyncResultDto> Sync(SyncArgs? args)
    {
        var request = new SyncRequest
        {
            Limit = args?.Limit ?? 0,
            ReceiptsSince = args?.ReceiptsSince is { } since ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(since) : null,
        };
        foreach (var c in args?.Cursors ?? [])
        {
            request.Cursors.Add(new SyncCursor { ConversationId = c.ConversationId ?? "", Epoch = c.Epoch, LastSeq = c.LastSeq });
        }

        var response = await Call(() => messaging.SyncAsync(request, Headers()).ResponseAsync);
        return new SyncResultDto(response.Deltas.Select(d => d.ToDto()).ToList(), response.HasMore, response.SyncedAt?.ToDateTimeOffset());
    }

    /// <summary>A page of a conversation's history.</summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument, ErrorCodes.InvalidConversationId, ErrorCodes.InvalidLimit, ErrorCodes.NotMember)]
    [RateLimit(HubRatePolicies.Read)]
    public async Task<HistoryDto> GetHistory(GetHistoryArgs args)
    {
        if (args is null)
        {
            throw HubErrors.Create(ErrorCodes.InvalidArgument, "GetHistory needs {conversationId, beforeSeq?, afterSeq?, limit?}.");
        }

        var response = await Call(() => messaging.GetHistoryAsync(new GetHistoryRequest
        {
            ConversationId = args.ConversationId ?? "",
            BeforeSeq = args.BeforeSeq,
            AfterSeq = args.AfterSeq,
            Limit = args.Limit,
        }, Headers()).ResponseAsync);
        return new HistoryDto(response.Messages.Select(m => m.ToDto()).ToList(), response.HasMore, response.LastSeq);
    }

    /// <summary>A page of the caller's conversations, most recent first, with last message and unread count.</summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument, ErrorCodes.InvalidLimit)]
    [RateLimit(HubRatePolicies.Read)]
    public async Task<ConversationPageDto> ListConversations(ListConversationsArgs? args)
    {
        var response = await Call(() => messaging.ListConversationsAsync(
            new ListConversationsRequest { Limit = args?.Limit ?? 0, PageToken = args?.PageToken ?? "" }, Headers()).ResponseAsync);
        return new ConversationPageDto(response.Conversations.Select(c => c.ToDto()).ToList(),
            string.IsNullOrEmpty(response.NextPageToken) ? null : response.NextPageToken);
    }

    /// <summary>Every member's cursors, for ticks and "read by k of n".</summary>
    [HubErrorCodes(ErrorCodes.InvalidConversationId, ErrorCodes.NotMember)]
    [RateLimit(HubRatePolicies.Read)]
    public async Task<IReadOnlyList<CursorDto>> GetReceipts(string conversationId)
    {
        var response = await Call(() => messaging.GetReceiptsAsync(new GetReceiptsRequest { ConversationId = conversationId ?? "" }, Headers()).ResponseAsync);
        return response.Cursors.Select(c => c.ToDto()).ToList();
    }

    /// <summary>Replaces the access token used for this connection's calls (after a refresh). Same user only.</summary>
    [HubErrorCodes(ErrorCodes.Unauthenticated)]
    [RateLimit(HubRatePolicies.Token)]
    public void UpdateAccessToken(string accessToken)
    {
        accessToken ??= "";
        var user = tokens.Validate(accessToken);
        if (user is null || user.UserId != CurrentUser().UserId)
        {
            throw HubErrors.Create(ErrorCodes.Unauthenticated, "The token is invalid, expired, or belongs to another user.");
        }

        Context.Features.Set(new RefreshedAccessToken(accessToken));
    }

    private ChatUser CurrentUser() => HubAuthenticationMiddleware.ToChatUser(Context.User)
        ?? throw HubErrors.Create(ErrorCodes.Unauthenticated, "Not signed in.");

    private Metadata Headers() => new()
    {
        { "authorization", "Bearer " + AccessToken() },
    };

    // The connect request (kept by the connection) already holds the token: nothing is copied per
    // connection unless the client refreshes it. A connection's invocations run one at a time
    // (SignalR's default), so the feature is never read while UpdateAccessToken sets it.
    private string? AccessToken() =>
        Context.Features.Get<RefreshedAccessToken>()?.Token ?? HubAuthenticationMiddleware.ReadToken(Context.GetHttpContext()!.Request);

    private ActorProxy UserActor(string userId) => actors.Create(new ActorId(userId), DaprNames.Actors.User);

    private async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (RpcException ex)
        {
            if (ex.StatusCode is not (StatusCode.InvalidArgument or StatusCode.PermissionDenied or StatusCode.NotFound or StatusCode.Unauthenticated or StatusCode.FailedPrecondition or StatusCode.ResourceExhausted))
            {
                LogBackendFailed(ex, ex.StatusCode);
            }

            throw HubErrors.From(ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove the connection of {UserId} from its UserActor")]
    private partial void LogDisconnectFailed(Exception ex, string userId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Backend call failed with {Status}")]
    private partial void LogBackendFailed(Exception ex, StatusCode status);
}

/// <summary>The access token a connection sent through UpdateAccessToken, which replaces the one it connected with.</summary>
internal sealed record RefreshedAccessToken(string Token);
