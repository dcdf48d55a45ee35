using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Dapr.Actors;
using Dapr.Actors.Client;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Chat.Messaging;

/// <summary>How long after sending a message its sender may still change it (section <c>Messaging:Lifecycle</c>).</summary>
public sealed class LifecycleOptions
{
    public const string SectionName = "Messaging:Lifecycle";

    /// <summary>The sender may edit within this time of sending.</summary>
    public TimeSpan EditWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The sender may delete for everyone within this time of sending (group admins at any time).</summary>
    public TimeSpan DeleteWindow { get; set; } = TimeSpan.FromHours(48);
}

/// <summary>
/// Edits, deletes and reactions: input and membership are checked here, the rules that depend on
/// the log by the conversation's actor (see <see cref="Lifecycle.Check"/>), which appends the entry.
/// </summary>
public sealed class MessageLifecycle(Membership membership, IActorProxyFactory actors, IOptionsMonitor<LifecycleOptions> options)
{
    /// <summary>Appends an entry of <paramref name="kind"/> for the caller; throws the coded status of a broken rule.</summary>
    public async Task<LifecycleResult> ApplyAsync(
        ChatUser user, string conversationId, ulong targetSeq, string clientMsgId, MessageKind kind, string text, string senderConnection, CancellationToken ct)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.ClientMsgId(clientMsgId));
        if (targetSeq == 0)
        {
            throw ChatStatus.Create(StatusCode.InvalidArgument, ErrorCodes.InvalidTarget, "target_seq must name a message (seq 1 or more).");
        }

        ChatStatus.ThrowIfInvalid(kind switch
        {
            MessageKind.Edit => ChatValidation.Content(text, null),
            MessageKind.Reaction => Lifecycle.Emoji(text),
            _ => null,
        });

        var (conversationKind, members) = await membership.RequireMemberAsync(conversationId, user.UserId, ct);
        var o = options.CurrentValue;
        var isAdmin = kind == MessageKind.Delete && conversationKind == ConversationKind.Group
            && await membership.GetRoleAsync(conversationId, user.UserId, ct) is GroupRole.Admin or GroupRole.Owner;
        var request = new LifecycleRequest(user.UserId, user.DeviceId, clientMsgId, (int)kind, targetSeq, text,
            kind == MessageKind.Edit ? o.EditWindow : o.DeleteWindow, isAdmin, members, senderConnection);
        var proxy = actors.Create(new ActorId(conversationId), DaprNames.Actors.Conversation);
        var result = await proxy.InvokeMethodAsync<LifecycleRequest, LifecycleResult>(ConversationActorMethods.ApplyLifecycle, request, ct);
        if (result.ErrorCode is { } code)
        {
            throw ChatStatus.Create(StatusOf(code), code, result.Error ?? code);
        }

        return result;
    }

    private static StatusCode StatusOf(string code) => code switch
    {
        ErrorCodes.NotSender => StatusCode.PermissionDenied,
        ErrorCodes.EditWindowPassed or ErrorCodes.DeleteWindowPassed or ErrorCodes.MessageDeleted => StatusCode.FailedPrecondition,
        _ => StatusCode.InvalidArgument,
    };
}
