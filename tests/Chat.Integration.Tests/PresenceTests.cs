using System.Diagnostics;
using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Gateway.Presence;
using Chat.Integration.Tests.Infrastructure;
using Grpc.Core;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Integration.Tests;

/// <summary>Issue 7: presence, last seen, privacy and typing through real SignalR clients.</summary>
[Trait("Area", "Presence")]
[Collection(RedisCollection.Name)]
public sealed class PresenceTests(RedisServerFixture redis)
{
    public static TheoryData<ComponentSet> Sets => new() { ComponentSet.Embedded, ComponentSet.Redis };

    private static readonly string[] AllApps =
        [DaprNames.Apps.Directory, DaprNames.Apps.Router, DaprNames.Apps.Messaging, DaprNames.Apps.Delivery, DaprNames.Apps.Presence, DaprNames.Apps.Gateway];

    // Refresh every second: markers live 3 s (2.5 intervals, rounded up); the sweep runs twice a second.
    private const int RefreshSeconds = 1;
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Sweep = TimeSpan.FromMilliseconds(500);

    private Task<ChatSystem> StartAsync(ComponentSet set, int refreshSeconds = RefreshSeconds, bool countWrites = false) =>
        ChatHarness.InProcessAsync(new()
        {
            Components = set,
            Redis = set == ComponentSet.Redis ? redis.Endpoint : null,
            Apps = AllApps,
            CountPresenceWrites = countWrites,
            Settings = new Dictionary<string, string?>
            {
                ["Gateway:PresenceRefreshSeconds"] = refreshSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Gateway:PresenceConnectDelayMs"] = "50",
                ["Presence:SweepSeconds"] = Sweep.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        });

    [Theory]
    [MemberData(nameof(Sets))]
    public async Task A_watcher_sees_online_then_offline_with_last_seen(ComponentSet set)
    {
        await using var system = await StartAsync(set);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        await bob.SendToPeerAsync(alice, "hi"); // contacts (default setting is everyone anyway)
        await using var aliceHub = await HubClient.ConnectAsync(system.GatewayUrl, alice);

        var before = Assert.Single(await aliceHub.Connection.InvokeAsync<IReadOnlyList<PresenceDto>>("WatchPresence", new[] { bob.UserId }));
        Assert.Equal(new PresenceDto(bob.UserId, false, null, true), before);

        var bobHub = await HubClient.ConnectAsync(system.GatewayUrl, bob);
        var online = await aliceHub.WaitForAsync<PresenceDto>(p => p.UserId == bob.UserId && p.Online);
        Assert.True(online.Visible);
        Assert.True(Assert.Single(await aliceHub.Connection.InvokeAsync<IReadOnlyList<PresenceDto>>("WatchPresence", new[] { bob.UserId })).Online);

        var leftAt = DateTimeOffset.UtcNow;
        await bobHub.DisposeAsync();
        var offline = await aliceHub.WaitForAsync<PresenceDto>(p => p.UserId == bob.UserId && !p.Online);
        Assert.NotNull(offline.LastSeen);
        Assert.InRange(offline.LastSeen!.Value, leftAt.AddSeconds(-2), DateTimeOffset.UtcNow.AddSeconds(1));

        var after = Assert.Single(await aliceHub.Connection.InvokeAsync<IReadOnlyList<PresenceDto>>("WatchPresence", new[] { bob.UserId }));
        Assert.False(after.Online);
        // A periodic report racing the disconnect may store a last seen a few ms apart from the first event.
        Assert.InRange(after.LastSeen!.Value, offline.LastSeen.Value.AddSeconds(-1), offline.LastSeen.Value.AddSeconds(1));
        // Bob's own presence reached only his watcher: alice never watched herself, bob's events went to alice only.
        Assert.DoesNotContain(aliceHub.Received.OfType<PresenceDto>(), p => p.UserId == alice.UserId);
    }

    [Fact]
    public async Task Watchers_on_another_gateway_see_the_users_of_a_killed_gateway_go_offline_within_the_ttl()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        var second = await system.StartAppAsync(DaprNames.Apps.Gateway);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        var carol = await system.RegisterAsync();
        await using var aliceHub = await HubClient.ConnectAsync(system.GatewayUrl, alice);
        await aliceHub.Connection.InvokeAsync<IReadOnlyList<PresenceDto>>("WatchPresence", new[] { bob.UserId, carol.UserId });
        await using var bobHub = await HubClient.ConnectAsync(second.Url, bob);
        await using var carolHub = await HubClient.ConnectAsync(second.Url, carol);
        await aliceHub.WaitForAsync<PresenceDto>(p => p.UserId == bob.UserId && p.Online);
        await aliceHub.WaitForAsync<PresenceDto>(p => p.UserId == carol.UserId && p.Online);

        var killedAt = Stopwatch.StartNew();
        await system.KillAsync(second, sidecarFirst: true);
        var limit = Ttl + Sweep + Sweep + TimeSpan.FromSeconds(3); // TTL, one sweep, and slack for a loaded machine
        var bobOff = await aliceHub.WaitForAsync<PresenceDto>(p => p.UserId == bob.UserId && !p.Online, limit);
        await aliceHub.WaitForAsync<PresenceDto>(p => p.UserId == carol.UserId && !p.Online, limit);
        Assert.True(killedAt.Elapsed < limit, $"offline after {killedAt.Elapsed}");
        // Not before the markers could lapse: the killed gateway never reported the disconnects.
        Assert.True(killedAt.Elapsed > Ttl - TimeSpan.FromSeconds(RefreshSeconds) - TimeSpan.FromMilliseconds(200), $"offline already after {killedAt.Elapsed}");
        Assert.NotNull(bobOff.LastSeen);

        var now = await aliceHub.Connection.InvokeAsync<IReadOnlyList<PresenceDto>>("WatchPresence", new[] { bob.UserId, carol.UserId });
        Assert.All(now, p => Assert.False(p.Online));
        Assert.All(now, p => Assert.NotNull(p.LastSeen));
    }

