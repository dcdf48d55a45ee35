using Chat.Integration.Tests.Infrastructure;
using Chat.WebClient.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Chat.WebClient.Tests;

/// <summary>Issue 16 item 6: the web client's settings panel, mute, notification prompt and group management.</summary>
[Trait("Area", "WebClient")]
[Trait("Area", "ClientApi")]
[Collection(WebClientCollection.Name)]
public sealed class SettingsAndGroupsInBrowserTests(WebClientFixture system, ITestOutputHelper output)
{
    [Fact]
    public async Task A_user_changes_profile_and_privacy_mutes_a_chat_and_answers_the_notification_prompt()
    {
        var bob = await system.System.RegisterAsync();
        await using var alice = await system.NewUserPageAsync("alice");
        var page = alice.Page;
        await alice.RegisterAsync(ChatPage.NewUserName("alice"), "Alice S");

        // Not asked yet: the client offers notifications; "Not now" is remembered.
        var prompt = page.GetByRole(AriaRole.Region, new() { Name = "Notifications" });
        await Expect(prompt).ToBeVisibleAsync();
        await Expect(prompt.GetByRole(AriaRole.Button, new() { Name = "Turn on notifications" })).ToBeVisibleAsync();
        await prompt.GetByRole(AriaRole.Button, new() { Name = "Not now" }).ClickAsync();
        await Expect(prompt).ToBeHiddenAsync();

        // Settings by keyboard: the dialog opens with Enter, Tab reaches its fields, Escape closes it.
        await page.GetByRole(AriaRole.Button, new() { Name = "Settings" }).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Settings" });
        await Expect(dialog).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Name shown to others")).ToBeFocusedAsync();
        await page.GetByLabel("Name shown to others").FillAsync("Alice Renamed");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#settings-status")).ToHaveTextAsync("Profile saved.");
        await Expect(page.Locator("#me")).ToHaveTextAsync("Signed in as Alice Renamed");
        await Expect(page.GetByLabel("Who sees when I am online and last seen")).ToHaveValueAsync("everyone");
        await page.GetByLabel("Who sees when I am online and last seen").SelectOptionAsync("nobody");
        await page.GetByLabel("Send read receipts").UncheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save privacy" }).ClickAsync();
        await Expect(page.Locator("#settings-status")).ToHaveTextAsync("Privacy saved.");
        await page.Keyboard.PressAsync("Escape");
        await Expect(dialog).ToBeHiddenAsync();

        // Mute the chat with Bob.
        await alice.StartChatAsync(bob.UserName);
        await alice.SendAsync("muting you now");
        var mute = page.GetByRole(AriaRole.Button, new() { Name = "Mute" });
        await mute.ClickAsync();
        var unmute = page.GetByRole(AriaRole.Button, new() { Name = "Unmute" });
        await Expect(unmute).ToHaveAttributeAsync("aria-pressed", "true");
        await alice.ShotAsync(output, "settings");

        // All of it was stored: after a reload the server gives it back.
        await page.ReloadAsync();
        await Expect(page.Locator("#me")).ToHaveTextAsync("Signed in as Alice Renamed");
        await Expect(prompt).ToBeHiddenAsync();
        await alice.OpenConversationAsync(bob.UserName);
        await Expect(unmute).ToHaveAttributeAsync("aria-pressed", "true");
        await page.GetByRole(AriaRole.Button, new() { Name = "Settings" }).ClickAsync();
        await Expect(page.GetByLabel("Who sees when I am online and last seen")).ToHaveValueAsync("nobody");
        await Expect(page.GetByLabel("Send read receipts")).Not.ToBeCheckedAsync();
        var profile = await bob.Directory.GetProfilesAsync(new Chat.Contracts.V1.GetProfilesRequest { UserIds = { await alice.UserIdAsync() } });
        Assert.Equal("Alice Renamed", Assert.Single(profile.Profiles).DisplayName);
    }

    [Fact]
    public async Task An_owner_manages_a_group_members_roles_name_and_leaves_it()
    {
        var bob = await system.System.RegisterAsync();
        var carol = await system.System.RegisterAsync();
        await using var alice = await system.NewUserPageAsync("alice");
        var page = alice.Page;
        await alice.RegisterAsync(ChatPage.NewUserName("alice"), "Alice M");
        await page.GetByLabel("New group: title").FillAsync("Crew");
        await page.GetByLabel("Members (user names, comma separated)").FillAsync(bob.UserName);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create group" }).ClickAsync();
        await Expect(page.Locator("#conv-title")).ToHaveTextAsync("Crew");

        // The group panel, by keyboard: members with their roles.
        await page.GetByRole(AriaRole.Button, new() { Name = "Group info" }).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Crew" });
        await Expect(dialog).ToBeVisibleAsync();
        var members = dialog.GetByRole(AriaRole.List, new() { Name = "Members" }).Locator("li");
        await Expect(members).ToHaveCountAsync(2);
        await Expect(members.Filter(new() { HasText = "Alice M (you)" })).ToContainTextAsync("Owner");

        // Add Carol, make Bob an admin, remove Carol, rename.
        await page.GetByLabel("Add a member (user name)").FillAsync(carol.UserName);
        await page.GetByLabel("Add a member (user name)").PressAsync("Enter");
        await Expect(members).ToHaveCountAsync(3);
        await Expect(page.Locator("#conv-status")).ToHaveTextAsync("3 members");
        await page.GetByLabel($"Role of {bob.UserName}").SelectOptionAsync("admin");
        await Expect(page.GetByLabel($"Role of {bob.UserName}")).ToHaveValueAsync("admin");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Remove {carol.UserName}" }).ClickAsync();
        await Expect(members).ToHaveCountAsync(2);
        await Expect(page.Locator("#conv-status")).ToHaveTextAsync("2 members");
        await page.GetByLabel("Group name").FillAsync("Crew two");
        await page.GetByRole(AriaRole.Button, new() { Name = "Rename" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Dialog, new() { Name = "Crew two" })).ToBeVisibleAsync();
        await Expect(page.Locator("#conv-title")).ToHaveTextAsync("Crew two");
        await alice.ShotAsync(output, "group");

        // The server agrees: Bob is an admin, Carol is out, the name changed.
        var cid = await page.EvaluateAsync<string>("() => document.querySelector('[aria-current=\"true\"]').dataset.conversationId");
        var group = await bob.Directory.GetGroupAsync(new Chat.Contracts.V1.GetGroupRequest { GroupId = cid[4..] });
        Assert.Equal("Crew two", group.Group.Title);
        Assert.Equal(2u, group.Group.MemberCount);
        var roles = await bob.Directory.ListMembersAsync(new Chat.Contracts.V1.ListMembersRequest { GroupId = cid[4..] });
        Assert.Equal(Chat.Contracts.V1.GroupRole.Admin, roles.Members.Single(m => m.UserId == bob.UserId).Role);
        Assert.DoesNotContain(roles.Members, m => m.UserId == carol.UserId);

        // Leaving (confirmed) drops the chat here; Bob, the admin, becomes the owner.
        page.Dialog += async (_, d) => await d.AcceptAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Leave group" }).ClickAsync();
        await Expect(alice.ConversationButton("Crew two")).ToHaveCountAsync(0);
        await Expect(page.Locator("#conv-title")).ToHaveTextAsync("Select a conversation");
        var after = await bob.Directory.GetGroupAsync(new Chat.Contracts.V1.GetGroupRequest { GroupId = cid[4..] });
        Assert.Equal(bob.UserId, after.Group.OwnerId);
    }
}
