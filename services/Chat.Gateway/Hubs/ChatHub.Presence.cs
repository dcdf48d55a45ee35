using Chat.Contracts.V1;
using Chat.Core;
using Chat.Core.Routing;
using Chat.Domain;
using Chat.Gateway.Presence;
using Chat.ServiceDefaults.Auth;
using Dapr.Client;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Gateway.Hubs;

/// <summary>Presence watching and typing.</summary>
public sealed partial class ChatHub
{
    /// <summary>
    /// Replaces the caller's (this connection's) watch list with <paramref name="userIds"/> (at most
    /// 500) and returns their current presence as the caller may see it. From then on the
    /// connection gets PresenceChanged for those users, filtered by their privacy.
    /// </summary>
    [HubErrorCodes(ErrorCodes.InvalidLimit, ErrorCodes.InvalidId)]
    [RateLimit(HubRatePolicies.Presence)]
    public async Task<IReadOnlyList<PresenceDto>> WatchPresence(string[] userIds, PresenceWatches watches, PresenceService.PresenceServiceClient presence)
    {
        var user = CurrentUser();
        var ids = (userIds ?? []).Distinct(StringComparer.Ordinal).ToList();
        if (ids.Count > PresenceWatches.MaxWatched)
        {
            throw HubErrors.Create(ErrorCodes.InvalidLimit, $"At most {PresenceWatches.MaxWatched} users can be watched at once.");
        }

        if (ids.FirstOrDefault(id => !Identifiers.IsValidId(id)) is { } bad)
        {
            throw HubErrors.Create(ErrorCodes.InvalidId, $"'{bad}' is not a user id ({Identifiers.IdRule}).");
        }

        await watches.WatchAsync(Context.ConnectionId, user.UserId, ids, Context.ConnectionAborted);
        if (ids.Count == 0)
        {
            return [];
        }

        var response = await Call(() => presence.GetPresenceAsync(new GetPresenceRequest { UserIds = { ids } }, Headers()).ResponseAsync);
        return response.Presences.Select(p => new PresenceDto(p.UserId, p.Online, p.LastSeen?.ToDateTimeOffset(), p.Visible)).ToList();
    }

    /// <summary>
    /// Tells the conversation's other connected members that the caller started or stopped typing.
    /// Members only. Throttled to one "typing" per 3 s per user and conversation ("stopped" always
    /// passes); returns false when throttled. Never stored.
    /// </summary>
    [HubErrorCodes(ErrorCodes.InvalidConversationId, ErrorCodes.NotMember)]
    [RateLimit(HubRatePolicies.Presence)]
    public async Task<bool> SetTyping(string conversationId, bool typing, TypingThrottle throttle, DirectoryService.DirectoryServiceClient directory, DaprClient dapr)
    {
        var user = CurrentUser();
        if (ChatValidation.ConversationId(conversationId) is { } invalid)
        {
            throw HubErrors.Create(invalid.Code, invalid.Message);
        }

        if (!throttle.TryPass(user.UserId, conversationId, typing))
        {
            return false;
        }

        // Membership is checked by directory with the caller's own token (non-members get not_member).
        await Call(() => directory.GetConversationMembersAsync(new GetConversationMembersRequest { ConversationId = conversationId }, Headers()).ResponseAsync);
        await dapr.PublishProtoAsync(DaprNames.PubSub, DaprNames.Topics.TypingChanged, new TypingChanged
        {
            ConversationId = conversationId,
            UserId = user.UserId,
            Typing = typing,
            At = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        }, Context.ConnectionAborted);
        return true;
    }

    // Called by OnConnectedAsync after the connection is registered locally.
    private void PresenceOnConnected(ChatUser user)
    {
        if (connections.Of(user.UserId).Count() == 1)
        {
            services.GetRequiredService<PresenceReporter>().UserArrived();
        }
    }

    // Called by OnDisconnectedAsync: on the user's last connection here, presence stores last seen.
    private async Task PresenceOnDisconnectedAsync(ChatUser user, bool lastHere, UserRoutes? routes)
    {
        services.GetRequiredService<PresenceWatches>().Forget(Context.ConnectionId);
        if (!lastHere)
        {
            return;
        }

        try
        {
            await services.GetRequiredService<PresenceService.PresenceServiceClient>().ReportDisconnectedAsync(new ReportDisconnectedRequest
            {
                GatewayInstanceId = instance.Id,
                UserId = user.UserId,
                StillConnectedElsewhere = routes?.Connections.Any(c => c.GatewayInstanceId != instance.Id) ?? false,
            });
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The next report finds the user gone and sets them offline then.
            LogPresenceDisconnectFailed(ex, user.UserId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not report the disconnect of {UserId} to presence")]
    private partial void LogPresenceDisconnectFailed(Exception ex, string userId);
}
