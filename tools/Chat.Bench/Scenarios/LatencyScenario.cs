using System.Globalization;
using Chat.Bench.Infrastructure;
using Chat.Bench.Reporting;
using Chat.Gateway.Hubs;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Bench.Scenarios;

/// <summary>
/// 1:1 at a steady rate: N users online in pairs, R messages per second in total, for D
/// seconds. Latency is sender→receiver, from the Stopwatch timestamp carried in the text to
/// its arrival on the peer's connection. Baselines: the bare relay hub with the same users and
/// rate, and a raw WebSocket echo (the same two network legs: client → server → client).
/// </summary>
internal static class LatencyScenario
{
    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var o = ctx.Options;
        var n = Math.Max(2, o.Users - (o.Users % 2));
        var result = new ScenarioResult("latency", $"1:1 sender→receiver, {n} users online, {o.Rate} msg/s");
        result.Parameters["users"] = n.ToString(CultureInfo.InvariantCulture);
        result.Parameters["rate"] = o.Rate.ToString(CultureInfo.InvariantCulture);
        result.Parameters["seconds"] = o.Duration.ToString(CultureInfo.InvariantCulture);
        var duration = TimeSpan.FromSeconds(o.Duration);
        var users = await ctx.UsersAsync(n);

        // Ours.
        var ours = new Measure();
        var acks = new LatencyRecorder();
        var hubs = await ctx.ConnectAsync(users, (c, _) => c.OnStamped((_, ts) => ours.Received(ts)));
        try
        {
            var conversations = await OpenConversationsAsync(ctx, users, hubs);
            var window = await ctx.BeginCpuWindowAsync();
            ours.Start(duration);
            var sent = await ctx.AtRateAsync("ours: sending", o.Rate, duration, k => SendAsync(hubs, conversations, k, ours, acks));
            await ours.FinishAsync(sent);
            result.Processes.AddRange(window.End(sent));
            result.ProcessWindow = $"from the first send to the end of the drain (all received, or 10 s past the last ack / 15 s past the end), {sent} messages sent";
            result.Series.Add(OursSeries(ctx, ours, acks, duration));
        }
        finally
        {
            await BenchContext.DisposeAllAsync(hubs);
        }

