using Chat.Contracts.V1;
using Chat.Core.Presence;
using Chat.Domain;
using Chat.Presence;
using Chat.ServiceDefaults.Auth;
using Chat.Unit.Tests.Fakes;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Chat.Unit.Tests.Presence;

/// <summary>Who may see whose presence: the reciprocal rule, applied by presence's GetPresence and nowhere in clients.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class PresencePrivacyTests
{
    private readonly FakeTimeProvider _time = FakeDaprClient.Noon();
    private readonly FakeDaprClient _dapr;
    private readonly FakeDirectory _directory = new();
    private readonly PresenceTracker _tracker;
    private readonly PresenceGrpcService _service;
    private readonly GrpcCalls _calls;

    public PresencePrivacyTests()
    {
        _dapr = FakeDaprClient.WithPresenceStore(_time);
        _tracker = new PresenceTracker(_dapr, _time, NullLogger<PresenceTracker>.Instance);
        _service = new PresenceGrpcService(_tracker, _directory.Client);
        _calls = new GrpcCalls(_time);
        _directory.Direct("ann", "carl"); // ann and carl are contacts; dora is a stranger to both
    }

    private async Task<Dictionary<string, UserPresence>> AskAsync(string viewer, params string[] users) =>
        (await _calls.AsUser(viewer, "/chat.v1.PresenceService/GetPresence", new GetPresenceRequest { UserIds = { users } }, _service.GetPresence))
            .Presences.ToDictionary(p => p.UserId);

    [Theory]
    [InlineData(LastSeenVisibility.Everyone, LastSeenVisibility.Everyone, false, true)]
    [InlineData(LastSeenVisibility.Unspecified, LastSeenVisibility.Unspecified, false, true)]
    [InlineData(LastSeenVisibility.Contacts, LastSeenVisibility.Everyone, true, true)]
    [InlineData(LastSeenVisibility.Contacts, LastSeenVisibility.Everyone, false, false)]
    [InlineData(LastSeenVisibility.Nobody, LastSeenVisibility.Everyone, true, false)]
    [InlineData(LastSeenVisibility.Everyone, LastSeenVisibility.Nobody, true, false)]
    [InlineData(LastSeenVisibility.Everyone, LastSeenVisibility.Contacts, false, false)]
    public void The_rule_is_reciprocal(LastSeenVisibility user, LastSeenVisibility viewer, bool contact, bool visible) =>
        Assert.Equal(visible, PresencePrivacy.Visible(user, viewer, contact));

    [Fact]
    public async Task Online_and_last_seen_are_shown_only_where_the_rule_allows()
    {
        await _tracker.ReportAsync("gw-1", ["carl", "dora"], 10, CancellationToken.None);
        _directory.SetLastSeen("carl", LastSeenVisibility.Contacts);

        var forAnn = await AskAsync("ann", "carl", "dora");
        var forDora = await AskAsync("dora", "carl");

        Assert.True(forAnn["carl"].Visible && forAnn["carl"].Online);
        Assert.True(forAnn["dora"].Visible && forAnn["dora"].Online); // dora shows everyone
        Assert.False(forDora["carl"].Visible);
        Assert.False(forDora["carl"].Online); // nothing leaks when hidden
    }

    [Fact]
    public async Task A_viewer_who_shows_nobody_sees_nobody_but_always_themself()
    {
        await _tracker.ReportAsync("gw-1", ["ann", "carl"], 10, CancellationToken.None);
        _directory.SetLastSeen("ann", LastSeenVisibility.Nobody);

        var seen = await AskAsync("ann", "carl", "ann");

        Assert.False(seen["carl"].Visible);
        Assert.True(seen["ann"].Visible && seen["ann"].Online);
    }

    [Fact]
    public async Task Last_seen_is_given_for_a_visible_user_who_is_offline()
    {
        await _tracker.ReportAsync("gw-1", ["carl"], 10, CancellationToken.None);
        await _tracker.DisconnectedAsync("carl", false, CancellationToken.None);
        var left = _time.GetUtcNow();

        var carl = (await AskAsync("ann", "carl"))["carl"];

        Assert.True(carl.Visible);
        Assert.False(carl.Online);
        Assert.Equal(left, carl.LastSeen.ToDateTimeOffset());
    }

    [Fact]
    public async Task Invalid_ids_and_too_many_users_are_refused()
    {
        var badId = await Assert.ThrowsAsync<RpcException>(() => AskAsync("ann", "not valid!"));
        var tooMany = await Assert.ThrowsAsync<RpcException>(() => AskAsync("ann", [.. Enumerable.Range(0, ChatLimits.MaxBatchUsers + 1).Select(i => $"u{i}")]));

        Assert.Equal((StatusCode.InvalidArgument, ErrorCodes.InvalidId), (badId.StatusCode, badId.ErrorCode()));
        Assert.Equal((StatusCode.InvalidArgument, ErrorCodes.InvalidLimit), (tooMany.StatusCode, tooMany.ErrorCode()));
    }
}
