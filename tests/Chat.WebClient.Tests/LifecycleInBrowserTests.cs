using System.Text;
using System.Text.Json;
using Chat.Integration.Tests.Lifecycle;
using Chat.WebClient.Tests.Infrastructure;
using Microsoft.Playwright;
using SkiaSharp;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Chat.WebClient.Tests;

/// <summary>
/// Issue 17 in real Chromium: reply, edit, delete and react from the message menu (by keyboard and
/// mouse), and an image sent as a person sends one: straight to the blob store, shown to the peer
/// as a thumbnail that opens the full image.
/// </summary>
[Trait("Area", "WebClient")]
[Trait("Area", "Lifecycle")]
[Collection(WebClientCollection.Name)]
public sealed class LifecycleInBrowserTests(WebClientFixture system, ITestOutputHelper output)
{
    private async Task<ChatPage> UserAsync(string label, string displayName)
    {
        var page = await system.NewUserPageAsync(label);
        await page.RegisterAsync(ChatPage.NewUserName(label), displayName);
        return page;
    }

    private static ILocator MenuButton(ILocator message) => message.GetByRole(AriaRole.Button, new() { Name = "Message actions" });

    private static ILocator MenuItem(ChatPage page, string name) => page.Page.GetByRole(AriaRole.Menuitem, new() { Name = name, Exact = true });

    [Fact]
    public async Task Reply_edit_react_and_delete_from_the_message_menu_by_keyboard_and_mouse()
    {
        await using var alice = await UserAsync("alice", "Alice L");
        await using var bob = await UserAsync("bob", "Bob L");
        await alice.StartChatAsync(bob.UserName);
        await alice.SendAsync("first try");
        await bob.OpenConversationAsync("Alice L");

        // Bob replies by keyboard: the menu button, Enter, focus lands on Reply, Enter.
        await MenuButton(bob.TheirMessage("first try")).FocusAsync();
        await bob.Page.Keyboard.PressAsync("Enter");
        await Expect(MenuItem(bob, "Reply")).ToBeFocusedAsync();
        await bob.Page.Keyboard.PressAsync("Enter");
        await Expect(bob.Page.Locator("#composer-context-text")).ToHaveTextAsync("Replying to Alice L: first try");
        await Expect(bob.Page.Locator("#composer-input")).ToBeFocusedAsync();
        await bob.SendAsync("which try?");
        await Expect(bob.Page.Locator("#composer-context")).ToBeHiddenAsync();
        await Expect(alice.TheirMessage("which try?").Locator(".quote")).ToContainTextAsync("first try");

        // Alice fixes her message from the menu; Bob sees the new text, marked edited.
        await MenuButton(alice.MyMessage("first try")).ClickAsync();
        await MenuItem(alice, "Edit").ClickAsync();
        await Expect(alice.Page.Locator("#composer-input")).ToHaveValueAsync("first try");
        await alice.Page.Locator("#composer-input").FillAsync("second try");
        await alice.Page.Locator("#composer-input").PressAsync("Enter");
        await Expect(bob.TheirMessage("second try (edited)")).ToBeVisibleAsync();
        await Expect(alice.MyMessage("second try (edited)")).ToBeVisibleAsync();

        // Bob reacts by keyboard (arrow keys through the menu); Alice adds hers with the reaction button.
        await MenuButton(bob.TheirMessage("second try")).FocusAsync();
        await bob.Page.Keyboard.PressAsync("Enter");
        await bob.Page.Keyboard.PressAsync("ArrowDown");
        await Expect(MenuItem(bob, "React 👍")).ToBeFocusedAsync();
        await bob.Page.Keyboard.PressAsync("Enter");
        var aliceReaction = alice.MyMessage("second try").Locator(".reaction");
        await Expect(aliceReaction).ToHaveTextAsync("👍 1");
        await Expect(aliceReaction).ToHaveAttributeAsync("aria-pressed", "false");
        await aliceReaction.ClickAsync();
        await Expect(aliceReaction).ToHaveTextAsync("👍 2");
        await Expect(aliceReaction).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(bob.TheirMessage("second try").Locator(".reaction")).ToHaveTextAsync("👍 2");
        await bob.ShotAsync(output, "reacted");

        // Escape closes the menu and gives focus back to its button.
        await MenuButton(bob.MyMessage("which try?")).FocusAsync();
        await bob.Page.Keyboard.PressAsync("Enter");
        await Expect(bob.Page.GetByRole(AriaRole.Menu)).ToBeVisibleAsync();
        await bob.Page.Keyboard.PressAsync("Escape");
        await Expect(bob.Page.GetByRole(AriaRole.Menu)).ToHaveCountAsync(0);
        await Expect(MenuButton(bob.MyMessage("which try?"))).ToBeFocusedAsync();

        // Bob takes his reply back for everyone.
        await bob.Page.Keyboard.PressAsync("Enter");
        await MenuItem(bob, "Delete for everyone").ClickAsync();
        await Expect(alice.Messages.Locator("li.msg.theirs.deleted .text")).ToHaveTextAsync("This message was deleted.");
        await Expect(alice.TheirMessage("which try?")).ToHaveCountAsync(0);
        await alice.ShotAsync(output, "deleted");
    }

