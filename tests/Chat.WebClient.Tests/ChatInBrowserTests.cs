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
        await using var alice = await system.NewUserPageAsync("alice");
        await using var bob = await system.NewUserPageAsync("bob");
        var bobName = ChatPage.NewUserName("bob");
        await alice.RegisterAsync(ChatPage.NewUserName("alice"), "Alice A");
        await bob.RegisterAsync(bobName, "Bob B");

        await alice.StartChatAsync(bobName);
        await Expect(alice.Page.Locator("#conv-title")).ToHaveTextAsync("Bob B");
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

    private async Task Shot(ChatPage page, string step, [System.Runtime.CompilerServices.CallerMemberName] string test = "") =>
        output.WriteLine("screenshot: " + await page.ScreenshotAsync(test, step));
}