    [Fact]
    public async Task Privacy_matrix_holds_in_both_directions_for_reads_and_events()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        LastSeenVisibility[] settings = [LastSeenVisibility.Everyone, LastSeenVisibility.Contacts, LastSeenVisibility.Nobody];
        var targets = new Dictionary<LastSeenVisibility, TestUser>();
        foreach (var s in settings)
        {
            targets[s] = await SetPrivacyAsync(await system.RegisterAsync(), s);
        }

        var viewers = new List<(TestUser User, LastSeenVisibility Setting, bool Contact)>();
        foreach (var s in settings)
        {
            foreach (var contact in new[] { true, false })
            {
                viewers.Add((await SetPrivacyAsync(await system.RegisterAsync(), s), s, contact));
            }
        }

        // Contacts share a conversation: one group with every target and the "contact" viewers.
        await targets[LastSeenVisibility.Everyone].CreateGroupAsync("contacts",
            [targets[LastSeenVisibility.Contacts], targets[LastSeenVisibility.Nobody], .. viewers.Where(v => v.Contact).Select(v => v.User)]);

        static bool Expected(LastSeenVisibility target, LastSeenVisibility viewer, bool contact) =>
            Allows(target, contact) && Allows(viewer, contact);
        static bool Allows(LastSeenVisibility s, bool contact) => s == LastSeenVisibility.Everyone || (s == LastSeenVisibility.Contacts && contact);

