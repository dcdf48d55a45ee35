using System.Text.RegularExpressions;
using Chat.Integration.Tests.Infrastructure;
using Chat.WebClient.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Chat.WebClient.Tests;

/// <summary>Issue 9: people chat in real Chromium through the web client the gateway serves.</summary>
[Trait("Area", "WebClient")]
[Collection(WebClientCollection.Name)]
public sealed class ChatInBrowserTests(WebClientFixture system, ITestOutputHelper output)
{
    [Fact]
    public async Task Two_users_register_and_chat_and_ticks_go_sent_delivered_read()
    {
        await using var users = await TwoUsersAsync("A");
        var (alice, bob, bobName) = (users.Alice, users.Bob, users.Bob.UserName);

        // The gateway runs in Development here, so its dev push sink answers and is linked.
        await Expect(alice.Page.GetByRole(AriaRole.Link, new() { Name = "Push sink" })).ToBeVisibleAsync();
        await alice.StartChatAsync(bobName);
        await Expect(alice.Page.Locator("#conv-title")).ToHaveTextAsync("Bob A");
        await alice.SendAsync("hello bob");

        // Bob's client acknowledges delivery on receipt; he has not opened the chat, so it is not read.
        await Expect(bob.ConversationButton("Alice A").Locator(".unread")).ToHaveTextAsync("1");
        await Expect(bob.ConversationButton("Alice A").Locator(".conv-last")).ToHaveTextAsync("hello bob");
        await Expect(alice.TickOf("hello bob")).ToHaveAttributeAsync("data-status", "delivered");
        await Expect(alice.TickOf("hello bob")).ToHaveTextAsync("✓✓");
        await Shot(alice, "delivered");

        await bob.OpenConversationAsync("Alice A");
        await Expect(bob.TheirMessage("hello bob")).ToBeVisibleAsync();
        await Expect(alice.TickOf("hello bob")).ToHaveAttributeAsync("data-status", "read");
        await Expect(bob.ConversationButton("Alice A").Locator(".unread")).ToHaveCountAsync(0);

        await bob.SendAsync("hi alice, how are you?");
        await Expect(alice.TheirMessage("hi alice, how are you?")).ToBeVisibleAsync();
        // Alice has the chat open and visible: Bob's message is read at once.
        await Expect(bob.TickOf("hi alice, how are you?")).ToHaveAttributeAsync("data-status", "read");
        await Expect(alice.MessageItems).ToHaveCountAsync(2);
        await Expect(bob.MessageItems).ToHaveCountAsync(2);
        await Shot(alice, "read");
        await Shot(bob, "read");
    }

