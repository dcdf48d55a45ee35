using Chat.Integration.Tests.Infrastructure;
using Chat.Integration.Tests.Push;
using Chat.WebClient.Tests.Infrastructure;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Chat.WebClient.Tests;

/// <summary>
/// Issue 16 item 3 in the browser: the web client uses stateful reconnect. A socket cut (a TCP
/// proxy between Chromium and the gateway resets every connection and holds the new ones) shorter
/// than the gateway's window resumes the same connection with nothing lost and no Sync; a longer
/// one falls back to a new connection and Sync (see ChatInBrowserTests' offline test).
/// </summary>
[Trait("Area", "WebClient")]
[Trait("Area", "ClientApi")]
[Collection(WebClientCollection.Name)]
public sealed class ReconnectInBrowserTests(WebClientFixture system, ITestOutputHelper output)
{
    [Fact]
    public async Task A_socket_cut_shorter_than_the_window_resumes_with_nothing_lost_and_no_sync()
    {
        await using var proxy = new TcpProxy(system.BaseUrl);
        await using var alice = await system.NewUserPageAsync("alice");
        await using var bob = await system.NewUserPageAsync("bob", proxy.Url);
        var bobName = ChatPage.NewUserName("bob");
        await alice.RegisterAsync(ChatPage.NewUserName("alice"), "Alice R");
        await bob.RegisterAsync(bobName, "Bob R");
        await alice.StartChatAsync(bobName);
        await alice.SendAsync("before the cut");
        await bob.OpenConversationAsync("Alice R");
        await Expect(bob.TheirMessage("before the cut")).ToBeVisibleAsync();
        var bobId = await bob.UserIdAsync();
        await system.WaitForGatewayConnectionsAsync(bobId, 1);
        var syncs = system.Calls.Calls(bobId, "Sync");

        // The network drops: every socket through the proxy is reset and new ones wait.
        proxy.Hold();
        var accepted = proxy.Accepted;
        proxy.Sever();
        await Wait.UntilAsync(() => proxy.Accepted > accepted, "bob's client tries to resume its socket");
        string[] missed = ["during the cut", "still cut"];
        foreach (var text in missed)
        {
            await alice.SendAsync(text);
        }

        // Stored, not delivered: Bob's client cannot acknowledge them yet; his gateway connection waits for him.
        await Expect(alice.TickOf("still cut")).ToHaveAttributeAsync("data-status", "sent");
        await Expect(bob.MessageItems).ToHaveCountAsync(1);
        Assert.Equal(1, system.GatewayConnections(bobId));
        await bob.ShotAsync(output, "cut");

        proxy.Release();
        await Expect(bob.MessageItems.Locator(".text")).ToHaveTextAsync(["before the cut", .. missed]);
        await Expect(alice.TickOf("still cut")).ToHaveAttributeAsync("data-status", "read");
        // The same connection resumed: no reconnect was shown, and the client did not need Sync.
        await Expect(bob.Banner).ToBeHiddenAsync();
        Assert.Equal(syncs, system.Calls.Calls(bobId, "Sync"));
        Assert.Equal(1, system.GatewayConnections(bobId));

        await bob.SendAsync("after the cut");
        await Expect(alice.TheirMessage("after the cut")).ToBeVisibleAsync();
        await bob.ShotAsync(output, "resumed");
    }
}
