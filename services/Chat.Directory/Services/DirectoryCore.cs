using Chat.Contracts.V1;
using Chat.Directory.State;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;

namespace Chat.Directory.Services;

/// <summary>What the public and the internal directory services share: lookups, the conversation index, mappings.</summary>
public sealed class DirectoryCore(IDirectoryState state, IOptionsMonitor<ChatLimits> limits, TimeProvider time)
{
    // How many users' indexes are updated at once when a group changes.
    private const int IndexParallelism = 8;

    public IDirectoryState State => state;

    public int GroupMemberCap => limits.CurrentValue.GroupMemberCap;

    public DateTimeOffset Now => time.GetUtcNow();

    /// <summary>The user, or NotFound.</summary>
    public async Task<UserRecord> RequireUserAsync(string userId, CancellationToken ct) =>
        (await state.GetAsync<UserRecord>(DirectoryKeys.User(userId), ct)).Value ?? throw ChatStatus.NotFound("user", userId);

    /// <summary>The users, in the order asked; NotFound naming the unknown ones.</summary>
    public async Task<IReadOnlyDictionary<string, UserRecord>> RequireUsersAsync(IReadOnlyCollection<string> userIds, CancellationToken ct)
    {
        var users = await GetUsersAsync(userIds, ct);
        var missing = userIds.Where(id => !users.ContainsKey(id)).ToList();
        if (missing.Count > 0)
        {
            var shown = string.Join(", ", missing.Take(10)) + (missing.Count > 10 ? $" and {missing.Count - 10} more" : "");
            throw ChatStatus.Create(Grpc.Core.StatusCode.NotFound, ErrorCodes.NotFound, $"No such user: {shown}.");
        }

        return users;
    }

    /// <summary>The users that exist, by id.</summary>
    public async Task<IReadOnlyDictionary<string, UserRecord>> GetUsersAsync(IReadOnlyCollection<string> userIds, CancellationToken ct)
    {
        var found = await state.GetManyAsync<UserRecord>(userIds.Select(DirectoryKeys.User).ToList(), ct);
        return found.Values.ToDictionary(u => u.UserId, StringComparer.Ordinal);
    }

    /// <summary>The group, or NotFound.</summary>
    public async Task<GroupRecord> RequireGroupAsync(string groupId, CancellationToken ct) =>
        (await state.GetAsync<GroupRecord>(DirectoryKeys.Group(groupId), ct)).Value ?? throw ChatStatus.NotFound("group", groupId);

    /// <summary>The caller's membership, or PermissionDenied.</summary>
    public static MemberRecord RequireMember(GroupRecord group, string userId) =>
        group.Find(userId) ?? throw ChatStatus.NotMember(ConversationId.Group(group.GroupId).Value);

    /// <summary>Adds a conversation to users' indexes (no-op for those who have it).</summary>
    public Task AddToIndexesAsync(IEnumerable<(string UserId, string PeerUserId)> users, string conversationId, CancellationToken ct) =>
        Parallel.ForEachAsync(users, new ParallelOptions { MaxDegreeOfParallelism = IndexParallelism, CancellationToken = ct }, async (u, token) =>
            await state.MutateAsync<ConversationIndexRecord, bool>(DirectoryKeys.Conversations(u.UserId), index =>
            {
                index ??= new ConversationIndexRecord();
                if (index.Conversations.Exists(c => c.ConversationId == conversationId))
                {
                    return new(null, false);
                }

                index.Conversations.Add(new ConversationEntry { ConversationId = conversationId, PeerUserId = u.PeerUserId, JoinedAt = Now });
                return new(index, true);
            }, token));

    /// <summary>Removes a conversation from a user's index.</summary>
    public Task RemoveFromIndexAsync(string userId, string conversationId, CancellationToken ct) =>
        state.MutateAsync<ConversationIndexRecord, bool>(DirectoryKeys.Conversations(userId), index =>
            index is not null && index.Conversations.RemoveAll(c => c.ConversationId == conversationId) > 0 ? new(index, true) : new(null, false), ct);

    /// <summary>A user's conversation index as sent on the wire.</summary>
    public async Task<IEnumerable<UserConversation>> ListConversationsAsync(string userId, CancellationToken ct)
    {
        var index = (await state.GetAsync<ConversationIndexRecord>(DirectoryKeys.Conversations(userId), ct)).Value;
        return (index?.Conversations ?? []).Select(c => new UserConversation
        {
            ConversationId = c.ConversationId,
            Kind = c.ConversationId.StartsWith(ConversationId.DirectPrefix, StringComparison.Ordinal) ? ConversationKind.Direct : ConversationKind.Group,
            PeerUserId = c.PeerUserId,
            JoinedAt = Timestamp.FromDateTimeOffset(c.JoinedAt),
        });
    }

