using Chat.Contracts.V1;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Microsoft.Extensions.Caching.Memory;

namespace Chat.Messaging;

/// <summary>
/// Who belongs where, for reads (history, sync, receipts, lifecycle), asked of directory's internal
/// service through Dapr. A direct conversation's members follow from its id and never change, so
/// once directory confirms it exists it is kept (until idle). Groups are asked every time: their
/// members change. Sends do not come here: the conversation's actor checks its senders itself.
/// </summary>
public sealed class Membership(DirectoryInternalService.DirectoryInternalServiceClient directory) : IDisposable
{
    private static readonly TimeSpan DirectIdle = TimeSpan.FromMinutes(30);

    // Its own cache, so the size bound counts conversations only.
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 200_000 });

    public void Dispose() => _cache.Dispose();

    /// <summary>The conversation's members; PermissionDenied unless <paramref name="userId"/> is one.</summary>
    public async Task<(ConversationKind Kind, IReadOnlyList<string> Members)> RequireMemberAsync(string conversationId, string userId, CancellationToken ct)
    {
        if (ChatValidation.ConversationId(conversationId) is { } invalid)
        {
            throw ChatStatus.From(invalid);
        }

        var (kind, members) = await GetMembersAsync(conversationId, ct);
        if (!members.Contains(userId, StringComparer.Ordinal))
        {
            // Same answer whether the conversation exists or not: no probing for ids.
            throw ChatStatus.NotMember(conversationId);
        }

        return (kind, members);
    }

    public async Task<(ConversationKind Kind, IReadOnlyList<string> Members)> GetMembersAsync(string conversationId, CancellationToken ct)
    {
        var (kind, members, _) = await GetConversationAsync(conversationId, ct);
        return (kind, members);
    }

    public async Task<(ConversationKind Kind, IReadOnlyList<string> Members, string Title)> GetConversationAsync(string conversationId, CancellationToken ct)
    {
        if (_cache.TryGetValue(conversationId, out Known? known))
        {
            return (known!.Kind, known.Members, known.Title);
        }

        var response = await directory.GetMembersAsync(new GetMembersRequest { ConversationId = conversationId }, cancellationToken: ct);
        if (!response.Exists)
        {
            return (response.Kind, [], response.Title);
        }

        if (response.Kind == ConversationKind.Direct)
        {
            Remember(conversationId, new Known(response.Kind, [.. response.MemberIds], response.Title));
        }

        return (response.Kind, response.MemberIds, response.Title);
    }

    private void Remember(string conversationId, Known known)
    {
        using var entry = _cache.CreateEntry(conversationId);
        entry.Value = known;
        entry.Size = 1;
        entry.SlidingExpiration = DirectIdle;
    }

    private sealed record Known(ConversationKind Kind, IReadOnlyList<string> Members, string Title);

    /// <summary>A user's role in a group (unspecified when not a member). Asked fresh: roles change.</summary>
    public async Task<GroupRole> GetRoleAsync(string conversationId, string userId, CancellationToken ct) =>
        (await directory.GetMemberRoleAsync(new GetMemberRoleRequest { ConversationId = conversationId, UserId = userId }, cancellationToken: ct)).Role;

    public async Task<IReadOnlyList<UserConversation>> UserConversationsAsync(string userId, CancellationToken ct) =>
        (await directory.GetUserConversationsAsync(new GetUserConversationsRequest { UserId = userId }, cancellationToken: ct)).Conversations;
}
