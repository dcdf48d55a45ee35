using Chat.Contracts.V1;
using Chat.Directory.State;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Grpc.Core;

namespace Chat.Directory.Services;

/// <summary>
/// Group membership and roles. A group's whole membership is one key, changed only by
/// ETag-guarded read-modify-write (<see cref="DirectoryStateExtensions.MutateAsync{T,TResult}"/>),
/// so concurrent changes never pass the cap or lose a member: every rule is checked again
/// on the value that is actually written over. Every write grows the group's version; a change
/// of members is pushed to the conversation actor before it returns (<see cref="GroupMembersPush"/>).
/// </summary>
public sealed class Groups(DirectoryCore core, GroupEvents events, GroupMembersPush push)
{
    public async Task<Group> CreateAsync(ChatUser caller, CreateGroupRequest request, CancellationToken ct)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.GroupTitle(request.Title));
        var members = DirectoryCore.ValidUserIds(request.MemberIds, ChatLimits.MaxBatchUsers, "member ids")
            .Where(id => id != caller.UserId).ToList();
        ChatStatus.ThrowIfInvalid(ChatValidation.GroupSize(1, members.Count, core.GroupMemberCap));
        var users = await core.RequireUsersAsync([caller.UserId, .. members], ct);
        await RequireMayAddAsync(caller.UserId, members, users, ct);

        var now = core.Now;
        var group = new GroupRecord
        {
            GroupId = Ids.NewGroupId(),
            Title = request.Title,
            OwnerId = caller.UserId,
            CreatedAt = now,
            Version = 1,
            Members = [new MemberRecord { UserId = caller.UserId, Role = (int)GroupRole.Owner, JoinedAt = now },
                .. members.Select(id => new MemberRecord { UserId = id, Role = (int)GroupRole.Member, JoinedAt = now })],
        };
        if (!await core.State.TryInsertAsync(DirectoryKeys.Group(group.GroupId), group, null, ct))
        {
            throw new RpcException(new Status(StatusCode.Aborted, "A generated group id collided; try again."));
        }

        await core.AddToIndexesAsync(group.Members.Select(m => (m.UserId, "")), ConversationId.Group(group.GroupId).Value, ct);
        await events.PublishAsync(group, GroupChangeKind.Created, caller.UserId, members, ct: ct);
        return core.ToGroup(group);
    }

    public async Task<AddMembersResponse> AddMembersAsync(ChatUser caller, AddMembersRequest request, CancellationToken ct)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.GroupId, "Group id"));
        var ids = DirectoryCore.ValidUserIds(request.UserIds, ChatLimits.MaxBatchUsers, "user ids");
        if (ids.Count == 0)
        {
            throw ChatStatus.From(new ValidationError(ErrorCodes.InvalidArgument, "user_ids is empty: name at least one user to add."));
        }

        // Permission first (so non-admins learn nothing about users), then existence, then the guarded write.
        var current = await core.RequireGroupAsync(request.GroupId, ct);
        RequireAdmin(current, caller.UserId, "add members");
        var users = await core.RequireUsersAsync(ids, ct);
        await RequireMayAddAsync(caller.UserId, ids.Where(id => current.Find(id) is null).ToList(), users, ct);

        var (group, added) = await core.State.MutateAsync<GroupRecord, (GroupRecord?, List<string>)>(DirectoryKeys.Group(request.GroupId), group =>
        {
            if (group is null)
            {
                throw ChatStatus.NotFound("group", request.GroupId);
            }

            RequireAdmin(group, caller.UserId, "add members");
            var toAdd = ids.Where(id => group.Find(id) is null).ToList();
            if (toAdd.Count == 0)
            {
                return new(null, (group, toAdd));
            }

            ChatStatus.ThrowIfInvalid(ChatValidation.GroupSize(group.Members.Count, toAdd.Count, core.GroupMemberCap));
            var now = core.Now;
            group.Members.AddRange(toAdd.Select(id => new MemberRecord { UserId = id, Role = (int)GroupRole.Member, JoinedAt = now }));
            group.Version++;
            return new(group, (group, toAdd));
        }, ct);

        // Also when nothing was left to add: a repeat of a call whose push failed pushes again.
        await push.PushAsync(group!, ct);
        await core.AddToIndexesAsync(added.Select(id => (id, "")), ConversationId.Group(request.GroupId).Value, ct);
        if (added.Count > 0)
        {
            await events.PublishAsync(group!, GroupChangeKind.MembersAdded, caller.UserId, added, ct: ct);
        }

        return new AddMembersResponse { Group = core.ToGroup(group!), AddedUserIds = { added } };
    }

    public async Task<Group> RemoveMemberAsync(ChatUser caller, RemoveMemberRequest request, CancellationToken ct)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.GroupId, "Group id"));
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.UserId, "User id"));
        if (request.UserId == caller.UserId)
        {
            return await LeaveAsync(caller, request.GroupId, ct);
        }

        var group = await PushAgainIfGoneAsync(request.GroupId, ct, () => core.State.MutateAsync<GroupRecord, GroupRecord>(DirectoryKeys.Group(request.GroupId), group =>
        {
            if (group is null)
            {
                throw ChatStatus.NotFound("group", request.GroupId);
            }

            RequireAdmin(group, caller.UserId, "remove members");
            var target = RequireTarget(group, request.UserId);
            if (target.Role == (int)GroupRole.Owner)
            {
                throw ChatStatus.PermissionDenied("Admins cannot remove the group's owner.");
            }

            group.Members.Remove(target);
            group.Version++;
            return new(group, group);
        }, ct));

        await push.PushAsync(group, ct);
        await core.RemoveFromIndexAsync(request.UserId, ConversationId.Group(request.GroupId).Value, ct);
        await events.PublishAsync(group, GroupChangeKind.MemberRemoved, caller.UserId, [request.UserId], [request.UserId], ct: ct);
        return core.ToGroup(group);
    }

    public async Task<GroupMember> SetRoleAsync(ChatUser caller, SetRoleRequest request, CancellationToken ct)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.GroupId, "Group id"));
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.UserId, "User id"));
        if (request.Role is not (GroupRole.Member or GroupRole.Admin or GroupRole.Owner))
        {
            throw ChatStatus.From(new ValidationError(ErrorCodes.InvalidArgument, $"role must be GROUP_ROLE_MEMBER, GROUP_ROLE_ADMIN or GROUP_ROLE_OWNER; got {request.Role}."));
        }

        var (changed, member) = await core.State.MutateAsync<GroupRecord, (GroupRecord?, GroupMember)>(DirectoryKeys.Group(request.GroupId), group =>
        {
            if (group is null)
            {
                throw ChatStatus.NotFound("group", request.GroupId);
            }

            // As in WhatsApp: admins make and dismiss admins; only the owner hands over ownership,
            // and nobody changes the owner's role but the owner (by handing it over).
            RequireAdmin(group, caller.UserId, "change roles");
            var me = group.Find(caller.UserId)!;
            var target = RequireTarget(group, request.UserId);
            if (request.Role == GroupRole.Owner && me.Role != (int)GroupRole.Owner)
            {
                throw ChatStatus.PermissionDenied("Only the group's owner can hand over ownership.");
            }

            if (target.Role == (int)GroupRole.Owner)
            {
                return request.Role == GroupRole.Owner
                    ? new(null, (null, DirectoryCore.ToMember(target)))
                    : target == me
                        ? throw ChatStatus.From(new ValidationError(ErrorCodes.InvalidArgument,
                            "The owner cannot take a lower role: make another member OWNER (you become ADMIN) or leave the group.",
                            ValidationKind.FailedPrecondition))
                        : throw ChatStatus.PermissionDenied("The owner's role can only change when the owner hands over ownership.");
            }

            if (target.Role == (int)request.Role)
            {
                return new(null, (null, DirectoryCore.ToMember(target)));
            }

            if (request.Role == GroupRole.Owner)
            {
                me.Role = (int)GroupRole.Admin;
                group.OwnerId = target.UserId;
            }

            target.Role = (int)request.Role;
            group.Version++;
            return new(group, (group, DirectoryCore.ToMember(target)));
        }, ct);

        if (changed is not null)
        {
            await events.PublishAsync(changed, GroupChangeKind.RoleChanged, caller.UserId, [request.UserId], role: request.Role, ct: ct);
        }

        return member;
    }

    public async Task<Group> RenameAsync(ChatUser caller, RenameGroupRequest request, CancellationToken ct)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.GroupId, "Group id"));
        ChatStatus.ThrowIfInvalid(ChatValidation.GroupTitle(request.Title));
        var (changed, group) = await core.State.MutateAsync<GroupRecord, (bool, GroupRecord)>(DirectoryKeys.Group(request.GroupId), group =>
        {
            if (group is null)
            {
                throw ChatStatus.NotFound("group", request.GroupId);
            }

            RequireAdmin(group, caller.UserId, "rename the group");
            if (group.Title == request.Title)
            {
                return new(null, (false, group));
            }

            group.Title = request.Title;
            group.Version++;
            return new(group, (true, group));
        }, ct);

        if (changed)
        {
            await events.PublishAsync(group, GroupChangeKind.Renamed, caller.UserId, [], ct: ct);
        }

        return core.ToGroup(group);
    }

    public async Task<Group> LeaveAsync(ChatUser caller, string groupId, CancellationToken ct)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(groupId, "Group id"));
        var group = await PushAgainIfGoneAsync(groupId, ct, () => core.State.MutateAsync<GroupRecord, GroupRecord>(DirectoryKeys.Group(groupId), group =>
        {
            if (group is null)
            {
                throw ChatStatus.NotFound("group", groupId);
            }

            var me = DirectoryCore.RequireMember(group, caller.UserId);
            group.Members.Remove(me);
            if (me.Role == (int)GroupRole.Owner)
            {
                // Members are in join order: the first admin, else the first member, is the oldest.
                var heir = group.Members.Find(m => m.Role == (int)GroupRole.Admin) ?? group.Members.FirstOrDefault();
                if (heir is not null)
                {
                    heir.Role = (int)GroupRole.Owner;
                }

                group.OwnerId = heir?.UserId ?? "";
            }

            group.Version++;
            return new(group, group);
        }, ct));

        await push.PushAsync(group, ct);
        await core.RemoveFromIndexAsync(caller.UserId, ConversationId.Group(groupId).Value, ct);
        await events.PublishAsync(group, GroupChangeKind.MemberLeft, caller.UserId, [caller.UserId], [caller.UserId], ct: ct);
        return core.ToGroup(group);
    }

    public async Task<GetGroupResponse> GetAsync(ChatUser caller, string groupId, CancellationToken ct)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(groupId, "Group id"));
        var group = await core.RequireGroupAsync(groupId, ct);
        var me = DirectoryCore.RequireMember(group, caller.UserId);
        return new GetGroupResponse { Group = core.ToGroup(group), MyRole = (GroupRole)me.Role };
    }

    public async Task<ListMembersResponse> ListMembersAsync(ChatUser caller, string groupId, CancellationToken ct)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(groupId, "Group id"));
        var group = await core.RequireGroupAsync(groupId, ct);
        DirectoryCore.RequireMember(group, caller.UserId);
        return new ListMembersResponse { Members = { group.Members.Select(DirectoryCore.ToMember) } };
    }

    /// <summary>
    /// Each user's <c>group_add</c> privacy must let <paramref name="adderId"/> add them: EVERYONE,
    /// or CONTACTS when the two have a direct conversation. Otherwise PermissionDenied
    /// (<c>group_add_denied</c>) naming them, and nobody is added.
    /// </summary>
    private async Task RequireMayAddAsync(string adderId, IReadOnlyList<string> targets, IReadOnlyDictionary<string, UserRecord> users, CancellationToken ct)
    {
        var contactsOnly = targets.Where(id => users[id].Privacy.GroupAdd == (int)GroupAddPolicy.Contacts).ToList();
        var direct = contactsOnly.Count == 0
            ? new Dictionary<string, DirectConversationRecord>()
            : await core.State.GetManyAsync<DirectConversationRecord>(
                contactsOnly.Select(id => DirectoryKeys.Direct(ConversationId.Direct(adderId, id).Value)).ToList(), ct);
        // A bot joins only the groups its owner puts it in: its webhook is the owner's to pay for.
        var denied = targets.Where(id => users[id].Bot is { } bot ? bot.OwnerId != adderId : users[id].Privacy.GroupAdd switch
        {
            (int)GroupAddPolicy.Nobody => true,
            (int)GroupAddPolicy.Contacts => !direct.ContainsKey(DirectoryKeys.Direct(ConversationId.Direct(adderId, id).Value)),
            _ => false,
        }).ToList();
        if (denied.Count > 0)
        {
            var shown = string.Join(", ", denied.Take(10)) + (denied.Count > 10 ? $" and {denied.Count - 10} more" : "");
            throw ChatStatus.PermissionDenied(
                $"Their privacy settings do not let you add them to groups: {shown}. Nobody was added.", ErrorCodes.GroupAddDenied);
        }
    }

    /// <summary>
    /// Runs a removal; when it finds the user gone already (perhaps by an earlier call whose push
    /// failed, now repeated), pushes the stored members again before answering not_member as before.
    /// </summary>
    private async Task<GroupRecord> PushAgainIfGoneAsync(string groupId, CancellationToken ct, Func<Task<GroupRecord>> remove)
    {
        try
        {
            return await remove();
        }
        catch (RpcException ex) when (ex.ErrorCode() == ErrorCodes.NotMember)
        {
            if ((await core.State.GetAsync<GroupRecord>(DirectoryKeys.Group(groupId), ct)).Value is { } current)
            {
                await push.PushAsync(current, ct);
            }

            throw;
        }
    }

    private static void RequireAdmin(GroupRecord group, string userId, string action)
    {
        var me = DirectoryCore.RequireMember(group, userId);
        if (me.Role is not ((int)GroupRole.Admin or (int)GroupRole.Owner))
        {
            throw ChatStatus.PermissionDenied($"Only the owner and admins of grp:{group.GroupId} can {action}.");
        }
    }

    private static MemberRecord RequireTarget(GroupRecord group, string userId) =>
        group.Find(userId) ?? throw ChatStatus.Create(StatusCode.NotFound, ErrorCodes.NotMember, $"User '{userId}' is not a member of grp:{group.GroupId}.");
}
