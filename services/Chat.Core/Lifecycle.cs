using Chat.Contracts.V1;
using Chat.Domain;
using Google.Protobuf.WellKnownTypes;

namespace Chat.Core;

/// <summary>
/// Asks the conversation's actor to append an edit, delete or reaction. Membership and the
/// caller's group role are checked by messaging; the rules that depend on the log (the target
/// exists, is a message, is not deleted, who sent it and when) by the actor, in turn with appends.
/// Window: how old the target may be for its sender to edit or delete it (messaging's
/// configuration); CallerIsGroupAdmin: the caller may delete any message of the group, at any age.
/// </summary>
public sealed record LifecycleRequest(
    string SenderId,
    string SenderDeviceId,
    string ClientMsgId,
    int EntryKind,
    ulong TargetSeq,
    string Text,
    TimeSpan Window,
    bool CallerIsGroupAdmin,
    IReadOnlyList<string> MemberIds,
    string SenderConnectionId = "");

/// <summary>The stored entry (or the original for a repeated client_msg_id), or the rule it broke.</summary>
public sealed record LifecycleResult(StoredMessage? Entry, bool Duplicate, string? ErrorCode = null, string? Error = null);

/// <summary>The lifecycle rules and how an entry changes its target, shared by the actor and its crash repair.</summary>
public static class Lifecycle
{
    /// <summary>Most UTF-8 bytes of a reaction (one emoji, possibly with modifiers and joiners).</summary>
    public const int MaxEmojiBytes = 32;

    /// <summary>The rule <paramref name="request"/> breaks against <paramref name="target"/>, or null when it may be applied.</summary>
    public static ValidationError? Check(LifecycleRequest request, StoredMessage? target, DateTimeOffset now)
    {
        if (target is null)
        {
            return new(ErrorCodes.InvalidTarget, $"There is no message {request.TargetSeq} in this conversation.");
        }

        if (target.EntryKind != 0)
        {
            return new(ErrorCodes.InvalidTarget, $"Entry {target.Seq} is an edit, delete or reaction, not a message.");
        }

        if (target.Deleted)
        {
            return new(ErrorCodes.MessageDeleted, $"Message {target.Seq} was deleted.", ValidationKind.FailedPrecondition);
        }

        var age = now - target.SentAt;
        switch ((MessageKind)request.EntryKind)
        {
            case MessageKind.Edit when target.SenderId != request.SenderId:
                return new(ErrorCodes.NotSender, "Only the sender may edit a message.");
            case MessageKind.Edit when age > request.Window:
                return new(ErrorCodes.EditWindowPassed, $"Messages can be edited for {Describe(request.Window)} after sending.", ValidationKind.FailedPrecondition);
            case MessageKind.Delete when request.CallerIsGroupAdmin:
                return null;
            case MessageKind.Delete when target.SenderId != request.SenderId:
                return new(ErrorCodes.NotSender, "Only the sender or a group admin may delete a message.");
            case MessageKind.Delete when age > request.Window:
                return new(ErrorCodes.DeleteWindowPassed, $"Messages can be deleted for everyone for {Describe(request.Window)} after sending.", ValidationKind.FailedPrecondition);
            default:
                return null;
        }
    }

    /// <summary>
    /// The target after <paramref name="entry"/>. Idempotent, so crash repair may apply the newest
    /// entry again. A delete erases the text and attachment (and the text of its edits, see <see cref="Erase"/>).
    /// </summary>
    public static StoredMessage Apply(StoredMessage target, StoredMessage entry) => (MessageKind)entry.EntryKind switch
    {
        MessageKind.Edit => target with
        {
            Text = entry.Text,
            EditedAt = entry.SentAt,
            EditSeqs = [.. (target.EditSeqs ?? []).Where(s => s != entry.Seq), entry.Seq],
        },
        MessageKind.Delete => target with { Text = "", Attachment = null, Deleted = true, EditedAt = null, Reactions = null },
        MessageKind.Reaction => target with { Reactions = WithReaction(target.Reactions, entry.SenderId, entry.Text) },
        _ => target,
    };

    /// <summary>An edit entry of a deleted message, without the text it carried.</summary>
    public static StoredMessage Erase(StoredMessage editEntry) => editEntry with { Text = "" };

    /// <summary>One emoji: at most <see cref="MaxEmojiBytes"/> bytes, no whitespace or control characters. Empty removes.</summary>
    public static ValidationError? Emoji(string? emoji)
    {
        if (string.IsNullOrEmpty(emoji))
        {
            return null;
        }

        return System.Text.Encoding.UTF8.GetByteCount(emoji) > MaxEmojiBytes || emoji.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) || !emoji.IsNormalized()
            ? new(ErrorCodes.InvalidEmoji, $"A reaction is one emoji of at most {MaxEmojiBytes} bytes without spaces (empty removes yours).")
            : null;
    }

    /// <summary>The message as <paramref name="viewerId"/> sees it: reactions counted per emoji, with theirs marked.</summary>
    public static ChatMessage ToContract(this StoredMessage m, string viewerId)
    {
        var contract = m.ToContract();
        if (m.Reactions is { Count: > 0 } reactions)
        {
            reactions.TryGetValue(viewerId, out var mine);
            contract.Reactions.AddRange(reactions.Values
                .GroupBy(e => e, StringComparer.Ordinal)
                .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new ReactionCount { Emoji = g.Key, Count = (uint)g.Count(), Mine = g.Key == mine }));
        }

        return contract;
    }

    /// <summary>Sets the lifecycle fields of a contract message (reactions are per viewer, see <see cref="ToContract"/>).</summary>
    internal static void AddLifecycle(StoredMessage m, ChatMessage contract)
    {
        contract.Kind = (MessageKind)m.EntryKind;
        contract.TargetSeq = m.TargetSeq;
        contract.Deleted = m.Deleted;
        if (m.EditedAt is { } edited)
        {
            contract.EditedAt = Timestamp.FromDateTimeOffset(edited);
        }
    }

    private static Dictionary<string, string> WithReaction(IReadOnlyDictionary<string, string>? reactions, string userId, string emoji)
    {
        var next = reactions is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(reactions, StringComparer.Ordinal);
        if (emoji.Length == 0)
        {
            next.Remove(userId);
        }
        else
        {
            next[userId] = emoji;
        }

        return next;
    }

    private static string Describe(TimeSpan window) =>
        window.TotalHours >= 1 && window.TotalHours == Math.Floor(window.TotalHours) ? $"{window.TotalHours:0} hours"
        : window.TotalMinutes >= 1 ? $"{window.TotalMinutes:0.#} minutes"
        : $"{window.TotalSeconds:0.#} seconds";
}