    [Fact]
    public async Task An_image_goes_to_the_blob_store_and_the_peer_sees_its_thumbnail_and_opens_it()
    {
        await using var alice = await UserAsync("alice", "Alice I");
        await using var bob = await UserAsync("bob", "Bob I");
        await alice.StartChatAsync(bob.UserName);
        await alice.SendAsync("a picture follows");
        var png = ThumbnailTests.TwoColourImage(1600, 900, SKEncodedImageFormat.Png);
        var file = Path.Combine(Path.GetTempPath(), $"beach-{Guid.NewGuid():N}.png");
        await File.WriteAllBytesAsync(file, png);
        try
        {
            // The bytes go to the blob endpoint in a PUT of their own, not into the hub connection.
            var put = await alice.Page.RunAndWaitForRequestFinishedAsync(
                () => alice.Page.Locator("#attach-input").SetInputFilesAsync(file),
                new() { Predicate = r => r.Method == "PUT" && r.Url.Contains("/media/", StringComparison.Ordinal) });
            Assert.Equal(201, (await put.ResponseAsync())!.Status);
            // The blob store holds exactly the file, under the id of that PUT.
            var mediaId = new Uri(put.Url).AbsolutePath.Split('/')[^1];
            Assert.Equal(png, await File.ReadAllBytesAsync(Path.Combine(system.System.DataPath, "media", mediaId)));
            await Expect(alice.Page.Locator("#upload-status")).ToBeHiddenAsync();

            // Bob sees the thumbnail (320 px wide for a 1600 × 900 picture) and opens the full image.
            await bob.OpenConversationAsync("Alice I");
            var thumbnail = bob.Messages.Locator("li.msg.theirs .attachment img");
            await Expect(thumbnail).ToBeVisibleAsync();
            await Expect(thumbnail).ToHaveAttributeAsync("alt", new System.Text.RegularExpressions.Regex(@"\.png: open the full image$"));
            await Expect(thumbnail).ToHaveJSPropertyAsync("naturalWidth", 320);
            await Expect(thumbnail).ToHaveJSPropertyAsync("naturalHeight", 180);
            await bob.ShotAsync(output, "thumbnail");
            var full = await bob.Page.RunAndWaitForPopupAsync(() => thumbnail.ClickAsync());
            await full.WaitForLoadStateAsync();
            Assert.Contains($"/media/{mediaId}?token=", full.Url, StringComparison.Ordinal);
            var opened = await bob.Page.APIRequest.GetAsync(full.Url);
            Assert.Equal((200, "image/png"), (opened.Status, opened.Headers["content-type"]));
            Assert.Equal(png, await opened.BodyAsync());
            await full.CloseAsync();

            // Someone outside the chat gets nothing: no URL of theirs, and neither a bare nor an upload URL opens it.
            await using var eve = await UserAsync("eve", "Eve I");
            Assert.Equal(403, (await eve.Page.APIRequest.GetAsync($"/media/{mediaId}")).Status);
            Assert.Equal(403, (await eve.Page.APIRequest.GetAsync(put.Url)).Status);
            Assert.Equal(403, (await eve.Page.APIRequest.GetAsync($"/media/{mediaId}-thumb")).Status);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task An_upload_url_used_after_it_expired_is_refused_and_nothing_is_sent()
    {
        await using var alice = await UserAsync("alice", "Alice X");
        await using var bob = await UserAsync("bob", "Bob X");
        await alice.StartChatAsync(bob.UserName);
        await alice.SendAsync("an upload will be late");
        var file = Path.Combine(Path.GetTempPath(), $"late-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(file, "too late");
        try
        {
            // The PUT is held until its URL's token has expired (upload URLs live a few seconds here).
            await alice.Page.RouteAsync("**/media/**", async route =>
            {
                var expires = TokenExpiry(route.Request.Url);
                while (DateTimeOffset.UtcNow <= expires)
                {
                    await Task.Delay(100);
                }

                await route.ContinueAsync();
            });
            var put = await alice.Page.RunAndWaitForRequestFinishedAsync(
                () => alice.Page.Locator("#attach-input").SetInputFilesAsync(file),
                new() { Predicate = r => r.Method == "PUT" });
            Assert.Equal(403, (await put.ResponseAsync())!.Status);
            await Expect(alice.Page.Locator("#sidebar-error")).ToContainTextAsync("expired");
            await Expect(alice.Page.Locator("#upload-status")).ToBeHiddenAsync();
            var mediaId = new Uri(put.Url).AbsolutePath.Split('/')[^1];
            Assert.False(File.Exists(Path.Combine(system.System.DataPath, "media", mediaId)));
            await Expect(alice.MessageItems).ToHaveCountAsync(1);
        }
        finally
        {
            File.Delete(file);
        }
    }

    // The exp claim of the media token in an upload URL's query.
    private static DateTimeOffset TokenExpiry(string url)
    {
        var token = Uri.UnescapeDataString(new Uri(url).Query.Split("token=")[1].Split('&')[0]);
        var payload = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
        using var json = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload)));
        return DateTimeOffset.FromUnixTimeSeconds(json.RootElement.GetProperty("exp").GetInt64());
    }
}
