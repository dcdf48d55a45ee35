using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;

namespace Chat.Unit.Tests.Core;

/// <summary>The pure lifecycle rules (windows, who may change what) and unread counting that skips lifecycle entries.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class LifecycleRulesTests
{
    private static readonly DateTimeOffset Sent = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    private static StoredMessage Message(ulong seq = 1, string sender = "ann") =>
        new("grp:g1", seq, 100 + seq, sender, "d1", "client-0001", "text", null, 0, false, Sent);

    private static LifecycleRequest Request(MessageKind kind, string sender = "ann", bool admin = false, string text = "") =>
        new(sender, "d1", "client-0002", (int)kind, 1, text, Window, admin, ["ann", "carl"]);

    [Theory]
    [InlineData(MessageKind.Edit, 14, null)]
    [InlineData(MessageKind.Edit, 16, ErrorCodes.EditWindowPassed)]
    [InlineData(MessageKind.Delete, 14, null)]
    [InlineData(MessageKind.Delete, 16, ErrorCodes.DeleteWindowPassed)]
    [InlineData(MessageKind.Reaction, 100_000, null)]
    public void The_sender_may_change_a_message_within_the_window_and_react_at_any_time(MessageKind kind, int minutesLater, string? error) =>
        Assert.Equal(error, Lifecycle.Check(Request(kind), Message(), Sent.AddMinutes(minutesLater))?.Code);

    [Fact]
    public void A_group_admin_may_delete_any_message_at_any_age_but_not_edit_it()
    {
        var late = Sent.AddDays(30);

        Assert.Null(Lifecycle.Check(Request(MessageKind.Delete, "carl", admin: true), Message(), late));
        Assert.Equal(ErrorCodes.NotSender, Lifecycle.Check(Request(MessageKind.Edit, "carl", admin: true), Message(), Sent)?.Code);
        Assert.Equal(ErrorCodes.NotSender, Lifecycle.Check(Request(MessageKind.Delete, "carl"), Message(), Sent)?.Code);
    }

    [Fact]
    public void A_window_refusal_is_a_failed_precondition_that_names_the_window()
    {
        var error = Lifecycle.Check(Request(MessageKind.Edit), Message(), Sent.AddHours(1))!;

        Assert.Equal(ValidationKind.FailedPrecondition, error.Kind);
        Assert.Contains("15 minutes", error.Message);
    }

    [Fact]
    public void An_edit_after_an_edit_keeps_one_seq_per_edit_and_applying_the_same_entry_twice_changes_nothing()
    {
        var edit1 = Message(2) with { EntryKind = (int)MessageKind.Edit, TargetSeq = 1, Text = "v2", SentAt = Sent.AddMinutes(1) };
        var edit2 = Message(3) with { EntryKind = (int)MessageKind.Edit, TargetSeq = 1, Text = "v3", SentAt = Sent.AddMinutes(2) };

        var once = Lifecycle.Apply(Lifecycle.Apply(Message(), edit1), edit2);
        var twice = Lifecycle.Apply(once, edit2);

        Assert.Equal("v3", twice.Text);
        Assert.Equal([2ul, 3ul], twice.EditSeqs!);
        Assert.Equal(Sent.AddMinutes(2), twice.EditedAt);
    }

    [Theory]
    [InlineData("👍", true)]
    [InlineData("👩‍👩‍👧‍👦", true)]
    [InlineData("", true)]
    [InlineData("a b", false)]
    [InlineData("x\n", false)]
    [InlineData("🎉🎉🎉🎉🎉🎉🎉🎉🎉", false)]
    public void A_reaction_is_one_short_emoji_or_empty(string emoji, bool ok) =>
        Assert.Equal(ok, Lifecycle.Emoji(emoji) is null);

    [Fact]
    public void Unread_counts_skip_edits_deletes_and_reactions()
    {
        // Seqs: 1 msg, 2 msg, 3 edit, 4 msg, 5 reaction: LifecycleCount at each seq is 0, 0, 1, 1, 2.
        var meta = new ConversationMeta(1, 5, 5, Sent) { LifecycleCount = 2 };
        var atTwo = Message(2);
        var atThree = Message(3) with { EntryKind = (int)MessageKind.Edit, LifecycleCount = 1 };

        Assert.Equal(3ul, meta.Unread(0, null));
        Assert.Equal(1ul, meta.Unread(2, atTwo));
        Assert.Equal(1ul, meta.Unread(3, atThree));
        Assert.Equal(0ul, meta.Unread(5, null));
        Assert.Equal(0ul, meta.Unread(9, null));
        Assert.True(meta.NeedsEntryForUnread(2));
        Assert.False(meta.NeedsEntryForUnread(5));
        Assert.False((meta with { LifecycleCount = 0 }).NeedsEntryForUnread(2));
    }

    [Fact]
    public void The_header_after_an_entry_moves_last_seq_and_lifecycle_count_but_not_the_published_seq()
    {
        var meta = new ConversationMeta(7, 4, 4, Sent);

        var next = meta.After(Message(5) with { LifecycleCount = 1 });

        Assert.Equal((7ul, 5ul, 4ul, 1ul), (next.Epoch, next.LastSeq, next.PublishedSeq, next.LifecycleCount));
    }

    [Fact]
    public void A_stored_media_attachment_maps_to_its_media_id()
    {
        var m = Message() with { Attachment = new StoredAttachment("media:abc123", "image/png", 42, "a.png") };

        var contract = m.ToContract();

        Assert.Equal("abc123", contract.Content.Attachment.MediaId);
        Assert.Equal((1ul, 101ul, "ann"), (contract.Seq, contract.MsgId, contract.SenderId));
    }
}