    [Fact]
    public async Task A_user_who_drops_offline_sees_the_missed_messages_after_reconnecting()
    {
        // Bob reaches the gateway through a TCP proxy, so his open sockets can be cut as a dropped network cuts them.
        await using var proxy = new TcpProxy(system.BaseUrl);
        await using var users = await TwoUsersAsync("Off", bobBaseUrl: proxy.Url);
        var (alice, bob, bobName) = (users.Alice, users.Bob, users.Bob.UserName);
        await alice.StartChatAsync(bobName);
        await alice.SendAsync("before the drop");
        await bob.OpenConversationAsync("Alice Off");
        await Expect(bob.TheirMessage("before the drop")).ToBeVisibleAsync();

        // Bob's network goes away: new connections fail, and the open WebSocket is cut.
        // Offline for longer than the gateway's reconnect window: resuming the connection fails, the
        // gateway drops it once the window is over, and the client reconnects anew and syncs.
        // The proxy is Bob's network: it refuses new connections, so the client's first, silent
        // resume attempt fails as it does offline (Chromium's offline emulation, tried before, at
        // times left that attempt hanging).
        var bobId = await bob.UserIdAsync();
        var syncs = system.Calls.Calls(bobId, "Sync");
        proxy.Refuse();
        proxy.Sever();
        await Expect(bob.Banner).ToBeVisibleAsync();
        await Expect(bob.Banner).ToHaveTextAsync("Reconnecting…");
        await system.WaitForGatewayConnectionsAsync(bobId, 0);
        await Shot(bob, "offline");

        string[] missed = ["missed one", "missed two", "missed three"];
        foreach (var text in missed)
        {
            await alice.SendAsync(text);
        }

        // Bob did not get them live: they are stored, sent ✓ only.
        await Expect(alice.TickOf("missed three")).ToHaveAttributeAsync("data-status", "sent");
        await Expect(bob.MessageItems).ToHaveCountAsync(1);

        // What Bob writes meanwhile waits in his outbox, marked as sending.
        await bob.SendAsync("written offline");
        await Expect(bob.TickOf("written offline")).ToHaveAttributeAsync("data-status", "pending");

        proxy.Release();
        await Expect(bob.Banner).ToBeHiddenAsync();
        foreach (var text in missed)
        {
            await Expect(bob.TheirMessage(text)).ToHaveCountAsync(1);
        }

        // In order, each once, and read at once since Bob's chat is open; his outbox went out after them.
        await Expect(bob.MessageItems.Locator(".text")).ToHaveTextAsync(["before the drop", .. missed, "written offline"]);
        await Expect(alice.TickOf("missed three")).ToHaveAttributeAsync("data-status", "read");
        await Expect(alice.TheirMessage("written offline")).ToHaveCountAsync(1);
        await Expect(bob.TickOf("written offline")).ToHaveAttributeAsync("data-status", "read");
        Assert.True(system.Calls.Calls(bobId, "Sync") > syncs, "the client caught up by Sync after reconnecting anew");

        // The live stream works again after the catch-up.
        await alice.SendAsync("after the drop");
        await Expect(bob.TheirMessage("after the drop")).ToBeVisibleAsync();
        await Expect(bob.MessageItems).ToHaveCountAsync(6);
        await Shot(bob, "caught-up");
    }

    [Fact]
    public async Task A_group_is_created_a_member_added_and_read_by_counts_up_to_all()
    {
        await using var alice = await system.NewUserPageAsync("alice");
        await using var bob = await system.NewUserPageAsync("bob");
        await using var carol = await system.NewUserPageAsync("carol");
        var bobName = ChatPage.NewUserName("bob");
        var carolName = ChatPage.NewUserName("carol");
        await alice.RegisterAsync(ChatPage.NewUserName("alice"), "Alice G");
        await bob.RegisterAsync(bobName, "Bob G");
        await carol.RegisterAsync(carolName, "Carol G");

        await alice.Page.GetByLabel("New group: title").FillAsync("Team");
        await alice.Page.GetByLabel("Members (user names, comma separated)").FillAsync(bobName);
        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Create group" }).ClickAsync();
        await Expect(alice.Page.Locator("#conv-title")).ToHaveTextAsync("Team");
        await Expect(alice.Page.Locator("#conv-status")).ToHaveTextAsync("2 members");
        await alice.Page.GetByLabel("Add member").FillAsync(carolName);
        await alice.Page.GetByLabel("Add member").PressAsync("Enter");
        await Expect(alice.Page.Locator("#conv-status")).ToHaveTextAsync("3 members");

        await alice.SendAsync("hello team");
        await Expect(alice.MyMessage("hello team").Locator(".read-by")).ToHaveTextAsync("read by 0/2");

        await bob.OpenConversationAsync("Team");
        await Expect(bob.TheirMessage("hello team").Locator(".sender")).ToHaveTextAsync("Alice G");
        await Expect(alice.MyMessage("hello team").Locator(".read-by")).ToHaveTextAsync("read by 1/2");
        await Expect(alice.TickOf("hello team")).Not.ToHaveAttributeAsync("data-status", "read");

        await carol.OpenConversationAsync("Team");
        await Expect(alice.MyMessage("hello team").Locator(".read-by")).ToHaveTextAsync("read by 2/2");
        await Expect(alice.TickOf("hello team")).ToHaveAttributeAsync("data-status", "read");

        await carol.SendAsync("hi all");
        await Expect(bob.TheirMessage("hi all").Locator(".sender")).ToHaveTextAsync("Carol G");
        await Expect(carol.MyMessage("hi all").Locator(".read-by")).ToHaveTextAsync("read by 2/2");
        await Shot(alice, "read-by");
    }

