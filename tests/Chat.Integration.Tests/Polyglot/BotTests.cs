using System.Globalization;
using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Integration.Tests.Polyglot;

/// <summary>
/// Bots and outgoing webhooks through the Node.js bots app (services/chat-bots): users create
/// bots through the hub, talk to them 1:1 and by @mention in groups; the webhook gets signed
/// payloads and its replies reach users as the bot's messages over real SignalR clients.
/// </summary>
[Trait("Area", "Polyglot")]
public sealed class BotTests(BotRig rig) : IClassFixture<BotRig>
{
    private static string Name(string prefix) => prefix + Guid.NewGuid().ToString("N")[..8];

    private async Task<CreatedBotDto> CreateBotAsync(HubClient owner, string name, HookMode mode)
    {
        var created = await owner.Connection.InvokeAsync<CreatedBotDto>("CreateBot", new CreateBotArgs(name, rig.Receiver.UrlOf(name)));
        rig.Receiver.Register(name, created.SigningSecret, mode);
        return created;
    }

    private static Task<SendMessageResponse> SendToAsync(HubClient from, string peerUserId, string text) =>
        from.User.Messaging.SendMessageAsync(new SendMessageRequest
        {
            PeerUserId = peerUserId,
            ClientMsgId = Guid.NewGuid().ToString("N"),
            Content = new MessageContent { Text = text },
        }).ResponseAsync;

    private async Task<HookCall> HookCallAsync(string bot, string text) =>
        (await Wait.ForAsync(
            () => Task.FromResult(rig.Receiver.CallsOf(bot).FirstOrDefault(c => c.Body.GetProperty("message").GetProperty("text").GetString() == text)),
            call => call is not null,
            _ => $"webhook {bot} to get '{text}'; bots app output:\n{rig.Bots.Output}",
            TimeSpan.FromSeconds(15)))!;

    [Fact]
    public async Task Bot_gets_signed_direct_messages_and_group_mentions_and_its_replies_reach_users_as_the_bot()
    {
        var alice = await rig.UserAsync();
        var bob = await rig.UserAsync();
        var name = Name("echo");
        var bot = (await CreateBotAsync(alice, name, HookMode.Echo)).Bot;
        Assert.StartsWith("b", bot.UserId, StringComparison.Ordinal);
        Assert.Contains(await alice.Connection.InvokeAsync<IReadOnlyList<BotDto>>("ListBots"), b => b.UserId == bot.UserId && b.WebhookUrl == rig.Receiver.UrlOf(name));

        // 1:1: the webhook gets the message, signed; its reply comes back as the bot's message.
        await SendToAsync(alice, bot.UserId, "hi bot");
        var direct = await HookCallAsync(name, "hi bot");
        Assert.True(direct.SignatureValid, "the X-Chat-Signature checks out with the bot's secret");
        Assert.Equal("direct", direct.Body.GetProperty("message").GetProperty("kind").GetString());
        Assert.Equal(alice.User.UserId, direct.Body.GetProperty("message").GetProperty("sender_id").GetString());
        Assert.Equal(bot.UserId, direct.Body.GetProperty("bot").GetProperty("user_id").GetString());
        await alice.WaitForAsync<MessageDto>(m => m.SenderId == bot.UserId && m.Text == "echo: hi bot");

        // Group: only a message that mentions the bot goes to it; both members see the reply.
        var group = await alice.User.Directory.CreateGroupAsync(new CreateGroupRequest { Title = "with a bot", MemberIds = { bob.User.UserId, bot.UserId } });
        var conversation = group.Group.ConversationId;
        await alice.User.SendAsync(conversation, "nothing for the bot here");
        await bob.User.SendAsync(conversation, $"hello @{name}!");
        var mention = await HookCallAsync(name, $"hello @{name}!");
        Assert.True(mention.SignatureValid);
        Assert.Equal("group", mention.Body.GetProperty("message").GetProperty("kind").GetString());
        Assert.Equal(conversation, mention.Body.GetProperty("message").GetProperty("conversation_id").GetString());
        await bob.WaitForAsync<MessageDto>(m => m.SenderId == bot.UserId && m.ConversationId == conversation && m.Text == $"echo: hello @{name}!");
        await alice.WaitForAsync<MessageDto>(m => m.SenderId == bot.UserId && m.ConversationId == conversation && m.Text == $"echo: hello @{name}!");
        // One bot's messages are sent in order, so the earlier unmentioning one would have come first.
        Assert.DoesNotContain(rig.Receiver.CallsOf(name), c => c.Body.GetProperty("message").GetProperty("text").GetString() == "nothing for the bot here");
        // The bot's own reply (which mentions it) did not go back to it: bots never trigger bots.
        Assert.Equal(2, rig.Receiver.CallsOf(name).Count());
    }

