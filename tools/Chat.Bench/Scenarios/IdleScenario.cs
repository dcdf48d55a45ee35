using System.Diagnostics;
using System.Globalization;
using Chat.Bench.Infrastructure;
using Chat.Bench.Reporting;
using Chat.ServiceDefaults.Auth;
using Microsoft.AspNetCore.SignalR.Client;
using Spectre.Console;

namespace Chat.Bench.Scenarios;

/// <summary>
/// Idle connection density: C connections held open, from 127.0.0.x source addresses. The
/// server runs as its own process, so its RSS (VmRSS in /proc/{pid}/status) is its own: the
/// gateway (started with its dev sidecar and the router by <c>run -f</c>, or the external
/// one given by --gateway-pid), the relay hub and the raw WebSocket echo (this tool's
/// <c>serve-baselines</c> in a fresh process each). RSS per connection = (RSS with C − RSS
/// with a few warm-up connections) / (C − warm-up).
/// </summary>
internal static class IdleScenario
{
    private const int WarmUp = 20;

    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var o = ctx.Options;
        var c = Math.Max(WarmUp + 1, o.Connections);
        var result = new ScenarioResult("idle", $"{c} idle connections: server RSS per connection");
        result.Parameters["connections"] = c.ToString(CultureInfo.InvariantCulture);
        result.Parameters["source addresses"] = $"127.0.0.2-127.0.0.{1 + o.SourceAddresses}";
        result.Parameters["open-file limit"] = ProcessTools.RaiseOpenFileLimit().ToString(CultureInfo.InvariantCulture);
        var sources = new SourceAddresses(o.SourceAddresses);
        var gen0Budgets = new Dictionary<string, string>(StringComparer.Ordinal);
        if (ProcessTools.RaiseOpenFileLimit() < c + 1000)
        {
            result.Notes.Add($"The open-file limit ({result.Parameters["open-file limit"]}) is below the connections plus overhead: a server process may fail before all are open.");
        }

        await using (var echo = await BaselineProcess.StartAsync())
        {
            result.Series.Add(await MeasureAsync(ctx, "baseline: raw WebSocket", echo.Pid, c,
                async _ => await EchoClient.ConnectAsync(echo.Url, sources, _ => { }, CancellationToken.None), gen0Budgets));
        }

        var connector = new HubConnector(sources);
        await using (var relay = await BaselineProcess.StartAsync())
        {
            result.Series.Add(await MeasureAsync(ctx, "baseline: SignalR relay hub", relay.Pid, c, async i =>
            {
                var h = connector.Build($"{relay.Url}{BaselineServer.RelayPath}?user=idle-{i}", null, skipNegotiation: true);
                await h.StartAsync();
                return h;
            }, gen0Budgets));
        }

        var tokens = BuildOutputs.DevTokens();
        SystemProcess? started = null;
        try
        {
            string gatewayUrl;
            int? pid;
            if (o.GatewayUrl is null)
            {
                ctx.Console.MarkupLine("[grey]starting router + gateway as processes (dapr-dev-sidecar run -f)…[/]");
                started = await SystemProcess.StartAsync(o.SqliteSynchronous);
                (gatewayUrl, pid) = (started.GatewayUrl, started.GatewayPid);
            }
            else
            {
                (gatewayUrl, pid) = (o.GatewayUrl, o.GatewayPid);
            }

            if (pid is null)
            {
                result.Notes.Add("No --gateway-pid given: the gateway's RSS was not measured.");
                return result;
            }

            var hubUrl = gatewayUrl.TrimEnd('/') + Chat.Gateway.GatewayServices.HubPath;
            var run = Guid.NewGuid().ToString("N")[..6];
            result.Series.Add(await MeasureAsync(ctx, "ours: gateway", pid.Value, c, async i =>
            {
                var token = tokens.IssueAccessToken(new ChatUser($"idle-{run}-{i}", "dev1", $"idle{i}"), out _);
                var h = connector.Build(hubUrl, token, skipNegotiation: true);
                await h.StartAsync();
                return h;
            }, gen0Budgets, started is null ? null : async () =>
            {
                await started.DisposeAsync();
                started = null;
            }));
        }
        finally
        {
            if (started is not null)
            {
                await started.DisposeAsync();
            }
        }

