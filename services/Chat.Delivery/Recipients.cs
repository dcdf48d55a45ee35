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

/// <summary>
/// Used until push (issue 8) is wired: offline users catch up by sync when they reconnect, and
/// this records how many pushes would have been sent.
/// </summary>
public sealed class SyncOnlyNotifier : IOfflineNotifier
{
    private long _skipped;

    public long Skipped => Interlocked.Read(ref _skipped);

    public Task NotifyAsync(MessageCreated message, IReadOnlyList<string> offlineUserIds, CancellationToken ct)
    {
        Interlocked.Add(ref _skipped, offlineUserIds.Count);
        return Task.CompletedTask;
    }
}
