using Chat.Contracts.V1;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;

namespace Chat.Messaging;

/// <summary>Who belongs where, asked of directory's internal service through Dapr.</summary>
public sealed class Membership(DirectoryInternalService.DirectoryInternalServiceClient directory)
{
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
        var response = await directory.GetMembersAsync(new GetMembersRequest { ConversationId = conversationId }, cancellationToken: ct);
        return (response.Kind, response.Exists ? response.MemberIds : [], response.Title);
    }

    /// <summary>Creates the direct conversation if needed and returns its id.</summary>
    public async Task<string> EnsureDirectAsync(string userId, string peerId, CancellationToken ct)
    {
        var response = await directory.EnsureDirectConversationAsync(new EnsureDirectConversationRequest { UserId = userId, PeerUserId = peerId }, cancellationToken: ct);
        return response.ConversationId;
    }

    public async Task<IReadOnlyList<UserConversation>> UserConversationsAsync(string userId, CancellationToken ct) =>
        (await directory.GetUserConversationsAsync(new GetUserConversationsRequest { UserId = userId }, cancellationToken: ct)).Conversations;
}