        var targetIds = targets.Values.Select(t => t.UserId).ToArray();
        var hubs = new List<HubClient>();
        try
        {
            var viewerHubs = new List<(HubClient Hub, LastSeenVisibility Setting, bool Contact)>();
            foreach (var v in viewers)
            {
                var hub = await HubClient.ConnectAsync(system.GatewayUrl, v.User);
                hubs.Add(hub);
                viewerHubs.Add((hub, v.Setting, v.Contact));
                var seen = await hub.Connection.InvokeAsync<IReadOnlyList<PresenceDto>>("WatchPresence", targetIds);
                foreach (var (s, t) in targets)
                {
                    var p = Assert.Single(seen, p => p.UserId == t.UserId);
                    var expected = Expected(s, v.Setting, v.Contact);
                    Assert.True(expected == p.Visible, $"viewer {v.Setting}/{(v.Contact ? "contact" : "stranger")} reading target {s}: visible {p.Visible}");
                    if (!p.Visible)
                    {
                        Assert.False(p.Online);
                        Assert.Null(p.LastSeen);
                    }
                }
            }

            // The targets come online: each viewer hears exactly the targets it may see.
            var targetHubs = new Dictionary<LastSeenVisibility, HubClient>();
            foreach (var (s, t) in targets)
            {
                targetHubs[s] = await HubClient.ConnectAsync(system.GatewayUrl, t);
                hubs.Add(targetHubs[s]);
            }

            foreach (var (hub, setting, contact) in viewerHubs)
            {
                foreach (var (s, t) in targets.Where(t => Expected(t.Key, setting, contact)))
                {
                    await hub.WaitForAsync<PresenceDto>(p => p.UserId == t.UserId && p.Online);
                }
            }

            // Other direction: each target reads the viewers, with the same (reciprocal) answers.
            foreach (var (s, hub) in targetHubs)
            {
                var seen = await hub.Connection.InvokeAsync<IReadOnlyList<PresenceDto>>("WatchPresence", viewers.Select(v => v.User.UserId).ToArray());
                foreach (var v in viewers)
                {
                    var p = Assert.Single(seen, p => p.UserId == v.User.UserId);
                    Assert.True(Expected(s, v.Setting, v.Contact) == p.Visible, $"target {s} reading viewer {v.Setting}/{(v.Contact ? "contact" : "stranger")}: visible {p.Visible}");
                    Assert.Equal(p.Visible, p.Online); // every viewer is connected
                }
            }

            // Absence cannot be awaited: the invariant (nobody hears a target it may not see) is
            // checked throughout a window in which stragglers would show up.
            HashSet<string> Heard(HubClient hub) => hub.Received.OfType<PresenceDto>().Select(p => p.UserId).ToHashSet();
            HashSet<string> Allowed(LastSeenVisibility setting, bool contact) => targets.Where(t => Expected(t.Key, setting, contact)).Select(t => t.Value.UserId).ToHashSet();
            await Wait.HoldsAsync(() => viewerHubs.All(v => Heard(v.Hub).IsSubsetOf(Allowed(v.Setting, v.Contact))), "no viewer to hear a target it may not see", TimeSpan.FromMilliseconds(300));
            foreach (var (hub, setting, contact) in viewerHubs)
            {
                var heard = Heard(hub);
                var allowed = Allowed(setting, contact);
                Assert.True(allowed.SetEquals(heard), $"viewer {setting}/{(contact ? "contact" : "stranger")} heard {heard.Count} users, may hear {allowed.Count}");
            }
        }
        finally
        {
            await DisposeAllAsync(hubs);
        }
    }

    [Fact]
    public async Task Typing_reaches_the_other_connected_members_only_and_is_throttled()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        var carol = await system.RegisterAsync();
        var dave = await system.RegisterAsync();
        var group = await alice.CreateGroupAsync("typing", bob, carol);
        var aliceTablet = alice with { AccessToken = await system.LoginAsync(alice, "tablet") };
        await using var alicePhoneHub = await HubClient.ConnectAsync(system.GatewayUrl, alice);
        await using var aliceTabletHub = await HubClient.ConnectAsync(system.GatewayUrl, aliceTablet);
        await using var bobHub = await HubClient.ConnectAsync(system.GatewayUrl, bob);
        await using var carolHub = await HubClient.ConnectAsync(system.GatewayUrl, carol, messagePack: true);
        await using var daveHub = await HubClient.ConnectAsync(system.GatewayUrl, dave);

        // A hub call is served only after OnConnectedAsync finished, so every route is in place.
        foreach (var hub in new[] { alicePhoneHub, aliceTabletHub, bobHub, carolHub, daveHub })
        {
            await hub.Connection.InvokeAsync<IReadOnlyList<PresenceDto>>("WatchPresence", Array.Empty<string>());
        }

        Assert.True(await alicePhoneHub.Connection.InvokeAsync<bool>("SetTyping", group, true));
        for (var i = 0; i < 4; i++)
        {
            Assert.False(await alicePhoneHub.Connection.InvokeAsync<bool>("SetTyping", group, true));
        }

        Assert.True(await alicePhoneHub.Connection.InvokeAsync<bool>("SetTyping", group, false));
        var notMember = await Assert.ThrowsAsync<HubException>(() => daveHub.Connection.InvokeAsync<bool>("SetTyping", group, true));
        Assert.Contains(ErrorCodes.NotMember, notMember.Message, StringComparison.Ordinal);

        foreach (var hub in new[] { bobHub, carolHub })
        {
            var stopped = await hub.WaitForAsync<TypingDto>(t => !t.Typing);
            var started = await hub.WaitForAsync<TypingDto>(t => t.Typing);
            Assert.Equal((group, alice.UserId), (stopped.ConversationId, stopped.UserId));
            Assert.Equal((group, alice.UserId), (started.ConversationId, started.UserId));
            // Events may overtake each other; their times give the order.
            Assert.True(started.At < stopped.At);
            Assert.Equal(2, hub.Received.OfType<TypingDto>().Count());
        }

        // Absence cannot be awaited: checked throughout a window in which stragglers would show up.
        await Wait.HoldsAsync(() => new[] { alicePhoneHub, aliceTabletHub, daveHub }.All(h => !h.Received.OfType<TypingDto>().Any()),
            "typing to reach neither alice's own connections nor a non-member", TimeSpan.FromMilliseconds(300));
        Assert.Empty(alicePhoneHub.Received.OfType<TypingDto>());
        Assert.Empty(aliceTabletHub.Received.OfType<TypingDto>());
        Assert.Empty(daveHub.Received.OfType<TypingDto>());
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public async Task Each_refresh_costs_one_presence_state_write_per_gateway_instance(ComponentSet set)
    {
        // A long interval: refreshes happen only when the test asks, so they can be counted exactly.
        await using var system = await StartAsync(set, refreshSeconds: 600, countWrites: true);
        var second = await system.StartAppAsync(DaprNames.Apps.Gateway);
        var reporters = new[] { system.AppOf(DaprNames.Apps.Gateway), second.App }.Select(a => a.Services.GetRequiredService<PresenceReporter>()).ToArray();
        const int perGateway = 15;
        var users = await Task.WhenAll(Enumerable.Range(0, 2 * perGateway).Select(_ => system.RegisterAsync()));
        var hubs = await Task.WhenAll(users.Select((u, i) => HubClient.ConnectAsync(i < perGateway ? system.GatewayUrl : second.Url, u)));
        try
        {
            // The connect-triggered early reports settle with every user reported.
            var deadline = DateTime.UtcNow.AddSeconds(15);
            await Wait.UntilAsync(() => reporters.All(r => r.LastReportedUsers == perGateway), "the gateways to report their users", TimeSpan.FromSeconds(15));

            // ...and stay quiet (a connect can still have an early report pending).
            var quietSince = (Sent: reporters.Sum(r => r.ReportsSent), At: DateTime.UtcNow);
            while (DateTime.UtcNow - quietSince.At < TimeSpan.FromMilliseconds(500))
            {
                Assert.True(DateTime.UtcNow < deadline, "the gateways kept reporting");
                await Task.Delay(50);
                if (reporters.Sum(r => r.ReportsSent) != quietSince.Sent)
                {
                    quietSince = (reporters.Sum(r => r.ReportsSent), DateTime.UtcNow);
                }
            }

            var store = CountingStateStore.In(system.ResourcesPath);
            static bool IsPresenceWrite(IReadOnlyList<string> keys) => keys.Any(k => k.StartsWith("presence-store||presence:", StringComparison.Ordinal));
            var writesBefore = store.Writes.Count(IsPresenceWrite);
            var reportsBefore = reporters.Sum(r => r.ReportsSent);

            const int rounds = 3;
            for (var round = 0; round < rounds; round++)
            {
                await Task.WhenAll(reporters.Select(r => r.ReportNowAsync(CancellationToken.None)));
            }

            var writes = store.Writes.Where(IsPresenceWrite).Skip(writesBefore).ToList();
            var reports = reporters.Sum(r => r.ReportsSent) - reportsBefore;
            Assert.Equal(rounds * reporters.Length, reports);
            Assert.True(reports == writes.Count,
                $"{writes.Count} presence writes: {string.Join(" | ", writes.Select(w => $"{w.Count} keys: {string.Join(",", w.Take(3))}"))}");
            // Each write carries the whole gateway's users, not one heartbeat per client.
            Assert.All(writes, w => Assert.Equal(perGateway, w.Count(k => k.StartsWith("presence-store||presence:", StringComparison.Ordinal) && !k.Contains(":gateway", StringComparison.Ordinal))));
        }
        finally
        {
            await DisposeAllAsync(hubs);
        }
    }

    [Fact]
    public async Task Reports_are_for_gateways_only_and_reads_need_a_token()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        var alice = await system.RegisterAsync();
        var anonymous = new PresenceService.PresenceServiceClient(system.InvokerFor(DaprNames.Apps.Presence));
        var withToken = new PresenceService.PresenceServiceClient(system.InvokerFor(DaprNames.Apps.Presence, alice.AccessToken));

        var report = await Assert.ThrowsAsync<RpcException>(() => withToken.ReportConnectedUsersAsync(new ReportConnectedUsersRequest { GatewayInstanceId = "fake", UserIds = { alice.UserId } }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, report.StatusCode);
        var disconnect = await Assert.ThrowsAsync<RpcException>(() => withToken.ReportDisconnectedAsync(new ReportDisconnectedRequest { GatewayInstanceId = "fake", UserId = alice.UserId }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, disconnect.StatusCode);
        var read = await Assert.ThrowsAsync<RpcException>(() => anonymous.GetPresenceAsync(new GetPresenceRequest { UserIds = { alice.UserId } }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, read.StatusCode);

        var own = await withToken.GetPresenceAsync(new GetPresenceRequest { UserIds = { alice.UserId } });
        Assert.True(Assert.Single(own.Presences).Visible);
        var tooMany = new GetPresenceRequest();
        tooMany.UserIds.AddRange(Enumerable.Range(0, 501).Select(i => $"u{i}"));
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => withToken.GetPresenceAsync(tooMany).ResponseAsync)).StatusCode);
    }

    private static async Task DisposeAllAsync(IEnumerable<HubClient> hubs)
    {
        foreach (var h in hubs)
        {
            await h.DisposeAsync();
        }
    }

    private static async Task<TestUser> SetPrivacyAsync(TestUser user, LastSeenVisibility setting)
    {
        await user.Directory.UpdatePrivacySettingsAsync(new UpdatePrivacySettingsRequest
        {
            Settings = new PrivacySettings { LastSeen = setting, ReadReceipts = true, PushPreviews = true },
        });
        return user;
    }
}
