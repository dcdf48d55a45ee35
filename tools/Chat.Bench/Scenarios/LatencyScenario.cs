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
            var conversations = new string[n / 2];
            await ctx.Progress("opening conversations", n / 2, async tick =>
                await BenchContext.ForEachAsync(Enumerable.Range(0, n / 2), 16, async p =>
                {
                    var ack = await hubs[2 * p].InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, users[2 * p + 1].UserId, Guid.NewGuid().ToString("N"), "hello"));
                    conversations[p] = ack.Message.ConversationId;
                    tick();
                    return p;
                }));
            ours.Start();
            var sent = await ctx.AtRateAsync("ours: sending", o.Rate, duration, async k =>
            {
                var pair = (int)(k % (n / 2));
                var from = hubs[2 * pair + (int)((k / (n / 2)) % 2)];
                var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                try
                {
                    await from.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(conversations[pair], null, Guid.NewGuid().ToString("N"), Stamp.Text()));
                    acks.RecordSince(t0);
                }
                catch (Exception ex) when (ex is HubException or InvalidOperationException or IOException)
                {
                    ours.Error();
                }
            });
            await ours.FinishAsync(sent);
            var s = ours.ToSeries("ours (gateway + Dapr)", duration);
            s.Metrics["unacked after 15 s"] = ctx.Unfinished;
            s.Metrics["ack p50 ms"] = acks.Snapshot().P50;
            s.Metrics["ack p99 ms"] = acks.Snapshot().P99;
            result.Series.Add(s);
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
            relay.Start();
            var sent = await ctx.AtRateAsync("relay baseline: sending", o.Rate, duration, async k =>
            {
                var pair = (int)(k % (n / 2));
                var dir = (int)((k / (n / 2)) % 2);
                try
                {
                    await relayHubs[2 * pair + dir].InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, users[2 * pair + 1 - dir].UserId, "c", Stamp.Text()));
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
            echo.Start();
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
        if (result.Series[0].Metrics["lost"] > 0)
        {
            result.Notes.Add("Ours could not keep up with the rate: the messages not received within 10 s of the end (lost) are not in the percentiles, so the percentiles understate the delay.");
        }

        result.Notes.Add("Latency = receive time − the Stopwatch timestamp in the message text (all clients in the bench process, one monotonic clock). The issue's target row is 1k msg/s with 2k users online.");
        return result;
    }

    public static double Ratio(double ours, double baseline) => baseline > 0 ? ours / baseline : 0;

    /// <summary>Counts and latencies of one series.</summary>
    internal sealed class Measure
    {
        private readonly LatencyRecorder _latency = new();
        private long _received;
        private long _errors;
        private long _sent;
        private bool _on;

        public void Start() => _on = true;

        public void Received(long timestamp)
        {
            if (_on)
            {
                _latency.RecordSince(timestamp);
                Interlocked.Increment(ref _received);
            }
        }

        public void Error() => Interlocked.Increment(ref _errors);

        public async Task FinishAsync(long sent)
        {
            _sent = sent;
            await BenchContext.WaitUntilAsync(() => Interlocked.Read(ref _received) + Interlocked.Read(ref _errors) >= sent, TimeSpan.FromSeconds(10));
            _on = false;
        }

        public Series ToSeries(string name, TimeSpan duration) => new(name, _latency.Snapshot(), new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["sent"] = _sent,
            ["received"] = _received,
            ["errors"] = _errors,
            ["lost"] = Math.Max(0, _sent - _received - _errors),
            ["msg/s"] = _sent / duration.TotalSeconds,
        });
    }
}
