using Chat.Contracts.V1;
using Chat.Core.Presence;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Chat.Presence;

/// <summary>
/// <c>chat.v1.PresenceService</c>. The two report methods are for gateways only (checked by
/// <see cref="ChatAuthInterceptor"/> from the caller's app-id); GetPresence needs the user's token
/// and applies privacy here, never in the client.
/// </summary>
public sealed class PresenceGrpcService(PresenceTracker tracker, DirectoryInternalService.DirectoryInternalServiceClient directory) : PresenceService.PresenceServiceBase
{
    public override async Task<ReportConnectedUsersResponse> ReportConnectedUsers(ReportConnectedUsersRequest request, ServerCallContext context)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.GatewayInstanceId, "gateway_instance_id"));
        foreach (var id in request.UserIds)
        {
            ChatStatus.ThrowIfInvalid(ChatValidation.Id(id, "user id"));
        }

        var outcome = await tracker.ReportAsync(request.GatewayInstanceId, request.UserIds, request.RefreshIntervalSeconds, context.CancellationToken);
        return new ReportConnectedUsersResponse { CameOnlineUserIds = { outcome.CameOnline } };
    }

    public override async Task<ReportDisconnectedResponse> ReportDisconnected(ReportDisconnectedRequest request, ServerCallContext context)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.GatewayInstanceId, "gateway_instance_id"));
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.UserId, "user_id"));
        var lastSeen = await tracker.DisconnectedAsync(request.UserId, request.StillConnectedElsewhere, context.CancellationToken);
        return new ReportDisconnectedResponse { LastSeen = lastSeen is { } at ? Timestamp.FromDateTimeOffset(at) : null };
    }

    public override async Task<GetPresenceResponse> GetPresence(GetPresenceRequest request, ServerCallContext context)
    {
        var viewer = context.GetChatUser();
        var ids = request.UserIds.Distinct(StringComparer.Ordinal).ToList();
        ChatStatus.ThrowIfInvalid(ChatValidation.Limit(ids.Count, ChatLimits.MaxBatchUsers, "user_ids"));
        foreach (var id in ids)
        {
            ChatStatus.ThrowIfInvalid(ChatValidation.Id(id, "user id"));
        }

        var response = new GetPresenceResponse();
        if (ids.Count == 0)
        {
            return response;
        }

        var others = ids.Where(id => id != viewer.UserId).ToList();
        var rulesTask = others.Count == 0
            ? Task.FromResult(new GetPresenceRulesResponse())
            : directory.GetPresenceRulesAsync(new GetPresenceRulesRequest { ViewerId = viewer.UserId, UserIds = { others } }, cancellationToken: context.CancellationToken).ResponseAsync;
        var (online, lastSeen) = await tracker.ReadAsync(ids, context.CancellationToken);
        var rules = await rulesTask;
        var byUser = rules.Rules.ToDictionary(r => r.UserId, StringComparer.Ordinal);

        foreach (var id in request.UserIds)
        {
            var visible = id == viewer.UserId
                || (byUser.TryGetValue(id, out var rule) && PresencePrivacy.Visible(rule.LastSeen, rules.ViewerLastSeen, rule.IsContact));
            var presence = new UserPresence { UserId = id, Visible = visible };
            if (visible)
            {
                presence.Online = online.ContainsKey(id);
                if (!presence.Online && lastSeen.TryGetValue(id, out var seen))
                {
                    presence.LastSeen = Timestamp.FromDateTimeOffset(seen.Time);
                }
            }

            response.Presences.Add(presence);
        }

        return response;
    }
}
