using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Chat.Integration.Tests.Push;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Integration.Tests.ClientApi;

/// <summary>
/// Issue 16 item 3: a client on stateful reconnect whose socket is cut (by a TCP proxy between it
/// and the gateway) resumes the same connection within the gateway's window, with what it missed
/// resent by the gateway and no Sync; past the window it reconnects anew and catches up by Sync.
/// </summary>
[Trait("Area", "ClientApi")]
public sealed class StatefulReconnectTests(StatefulReconnectTests.ReconnectSystem fx) : IClassFixture<StatefulReconnectTests.ReconnectSystem>
{
    [Fact]
    public async Task A_socket_cut_shorter_than_the_window_loses_nothing_and_needs_no_sync()
    {
        var (bob, carol, alice, group, proxy) = await GroupWithBobBehindProxyAsync();
        await using var _ = proxy;
        var connectionId = bob.Connection.ConnectionId;

        proxy.Hold();
        var accepted = proxy.Accepted;
        proxy.Sever();
        // Bob's client noticed the drop and is trying to resume: its new socket is held (network still down).
        await Wait.UntilAsync(() => proxy.Accepted > accepted, "bob's client tries to resume its socket");
        string[] missed = ["cut one", "cut two", "cut three"];
        foreach (var text in missed)
        {
            await alice.User.SendAsync(group, text);
        }

        // Carol, connected directly, has them live; the gateway has written them to Bob's waiting connection as well (its buffer).
        foreach (var text in missed)
        {
            await carol.WaitForAsync<MessageDto>(m => m.Text == text);
        }

        Assert.DoesNotContain(bob.Received.OfType<MessageDto>(), m => missed.Contains(m.Text));
        proxy.Release();

        foreach (var text in missed)
        {
            await bob.WaitForAsync<MessageDto>(m => m.ConversationId == group && m.Text == text);
        }

        // The same connection resumed: no reconnect, no Sync, every message exactly once and in order.
        Assert.Equal(connectionId, bob.Connection.ConnectionId);
        Assert.Equal(0, bob.Reconnects);
        Assert.Equal(0, fx.Calls.Calls(bob.User.UserId, "Sync"));
        Assert.Equal(["before", .. missed], bob.Received.OfType<MessageDto>().Where(m => m.ConversationId == group).Select(m => m.Text));

        // And it works both ways again.
        var reply = await bob.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(group, null, Guid.NewGuid().ToString(), "back"));
        await carol.WaitForAsync<MessageDto>(m => m.MsgId == reply.Message.MsgId);
    }

    [Fact]
    public async Task Past_the_window_the_client_reconnects_anew_and_catches_up_by_sync()
    {
        var (bob, carol, alice, group, proxy) = await GroupWithBobBehindProxyAsync();
        await using var _ = proxy;
        var connectionId = bob.Connection.ConnectionId;

        proxy.Hold();
        proxy.Sever();
        // The gateway gives up on Bob's connection once the window has passed.
        var connections = fx.System.AppOf(DaprNames.Apps.Gateway).Services.GetRequiredService<LocalConnections>();
        await Wait.UntilAsync(() => !connections.Of(bob.User.UserId).Any(), "the gateway drops bob's connection");
        string[] missed = ["late one", "late two", "late three"];
        foreach (var text in missed)
        {
            await alice.User.SendAsync(group, text);
        }

        foreach (var text in missed)
        {
            await carol.WaitForAsync<MessageDto>(m => m.Text == text);
        }

        proxy.Release();
        foreach (var text in missed)
        {
            await bob.WaitForAsync<MessageDto>(m => m.ConversationId == group && m.Text == text);
        }

        Assert.NotEqual(connectionId, bob.Connection.ConnectionId);
        Assert.Equal(1, bob.Reconnects);
        Assert.Equal(1, fx.Calls.Calls(bob.User.UserId, "Sync"));
        Assert.Equal(["before", .. missed], bob.Received.OfType<MessageDto>().Where(m => m.ConversationId == group).Select(m => m.Text));
    }

    /// <summary>Alice and Carol connected directly, Bob on stateful reconnect through a proxy; a group of the three with one message seen by all.</summary>
    private async Task<(HubClient Bob, HubClient Carol, HubClient Alice, string Group, TcpProxy Proxy)> GroupWithBobBehindProxyAsync()
    {
        var proxy = new TcpProxy(fx.System.GatewayUrl);
        var alice = await fx.UserAsync();
        var carol = await fx.UserAsync();
        var bob = await fx.UserAsync(proxy.Url, statefulReconnect: true);
        var group = await alice.User.CreateGroupAsync("cut", bob.User, carol.User);
        await alice.User.SendAsync(group, "before");
        await bob.WaitForAsync<MessageDto>(m => m.ConversationId == group && m.Text == "before");
        return (bob, carol, alice, group, proxy);
    }

    /// <summary>The apps with a short reconnect window (5 s) and a gateway that counts hub calls.</summary>
    public sealed class ReconnectSystem : ClientApiSystem
    {
        public HubCallCounter Calls { get; } = new();

        protected override ChatHarnessOptions Options => new()
        {
            Settings = new Dictionary<string, string?> { ["Gateway:ReconnectWindowSeconds"] = "5" },
            ConfigureApp = (appId, b) =>
            {
                if (appId == DaprNames.Apps.Gateway)
                {
                    Calls.AddTo(b);
                }
            },
        };
    }
}
