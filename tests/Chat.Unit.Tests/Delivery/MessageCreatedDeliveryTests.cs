using Chat.Contracts.V1;
using Chat.Core.Routing;
using Chat.Delivery;
using Chat.Domain;
using Chat.Unit.Tests.Fakes;
using Microsoft.Extensions.Time.Testing;

namespace Chat.Unit.Tests.Delivery;

/// <summary>Delivery's handling of MessageCreated: whole events are fanned out and pushed; events the router delivered live are only pushed.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "Delivery")]
public sealed class MessageCreatedDeliveryTests
{
    private readonly FakeTimeProvider _time = FakeDaprClient.Noon();
    private readonly FakeDaprClient _dapr;
    private readonly FanOut _fanOut;
    private readonly FakeDirectory _directory = new();
    private readonly RecordingNotifier _offline = new();

    public MessageCreatedDeliveryTests()
    {
        _dapr = FakeDaprClient.WithPresenceStore(_time);
        _fanOut = new FanOut(_dapr, _time);
        _directory.Group("g1", "ann", "carl", "dora");
    }

    private static MessageCreated Created(string text, bool liveDelivered = false, string[]? members = null, string[]? offline = null)
    {
        var evt = new MessageCreated
        {
            Message = new ChatMessage { ConversationId = ConversationId.Group("g1").Value, Seq = 1, MsgId = 42, SenderId = "ann", Content = new MessageContent { Text = text } },
            Kind = ConversationKind.Group,
            SenderConnectionId = "conn-1",
            LiveDelivered = liveDelivered,
        };
        evt.MemberIds.AddRange(members ?? []);
        evt.OfflineUserIds.AddRange(offline ?? []);
        return evt;
    }

    private Task DeliverAsync(params MessageCreated[] events) =>
        EventHandlers.DeliverAsync(events, _fanOut, new Recipients(_directory.Client), _offline, CancellationToken.None);

    private async Task OnlineAsync(string user, string gateway)
    {
        await _dapr.LeaseGatewayAsync(gateway);
        await _dapr.SaveRoutesAsync(user, gateway);
    }

    [Fact]
    public async Task A_live_delivered_event_reads_no_routes_publishes_nothing_and_pushes_only_the_users_it_names()
    {
        await OnlineAsync("carl", "gw-1");
        // Any route read would fail the call.
        _dapr.FailBulkRead = _ => FakeDaprClient.Failed(Grpc.Core.StatusCode.Unavailable, "no route reads expected");

        await DeliverAsync(Created("for dora's phone", liveDelivered: true, members: ["ann", "carl", "dora"], offline: ["dora", "ann"]));

        Assert.Empty(_dapr.Published);
        var (evt, users) = Assert.Single(_offline.Calls);
        Assert.Equal(["dora"], users); // never the sender
        Assert.Equal("for dora's phone", evt.Message.Content.Text);
        Assert.Equal(0, _directory.Calls("GetMembers"));
    }

    [Fact]
    public async Task A_whole_event_is_fanned_out_to_the_gateways_and_its_offline_recipients_pushed_as_before()
    {
        await OnlineAsync("ann", "gw-1");
        await OnlineAsync("carl", "gw-1");

        await DeliverAsync(Created("whole", members: ["ann", "carl", "dora"]));

        var delivery = Assert.Single(Assert.Single(_dapr.Events<DeliveryBatch>(DaprNames.Topics.Deliveries("gw-1"))).Deliveries);
        Assert.Equal(["ann", "carl"], delivery.UserIds);
        Assert.Empty(delivery.MessageCreated.MemberIds);
        Assert.Equal(["conn-1"], delivery.ExcludeConnectionIds);
        Assert.Equal(["dora"], Assert.Single(_offline.Calls).Users);
    }

    [Fact]
    public async Task A_whole_event_without_members_asks_directory_and_a_mixed_batch_handles_each_its_own_way()
    {
        await OnlineAsync("carl", "gw-1");

        await DeliverAsync(Created("after a crash"), Created("small chat", liveDelivered: true, members: ["ann", "carl", "dora"], offline: ["dora"]));

        Assert.Equal(1, _directory.Calls("GetMembers"));
        var delivery = Assert.Single(Assert.Single(_dapr.Events<DeliveryBatch>(DaprNames.Topics.Deliveries("gw-1"))).Deliveries);
        Assert.Equal("after a crash", delivery.MessageCreated.Message.Content.Text);
        Assert.Equal(["carl"], delivery.UserIds);
        Assert.Equal(["after a crash: dora", "small chat: dora"], _offline.Calls.Select(c => $"{c.Event.Message.Content.Text}: {string.Join(',', c.Users)}"));
    }

    private sealed class RecordingNotifier : IOfflineNotifier
    {
        public List<(MessageCreated Event, IReadOnlyList<string> Users)> Calls { get; } = [];

        public Task NotifyAsync(MessageCreated message, IReadOnlyList<string> offlineUserIds, CancellationToken ct)
        {
            Calls.Add((message, offlineUserIds));
            return Task.CompletedTask;
        }
    }
}