    /// <summary>
    /// Members of a conversation: the two users of an ensured direct conversation, or a
    /// group's members; null when there is no such conversation.
    /// </summary>
    public async Task<(ConversationKind Kind, IReadOnlyList<string> Members, string Title)?> GetMembersAsync(ConversationId id, CancellationToken ct) =>
        await GetVersionedMembersAsync(id, ct) is { } found ? (found.Kind, found.Members, found.Title) : null;

    /// <summary><see cref="GetMembersAsync"/> with the group's <see cref="GroupRecord.Version"/> (0 for direct).</summary>
    public async Task<(ConversationKind Kind, IReadOnlyList<string> Members, string Title, ulong Version)?> GetVersionedMembersAsync(ConversationId id, CancellationToken ct)
    {
        if (id.Type == ConversationType.Direct)
        {
            var ensured = (await state.GetAsync<DirectConversationRecord>(DirectoryKeys.Direct(id.Value), ct)).Value;
            if (ensured is null)
            {
                return null;
            }

            var (a, b) = id.DirectMembers();
            return (ConversationKind.Direct, [a, b], "", 0);
        }

        var group = (await state.GetAsync<GroupRecord>(DirectoryKeys.Group(id.GroupId), ct)).Value;
        return group is null ? null : (ConversationKind.Group, group.Members.Select(m => m.UserId).ToList(), group.Title, group.Version);
    }

    /// <summary>Members of a conversation the caller belongs to: NotFound or PermissionDenied otherwise.</summary>
    public async Task<(ConversationKind Kind, IReadOnlyList<string> Members, string Title)> RequireMembershipAsync(
        string? conversationId, string userId, CancellationToken ct)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.ConversationId(conversationId));
        ConversationId.TryParse(conversationId, out var id);
        var members = await GetMembersAsync(id, ct) ?? throw ChatStatus.NotFound("conversation", id.Value);
        return members.Members.Contains(userId, StringComparer.Ordinal) ? members : throw ChatStatus.NotMember(id.Value);
    }

    public UserProfile ToProfile(UserRecord user) => new()
    {
        UserId = user.UserId,
        UserName = user.UserName,
        DisplayName = user.DisplayName,
        AvatarUri = user.AvatarUri,
        CreatedAt = Timestamp.FromDateTimeOffset(user.CreatedAt),
        Kind = user.Bot is null ? UserKind.Person : UserKind.Bot,
    };

    public Group ToGroup(GroupRecord group) => new()
    {
        GroupId = group.GroupId,
        ConversationId = ConversationId.Group(group.GroupId).Value,
        Title = group.Title,
        OwnerId = group.OwnerId,
        MemberCount = (uint)group.Members.Count,
        MaxMembers = (uint)GroupMemberCap,
        CreatedAt = Timestamp.FromDateTimeOffset(group.CreatedAt),
    };

    public static GroupMember ToMember(MemberRecord member) => new()
    {
        UserId = member.UserId,
        Role = (GroupRole)member.Role,
        JoinedAt = Timestamp.FromDateTimeOffset(member.JoinedAt),
    };

    public static PrivacySettings ToPrivacy(PrivacyRecord privacy) => new()
    {
        LastSeen = (LastSeenVisibility)privacy.LastSeen,
        ReadReceipts = privacy.ReadReceipts,
        PushPreviews = privacy.PushPreviews,
        GroupAdd = privacy.GroupAdd == 0 ? GroupAddPolicy.Everyone : (GroupAddPolicy)privacy.GroupAdd,
    };

    public static ConversationSettings ToSettings(ConversationSettingsRecord? record) => new()
    {
        Muted = record?.Muted ?? false,
        HidePreviews = record?.HidePreviews ?? false,
        MutedUntil = record?.MutedUntil is { } until ? Timestamp.FromDateTimeOffset(until) : null,
    };

    public static Device ToDevice(DeviceRecord d) => new()
    {
        DeviceId = d.DeviceId,
        Platform = (PushPlatform)d.Platform,
        PushToken = d.PushToken,
        ApnsTopic = d.ApnsTopic,
        WebPush = d.Platform == (int)PushPlatform.Webpush
            ? new WebPushSubscription { Endpoint = d.WebPushEndpoint, P256Dh = d.WebPushP256dh, Auth = d.WebPushAuth }
            : null,
        RegisteredAt = Timestamp.FromDateTimeOffset(d.RegisteredAt),
    };

    /// <summary>Validates a list of user ids: each valid, at most <paramref name="max"/>, duplicates dropped.</summary>
    public static List<string> ValidUserIds(IEnumerable<string> ids, int max, string what)
    {
        var list = ids.ToList();
        if (list.Count > max)
        {
            throw ChatStatus.From(new ValidationError(ErrorCodes.InvalidArgument, $"At most {max} {what} per call; got {list.Count}."));
        }

        foreach (var id in list)
        {
            ChatStatus.ThrowIfInvalid(ChatValidation.Id(id, "User id"));
        }

        return list.Distinct(StringComparer.Ordinal).ToList();
    }
}