        var raw = result.Series[0].Metrics["RSS KiB/conn"];
        var relayKb = result.Series[1].Metrics["RSS KiB/conn"];
        var ours = result.Series[2].Metrics["RSS KiB/conn"];
        result.Ratios["RSS/conn / raw WebSocket"] = LatencyScenario.Ratio(ours, raw);
        result.Ratios["RSS/conn / relay hub"] = LatencyScenario.Ratio(ours, relayKb);
        result.Targets.Add(new TargetCheck("gateway RSS per connection ≤ 1.5× raw WebSocket", $"{ours:F1} vs {raw:F1} KiB ({LatencyScenario.Ratio(ours, raw):F2}×)", ours <= 1.5 * raw));
        result.Notes.Add("Connections are authenticated (JWT minted with the dev key of components/embedded) and the gateway registers each with its UserActor, as for a real user. Users: one per connection.");
        result.Notes.Add($"RSS includes whatever the GC keeps, so the gen0 budget of each server counts (DOTNET_GCgen0size: {string.Join(", ", gen0Budgets.Select(b => $"{b.Key} {b.Value}"))}); the latency column is the connect time of each connection.");
        return result;
    }

    private static async Task<Series> MeasureAsync(BenchContext ctx, string name, int pid, int count, Func<int, Task<IAsyncDisposable>> connect, Dictionary<string, string> gen0Budgets, Func<Task>? beforeClose = null)
    {
        var open = new IAsyncDisposable?[count];
        var latency = new LatencyRecorder();
        var errors = 0;
        try
        {
            for (var i = 0; i < WarmUp; i++)
            {
                // The first connections also wait for the server to be fully up (actor types registered).
                for (var attempt = 0; ; attempt++)
                {
                    try
                    {
                        open[i] = await connect(i);
                        break;
                    }
                    catch (Exception ex) when (attempt < 60 && ex is HttpRequestException or System.Net.WebSockets.WebSocketException or IOException)
                    {
                        await Task.Delay(500);
                    }
                }
            }

            await SettleAsync();
            var before = ProcessTools.RssBytes(pid);
            var start = Stopwatch.GetTimestamp();
            await ctx.Progress($"{name}: opening {count} connections", count - WarmUp, async tick =>
                await Parallel.ForEachAsync(Enumerable.Range(WarmUp, count - WarmUp), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
                {
                    var t0 = Stopwatch.GetTimestamp();
                    try
                    {
                        open[i] = await connect(i);
                        latency.RecordSince(t0);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or IOException or System.Net.WebSockets.WebSocketException or InvalidOperationException or TimeoutException or OperationCanceledException)
                    {
                        Interlocked.Increment(ref errors);
                    }

                    tick();
                }));
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            await SettleAsync();
            var after = ProcessTools.RssBytes(pid);
            var opened = open.Count(x => x is not null);
            var live = open.OfType<HubConnection>().Count(h => h.State == HubConnectionState.Connected);
            gen0Budgets[name] = ProcFs.EnvironmentVariable(pid, "DOTNET_GCgen0size") is { Length: > 0 } v && v != "0" ? v : "runtime default";
            return new Series(name, latency.Snapshot(), new Dictionary<string, double>(StringComparer.Ordinal)
            {
                ["open"] = opened,
                ["errors"] = errors,
                ["RSS before MiB"] = before / 1048576.0,
                ["RSS after MiB"] = after / 1048576.0,
                ["RSS KiB/conn"] = (after - before) / 1024.0 / Math.Max(1, opened - WarmUp),
                ["connects/s"] = (opened - WarmUp) / seconds,
                ["hub connected"] = live,
            });
        }
        finally
        {
            if (beforeClose is not null)
            {
                // Stop the server first: closing thousands of connections one by one would make it do work we do not measure.
                await beforeClose();
            }

            await Parallel.ForEachAsync(open.Where(x => x is not null), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (x, _) =>
            {
                try
                {
                    await x!.DisposeAsync();
                }
                catch (Exception ex) when (ex is IOException or System.Net.WebSockets.WebSocketException or OperationCanceledException)
                {
                }
            });
        }
    }

    /// <summary>Lets the server finish in-flight work before RSS is read.</summary>
    private static Task SettleAsync() => Task.Delay(TimeSpan.FromSeconds(3));
}