    [Fact]
    public async Task A_bot_joins_groups_only_by_its_owner_and_its_webhook_must_be_under_the_allowed_base()
    {
        var alice = await rig.UserAsync();
        var mallory = await rig.UserAsync();
        var bot = (await CreateBotAsync(alice, Name("guard"), HookMode.Echo)).Bot;

        var denied = await Assert.ThrowsAsync<HubException>(() => mallory.Connection.InvokeAsync<GroupDto>("CreateGroup", "spam", new[] { bot.UserId }));
        Assert.Contains(ErrorCodes.GroupAddDenied, denied.Message, StringComparison.Ordinal);

        // SSRF: a webhook anywhere but under the binding's base URL is refused up front.
        foreach (var url in (string[])["http://169.254.169.254/latest/meta-data", rig.Receiver.BaseUrl.Replace("/hooks/", "/admin/", StringComparison.Ordinal), rig.Receiver.BaseUrl + "../admin", "file:///etc/passwd"])
        {
            var refused = await Assert.ThrowsAsync<HubException>(() => alice.Connection.InvokeAsync<CreatedBotDto>("CreateBot", new CreateBotArgs(Name("ssrf"), url)));
            Assert.Contains(ErrorCodes.InvalidWebhookUrl, refused.Message, StringComparison.Ordinal);
        }

        // Deleted: gone from the list, and only its owner can delete it.
        Assert.False(await mallory.Connection.InvokeAsync<bool>("DeleteBot", bot.UserId));
        Assert.True(await alice.Connection.InvokeAsync<bool>("DeleteBot", bot.UserId));
        Assert.DoesNotContain(await alice.Connection.InvokeAsync<IReadOnlyList<BotDto>>("ListBots"), b => b.UserId == bot.UserId);
    }

    [Fact]
    public async Task Failing_and_hanging_webhooks_are_retried_a_bounded_number_of_times_and_delay_nobody_else()
    {
        var alice = await rig.UserAsync();
        var bob = await rig.UserAsync();
        var failing = (await CreateBotAsync(alice, Name("fail"), HookMode.Fail)).Bot;
        var hanging = (await CreateBotAsync(alice, Name("hang"), HookMode.Hang)).Bot;
        var echo = (await CreateBotAsync(alice, Name("echo"), HookMode.Echo)).Bot;

        await SendToAsync(alice, failing.UserId, "to the failing bot");
        await SendToAsync(alice, hanging.UserId, "to the hanging bot");
        await SendToAsync(alice, echo.UserId, "to the echo bot");
        await SendToAsync(alice, bob.User.UserId, "to bob");

        // The healthy bot answers, and bob gets his message, while the hanging webhook still holds its request.
        await alice.WaitForAsync<MessageDto>(m => m.SenderId == echo.UserId && m.Text == "echo: to the echo bot");
        await bob.WaitForAsync<MessageDto>(m => m.SenderId == alice.User.UserId && m.Text == "to bob");
        Assert.NotEmpty(rig.Receiver.CallsOf(hanging.UserName));
        Assert.False(rig.Receiver.Completed.ContainsKey(hanging.UserName), "the hanging webhook has answered nothing yet");

        // Each gives up after MaxAttempts: 5xx and timeouts are retried, never more than that.
        await rig.Bots.WaitForLineAsync(TimeSpan.FromSeconds(20), $"bot {failing.UserId}: ", $"given up after {BotRig.MaxAttempts} attempt(s): status 500");
        await rig.Bots.WaitForLineAsync(TimeSpan.FromSeconds(20), $"bot {hanging.UserId}: ", $"given up after {BotRig.MaxAttempts} attempt(s): timed out");
        Assert.Equal(BotRig.MaxAttempts, rig.Receiver.CallsOf(failing.UserName).Count());
        Assert.Equal(BotRig.MaxAttempts, rig.Receiver.CallsOf(hanging.UserName).Count());
        Assert.Single(rig.Receiver.CallsOf(hanging.UserName).Select(c => c.DeliveryId).Distinct());
        Assert.DoesNotContain(alice.Received.OfType<MessageDto>(), m => m.SenderId == failing.UserId || m.SenderId == hanging.UserId);
        rig.Receiver.Release();
    }

