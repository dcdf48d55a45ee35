using System.Diagnostics;
using System.Globalization;
using Chat.Bench.Infrastructure;
using Chat.Bench.Reporting;

namespace Chat.Bench.Scenarios;

/// <summary>
/// A long steady 1:1 run (issue 14: 10 minutes, 400 users, 300 msg/s), sent as the latency
/// scenario sends. Reported per interval (a minute by default): the latency of the messages sent
/// in it, each process's RSS at its end and CPU per message in it; and a verdict against the
/// issue's soak criteria: p99 of every minute within 20% of the first minute's, and no server
/// process's RSS more than 10% above its size at the end of the first minute. Reported, never asserted.
/// </summary>
internal static class SoakScenario
{
    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var o = ctx.Options;
        var n = Math.Max(2, o.SoakUsers - (o.SoakUsers % 2));
        var duration = TimeSpan.FromMinutes(o.SoakMinutes);
        var interval = Math.Min(o.SoakInterval, duration.TotalSeconds);
        var result = new ScenarioResult("soak", $"1:1 steady load for {o.SoakMinutes.ToString(CultureInfo.InvariantCulture)} min, {n} users online, {o.SoakRate} msg/s");
        result.Parameters["users"] = n.ToString(CultureInfo.InvariantCulture);
        result.Parameters["rate"] = o.SoakRate.ToString(CultureInfo.InvariantCulture);
        result.Parameters["minutes"] = o.SoakMinutes.ToString(CultureInfo.InvariantCulture);
        result.Parameters["interval s"] = interval.ToString(CultureInfo.InvariantCulture);
        var users = await ctx.UsersAsync(n);

        var measure = new LatencyScenario.Measure(interval);
        var acks = new LatencyRecorder();
        var hubs = await ctx.ConnectAsync(users, (c, _) => c.OnStamped((_, ts) => measure.Received(ts)));
        try
        {
            var conversations = await LatencyScenario.OpenConversationsAsync(ctx, users, hubs);
            var intervals = (int)Math.Ceiling(duration.TotalSeconds / interval - 1e-9);
            var sentIn = new long[intervals];
            var window = await ctx.BeginCpuWindowAsync();
            measure.Start(duration);
            var start = Stopwatch.GetTimestamp();
            using var stop = new CancellationTokenSource();
            var sampler = SampleAsync(window, start, interval, duration, stop.Token);
            var sent = await ctx.AtRateAsync("soak: sending", o.SoakRate, duration, k =>
            {
                var i = (int)(Stopwatch.GetElapsedTime(start).TotalSeconds / interval);
                Interlocked.Increment(ref sentIn[Math.Min(i, intervals - 1)]);
                return LatencyScenario.SendAsync(hubs, conversations, k, measure, acks);
            });
            await stop.CancelAsync();
            var samples = await sampler;
            await measure.FinishAsync(sent);
            result.Processes.AddRange(window.End(sent));
            result.ProcessWindow = $"the whole soak, from the first send to the end of the drain, {sent} messages sent";

            var previous = window.Start;
            for (var i = 0; i < samples.Count; i++)
            {
                var (to, sample) = samples[i];
                var count = Interlocked.Read(ref sentIn[i]);
                result.Intervals.Add(new IntervalRow(i, i * interval, to, count, measure.Interval(i), sample.Since(previous, window.Processes, count)));
                previous = sample;
            }

            result.Series.Add(LatencyScenario.OursSeries(ctx, measure, acks, duration));
        }
        finally
        {
            await BenchContext.DisposeAllAsync(hubs);
        }

        Verdict(result, await ctx.ProcessesAsync());
        LatencyScenario.AddCpuTarget(result);
        result.Notes.Add("Latency per interval is of the messages sent in it (the timestamp in the text), wherever they were received; RSS is VmRSS at the interval's end.");
        return result;
    }

    /// <summary>A process sample at each interval boundary, the last at the end of sending.</summary>
    private static async Task<List<(double To, ProcessSample Sample)>> SampleAsync(BenchContext.CpuWindow window, long start, double interval, TimeSpan duration, CancellationToken stop)
    {
        var samples = new List<(double, ProcessSample)>();
        for (var i = 1; ; i++)
        {
            var at = Math.Min(i * interval, duration.TotalSeconds);
            var wait = TimeSpan.FromSeconds(at) - Stopwatch.GetElapsedTime(start);
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, stop);
                }
                catch (OperationCanceledException)
                {
                    // Sending ended before this boundary (timer drift): the last sample is now.
                }
            }

            samples.Add((Stopwatch.GetElapsedTime(start).TotalSeconds, ProcessSample.Take(window.Processes)));
            if (at >= duration.TotalSeconds || stop.IsCancellationRequested)
            {
                return samples;
            }
        }
    }

    /// <summary>Issue 14's soak criteria against the first interval, as targets (reported, not asserted).</summary>
    internal static void Verdict(ScenarioResult result, IReadOnlyList<NamedProcess> processes)
    {
        if (result.Intervals.Count < 2)
        {
            result.Notes.Add("Verdict: fewer than two intervals, nothing to compare with the first.");
            return;
        }

        var first = result.Intervals[0];
        var worstP99 = result.Intervals.Skip(1).MaxBy(i => i.Latency.P99)!;
        var p99Ok = worstP99.Latency.P99 <= first.Latency.P99 * 1.2;
        result.Targets.Add(new TargetCheck("soak: p99 of every interval within 20% of the first's",
            $"first {first.Latency.P99:F2} ms, worst #{worstP99.Index + 1} {worstP99.Latency.P99:F2} ms", p99Ok));

        // The system's processes; with the system in the bench process, that process.
        var watched = processes.Any(p => p.Server) ? processes.Where(p => p.Server).Select(p => p.Name).ToHashSet() : processes.Select(p => p.Name).ToHashSet();
        var growth = watched.Select(name =>
        {
            var baseline = first.Processes.FirstOrDefault(p => p.Name == name)?.RssMiB ?? 0;
            var peak = result.Intervals.Skip(1).Select(i => i.Processes.FirstOrDefault(p => p.Name == name)?.RssMiB ?? 0).DefaultIfEmpty(0).Max();
            return (Name: name, Baseline: baseline, Peak: peak, Ratio: baseline > 0 ? peak / baseline : 0);
        }).OrderByDescending(g => g.Ratio).ToList();
        var worst = growth.FirstOrDefault();
        var rssOk = growth.All(g => g.Ratio <= 1.1);
        result.Targets.Add(new TargetCheck("soak: no process's RSS grows by more than 10% after the first interval",
            worst.Name is null ? "no processes" : $"most: {worst.Name} {worst.Baseline:F1} → {worst.Peak:F1} MiB ({(worst.Ratio - 1) * 100:+0.0;-0.0}%)", rssOk && worst.Name is not null));
        result.Notes.Add($"Verdict: {(p99Ok && rssOk ? "PASS" : "FAIL")} — p99 {(p99Ok ? "stable" : "grew")} (first {first.Latency.P99:F2} ms, worst {worstP99.Latency.P99:F2} ms); RSS {(rssOk ? "flat" : "grew")} ({string.Join(", ", growth.Take(3).Select(g => $"{g.Name} {(g.Ratio - 1) * 100:+0.0;-0.0}%"))}).");
    }
}
