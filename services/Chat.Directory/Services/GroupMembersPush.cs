using Chat.Core;
using Chat.Directory.State;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Dapr;
using Dapr.Actors;
using Dapr.Actors.Client;
using Grpc.Core;

namespace Chat.Directory.Services;

/// <summary>
/// Tells the group's conversation actor (router) the new member list, with the group's version,
/// before a membership change returns: the actor refuses a removed member's next send and delivers
/// the next message to an added member without asking directory per send. A push that does not
/// arrive fails the change's RPC with Unavailable (the change is stored): the client retries, and
/// the retry pushes again even when it finds nothing left to change. The actor also asks directory
/// again after a minute without a push, so a push lost for good is bounded.
/// </summary>
public sealed partial class GroupMembersPush(IActorProxyFactory actors, ILogger<GroupMembersPush> log)
{
    private const int Attempts = 3;

    private readonly ILogger _logger = log;

    public async Task PushAsync(GroupRecord group, CancellationToken ct)
    {
        var conversationId = ConversationId.Group(group.GroupId).Value;
        var members = new ConversationMembers(group.Version, group.Members.Select(m => m.UserId).ToList());
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await actors.Create(new ActorId(conversationId), DaprNames.Actors.Conversation)
                    .InvokeMethodAsync(ConversationActorMethods.SetMembers, members, ct);
                return;
            }
            catch (Exception ex) when (ActorCallFailure.IsFailure(ex) && !ct.IsCancellationRequested)
            {
                if (attempt >= Attempts)
                {
                    LogPushFailed(ex, conversationId, group.Version);
                    throw ChatStatus.Create(StatusCode.Unavailable, ErrorCodes.Unavailable,
                        "The membership change is saved, but the conversation has not taken it yet; repeat the call (it is safe to repeat).");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), ct);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not push the members of {ConversationId} (version {Version}) to its actor; the change's call fails so that it is repeated")]
    private partial void LogPushFailed(Exception ex, string conversationId, ulong version);
}
