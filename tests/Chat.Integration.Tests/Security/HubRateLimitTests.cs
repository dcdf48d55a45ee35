using System.Reflection;
using Chat.Domain;
using Chat.Gateway;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;

namespace Chat.Integration.Tests.Security;

/// <summary>Per-user limits on the hub's writing and searching methods, through real SignalR clients.</summary>
[Trait("Area", "Security")]
public sealed class HubRateLimitTests
{
    private static readonly string[] Apps =
        [DaprNames.Apps.Directory, DaprNames.Apps.Router, DaprNames.Apps.Messaging, DaprNames.Apps.Presence, DaprNames.Apps.Delivery];

    /// <summary>One call per hub method, with arguments that bind (the call itself may fail after the limit check).</summary>
    private static readonly Dictionary<string, object?[]> Calls = new()
    {
        ["SendMessage"] = [new SendMessageArgs(null, "unosuchuser00001", Guid.NewGuid().ToString("N"), "x")],
        ["UpdateReceipt"] = [new UpdateReceiptArgs("grp:nosuchgroup", "read", 1)],
        ["Sync"] = [new SyncArgs([], 0)],
        ["GetHistory"] = [new GetHistoryArgs("grp:nosuchgroup")],
        ["ListConversations"] = [new ListConversationsArgs()],
        ["GetReceipts"] = ["grp:nosuchgroup"],
        ["UpdateAccessToken"] = ["not-a-token"],
        ["FindUser"] = ["nobody_here"],
        ["GetProfiles"] = [Array.Empty<string>()],
        ["CreateGroup"] = ["limits", Array.Empty<string>()],
        ["AddMembers"] = ["nosuchgroup", Array.Empty<string>()],
        ["WatchPresence"] = [Array.Empty<string>()],
        ["SetTyping"] = ["grp:nosuchgroup", true],
        ["RegisterDevice"] = [new RegisterDeviceArgs("apns", "limits-device", Token: "00ff00ff")],
        ["UnregisterDevice"] = ["limits-device"],
        ["GetPrivacy"] = [],
        ["UpdatePrivacy"] = [new UpdatePrivacyArgs(PushPreviews: true)],
        ["UpdateProfile"] = [new UpdateProfileArgs(DisplayName: "Limits")],
        ["GetGroup"] = ["grp:nosuchgroup"],
        ["LeaveGroup"] = ["grp:nosuchgroup"],
        ["RemoveMember"] = ["grp:nosuchgroup", "unosuchuser00001"],
        ["SetRole"] = ["grp:nosuchgroup", "unosuchuser00001", "admin"],
        ["RenameGroup"] = ["grp:nosuchgroup", "limits"],
        ["GetConversationSettings"] = ["grp:nosuchgroup"],
        ["SetConversationSettings"] = ["grp:nosuchgroup", new ConversationSettingsArgs()],
        ["CreateBot"] = [new CreateBotArgs("limits_bot", "http://127.0.0.1:1/nowhere")],
        ["ListBots"] = [],
        ["DeleteBot"] = ["bnosuchbot000001"],
        ["EditMessage"] = [new EditMessageArgs("grp:nosuchgroup", 1, Guid.NewGuid().ToString("N"), "x")],
        ["DeleteMessage"] = [new DeleteMessageArgs("grp:nosuchgroup", 1, Guid.NewGuid().ToString("N"))],
        ["React"] = [new ReactArgs("grp:nosuchgroup", 1, Guid.NewGuid().ToString("N"), "x")],
        ["CreateUpload"] = [new CreateUploadArgs("image/png", 10, "limits.png")],
    };