    [Fact]
    public async Task A_sender_name_that_failed_to_load_is_loaded_again_without_another_message()
    {
        await using var alice = await system.NewUserPageAsync("alice");
        await using var bob = await system.NewUserPageAsync("bob");
        var bobName = ChatPage.NewUserName("bob");
        await alice.RegisterAsync(ChatPage.NewUserName("alice"), "Alice R");
        var aliceId = await alice.UserIdAsync();

        // Bob's requests for Alice's profile fail on the server while `failing` is set: the id is
        // spoiled on its way, so the gateway answers with invalid_id, as a transient error would.
        // Every other frame passes unchanged, so SignalR's message counts stay in step.
        var failing = 1;
        var spoiled = 0;
        await bob.Page.RouteWebSocketAsync(new Regex("/hubs/chat"), ws =>
        {
            var server = ws.ConnectToServer();
            ws.OnMessage(frame =>
            {
                if (frame.Text is not { } text)
                {
                    server.Send(frame.Binary ?? []);
                }
                else if (Volatile.Read(ref failing) == 1 && text.Contains("\"GetProfiles\"", StringComparison.Ordinal) && text.Contains(aliceId, StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref spoiled);
                    server.Send(text.Replace(aliceId, "not an id!", StringComparison.Ordinal));
                }
                else
                {
                    server.Send(text);
                }
            });
        });
        await bob.RegisterAsync(bobName, "Bob R");

        await alice.Page.GetByLabel("New group: title").FillAsync("Names");
        await alice.Page.GetByLabel("Members (user names, comma separated)").FillAsync(bobName);
        await alice.Page.GetByRole(AriaRole.Button, new() { Name = "Create group" }).ClickAsync();
        await Expect(alice.Page.Locator("#conv-title")).ToHaveTextAsync("Names");
        await alice.SendAsync("who am I?");

        await bob.OpenConversationAsync("Names");
        await Expect(bob.TheirMessage("who am I?").Locator(".sender")).ToHaveTextAsync(aliceId);
        // More asks than the chat's own events make (the message, opening, the list): the client
        // tries again by itself, with backoff (0.5, 1, 2 s).
        await Wait.UntilAsync(() => Volatile.Read(ref spoiled) >= 4, "Bob's client to ask for Alice's profile again by itself");

        // The server answers again; nothing else happens in the chat, and the name appears on the message already shown.
        Volatile.Write(ref failing, 0);
        await Expect(bob.TheirMessage("who am I?").Locator(".sender")).ToHaveTextAsync("Alice R");
    }

    [Fact]
    public async Task History_scrolls_back_to_the_first_message()
    {
        var alice = await system.System.RegisterAsync();
        var bobUser = await system.System.RegisterAsync();
        var first = await alice.SendToPeerAsync(bobUser, "m01");
        for (var i = 2; i <= 40; i++)
        {
            await alice.SendAsync(first.Message.ConversationId, $"m{i:00}");
        }

        await using var bob = await system.NewUserPageAsync("bob");
        await bob.LoginAsync(bobUser.UserName);
        await Expect(bob.ConversationButton(alice.UserName).Locator(".unread")).ToHaveTextAsync("40");
        await Expect(bob.ConversationButton(alice.UserName).Locator(".conv-last")).ToHaveTextAsync("m40");

        await bob.OpenConversationAsync(alice.UserName);
        await Expect(bob.MessageItems).ToHaveCountAsync(30);
        await Expect(bob.MessageItems.First.Locator(".text")).ToHaveTextAsync("m11");
        await Expect(bob.MessageItems.Last.Locator(".text")).ToHaveTextAsync("m40");

        await bob.Page.GetByRole(AriaRole.Button, new() { Name = "Load older messages" }).ClickAsync();
        await Expect(bob.MessageItems).ToHaveCountAsync(40);
        await Expect(bob.MessageItems.First.Locator(".text")).ToHaveTextAsync("m01");
        await Expect(bob.Page.GetByRole(AriaRole.Button, new() { Name = "Load older messages" })).ToBeHiddenAsync();
        await Expect(bob.ConversationButton(alice.UserName).Locator(".unread")).ToHaveCountAsync(0);
        await Shot(bob, "history");
    }

