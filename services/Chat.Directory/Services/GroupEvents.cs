using Chat.Contracts.V1;
using Chat.Core;
using Chat.Directory.State;
using Chat.Domain;
using Dapr;
using Dapr.Client;
using Google.Protobuf.WellKnownTypes;

namespace Chat.Directory.Services;

/// <summary>
/// Publishes <see cref="GroupChanged"/> after a group change is stored. Best effort: the change
/// itself is already stored, so a failed publish is logged and clients learn it from Sync
/// (new conversations, removed ones) and the next GetGroup/ListMembers.
/// </summary>
public sealed partial class GroupEvents(DaprClient dapr, TimeProvider time, ILogger<GroupEvents> log)
{
    private readonly ILogger _logger = log;

    public async Task PublishAsync(GroupRecord group, GroupChangeKind kind, string actorId, IEnumerable<string> userIds,
        IEnumerable<string>? formerMembers = null, GroupRole role = GroupRole.Unspecified, CancellationToken ct = default)
    {
        var evt = new GroupChanged
        {
            ConversationId = ConversationId.Group(group.GroupId).Value,
            Kind = kind,
            ActorId = actorId,
            UserIds = { userIds },
            Role = (int)role,
            Title = group.Title,
            OwnerId = group.OwnerId,
            MemberIds = { group.Members.Select(m => m.UserId) },
            FormerMemberIds = { formerMembers ?? [] },
            At = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
        };
        try
        {
            await dapr.PublishProtoAsync(DaprNames.PubSub, DaprNames.Topics.GroupChanged, evt, ct);
        }
        catch (Exception ex) when (ex is DaprException or HttpRequestException)
        {
            LogPublishFailed(ex, evt.ConversationId, kind);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not publish the {Kind} change of {ConversationId}; members learn it on their next sync")]
    private partial void LogPublishFailed(Exception ex, string conversationId, GroupChangeKind kind);
}
