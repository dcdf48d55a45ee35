namespace Chat.Domain.Tests;

[Trait("Category", "Unit")]
[Trait("Area", "Domain")]
public sealed class ConversationIdTests
{
    [Theory]
    [InlineData("alice", "bob")]
    [InlineData("bob", "alice")]
    [InlineData("u-1", "U-1")]
    [InlineData("a", "aa")]
    public void Direct_ids_do_not_depend_on_order(string a, string b)
    {
        var ab = ConversationId.Direct(a, b);
        var ba = ConversationId.Direct(b, a);
        Assert.Equal(ab, ba);
        Assert.Equal(ab.Value, ba.Value);
        Assert.Equal(ConversationType.Direct, ab.Type);
        Assert.StartsWith("dm:", ab.Value, StringComparison.Ordinal);
        Assert.Equal(b, ab.PeerOf(a));
        Assert.Equal(a, ab.PeerOf(b));
    }

    [Fact]
    public void Direct_ids_differ_for_different_pairs()
    {
        Assert.NotEqual(ConversationId.Direct("a", "b").Value, ConversationId.Direct("a", "c").Value);
        // Ordinal, not culture, ordering: case matters.
        Assert.NotEqual(ConversationId.Direct("a", "B").Value, ConversationId.Direct("A", "b").Value);
    }

    [Fact]
    public void Direct_needs_two_different_valid_users()
    {
        Assert.Throws<ArgumentException>(() => ConversationId.Direct("alice", "alice"));
        Assert.Throws<ArgumentException>(() => ConversationId.Direct("alice", "bo:b"));
        Assert.Throws<ArgumentException>(() => ConversationId.Direct("", "bob"));
    }

    [Fact]
    public void Group_ids_wrap_the_group_id()
    {
        var id = ConversationId.Group("g123");
        Assert.Equal("grp:g123", id.Value);
        Assert.Equal(ConversationType.Group, id.Type);
        Assert.Equal("g123", id.GroupId);
        Assert.Throws<InvalidOperationException>(() => id.DirectMembers());
    }

    [Theory]
    [InlineData("dm:alice:bob", true)]
    [InlineData("grp:g1", true)]
    [InlineData("dm:bob:alice", false)]   // not in canonical order
    [InlineData("dm:alice:alice", false)]
    [InlineData("dm:alice", false)]
    [InlineData("dm:a:b:c", false)]
    [InlineData("grp:", false)]
    [InlineData("grp:a b", false)]
    [InlineData("chan:x", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void TryParse_accepts_only_canonical_ids(string? value, bool ok)
    {
        Assert.Equal(ok, ConversationId.TryParse(value, out var id));
        if (ok)
        {
            Assert.Equal(value, id.Value);
        }
    }

    [Fact]
    public void Parsed_direct_id_round_trips()
    {
        var made = ConversationId.Direct("zed", "amy");
        Assert.True(ConversationId.TryParse(made.Value, out var parsed));
        Assert.Equal(made, parsed);
        Assert.Equal(("amy", "zed"), parsed.DirectMembers());
    }
}