    [Fact]
    public async Task Each_user_sees_the_others_presence_and_typing()
    {
        await using var users = await TwoUsersAsync("P");
        var (alice, bob, bobName) = (users.Alice, users.Bob, users.Bob.UserName);
        await alice.StartChatAsync(bobName);
        await alice.SendAsync("are you there?");
        await bob.OpenConversationAsync("Alice P");

        await Expect(alice.ConversationButton("Bob P").Locator(".presence-dot")).ToHaveAttributeAsync("aria-label", "online");
        await Expect(alice.Page.Locator("#conv-status")).ToHaveTextAsync("online");
        await Expect(bob.ConversationButton("Alice P").Locator(".presence-dot")).ToHaveAttributeAsync("data-online", "true");
        await Expect(bob.Page.Locator("#conv-status")).ToHaveTextAsync("online");

        await bob.Page.GetByLabel("Message", new() { Exact = true }).PressSequentiallyAsync("typing this");
        await Expect(alice.Page.Locator("#typing")).ToHaveTextAsync("Bob P is typing…");
        await Shot(alice, "typing");
        await bob.Page.GetByLabel("Message", new() { Exact = true }).PressAsync("Enter");
        await Expect(alice.TheirMessage("typing this")).ToBeVisibleAsync();
        await Expect(alice.Page.Locator("#typing")).ToBeEmptyAsync();

        await bob.Page.GetByRole(AriaRole.Button, new() { Name = "Log out" }).ClickAsync();
        await Expect(alice.Page.Locator("#conv-status")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^last seen \\d{2}:\\d{2}$"));
        await Expect(alice.ConversationButton("Bob P").Locator(".presence-dot")).ToHaveAttributeAsync("data-online", "false");
        await Shot(alice, "last-seen");
    }

    [Fact]
    public async Task The_access_token_is_refreshed_before_it_expires_and_the_hub_takes_the_new_one()
    {
        await using var users = await TwoUsersAsync("T");
        var (alice, bob, bobName) = (users.Alice, users.Bob, users.Bob.UserName);
        var firstToken = await alice.AccessTokenAsync();

        // Tokens live 35 s here: the client refreshes after 5 s, then calls UpdateAccessToken on the hub.
        await Expect(alice.Page.Locator("body")).ToHaveAttributeAsync("data-token-refreshed-at", new System.Text.RegularExpressions.Regex(".+"));
        var secondToken = await alice.AccessTokenAsync();
        Assert.NotEqual(firstToken, secondToken);

        await alice.StartChatAsync(bobName);
        await alice.SendAsync("still signed in");
        await Expect(bob.ConversationButton("Alice T").Locator(".conv-last")).ToHaveTextAsync("still signed in");
    }

    /// <summary>Alice and Bob, each registered in their own browser context ("Alice {suffix}", "Bob {suffix}").</summary>
    private async Task<UserPair> TwoUsersAsync(string suffix, string? bobBaseUrl = null)
    {
        var alice = await system.NewUserPageAsync("alice");
        var bob = await system.NewUserPageAsync("bob", bobBaseUrl);

        await alice.RegisterAsync(ChatPage.NewUserName("alice"), "Alice " + suffix);
        await bob.RegisterAsync(ChatPage.NewUserName("bob"), "Bob " + suffix);
        return new UserPair(alice, bob);
    }

    private sealed record UserPair(ChatPage Alice, ChatPage Bob) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Alice.DisposeAsync();
            await Bob.DisposeAsync();
        }
    }

    private async Task Shot(ChatPage page, string step, [System.Runtime.CompilerServices.CallerMemberName] string test = "") =>
        output.WriteLine("screenshot: " + await page.ScreenshotAsync(test, step));
}
