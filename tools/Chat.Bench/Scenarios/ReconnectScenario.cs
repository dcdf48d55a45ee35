using System.Diagnostics;
using System.Globalization;
using Chat.Bench.Infrastructure;
using Chat.Bench.Reporting;
using Chat.Gateway.Hubs;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Bench.Scenarios;

/// <summary>
/// A reconnect storm: M connected clients all drop at once, then all come back at once; each
/// reconnects and syncs. Measures the time until every client is back and synced. Baseline:
/// the same storm against the relay hub (connect only: it has nothing to sync).
/// </summary>
internal static class ReconnectScenario
{
    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var m = Math.Max(1, ctx.Options.ReconnectClients);
        var result = new ScenarioResult("reconnect", $"storm: {m} clients drop and reconnect at once");
        result.Parameters["clients"] = m.ToString(CultureInfo.InvariantCulture);
        var users = await ctx.UsersAsync(m);
        var target = await ctx.TargetAsync();

        var hubs = await ctx.ConnectAsync(users);
        await Task.WhenAll(hubs.Select(h => h.StopAsync()));
        await BenchContext.DisposeAllAsync(hubs);

        var connector = new HubConnector();
        var each = new LatencyRecorder();
        var back = new HubConnection[m];
        var errors = 0;
        var start = Stopwatch.GetTimestamp();
        await ctx.Progress($"ours: {m} clients reconnect and sync", m, async tick =>
            await Task.WhenAll(Enumerable.Range(0, m).Select(async i =>
            {
                try
                {
                    back[i] = connector.Build(target.HubUrl, users[i].AccessToken);
                    await back[i].StartAsync();
                    await back[i].InvokeAsync<SyncResultDto>("Sync", new SyncArgs([], 0));
                    each.RecordSince(start);
                }
                catch (Exception ex) when (ex is Microsoft.AspNetCore.SignalR.HubException or HttpRequestException or IOException or InvalidOperationException)
                {
                    Interlocked.Increment(ref errors);
                }

                tick();
            })));
        var ours = Stopwatch.GetElapsedTime(start).TotalSeconds;
        await BenchContext.DisposeAllAsync(back);

        var relayEach = new LatencyRecorder();
        var ids = users.Select(u => u.UserId).ToList();
        var relay = await ctx.ConnectRelayAsync(ids);
        await Task.WhenAll(relay.Select(h => h.StopAsync()));
        await BenchContext.DisposeAllAsync(relay);
        var baselines = await ctx.BaselinesAsync();
        var relayBack = new HubConnection[m];
        start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, m).Select(async i =>
        {
            relayBack[i] = connector.Build($"{baselines.Url}{BaselineServer.RelayPath}?user={ids[i]}", null);
            await relayBack[i].StartAsync();
            relayEach.RecordSince(start);
        }));
        var relaySeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        await BenchContext.DisposeAllAsync(relayBack);

        result.Add("ours: time until each client is back and synced", each.Snapshot(), ("all back s", ours), ("errors", errors), ("clients/s", m / ours));
        result.Add("baseline relay: time until each client is back", relayEach.Snapshot(), ("all back s", relaySeconds), ("clients/s", m / relaySeconds));
        result.Ratios["all back / relay"] = LatencyScenario.Ratio(ours, relaySeconds);
        result.Notes.Add("Clients drop by closing their connections (the gateway runs OnDisconnected: a UserActor call each), then all reconnect at once; ours also calls Sync, the relay has nothing to sync.");
        return result;
    }
}
