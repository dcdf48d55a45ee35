using System.Diagnostics;
using System.Globalization;
using Chat.Bench.Reporting;
using Chat.Core.Routing;
using Chat.Domain;
using Dapr.Actors;
using Dapr.Actors.Client;

namespace Chat.Bench.Scenarios;

/// <summary>
/// Actor calls through the sidecar's HTTP actor API to the router app (UserActor.GetRoutesAsync,
/// as delivery calls it): activation (first call to a new id), one hot actor with C concurrent
/// callers (turn-based: they queue), and C callers spread over 1,000 actors.
/// </summary>
internal static class ActorsScenario
{
    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var o = ctx.Options;
        var c = Math.Max(1, o.Concurrency);
        var result = new ScenarioResult("actors", "actor call latency and throughput");
        result.Parameters["concurrent callers"] = c.ToString(CultureInfo.InvariantCulture);
        result.Parameters["seconds per series"] = o.SeriesSeconds.ToString(CultureInfo.InvariantCulture);
        var system = (await ctx.TargetAsync()).System;
        if (system is null)
        {
            result.Notes.Add("Needs the in-process system (run without --gateway).");
            return result;
        }

        var factory = new ActorProxyFactory(new ActorProxyOptions { HttpEndpoint = system.ClientSidecar.HttpEndpoint, DaprApiToken = system.ClientApiToken, RequestTimeout = TimeSpan.FromSeconds(30) });
        Task Call(string id) => factory.Create(new ActorId(id), DaprNames.Actors.User).InvokeMethodAsync<UserRoutes>(UserActorMethods.GetRoutes);
        var run = Guid.NewGuid().ToString("N")[..8];

        var activations = Math.Max(10, o.HopCalls / 4);
        var activation = new LatencyRecorder();
        await ctx.Progress($"activating {activations} actors", activations, async tick =>
        {
            for (var i = 0; i < activations; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                await Call($"bench-{run}-new-{i}");
                activation.RecordSince(t0);
                tick();
            }
        });
        result.Add("activation (first call, sequential)", activation.Snapshot());

        var many = Enumerable.Range(0, 1000).Select(i => $"bench-{run}-many-{i}").ToArray();
        await Task.WhenAll(many.Chunk(many.Length / c + 1).Select(async chunk =>
        {
            foreach (var id in chunk)
            {
                await Call(id);
            }
        }));

        result.Series.Add(await ctx.ClosedLoopAsync("1 caller, 1 actor", 1, TimeSpan.FromSeconds(o.SeriesSeconds), (_, _) => Call($"bench-{run}-hot")));
        result.Series.Add(await ctx.ClosedLoopAsync($"{c} callers, 1 hot actor", c, TimeSpan.FromSeconds(o.SeriesSeconds), (_, _) => Call($"bench-{run}-hot")));
        result.Series.Add(await ctx.ClosedLoopAsync($"{c} callers, 1,000 actors", c, TimeSpan.FromSeconds(o.SeriesSeconds), (i, k) => Call(many[(i * 7919 + k) % many.Length])));
        var act = result.Series[0].Latency!;
        result.Targets.Add(new TargetCheck("activation p50 ≤ 2.3 ms (Dapr's published figure)", $"{act.P50:F2} ms", act.P50 <= 2.3));
        result.Targets.Add(new TargetCheck("activation p99 ≤ 6.9 ms (Dapr's published figure)", $"{act.P99:F2} ms", act.P99 <= 6.9));
        result.Notes.Add("Client: Dapr.Actors proxy (non-remoting JSON) → dev sidecar HTTP actor API → placement → router app → UserActor (state on the embedded actor-store: SQLite).");
        return result;
    }
}