        // Baseline 1: the bare relay hub, same users, same rate.
        var relay = new Measure();
        var relayHubs = await ctx.ConnectRelayAsync(users.Select(u => u.UserId).ToList(), (c, _) => c.OnStamped((_, ts) => relay.Received(ts)));
        try
        {
            relay.Start(duration);
            var sent = await ctx.AtRateAsync("relay baseline: sending", o.Rate, duration, async k =>
            {
                var pair = (int)(k % (n / 2));
                var dir = (int)((k / (n / 2)) % 2);
                var text = Stamp.Text();
                try
                {
                    await relayHubs[2 * pair + dir].InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, users[2 * pair + 1 - dir].UserId, "c", text));
                    relay.Ack(Stamp.Read(text)!.Value);
                }
                catch (Exception ex) when (ex is HubException or InvalidOperationException or IOException)
                {
                    relay.Error();
                }
            });
            await relay.FinishAsync(sent);
            result.Series.Add(relay.ToSeries("baseline: SignalR relay", duration));
        }
        finally
        {
            await BenchContext.DisposeAllAsync(relayHubs);
        }

        // Baseline 2: raw WebSocket echo, same number of sockets, same rate.
        var echo = new Measure();
        var baselines = await ctx.BaselinesAsync();
        var sockets = await BenchContext.ForEachAsync(Enumerable.Range(0, n), 32, _ => EchoClient.ConnectAsync(baselines.Url, null, echo.Received, CancellationToken.None));
        try
        {
            echo.Start(duration);
            var sent = await ctx.AtRateAsync("WebSocket echo baseline: sending", o.Rate, duration, async k =>
            {
                try
                {
                    await sockets[(int)(k % sockets.Count)].SendAsync(Stamp.Text());
                }
                catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or IOException)
                {
                    echo.Error();
                }
            });
            await echo.FinishAsync(sent);
            result.Series.Add(echo.ToSeries("baseline: WebSocket echo", duration));
        }
        finally
        {
            foreach (var s in sockets)
            {
                await s.DisposeAsync();
            }
        }

        var (our, rel, ech) = (result.Series[0].Latency!, result.Series[1].Latency!, result.Series[2].Latency!);
        result.Ratios["p50 / relay p50"] = Ratio(our.P50, rel.P50);
        result.Ratios["p99 / relay p99"] = Ratio(our.P99, rel.P99);
        result.Ratios["p50 / echo p50"] = Ratio(our.P50, ech.P50);
        result.Ratios["p99 / echo p99"] = Ratio(our.P99, ech.P99);
        result.Targets.Add(new TargetCheck("p50 ≤ relay baseline + 6 ms", $"{our.P50:F2} ms vs {rel.P50 + 6:F2} ms", our.P50 <= rel.P50 + 6));
        result.Targets.Add(new TargetCheck("p99 ≤ relay baseline + 15 ms", $"{our.P99:F2} ms vs {rel.P99 + 15:F2} ms", our.P99 <= rel.P99 + 15));
        var m = result.Series[0].Metrics;
        result.Targets.Add(new TargetCheck("issue 14: p99 ≤ relay p99 + 5 ms", $"{our.P99:F2} ms vs {rel.P99 + 5:F2} ms", our.P99 <= rel.P99 + 5));
        result.Targets.Add(new TargetCheck("issue 14: delivered ≥ 99% of the offered rate", $"{m["delivered/s"]:F0}/s of {o.Rate}/s", m["delivered/s"] >= 0.99 * o.Rate));
        result.Targets.Add(new TargetCheck("issue 14: p99 ≤ 50 ms", $"{our.P99:F2} ms", our.P99 <= 50));
        result.Targets.Add(new TargetCheck("issue 14: every message acknowledged and received within 5 s of the end", $"{m["missing 5 s after end"]:F0} missing", m["missing 5 s after end"] == 0));
        AddCpuTarget(result);
        if (result.Series[0].Metrics["lost"] > 0)
        {
            result.Notes.Add("Ours could not keep up with the rate: the messages not received within 10 s of the end (lost) are not in the percentiles, so the percentiles understate the delay.");
        }

        result.Notes.Add("Latency = receive time − the Stopwatch timestamp in the message text (all clients in the bench process, one monotonic clock). The issue's target row is 1k msg/s with 2k users online.");
        return result;
    }

    public static double Ratio(double ours, double baseline) => baseline > 0 ? ours / baseline : 0;

    /// <summary>Our series of a rate run, with the acknowledgements' figures.</summary>
    internal static Series OursSeries(BenchContext ctx, Measure measure, LatencyRecorder acks, TimeSpan duration)
    {
        var s = measure.ToSeries("ours (gateway + Dapr)", duration);
        s.Metrics["unacked after 15 s"] = ctx.Unfinished;
        s.Metrics["ack p50 ms"] = acks.Snapshot().P50;
        s.Metrics["ack p99 ms"] = acks.Snapshot().P99;
        return s;
    }

    /// <summary>Issue 14's cost target, when the servers ran in processes of their own.</summary>
    internal static void AddCpuTarget(ScenarioResult result)
    {
        if (result.Processes.FirstOrDefault(p => p.Name == "servers total") is { } total)
        {
            result.Targets.Add(new TargetCheck("issue 14: CPU per message, all server processes ≤ 1.5 ms", $"{total.CpuMsPerMessage:F2} ms", total.CpuMsPerMessage <= 1.5));
        }
    }

    /// <summary>
    /// Send k of a 1:1 rate run: pair k mod P, the direction alternating each round, by
    /// conversationId (as a client does after the first message); the ack's latency and the message's ack recorded.
    /// </summary>
    internal static async Task SendAsync(HubConnection[] hubs, string[] conversations, long k, Measure measure, LatencyRecorder acks)
    {
        var pairs = conversations.Length;
        var pair = (int)(k % pairs);
        var from = hubs[2 * pair + (int)((k / pairs) % 2)];
        var text = Stamp.Text();
        var t0 = Stamp.Read(text)!.Value;
        try
        {
            await from.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(conversations[pair], null, Guid.NewGuid().ToString("N"), text));
            acks.RecordSince(t0);
            measure.Ack(t0);
        }
        catch (Exception ex) when (ex is HubException or InvalidOperationException or IOException)
        {
            measure.Error();
        }
    }

    /// <summary>Connects <paramref name="users"/> (even count) and opens one conversation per pair with a first message by peer id.</summary>
    internal static async Task<string[]> OpenConversationsAsync(BenchContext ctx, IReadOnlyList<Chat.Integration.Tests.Infrastructure.TestUser> users, HubConnection[] hubs)
    {
        var n = users.Count;
        var conversations = new string[n / 2];
        await ctx.Progress("opening conversations", n / 2, async tick =>
            await BenchContext.ForEachAsync(Enumerable.Range(0, n / 2), 16, async p =>
            {
                var ack = await hubs[2 * p].InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, users[2 * p + 1].UserId, Guid.NewGuid().ToString("N"), "hello"));
                conversations[p] = ack.Message.ConversationId;
                tick();
                return p;
            }));
        return conversations;
    }

    /// <summary>
    /// Counts and latencies of one series. Each message is known by the timestamp in its text, so
    /// that acknowledgements and receipts are matched per message: duplicates are counted, not timed
    /// twice, and "acknowledged and received within 5 s of the end" is exact. With an interval set,
    /// latencies are also kept per interval of the send time (soak's minutes).
    /// </summary>
    internal sealed class Measure(double intervalSeconds = 0)
    {
        private const int Acked = 1, ReceivedInTime = 2, ReceivedLate = 4;
        private readonly LatencyRecorder _latency = new();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<long, int> _messages = new();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<int, LatencyRecorder> _intervals = new();
        private long _received;
        private long _duplicates;
        private long _acks;
        private long _errors;
        private long _sent;
        private long _start;
        private long _inTimeUntil = long.MaxValue;
        private TimeSpan _duration;
        private volatile bool _on;

        /// <summary>Starts counting; sends run for <paramref name="duration"/> from now, "in time" is until 5 s after that.</summary>
        public void Start(TimeSpan duration)
        {
            _duration = duration;
            _start = System.Diagnostics.Stopwatch.GetTimestamp();
            _inTimeUntil = _start + (long)((duration.TotalSeconds + 5) * System.Diagnostics.Stopwatch.Frequency);
            _on = true;
        }

        public void Start() => Start(TimeSpan.FromDays(1));

        public void Received(long timestamp)
        {
            if (!_on)
            {
                return;
            }

            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            var flag = now <= _inTimeUntil ? ReceivedInTime : ReceivedLate;
            var before = 0;
            _messages.AddOrUpdate(timestamp, flag, (_, old) => (before = old) | flag);
            if ((before & (ReceivedInTime | ReceivedLate)) != 0)
            {
                Interlocked.Increment(ref _duplicates);
                return;
            }

            var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(timestamp, now);
            _latency.Record(elapsed);
            if (intervalSeconds > 0 && timestamp >= _start)
            {
                var i = (int)(System.Diagnostics.Stopwatch.GetElapsedTime(_start, timestamp).TotalSeconds / intervalSeconds);
                _intervals.GetOrAdd(i, _ => new LatencyRecorder()).Record(elapsed);
            }

            Interlocked.Increment(ref _received);
        }

        /// <summary>The send of the message stamped <paramref name="timestamp"/> was acknowledged (now).</summary>
        public void Ack(long timestamp)
        {
            Interlocked.Increment(ref _acks);
            if (System.Diagnostics.Stopwatch.GetTimestamp() <= _inTimeUntil)
            {
                _messages.AddOrUpdate(timestamp, Acked, (_, old) => old | Acked);
            }
        }

        public void Error() => Interlocked.Increment(ref _errors);

        public long ReceivedCount => Interlocked.Read(ref _received);

        /// <summary>Latency of the messages sent in interval <paramref name="index"/> (received so far).</summary>
        public Percentiles Interval(int index) => _intervals.TryGetValue(index, out var r) ? r.Snapshot() : new LatencyRecorder().Snapshot();

        public async Task FinishAsync(long sent)
        {
            _sent = sent;
            await BenchContext.WaitUntilAsync(() => Interlocked.Read(ref _received) + Interlocked.Read(ref _errors) >= sent, TimeSpan.FromSeconds(10));
            _on = false;
        }

        public Series ToSeries(string name, TimeSpan duration)
        {
            var inTime = _messages.Values.Count(v => (v & ReceivedInTime) != 0);
            var both = _messages.Values.Count(v => (v & (Acked | ReceivedInTime)) == (Acked | ReceivedInTime));
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
            {
                ["sent"] = _sent,
                ["received"] = _received,
                ["errors"] = _errors,
                ["lost"] = Math.Max(0, _sent - _received - _errors),
                ["duplicates"] = _duplicates,
                ["msg/s"] = _sent / duration.TotalSeconds,
                ["delivered/s"] = inTime / duration.TotalSeconds,
            };
            if (Interlocked.Read(ref _acks) > 0)
            {
                // Only where sends are acknowledged (not the WebSocket echo).
                metrics["acked+received ≤5 s after end"] = both;
                metrics["missing 5 s after end"] = Math.Max(0, _sent - both);
            }
            else
            {
                metrics["missing 5 s after end"] = Math.Max(0, _sent - inTime);
            }

            return new(name, _latency.Snapshot(), metrics);
        }
    }
}