    [Fact]
    public async Task Each_bot_has_its_own_rate_limit_and_a_busy_bot_holds_back_no_other()
    {
        var alice = await rig.UserAsync();
        var busy = (await CreateBotAsync(alice, Name("busy"), HookMode.Echo)).Bot;
        var quiet = (await CreateBotAsync(alice, Name("quiet"), HookMode.Echo)).Bot;
        var count = BotRig.RateBurst + 3;
        // All at once, so the bucket barely refills while they are sent.
        await Task.WhenAll(Enumerable.Range(0, count).Select(i => SendToAsync(alice, busy.UserId, $"busy {i}")));
        await SendToAsync(alice, quiet.UserId, "quiet 0");

        // The other bot's message, sent last, is not queued behind the busy bot's.
        await HookCallAsync(quiet.UserName, "quiet 0");
        Assert.True(rig.Receiver.CallsOf(busy.UserName).Select(c => c.DeliveryId).Distinct().Count() < count, "the quiet bot was called while the busy one still waited for its rate");

        // A token bucket: past the burst, one call per 1/rate. Slowness only spreads the calls
        // further apart; the margin covers the first call's extra latency (a new connection).
        for (var i = 0; i < count; i++)
        {
            await HookCallAsync(busy.UserName, $"busy {i}");
        }

        // Webhooks are at-least-once: an attempt that timed out on a slow machine is retried with the
        // same delivery id (receivers drop repeats by it), so deliveries are counted, by their first call.
        var calls = rig.Receiver.CallsOf(busy.UserName).GroupBy(c => c.DeliveryId).Select(d => d.MinBy(c => c.At)!).OrderBy(c => c.At).ToList();
        Assert.Equal(count, calls.Count);
        var span = calls[^1].At - calls[0].At;
        var least = TimeSpan.FromSeconds((count - BotRig.RateBurst) / (double)BotRig.RatePerSecond) * 0.7;
        Assert.True(span >= least, $"{count} calls within {span.TotalMilliseconds:0} ms, faster than a burst of {BotRig.RateBurst} then {BotRig.RatePerSecond}/s allows");
    }

    [Fact]
    public async Task A_typescript_client_with_generated_types_calls_directory_and_messaging_through_a_sidecar()
    {
        var (code, output) = await NodeApp.RunAsync(Path.Combine("dist", "tools", "contract-check.js"), new Dictionary<string, string>
        {
            ["DAPR_GRPC_PORT"] = rig.System.ClientSidecar.GrpcPort.ToString(CultureInfo.InvariantCulture),
            ["DAPR_API_TOKEN"] = rig.System.ClientApiToken,
        }, TimeSpan.FromSeconds(60));

        Assert.True(code == 0, $"the TypeScript client exited with {code}:\n{output}");
        foreach (var check in (string[])[
            "allowed: DirectoryService.Register and MessagingService.SendMessage with the user's token",
            "refused: MessagingService.SendMessage without a token is UNAUTHENTICATED",
            "refused: BotInternalService.GetBotWebhooks from an app other than bots is PERMISSION_DENIED"])
        {
            Assert.Contains("PASS " + check, output, StringComparison.Ordinal);
        }
    }
}
