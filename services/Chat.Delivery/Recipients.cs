using Chat.Contracts.V1;

namespace Chat.Delivery;

/// <summary>Conversation members, from directory's internal service through Dapr.</summary>
public sealed class Recipients(DirectoryInternalService.DirectoryInternalServiceClient directory)
{
    public async Task<IReadOnlyList<string>> MembersAsync(string conversationId, CancellationToken ct) =>
        (await directory.GetMembersAsync(new GetMembersRequest { ConversationId = conversationId }, cancellationToken: ct)).MemberIds;
}

/// <summary>Tells users with no live connection that a message came (push notifications).</summary>
public interface IOfflineNotifier
{
    Task NotifyAsync(MessageCreated message, IReadOnlyList<string> offlineUserIds, CancellationToken ct);
}
