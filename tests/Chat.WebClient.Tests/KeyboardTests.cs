using Chat.Integration.Tests.Infrastructure;
using Chat.WebClient.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.WebClient.Tests;

/// <summary>The accessible basics: everything by keyboard, visible focus, labelled controls, a live message log.</summary>
[Trait("Area", "WebClient")]
[Collection(WebClientCollection.Name)]
public sealed class KeyboardTests(WebClientFixture system)
{
    [Fact]
    public async Task A_user_signs_up_starts_a_chat_and_sends_with_the_keyboard_only()
    {
        var bob = await system.System.RegisterAsync();
        await using var alice = await system.NewUserPageAsync("alice");
        var page = alice.Page;
        var keyboard = page.Keyboard;
        await page.GotoAsync("/");

        // The page opens with the user name focused; Tab walks the form in reading order.
        await Expect(page.GetByLabel("User name", new() { Exact = true })).ToBeFocusedAsync();
        await keyboard.TypeAsync(ChatPage.NewUserName("kbd"));
        await keyboard.PressAsync("Tab");
        await keyboard.TypeAsync(ChatPage.Password);
        await keyboard.PressAsync("Tab");
        await keyboard.TypeAsync("Keyboard Kim");
        await keyboard.PressAsync("Tab");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Log in" })).ToBeFocusedAsync();
        await keyboard.PressAsync("Tab");
        var create = page.GetByRole(AriaRole.Button, new() { Name = "Create account" });
        await Expect(create).ToBeFocusedAsync();
        Assert.NotEqual("none", await create.EvaluateAsync<string>("e => getComputedStyle(e).outlineStyle"));
        await keyboard.PressAsync("Enter");

        // Signed in: focus moves to "New chat with"; Enter starts the chat and focuses the message box.
        await Expect(page.Locator("#me")).ToHaveTextAsync("Signed in as Keyboard Kim");
        await Expect(page.GetByLabel("New chat with (user name)")).ToBeFocusedAsync();
        await keyboard.TypeAsync(bob.UserName);
        await keyboard.PressAsync("Enter");
        var message = page.GetByLabel("Message", new() { Exact = true });
        await Expect(message).ToBeFocusedAsync();
        await keyboard.TypeAsync("sent with Enter");
        await keyboard.PressAsync("Enter");
        await Expect(alice.MyMessage("sent with Enter").Locator(".tick")).ToHaveAttributeAsync("data-status", "sent");
        await Expect(message).ToHaveValueAsync("");

        // Shift+Enter makes a new line instead of sending.
        await keyboard.TypeAsync("line one");
        await keyboard.PressAsync("Shift+Enter");
        await keyboard.TypeAsync("line two");
        await Expect(message).ToHaveValueAsync("line one\nline two");
        await Expect(alice.MessageItems).ToHaveCountAsync(1);

        // New messages are announced politely; the conversation is a keyboard-reachable button.
        await Expect(page.GetByRole(AriaRole.Log, new() { Name = "Messages" })).ToHaveAttributeAsync("aria-live", "polite");
        await Expect(alice.ConversationButton(bob.UserName)).ToHaveAttributeAsync("aria-current", "true");
        await alice.ConversationButton(bob.UserName).FocusAsync();
        Assert.NotEqual("none", await alice.ConversationButton(bob.UserName).EvaluateAsync<string>("e => getComputedStyle(e).outlineStyle"));
    }
}
