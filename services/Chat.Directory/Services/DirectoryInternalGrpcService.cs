using Chat.Contracts.V1;
using Chat.Directory.State;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Grpc.Core;

namespace Chat.Directory.Services;

/// <summary>
/// <c>chat.v1.DirectoryInternalService</c>: what the other services call under their own Dapr
/// identity (API tokens, scopes). It takes no user token: the gateway never proxies it.
/// </summary>
public sealed class DirectoryInternalGrpcService(DirectoryCore core) : DirectoryInternalService.DirectoryInternalServiceBase
{
    public override async Task<GetMembersResponse> GetMembers(GetMembersRequest request, ServerCallContext context)
    {
        var id = ParseConversation(request.ConversationId);
        var members = await core.GetVersionedMembersAsync(id, context.CancellationToken);
        var response = new GetMembersResponse { Kind = Kind(id), Exists = members is not null };
        if (members is { } m)
        {
            response.MemberIds.AddRange(m.Members);
            response.Title = m.Title;
            response.Version = m.Version;
        }

        return response;
    }

    public override async Task<EnsureDirectConversationResponse> EnsureDirectConversation(EnsureDirectConversationRequest request, ServerCallContext context)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.UserId, "user_id"));
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.PeerUserId, "peer_user_id"));
        if (request.UserId == request.PeerUserId)
        {
            throw ChatStatus.From(new ValidationError(ErrorCodes.InvalidArgument, "A direct conversation needs two different users."));
        }

        var id = ConversationId.Direct(request.UserId, request.PeerUserId);
        var key = DirectoryKeys.Direct(id.Value);
        if ((await core.State.GetAsync<DirectConversationRecord>(key, context.CancellationToken)).Value is not null)
        {
            // The record is written last, so both index entries exist already: nothing to write.
            return new EnsureDirectConversationResponse { ConversationId = id.Value, Created = false };
        }

        await core.RequireUsersAsync([request.UserId, request.PeerUserId], context.CancellationToken);
        // Index entries first (idempotent), the record last: a call that dies in between is
        // completed by the next one, which finds no record yet.
        await core.AddToIndexesAsync([(request.UserId, request.PeerUserId), (request.PeerUserId, request.UserId)], id.Value, context.CancellationToken);
        var created = await core.State.TryInsertAsync(key, new DirectConversationRecord { CreatedAt = core.Now }, null, context.CancellationToken);
        return new EnsureDirectConversationResponse { ConversationId = id.Value, Created = created };
    }

    public override async Task<GetPushTargetsResponse> GetPushTargets(GetPushTargetsRequest request, ServerCallContext context)
    {
        var id = ParseConversation(request.ConversationId);
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.SenderId, "sender_id"));
        var ids = DirectoryCore.ValidUserIds(request.UserIds, ChatLimits.MaxBatchUsers, "user ids");
        var ct = context.CancellationToken;

        var users = await core.GetUsersAsync([.. ids, request.SenderId], ct);
        var devices = await core.State.GetManyAsync<DevicesRecord>(ids.Select(DirectoryKeys.Devices).ToList(), ct);
        var settings = await core.State.GetManyAsync<ConversationSettingsRecord>(ids.Select(u => DirectoryKeys.ConversationSettings(u, id.Value)).ToList(), ct);
        var senderName = users.TryGetValue(request.SenderId, out var sender) ? sender.DisplayName : "";
        var title = senderName;
        if (id.Type == ConversationType.Group)
        {
            title = (await core.State.GetAsync<GroupRecord>(DirectoryKeys.Group(id.GroupId), ct)).Value?.Title ?? senderName;
        }

        var response = new GetPushTargetsResponse { Title = title, SenderDisplayName = senderName };
        foreach (var userId in ids.Where(users.ContainsKey))
        {
            var s = settings.GetValueOrDefault(DirectoryKeys.ConversationSettings(userId, id.Value));
            response.Targets.Add(new PushTarget
            {
                UserId = userId,
                Devices = { (devices.GetValueOrDefault(DirectoryKeys.Devices(userId))?.Devices ?? []).Select(DirectoryCore.ToDevice) },
                ShowPreviews = users[userId].Privacy.PushPreviews && s?.HidePreviews != true,
                Muted = s?.IsMuted(core.Now) == true,
            });
        }

        return response;
    }

    public override async Task<RemoveDeviceResponse> RemoveDevice(RemoveDeviceRequest request, ServerCallContext context)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.UserId, "user_id"));
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.DeviceId, "device_id"));
        if (request.PushToken.Length == 0)
        {
            throw ChatStatus.From(new ValidationError(ErrorCodes.InvalidArgument, "push_token is required: only a registration that still has it is removed."));
        }

        // Web Push registrations have no token; their endpoint plays that part.
        var removed = await core.State.MutateAsync<DevicesRecord, bool>(DirectoryKeys.Devices(request.UserId), devices =>
            devices is not null && devices.Devices.RemoveAll(d => d.DeviceId == request.DeviceId
                && (d.PushToken == request.PushToken || (d.PushToken.Length == 0 && d.WebPushEndpoint == request.PushToken))) > 0
                ? new(devices, true)
                : new(null, false),
            context.CancellationToken);
        return new RemoveDeviceResponse { Removed = removed };
    }

    public override async Task<GetPresenceRulesResponse> GetPresenceRules(GetPresenceRulesRequest request, ServerCallContext context)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.ViewerId, "viewer_id"));
        var ids = DirectoryCore.ValidUserIds(request.UserIds, ChatLimits.MaxBatchUsers, "user ids");
        var ct = context.CancellationToken;
        var users = await core.GetUsersAsync([.. ids, request.ViewerId], ct);
        var viewer = users.GetValueOrDefault(request.ViewerId) ?? throw ChatStatus.NotFound("user", request.ViewerId);

        // Contacts: direct peers from the viewer's index, plus the members of the viewer's groups.
        var index = (await core.State.GetAsync<ConversationIndexRecord>(DirectoryKeys.Conversations(request.ViewerId), ct)).Value?.Conversations ?? [];
        var contacts = index.Where(c => c.PeerUserId.Length > 0).Select(c => c.PeerUserId).ToHashSet(StringComparer.Ordinal);
        var groupKeys = index
            .Select(c => ConversationId.TryParse(c.ConversationId, out var cid) && cid.Type == ConversationType.Group ? DirectoryKeys.Group(cid.GroupId) : null)
            .OfType<string>().ToList();
        if (ids.Any(id => !contacts.Contains(id)) && groupKeys.Count > 0)
        {
            foreach (var group in (await core.State.GetManyAsync<GroupRecord>(groupKeys, ct)).Values.Where(g => g.Find(request.ViewerId) is not null))
            {
                contacts.UnionWith(group.Members.Select(m => m.UserId));
            }
        }

        var response = new GetPresenceRulesResponse { ViewerLastSeen = (LastSeenVisibility)viewer.Privacy.LastSeen };
        response.Rules.AddRange(ids.Where(users.ContainsKey).Select(id => new PresenceRule
        {
            UserId = id,
            LastSeen = (LastSeenVisibility)users[id].Privacy.LastSeen,
            IsContact = id != request.ViewerId && contacts.Contains(id),
        }));
        return response;
    }

    public override async Task<GetUserConversationsResponse> GetUserConversations(GetUserConversationsRequest request, ServerCallContext context)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.UserId, "user_id"));
        return new GetUserConversationsResponse { Conversations = { await core.ListConversationsAsync(request.UserId, context.CancellationToken) } };
    }

    public override async Task<GetReceiptPrivacyResponse> GetReceiptPrivacy(GetReceiptPrivacyRequest request, ServerCallContext context)
    {
        var ids = DirectoryCore.ValidUserIds(request.UserIds, ChatLimits.MaxBatchUsers, "user ids");
        var users = await core.GetUsersAsync(ids, context.CancellationToken);
        return new GetReceiptPrivacyResponse { HiddenUserIds = { ids.Where(id => users.TryGetValue(id, out var u) && !u.Privacy.ReadReceipts) } };
    }

    public override async Task<GetMemberRoleResponse> GetMemberRole(GetMemberRoleRequest request, ServerCallContext context)
    {
        var id = ParseConversation(request.ConversationId);
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.UserId, "user_id"));
        if (id.Type != ConversationType.Group)
        {
            return new GetMemberRoleResponse();
        }

        var group = (await core.State.GetAsync<GroupRecord>(DirectoryKeys.Group(id.GroupId), context.CancellationToken)).Value;
        return new GetMemberRoleResponse { Role = (GroupRole)(group?.Find(request.UserId)?.Role ?? 0) };
    }

    private static ConversationId ParseConversation(string value)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.ConversationId(value));
        ConversationId.TryParse(value, out var id);
        return id;
    }

    private static ConversationKind Kind(ConversationId id) =>
        id.Type == ConversationType.Direct ? ConversationKind.Direct : ConversationKind.Group;
}
