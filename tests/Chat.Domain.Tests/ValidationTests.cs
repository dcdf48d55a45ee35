namespace Chat.Domain.Tests;

[Trait("Category", "Unit")]
[Trait("Area", "Domain")]
public sealed class ValidationTests
{
    [Fact]
    public void Content_must_not_be_empty()
    {
        Assert.Equal(ErrorCodes.ContentEmpty, ChatValidation.Content(null, null)?.Code);
        Assert.Equal(ErrorCodes.ContentEmpty, ChatValidation.Content("", "")?.Code);
        Assert.Equal(ErrorCodes.ContentEmpty, ChatValidation.Content("   \n\t", null)?.Code);
        Assert.Null(ChatValidation.Content("hi", null));
        Assert.Null(ChatValidation.Content(null, "https://files/x.jpg"));
    }

    [Fact]
    public void Content_limit_is_64_KiB_in_utf8_bytes()
    {
        Assert.Null(ChatValidation.Content(new string('a', 64 * 1024), null));
        var over = ChatValidation.Content(new string('a', 64 * 1024 + 1), null);
        Assert.Equal(ErrorCodes.ContentTooLarge, over?.Code);
        Assert.Equal(ValidationKind.InvalidArgument, over?.Kind);

        // 'é' is 2 bytes in UTF-8: 32 Ki of them is exactly the limit, one more is over.
        Assert.Null(ChatValidation.Content(new string('é', 32 * 1024), null));
        Assert.Equal(ErrorCodes.ContentTooLarge, ChatValidation.Content(new string('é', 32 * 1024) + "a", null)?.Code);

        // The attachment reference counts too.
        Assert.Equal(ErrorCodes.ContentTooLarge, ChatValidation.Content(new string('a', 64 * 1024 - 10), new string('u', 11))?.Code);
        Assert.Null(ChatValidation.Content(new string('a', 64 * 1024 - 10), new string('u', 10)));
    }

    [Fact]
    public void Content_rejects_lone_surrogates()
    {
        Assert.Equal(ErrorCodes.InvalidArgument, ChatValidation.Content("bad \ud800 text", null)?.Code);
    }

    [Theory]
    [InlineData("12345678", true)]
    [InlineData("1234567", false)]
    [InlineData("3f2504e0-4f89-11d3-9a0c-0305e82c3301", true)]
    [InlineData("01HZX3Q8J5T9Y7V4K2M6N8P0R1", true)]
    [InlineData("has space1", false)]
    [InlineData("semi;colon", false)]
    [InlineData("ünïcode-id", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Client_msg_id_format(string? id, bool ok)
    {
        Assert.Equal(ok, ChatValidation.ClientMsgId(id) is null);
        if (!ok)
        {
            Assert.Equal(ErrorCodes.InvalidClientMsgId, ChatValidation.ClientMsgId(id)!.Code);
        }
    }

    [Fact]
    public void Client_msg_id_length_edges()
    {
        Assert.Null(ChatValidation.ClientMsgId(new string('x', 64)));
        Assert.NotNull(ChatValidation.ClientMsgId(new string('x', 65)));
        Assert.Null(ChatValidation.ClientMsgId(new string('x', 8)));
    }

    [Theory]
    [InlineData(498, 2, 500, true)]
    [InlineData(499, 1, 500, true)]
    [InlineData(500, 1, 500, false)]
    [InlineData(499, 2, 500, false)]
    [InlineData(0, 500, 500, true)]
    [InlineData(0, 501, 500, false)]
    [InlineData(9, 1, 10, true)]
    [InlineData(10, 1, 10, false)]
    public void Group_cap(int current, int adding, int cap, bool ok)
    {
        var error = ChatValidation.GroupSize(current, adding, cap);
        Assert.Equal(ok, error is null);
        if (!ok)
        {
            Assert.Equal(ErrorCodes.GroupFull, error!.Code);
            Assert.Equal(ValidationKind.FailedPrecondition, error.Kind);
            Assert.Contains(cap.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Default_group_cap_is_500_and_configurable()
    {
        Assert.Equal(500, new ChatLimits().GroupMemberCap);
        Assert.Equal(50, new ChatLimits { GroupMemberCap = 50 }.GroupMemberCap);
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(1, true)]
    [InlineData(200, true)]
    [InlineData(201, false)]
    [InlineData(-1, false)]
    public void Limit_range(long limit, bool ok) =>
        Assert.Equal(ok, ChatValidation.Limit(limit, ChatLimits.MaxHistoryPage) is null);

    [Theory]
    [InlineData("abc", true)]
    [InlineData("ab", false)]
    [InlineData("alice.b-c_d9", true)]
    [InlineData("Alice", false)]
    [InlineData("a b c", false)]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345", true)]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456", false)]
    public void User_name_rule(string name, bool ok) =>
        Assert.Equal(ok, ChatValidation.UserName(name) is null);

    [Theory]
    [InlineData("1234567", false)]
    [InlineData("12345678", true)]
    public void Password_rule(string password, bool ok) =>
        Assert.Equal(ok, ChatValidation.Password(password) is null);

    [Fact]
    public void Password_too_long() => Assert.NotNull(ChatValidation.Password(new string('p', 129)));

    [Theory]
    [InlineData("Team", true)]
    [InlineData("", false)]
    [InlineData("   ", false)]
    [InlineData("bell\u0007", false)]
    public void Group_title_rule(string title, bool ok) =>
        Assert.Equal(ok, ChatValidation.GroupTitle(title) is null);

    [Fact]
    public void Group_title_length_edge()
    {
        Assert.Null(ChatValidation.GroupTitle(new string('t', 100)));
        Assert.NotNull(ChatValidation.GroupTitle(new string('t', 101)));
        Assert.Null(ChatValidation.DisplayName(new string('d', 64)));
        Assert.NotNull(ChatValidation.DisplayName(new string('d', 65)));
    }

    [Theory]
    [InlineData("u1", true)]
    [InlineData("", false)]
    [InlineData("a:b", false)]
    [InlineData("with space", false)]
    public void Id_rule(string id, bool ok) =>
        Assert.Equal(ok, ChatValidation.Id(id, "user id") is null);

    [Fact]
    public void Id_length_edge()
    {
        Assert.Null(ChatValidation.Id(new string('i', 64), "id"));
        Assert.NotNull(ChatValidation.Id(new string('i', 65), "id"));
    }

    [Theory]
    [InlineData("dm:a:b", true)]
    [InlineData("grp:g", true)]
    [InlineData("dm:b:a", false)]
    [InlineData("x", false)]
    public void Conversation_id_rule(string id, bool ok) =>
        Assert.Equal(ok, ChatValidation.ConversationId(id) is null);

    [Fact]
    public void Topic_for_a_gateway_instance() =>
        Assert.Equal("deliveries.gw-1", DaprNames.Topics.Deliveries("gw-1"));
}
