using Chat.Integration.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Chat.WebClient.Tests.Infrastructure;

/// <summary>One user's browser context and page, with the steps a person takes in the web client.</summary>
public sealed class ChatPage(string label, IBrowserContext context, IPage page) : IAsyncDisposable
{
    public const string Password = "correct horse battery";

    private static int _counter;
    public string Label { get; } = label;

    public IBrowserContext Context { get; } = context;

    public IPage Page { get; } = page;

    public string UserName { get; private set; } = "";

    /// <summary>A unique valid user name.</summary>
    public static string NewUserName(string prefix) => $"{prefix}{Interlocked.Increment(ref _counter)}x{Random.Shared.Next(100000)}";

    public ILocator ConversationList => Page.Locator("#conversation-list");

    public ILocator Messages => Page.Locator("#messages");

    public ILocator Banner => Page.Locator("#conn-banner");

    /// <summary>The signed-in user's id, from the session the client keeps.</summary>
    public Task<string> UserIdAsync() => Page.EvaluateAsync<string>("() => JSON.parse(localStorage.getItem('chat.session')).userId");

    /// <summary>The access token the client holds now.</summary>
    public Task<string> AccessTokenAsync() => Page.EvaluateAsync<string>("() => JSON.parse(localStorage.getItem('chat.session')).accessToken");

    public async Task RegisterAsync(string userName, string displayName)
    {
        UserName = userName;
        await Page.GotoAsync("/");
        await Page.GetByLabel("User name", new() { Exact = true }).FillAsync(userName);
        await Page.GetByLabel("Password", new() { Exact = true }).FillAsync(Password);
        await Page.GetByLabel("Display name").FillAsync(displayName);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();
        await Expect(Page.Locator("#me")).ToContainTextAsync(displayName);
    }

    public async Task LoginAsync(string userName)
    {
        UserName = userName;
        await Page.GotoAsync("/");
        await Page.GetByLabel("User name", new() { Exact = true }).FillAsync(userName);
        await Page.GetByLabel("Password", new() { Exact = true }).FillAsync(Password);
        await Page.GetByLabel("Password", new() { Exact = true }).PressAsync("Enter");
        await Expect(Page.Locator("#me")).ToContainTextAsync(userName);
    }

    public async Task StartChatAsync(string peerUserName)
    {
        await Page.GetByLabel("New chat with (user name)").FillAsync(peerUserName);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Start chat" }).ClickAsync();
        await Expect(Page.Locator("#composer-input")).ToBeFocusedAsync();
    }

    /// <summary>Types a message and presses Enter.</summary>
    public async Task SendAsync(string text)
    {
        var input = Page.GetByLabel("Message", new() { Exact = true });
        await input.FillAsync(text);
        await input.PressAsync("Enter");
        await Expect(MyMessage(text)).ToBeVisibleAsync();
    }

    public ILocator ConversationButton(string title) =>
        ConversationList.Locator("button.conv").Filter(new() { Has = Page.Locator(".conv-title", new() { HasTextString = title }) });

    public async Task OpenConversationAsync(string title)
    {
        await ConversationButton(title).ClickAsync();
        await Expect(Page.Locator("#conv-title")).ToHaveTextAsync(title);
        // Opening ends by marking the chat read.
        await Expect(ConversationButton(title).Locator(".unread")).ToHaveCountAsync(0);
    }

    public ILocator MessageItems => Messages.Locator("li.msg");

    public ILocator MyMessage(string text) => Messages.Locator("li.msg.mine").Filter(new() { Has = Page.Locator(".text", new() { HasTextString = text }) });

    public ILocator TheirMessage(string text) => Messages.Locator("li.msg.theirs").Filter(new() { Has = Page.Locator(".text", new() { HasTextString = text }) });

    public ILocator TickOf(string text) => MyMessage(text).Locator(".tick");

    /// <summary>Writes a PNG of the page to artifacts/screenshots/ and returns its path.</summary>
    public async Task<string> ScreenshotAsync(string testName, string step)
    {
        var dir = Path.Combine(RepoPaths.Root, "artifacts", "screenshots");
        System.IO.Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"{testName}-{Label}-{step}.png");
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }

    /// <summary>Takes a screenshot (<see cref="ScreenshotAsync"/>) and names it in the test output.</summary>
    public async Task ShotAsync(Xunit.Abstractions.ITestOutputHelper output, string step, [System.Runtime.CompilerServices.CallerMemberName] string test = "") =>
        output.WriteLine("screenshot: " + await ScreenshotAsync(test, step));

    public async ValueTask DisposeAsync() => await Context.CloseAsync();
}
