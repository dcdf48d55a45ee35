using System.Diagnostics;
using System.Globalization;
using Chat.Bench.Reporting;
using Chat.Gateway.Hubs;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Bench.Scenarios;

/// <summary>
/// Catch-up: Bob is offline while Alice sends K messages; Bob connects and calls Sync until
/// has_more is false. Measures the whole catch-up and each Sync call.
/// </summary>
internal static class SyncScenario
{
    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var k = Math.Max(1, ctx.Options.SyncMissed);
        var result = new ScenarioResult("sync", $"catch-up of {k} missed messages");
        result.Parameters["missed"] = k.ToString(CultureInfo.InvariantCulture);
        var target = await ctx.TargetAsync();
        var alice = await target.RegisterAsync();
        var bob = await target.RegisterAsync();
        var aliceHub = (await ctx.ConnectAsync([alice]))[0];
        try
        {
            var first = await aliceHub.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, bob.UserId, Guid.NewGuid().ToString("N"), "m0"));
            await ctx.Progress($"alice sends {k} messages while bob is offline", k, async tick =>
                await BenchContext.ForEachAsync(Enumerable.Range(1, k - 1), 8, async i =>
                {
                    await aliceHub.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(first.Message.ConversationId, null, Guid.NewGuid().ToString("N"), $"m{i}"));
                    tick();
                    return i;
                }));
        }
        finally
        {
            await aliceHub.DisposeAsync();
        }

        var calls = new LatencyRecorder();
        var total = new LatencyRecorder();
        var start = Stopwatch.GetTimestamp();
        var bobHub = (await ctx.ConnectAsync([bob]))[0];
        var received = 0;
        var callCount = 0;
        try
        {
            var cursors = new List<SyncCursorDto>();
            while (true)
            {
                var t0 = Stopwatch.GetTimestamp();
                var sync = await bobHub.InvokeAsync<SyncResultDto>("Sync", new SyncArgs(cursors, 0));
                calls.RecordSince(t0);
                callCount++;
                foreach (var d in sync.Deltas)
                {
                    received += d.Messages.Count;
                    cursors.RemoveAll(c => c.ConversationId == d.ConversationId);
                    cursors.Add(new SyncCursorDto(d.ConversationId, d.Epoch, d.Messages.Count > 0 ? d.Messages.Max(m => m.Seq) : d.LastSeq));
                }

                if (!sync.HasMore && sync.Deltas.All(d => !d.HasMore))
                {
                    break;
                }
            }

            total.RecordSince(start);
        }
        finally
        {
            await bobHub.DisposeAsync();
        }

        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        result.Add("ours: connect + full catch-up", total.Snapshot(), ("messages", received), ("sync calls", callCount), ("messages/s", received / seconds));
        result.Add("ours: one Sync call", calls.Snapshot());
        result.Notes.Add($"Bob received {received} of {k} messages through {callCount} Sync call(s) (the server's page limit decides how many).");
        return result;
    }
}
