using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Chat.Bench.Reporting;
using Chat.Domain;
using Dapr.Client;
using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.State;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Chat.Bench.Scenarios;

/// <summary>
/// What the dev sidecar adds per hop, against the same work without it: state get (SDK gRPC
/// GetState vs. the store component called directly), invoke (HTTP service invocation vs. a
/// direct HTTP call to the app) and publish→deliver (SDK publish through in-memory pub/sub to a
/// subscribed app vs. POSTing the same CloudEvent to the app directly). Sequential calls.
/// </summary>
internal static class SidecarScenario
{
    private const string Topic = "bench-hop";

    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var n = Math.Max(1, ctx.Options.HopCalls);
        var result = new ScenarioResult("sidecar", "latency the dev sidecar adds per hop");
        result.Parameters["calls per series"] = n.ToString(CultureInfo.InvariantCulture);
        var system = (await ctx.TargetAsync()).System;
        if (system is null)
        {
            result.Notes.Add("Needs the in-process system (run without --gateway).");
            return result;
        }

        var delivered = new System.Collections.Concurrent.ConcurrentDictionary<long, TaskCompletionSource>();
        var port = SidecarHost.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        await using var app = builder.Build();
        app.MapGet("/echo", () => "ok");
        app.MapGet("/dapr/subscribe", () => Results.Text($$"""[{"pubsubname":"{{DaprNames.PubSub}}","topic":"{{Topic}}","route":"/hop"}]""", "application/json"));
        app.MapPost("/hop", async (HttpRequest request) =>
        {
            using var doc = await JsonDocument.ParseAsync(request.Body);
            var ts = doc.RootElement.GetProperty("data").GetProperty("ts").GetInt64();
            if (delivered.TryRemove(ts, out var tcs))
            {
                tcs.TrySetResult();
            }

            return Results.Ok();
        });
        await app.StartAsync();
        await using var sidecar = await SidecarHost.StartAsync(new SidecarOptions
        {
            AppId = "bench-hop",
            AppPort = port,
            AppProtocol = "http",
            ResourcesPaths = [system.ResourcesPath],
        }, system.Runtime);

        using var dapr = new DaprClientBuilder().UseGrpcEndpoint(sidecar.GrpcEndpoint).UseHttpEndpoint(sidecar.HttpEndpoint).Build();
        using var http = new HttpClient();
        const string store = DaprNames.StateStores.Directory;
        await dapr.SaveStateAsync(store, "bench-hop-key", new { name = "bench", value = 42 });
        var direct = sidecar.Context.Components.Get<IStateStore>(store) ?? throw new InvalidOperationException($"no {store} component");
        const string storedKey = "bench-hop||bench-hop-key";
        if (await direct.GetAsync(storedKey, CancellationToken.None) is null)
        {
            throw new InvalidOperationException($"the state saved through the sidecar is not under {storedKey}");
        }

        var stateVia = await TimeAsync(ctx, "state get via sidecar (gRPC)", n, () => dapr.GetStateAsync<JsonElement>(store, "bench-hop-key"));
        var stateDirect = await TimeAsync(ctx, "state get, store called directly", n, () => direct.GetAsync(storedKey, CancellationToken.None));
        var value = System.Text.Encoding.UTF8.GetBytes("{\"name\":\"bench\",\"value\":42}");
        var saveVia = await TimeAsync(ctx, "state save via sidecar (gRPC)", n, () => dapr.SaveStateAsync(store, "bench-hop-key", new { name = "bench", value = 42 }));
        var saveDirect = await TimeAsync(ctx, "state save, store called directly", n, () => direct.SetAsync(new StateUpsert(storedKey, value, null, StateConcurrency.LastWrite, null), CancellationToken.None));
        var invokeVia = await TimeAsync(ctx, "invoke via sidecar (HTTP)", n, () => http.GetStringAsync($"{sidecar.HttpEndpoint}/v1.0/invoke/bench-hop/method/echo"));
        var invokeDirect = await TimeAsync(ctx, "invoke, app called directly", n, () => http.GetStringAsync($"http://127.0.0.1:{port}/echo"));
        var publishVia = await TimeAsync(ctx, "publish→deliver via sidecar", n, async () =>
        {
            var ts = Stopwatch.GetTimestamp();
            var tcs = delivered[ts] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await dapr.PublishEventAsync(DaprNames.PubSub, Topic, new { ts });
            await tcs.Task.WaitAsync(TimeSpan.FromSeconds(10));
        });
        var publishDirect = await TimeAsync(ctx, "deliver, CloudEvent POSTed directly", n, async () =>
        {
            var ts = Stopwatch.GetTimestamp();
            var tcs = delivered[ts] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var body = $$$"""{"specversion":"1.0","id":"{{{Guid.NewGuid()}}}","source":"bench","type":"com.dapr.event.sent","datacontenttype":"application/json","topic":"{{{Topic}}}","pubsubname":"{{{DaprNames.PubSub}}}","data":{"ts":{{{ts}}}}}""";
            using var content = new StringContent(body, Encoding.UTF8, "application/cloudevents+json");
            (await http.PostAsync($"http://127.0.0.1:{port}/hop", content)).EnsureSuccessStatusCode();
            await tcs.Task.WaitAsync(TimeSpan.FromSeconds(10));
        });

        foreach (var (name, via, without) in new[] { ("state get", stateVia, stateDirect), ("state save", saveVia, saveDirect), ("invoke", invokeVia, invokeDirect), ("publish→deliver", publishVia, publishDirect) })
        {
            result.Series.Add(via);
            result.Series.Add(without);
            result.Ratios[$"{name}: added p50 ms"] = via.Latency!.P50 - without.Latency!.P50;
            result.Ratios[$"{name}: added p99 ms"] = via.Latency!.P99 - without.Latency!.P99;
        }

        var added = new[] { "state get", "invoke", "publish→deliver" }.Max(h => result.Ratios[$"{h}: added p50 ms"]);
        result.Targets.Add(new TargetCheck("within Dapr's published per-hop figures, ≈ +0.5–1.7 ms at p50", $"largest added p50 {added:F2} ms", added <= 1.7));
        result.Notes.Add("State save is not one of issue 3's hops; it is here because each save on state.sqlite waits for its WAL commit to reach the disk (fsync), which both series pay.");
        result.Notes.Add($"State store: {store} ({system.Runtime.GetType().Name} of the embedded set: state.sqlite). Pub/sub: pubsub.in-memory. Client and sidecar in one process, over loopback.");
        return result;
    }

    private static async Task<Series> TimeAsync(BenchContext ctx, string name, int n, Func<Task> call)
    {
        for (var i = 0; i < Math.Min(50, n); i++)
        {
            await call();
        }

        var latency = new LatencyRecorder();
        var start = Stopwatch.GetTimestamp();
        await ctx.Progress(name, n, async tick =>
        {
            for (var i = 0; i < n; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                await call();
                latency.RecordSince(t0);
                tick();
            }
        });
        return new Series(name, latency.Snapshot(), new Dictionary<string, double>(StringComparer.Ordinal) { ["calls/s"] = n / Stopwatch.GetElapsedTime(start).TotalSeconds });
    }
}