    [Fact]
    public void Every_hub_method_is_rate_limited_or_says_why_not_and_names_a_defined_limit()
    {
        var methods = typeof(ChatHub).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => m.GetBaseDefinition().DeclaringType == typeof(ChatHub))
            .ToList();
        Assert.NotEmpty(methods);
        foreach (var method in methods)
        {
            var limited = method.GetCustomAttribute<RateLimitAttribute>();
            var exempt = method.GetCustomAttribute<NotRateLimitedAttribute>();
            Assert.True(limited is not null ^ exempt is not null,
                $"ChatHub.{method.Name} needs exactly one of [RateLimit(policy)] or [NotRateLimited(reason)].");
            if (limited is not null)
            {
                Assert.True(HubRatePolicies.Defaults.ContainsKey(limited.Policy), $"ChatHub.{method.Name} names an undefined limit '{limited.Policy}'.");
                Assert.True(Calls.ContainsKey(method.Name), $"Add ChatHub.{method.Name} to {nameof(Calls)} so its limit is exercised.");
            }
        }
    }

    [Fact]
    public async Task Past_its_limit_every_limited_method_answers_rate_limited_with_a_retry_after_and_the_connection_stays()
    {
        // Every limit at one call per ~1,000 s, so the second call is refused however slow the machine is.
        var settings = HubRatePolicies.Defaults.Keys.SelectMany(p => new[]
        {
            KeyValuePair.Create<string, string?>($"{HubRatePolicies.Section}:{p}:Burst", "1"),
            KeyValuePair.Create<string, string?>($"{HubRatePolicies.Section}:{p}:PerSecond", "0.001"),
        }).ToDictionary();
        await using var system = await ChatHarness.InProcessAsync(new() { Apps = Apps });
        var gateway = await system.StartAppAsync(DaprNames.Apps.Gateway, settings);

        foreach (var (method, args) in Calls)
        {
            // A user per method: methods under one limit share it.
            var user = await system.RegisterAsync();
            await using var hub = await HubClient.ConnectAsync(gateway.Url, user);
            try
            {
                await hub.Connection.InvokeCoreAsync<object?>(method, args);
            }
            catch (HubException first)
            {
                Assert.DoesNotContain(ErrorCodes.RateLimited, first.Message, StringComparison.Ordinal);
            }

            var limited = await Assert.ThrowsAsync<HubException>(() => hub.Connection.InvokeCoreAsync<object?>(method, args));
            Assert.Contains(ErrorCodes.RateLimited + ":", limited.Message, StringComparison.Ordinal);
            Assert.Contains(method, limited.Message, StringComparison.Ordinal);
            Assert.InRange(RetryAfterMs(limited), 1, 2_000_000);
            Assert.Equal(HubConnectionState.Connected, hub.Connection.State);
            Assert.IsType<DateTimeOffset>(await hub.Connection.InvokeAsync<DateTimeOffset>("Ping"));
        }
    }

    [Fact]
    public async Task Search_limits_are_shared_by_every_gateway_instance_and_send_limits_stay_per_instance()
    {
        var settings = new Dictionary<string, string?>
        {
            [$"{HubRatePolicies.Section}:{HubRatePolicies.Search}:Burst"] = "3",
            [$"{HubRatePolicies.Section}:{HubRatePolicies.Search}:PerSecond"] = "0.001",
            [$"{HubRatePolicies.Section}:{HubRatePolicies.Send}:Burst"] = "1",
            [$"{HubRatePolicies.Section}:{HubRatePolicies.Send}:PerSecond"] = "0.001",
        };
        await using var system = await ChatHarness.InProcessAsync(new() { Apps = Apps });
        var first = await system.StartAppAsync(DaprNames.Apps.Gateway, settings);
        var second = await system.StartAppAsync(DaprNames.Apps.Gateway, settings);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        await using var onFirst = await HubClient.ConnectAsync(first.Url, alice);
        await using var onSecond = await HubClient.ConnectAsync(second.Url, alice);

        await onFirst.Connection.InvokeAsync<UserProfileDto>("FindUser", bob.UserName);
        await onFirst.Connection.InvokeAsync<UserProfileDto>("FindUser", bob.UserName);
        await onSecond.Connection.InvokeAsync<UserProfileDto>("FindUser", bob.UserName);
        var limited = await Assert.ThrowsAsync<HubException>(() => onSecond.Connection.InvokeAsync<UserProfileDto>("FindUser", bob.UserName));
        Assert.Contains(ErrorCodes.RateLimited + ":", limited.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<HubException>(() => onFirst.Connection.InvokeAsync<UserProfileDto>("FindUser", bob.UserName));

        // Sends are limited per instance (in memory, off the state store): one on each passes.
        var sent = await onFirst.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, bob.UserId, Guid.NewGuid().ToString("N"), "one"));
        await onSecond.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(sent.Message.ConversationId, null, Guid.NewGuid().ToString("N"), "two"));
        var refused = await Assert.ThrowsAsync<HubException>(() =>
            onFirst.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(sent.Message.ConversationId, null, Guid.NewGuid().ToString("N"), "three")));
        Assert.Contains(ErrorCodes.RateLimited + ":", refused.Message, StringComparison.Ordinal);
        var history = await onFirst.Connection.InvokeAsync<HistoryDto>("GetHistory", new GetHistoryArgs(sent.Message.ConversationId));
        Assert.Equal(2ul, history.LastSeq);
    }

    [Fact]
    public async Task Refused_calls_leave_no_error_in_the_gateways_log_so_a_client_past_its_limit_cannot_fill_it()
    {
        var settings = new Dictionary<string, string?>
        {
            [$"{HubRatePolicies.Section}:{HubRatePolicies.Send}:Burst"] = "1",
            [$"{HubRatePolicies.Section}:{HubRatePolicies.Send}:PerSecond"] = "0.001",
            // The capture sees everything the gateway's own rules let through, lifetime lines included.
            ["Logging:LogLevel:Default"] = "Information",
        };
        var log = new CapturedLog();
        await using var system = await ChatHarness.InProcessAsync(new() { Apps = Apps });
        var gateway = await system.StartAppAsync(DaprNames.Apps.Gateway, settings, add: b =>
        {
            ServiceRegistry.Add(DaprNames.Apps.Gateway, b);
            b.Logging.AddProvider(log);
        });
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        await using var hub = await HubClient.ConnectAsync(gateway.Url, alice);

        var sent = await hub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, bob.UserId, Guid.NewGuid().ToString("N"), "one"));
        for (var i = 0; i < 20; i++)
        {
            var refused = await Assert.ThrowsAsync<HubException>(() =>
                hub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(sent.Message.ConversationId, null, Guid.NewGuid().ToString("N"), "again")));
            Assert.Contains(ErrorCodes.RateLimited + ":", refused.Message, StringComparison.Ordinal);
        }

        // A malformed user name is an answer too: the directory's invalid_argument, mapped by HubErrorFilter.
        var invalid = await Assert.ThrowsAsync<HubException>(() =>
            hub.Connection.InvokeAsync<UserProfileDto>("FindUser", "no spaces allowed here"));
        Assert.DoesNotContain(ErrorCodes.Internal + ":", invalid.Message, StringComparison.Ordinal);

        Assert.NotEmpty(log.Entries);
        Assert.DoesNotContain(log.Entries, e => e.Level >= LogLevel.Error);
        Assert.DoesNotContain(log.Entries, e => e.Category.StartsWith(GatewayServices.HubDispatcherLogCategory, StringComparison.Ordinal) && e.Level >= LogLevel.Warning);
    }

    /// <summary>Every entry the gateway's logging rules pass to a provider.</summary>
    private sealed class CapturedLog : ILoggerProvider
    {
        public System.Collections.Concurrent.ConcurrentQueue<(string Category, LogLevel Level, string Text)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturedLog owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Entries.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }

    private static long RetryAfterMs(HubException ex)
    {
        var at = ex.Message.IndexOf(RetryAfter.Marker, StringComparison.Ordinal);
        Assert.True(at >= 0, $"No {RetryAfter.Marker} in: {ex.Message}");
        var digits = new string(ex.Message[(at + RetryAfter.Marker.Length)..].TakeWhile(char.IsAsciiDigit).ToArray());
        return long.Parse(digits, System.Globalization.CultureInfo.InvariantCulture);
    }
}
