using Chat.Contracts.V1;
using Chat.Domain;

namespace Chat.Gateway.Hubs;

/// <summary>Arguments of EditMessage: the message's seq, an idempotency key for the edit, and the new text.</summary>
public sealed record EditMessageArgs(string? ConversationId, ulong TargetSeq, string? ClientMsgId, string? Text);

/// <summary>Arguments of DeleteMessage (for everyone): the message's seq and an idempotency key for the delete.</summary>
public sealed record DeleteMessageArgs(string? ConversationId, ulong TargetSeq, string? ClientMsgId);

/// <summary>Arguments of React: the message's seq, an idempotency key, and one emoji (empty or null removes yours).</summary>
public sealed record ReactArgs(string? ConversationId, ulong TargetSeq, string? ClientMsgId, string? Emoji);

/// <summary>How many members reacted with one emoji, and whether the caller did.</summary>
public sealed record ReactionDto(string Emoji, uint Count, bool Mine);

/// <summary>The stored edit, delete or reaction entry; duplicate: this clientMsgId was applied before.</summary>
public sealed record LifecycleAcceptedDto(string ClientMsgId, MessageDto Entry, bool Duplicate);

/// <summary>
/// Edits, deletes and reactions, forwarded to messaging with the caller's token. Each
/// is an entry of the conversation's log: other members get it as MessageReceived (kind "edit",
/// "delete" or "reaction", targetSeq), offline ones through Sync; history shows the result.
/// </summary>
public sealed partial class ChatHub
{
    /// <summary>Replaces the text of one of the caller's messages, within the edit window (15 minutes by default).</summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument, ErrorCodes.InvalidClientMsgId, ErrorCodes.InvalidConversationId, ErrorCodes.NotMember, ErrorCodes.InvalidTarget,
        ErrorCodes.ContentEmpty, ErrorCodes.ContentTooLarge, ErrorCodes.NotSender, ErrorCodes.EditWindowPassed, ErrorCodes.MessageDeleted)]
    [RateLimit(HubRatePolicies.Send)]
    public async Task<LifecycleAcceptedDto> EditMessage(EditMessageArgs args)
    {
        if (args is null)
        {
            throw HubErrors.Create(ErrorCodes.InvalidArgument, "EditMessage needs {conversationId, targetSeq, clientMsgId, text}.");
        }

        var request = new EditMessageRequest { ConversationId = args.ConversationId ?? "", TargetSeq = args.TargetSeq, ClientMsgId = args.ClientMsgId ?? "", Text = args.Text ?? "" };
        var response = await Call(() => messaging.EditMessageAsync(request, SenderHeaders()).ResponseAsync);
        return new LifecycleAcceptedDto(request.ClientMsgId, response.Entry.ToDto(), response.Duplicate);
    }

    /// <summary>Deletes a message for everyone: the caller's own within the delete window (48 hours by default), or any message of a group the caller administers.</summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument, ErrorCodes.InvalidClientMsgId, ErrorCodes.InvalidConversationId, ErrorCodes.NotMember, ErrorCodes.InvalidTarget,
        ErrorCodes.NotSender, ErrorCodes.DeleteWindowPassed, ErrorCodes.MessageDeleted)]
    [RateLimit(HubRatePolicies.Send)]
    public async Task<LifecycleAcceptedDto> DeleteMessage(DeleteMessageArgs args)
    {
        if (args is null)
        {
            throw HubErrors.Create(ErrorCodes.InvalidArgument, "DeleteMessage needs {conversationId, targetSeq, clientMsgId}.");
        }

        var request = new DeleteMessageRequest { ConversationId = args.ConversationId ?? "", TargetSeq = args.TargetSeq, ClientMsgId = args.ClientMsgId ?? "" };
        var response = await Call(() => messaging.DeleteMessageAsync(request, SenderHeaders()).ResponseAsync);
        return new LifecycleAcceptedDto(request.ClientMsgId, response.Entry.ToDto(), response.Duplicate);
    }

    /// <summary>Sets the caller's one reaction to a message (a new emoji replaces it; empty removes it).</summary>
    [HubErrorCodes(ErrorCodes.InvalidArgument, ErrorCodes.InvalidClientMsgId, ErrorCodes.InvalidConversationId, ErrorCodes.NotMember, ErrorCodes.InvalidTarget,
        ErrorCodes.InvalidEmoji, ErrorCodes.MessageDeleted)]
    [RateLimit(HubRatePolicies.Send)]
    public async Task<LifecycleAcceptedDto> React(ReactArgs args)
    {
        if (args is null)
        {
            throw HubErrors.Create(ErrorCodes.InvalidArgument, "React needs {conversationId, targetSeq, clientMsgId, emoji}.");
        }

        var request = new ReactRequest { ConversationId = args.ConversationId ?? "", TargetSeq = args.TargetSeq, ClientMsgId = args.ClientMsgId ?? "", Emoji = args.Emoji ?? "" };
        var response = await Call(() => messaging.ReactAsync(request, SenderHeaders()).ResponseAsync);
        return new LifecycleAcceptedDto(request.ClientMsgId, response.Entry.ToDto(), response.Duplicate);
    }

    // The calling connection has the entry through the return value: live delivery leaves it out.
    private Grpc.Core.Metadata SenderHeaders()
    {
        var headers = Headers();
        headers.Add(ChatHeaders.ConnectionId, Context.ConnectionId);
        return headers;
    }
}
