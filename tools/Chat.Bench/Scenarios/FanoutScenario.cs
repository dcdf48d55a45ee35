using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Chat.Bench.Infrastructure;
using Chat.Bench.Reporting;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Bench.Scenarios;

/// <summary>
/// A group of M members, all online. Phase 1: K sends one after another; for each, the time
/// until the last member has it (and every member's latency). Phase 2: K sends at once; the
/// group-send rate is member deliveries per second until the last member has the last one.
/// Baseline: the relay hub's <c>Clients.OthersInGroup</c> with the same members.
/// </summary>
internal static class FanoutScenario
{
    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var o = ctx.Options;
        var m = Math.Max(2, o.Members);
        var k = Math.Max(1, o.FanoutSends);
        var result = new ScenarioResult("fanout", $"group of {m} members, all online");
        result.Parameters["members"] = m.ToString(CultureInfo.InvariantCulture);
        result.Parameters["sends"] = k.ToString(CultureInfo.InvariantCulture);
        var users = await ctx.UsersAsync(m);
        var ours = new Tracker(m - 1);
        // Fresh users: the group's "created" event is the only group event each of them gets.
        var told = 0;
        var allTold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hubs = await ctx.ConnectAsync(users, (c, i) =>
        {
            c.OnStamped((_, ts) => ours.Received(ts));
            if (i > 0)
            {
                c.On<GroupChangedDto>(nameof(IChatClient.GroupChanged), _ =>
                {
                    if (Interlocked.Increment(ref told) == m - 1)
                    {
                        allTold.TrySetResult();
                    }
                });
            }
        });
        try
        {
            // Through the hub, as a client creates a group (the directory's gRPC port takes only its sidecar).
            var group = (await hubs[0].InvokeAsync<GroupDto>("CreateGroup", "bench fan-out", users.Skip(1).Select(u => u.UserId).ToArray())).ConversationId;
            // The timed window starts once every member has the group's "created" event: the
            // creation's own fan-out is not a group send, and it would overlap the first ones.
            var setup = Stopwatch.GetTimestamp();
            await allTold.Task.WaitAsync(TimeSpan.FromSeconds(60));
            result.Parameters["group created until every member had it, ms"] = Stopwatch.GetElapsedTime(setup).TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture);
            var window = await ctx.BeginCpuWindowAsync();
            await RunPhasesAsync(ctx, "ours", ours, k, text => hubs[0].InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(group, null, Guid.NewGuid().ToString("N"), text)));
            result.Processes.AddRange(window.End(2L * k));
            result.ProcessWindow = $"both phases, from the first send until the last member had the last message; per message = per group send ({2 * k} sends of {m - 1} deliveries each)";
        }
        finally
        {
            await BenchContext.DisposeAllAsync(hubs);
        }

        var relay = new Tracker(m - 1);
        var relayHubs = await ctx.ConnectRelayAsync(users.Select(u => u.UserId).ToList(), (c, _) => c.OnStamped((_, ts) => relay.Received(ts)));
        try
        {
            await Task.WhenAll(relayHubs.Select(h => h.InvokeAsync("JoinGroup", "g")));
            await RunPhasesAsync(ctx, "relay", relay, k, text => relayHubs[0].InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs("g", null, "c", text)));
        }
        finally
        {
            await BenchContext.DisposeAllAsync(relayHubs);
        }

        result.Series.Add(ours.ToSeries("ours: last member", last: true));
        result.Series.Add(ours.ToSeries("ours: every member", last: false));
        result.Series.Add(relay.ToSeries("baseline relay: last member", last: true));
        result.Series.Add(relay.ToSeries("baseline relay: every member", last: false));
        var rateRatio = LatencyScenario.Ratio(ours.DeliveriesPerSecond, relay.DeliveriesPerSecond);
        result.Ratios["group-send rate / relay"] = rateRatio;
        result.Ratios["last-member p99 / relay"] = LatencyScenario.Ratio(ours.Last.Snapshot().P99, relay.Last.Snapshot().P99);
        // A refused or lost send (e.g. rate_limited: --gateway points at a system with the default
        // per-user send limit, and K is above its burst) leaves its window short: nothing is met then.
        var failed = ours.Errors > 0 ? $"; {ours.Errors} sends failed" : "";
        result.Targets.Add(new TargetCheck("group-send rate ≥ 0.5× the in-process SignalR group send", $"{ours.DeliveriesPerSecond:F0} vs {relay.DeliveriesPerSecond:F0} deliveries/s ({rateRatio:F2}×){failed}", rateRatio >= 0.5 && ours.Errors == 0));
        var p99 = ours.Last.Snapshot().P99;
        result.Targets.Add(new TargetCheck("last member within 100 ms at p99", $"{p99:F1} ms{failed}", p99 <= 100 && ours.Last.Count > 0 && ours.Errors == 0));
        result.Notes.Add("Last member: time from the send (timestamp in the text) until the last of the M−1 other members received it; phase 1 sends one message at a time.");
        result.Notes.Add($"Group-send rate: {k} sends fired at once; member deliveries per second until the last member had the last message.");
        return result;
    }

    private static async Task RunPhasesAsync(BenchContext ctx, string who, Tracker tracker, int k, Func<string, Task> send)
    {
        await ctx.Progress($"{who}: {k} fan-outs one at a time", k, async tick =>
        {
            for (var i = 0; i < k; i++)
            {
                var text = Stamp.Text();
                var done = tracker.Expect(Stamp.Read(text)!.Value);
                try
                {
                    await send(text);
                    await done.WaitAsync(TimeSpan.FromSeconds(30));
                }
                catch (Exception ex) when (ex is TimeoutException or Microsoft.AspNetCore.SignalR.HubException)
                {
                    tracker.Errors++;
                }

                tick();
            }
        });
        var start = Stopwatch.GetTimestamp();
        var texts = Enumerable.Range(0, k).Select(_ => Stamp.Text()).ToList();
        var all = texts.Select(t => tracker.Expect(Stamp.Read(t)!.Value, timed: false)).ToList();
        try
        {
            await Task.WhenAll(texts.Select(send));
            await Task.WhenAll(all).WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (Exception ex) when (ex is TimeoutException or Microsoft.AspNetCore.SignalR.HubException)
        {
            tracker.Errors++;
        }

        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        tracker.DeliveriesPerSecond = tracker.Expected * (double)k / seconds;
        tracker.SendsPerSecond = k / seconds;
    }

    private sealed class Tracker(int expected)
    {
        private readonly ConcurrentDictionary<long, Pending> _pending = new();

        public int Expected { get; } = expected;

        public LatencyRecorder Last { get; } = new();

        public LatencyRecorder Every { get; } = new();

        public int Errors { get; set; }

        public double DeliveriesPerSecond { get; set; }

        public double SendsPerSecond { get; set; }

        public Task Expect(long timestamp, bool timed = true)
        {
            var p = new Pending(Expected, timed);
            _pending[timestamp] = p;
            return p.Done.Task;
        }

        public void Received(long timestamp)
        {
            if (!_pending.TryGetValue(timestamp, out var p))
            {
                return;
            }

            if (p.Timed)
            {
                Every.RecordSince(timestamp);
            }

            if (Interlocked.Decrement(ref p.Remaining) == 0)
            {
                if (p.Timed)
                {
                    Last.RecordSince(timestamp);
                }

                p.Done.TrySetResult();
            }
        }

        public Series ToSeries(string name, bool last) => new(name, (last ? Last : Every).Snapshot(), last
            ? new Dictionary<string, double>(StringComparer.Ordinal)
            {
                ["deliveries/s"] = DeliveriesPerSecond,
                ["group sends/s"] = SendsPerSecond,
                ["errors"] = Errors,
            }
            : new Dictionary<string, double>(StringComparer.Ordinal));

        private sealed class Pending(int remaining, bool timed)
        {
            public int Remaining = remaining;

            public bool Timed { get; } = timed;

            public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }
}
