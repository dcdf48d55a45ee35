using Chat.Domain;
using Dapr.Actors;

namespace Chat.Core;

/// <summary>
/// Asks the conversation's actor to store one message for <see cref="SenderId"/>, whom the caller
/// has authenticated. The actor decides everything else itself: input rules, the attachment named by
/// <see cref="MediaId"/>, membership, and the reply target, so every caller gets the same checks.
/// </summary>
public sealed record AppendMessageRequest(
    string SenderId,
    string SenderDeviceId,
    string ClientMsgId,
    string Text,
    StoredAttachment? Attachment,
    ulong ReplyToSeq,
    bool Opaque,
    string SenderConnectionId = "",
    int EntryKind = 0,
    ulong TargetSeq = 0)
{
    /// <summary>An upload of the sender's (CreateUpload) to attach in place of <see cref="Attachment"/>.</summary>
    public string MediaId { get; init; } = "";

    /// <summary>Sent by peer user id: the direct conversation is created in directory if it is new.</summary>
    public bool CreateDirect { get; init; }

    /// <summary>
    /// The gateway instance the sender is connected to, if the caller is one: members connected
    /// there come back in <see cref="AppendMessageResult.LocalRecipients"/> instead of through its topic.
    /// </summary>
    public string GatewayInstanceId { get; init; } = "";
}

/// <summary>
/// The stored message (new, or the original one for a repeated client_msg_id), or why it was
/// refused (<see cref="Refused"/> set, <see cref="Message"/> then null): a refusal is an answer,
/// not an exception, so its code reaches the client intact through Dapr's actor invocation.
/// </summary>
public sealed record AppendMessageResult(StoredMessage Message, bool Duplicate, ValidationError? Refused = null)
{
    /// <summary>
    /// The members connected to the calling gateway (<see cref="AppendMessageRequest.GatewayInstanceId"/>),
    /// the sender included, whom the actor did not publish this message to: the gateway delivers it
    /// to their connections, except the sending one. Set for a duplicate too, since the first
    /// answer may never have reached the gateway.
    /// </summary>
    public IReadOnlyList<string> LocalRecipients { get; init; } = [];

    /// <summary>A refusal with no message.</summary>
    public static AppendMessageResult Refuse(ValidationError error) => new(null!, false, error);
}

/// <summary>A group's member list as directory stored it at <see cref="Version"/> (it only grows).</summary>
public sealed record ConversationMembers(ulong Version, IReadOnlyList<string> MemberIds);

/// <summary>
/// One actor per conversation (hosted by the router app). It serialises appends, so seqs are
/// gap-free; it deduplicates client_msg_ids; it holds the conversation's members and refuses
/// non-members; and it owns the outbox that publishes every stored message as MessageCreated,
/// surviving crashes through a reminder. Called without remoting (JSON), so another language can call it too.
/// </summary>
public interface IConversationActor : IActor
{
    /// <summary>Stores a message if the sender may send it; idempotent per (sender, client_msg_id).</summary>
    Task<AppendMessageResult> AppendAsync(AppendMessageRequest request);

    /// <summary>Appends an edit, delete or reaction if the rules allow it; idempotent per (sender, client_msg_id).</summary>
    Task<LifecycleResult> ApplyLifecycleAsync(LifecycleRequest request);

    /// <summary>
    /// Directory's push after a group's membership changed: replaces the held members unless they
    /// are as new already (a stale push never overwrites a newer list).
    /// </summary>
    Task SetMembersAsync(ConversationMembers members);
}

/// <summary>Names used on the wire for the actor's methods (non-remoting calls).</summary>
public static class ConversationActorMethods
{
    public const string Append = nameof(IConversationActor.AppendAsync);
    public const string ApplyLifecycle = nameof(IConversationActor.ApplyLifecycleAsync);
    public const string SetMembers = nameof(IConversationActor.SetMembersAsync);
}
