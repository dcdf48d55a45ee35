using Dapr.Actors;

namespace Chat.Core;

/// <summary>Asks the conversation's actor to store one message.</summary>
public sealed record AppendMessageRequest(
    string SenderId,
    string SenderDeviceId,
    string ClientMsgId,
    string Text,
    StoredAttachment? Attachment,
    ulong ReplyToSeq,
    bool Opaque,
    IReadOnlyList<string> MemberIds,
    string SenderConnectionId = "",
    int EntryKind = 0,
    ulong TargetSeq = 0);

/// <summary>The stored message (new, or the original one for a repeated client_msg_id).</summary>
public sealed record AppendMessageResult(StoredMessage Message, bool Duplicate);

/// <summary>
/// One actor per conversation (hosted by the router app). It serialises appends, so seqs are
/// gap-free; it deduplicates client_msg_ids; and it owns the outbox that publishes every stored
/// message as MessageCreated, surviving crashes through a reminder.
/// Called without remoting (JSON), so another language can call it too.
/// </summary>
public interface IConversationActor : IActor
{
    /// <summary>Stores a message; idempotent per (sender, client_msg_id).</summary>
    Task<AppendMessageResult> AppendAsync(AppendMessageRequest request);

    /// <summary>Appends an edit, delete or reaction if the rules allow it; idempotent per (sender, client_msg_id).</summary>
    Task<LifecycleResult> ApplyLifecycleAsync(LifecycleRequest request);
}

/// <summary>Names used on the wire for the actor's methods (non-remoting calls).</summary>
public static class ConversationActorMethods
{
    public const string Append = nameof(IConversationActor.AppendAsync);
    public const string ApplyLifecycle = nameof(IConversationActor.ApplyLifecycleAsync);
}
