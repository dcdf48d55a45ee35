using System.Globalization;
using Chat.Bench.Reporting;
using Chat.Gateway.Hubs;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Bench.Scenarios;

/// <summary>
/// send→ack: the time until SendMessage returns (the message is stored and sequenced: sent ✓),
/// one sender at a time and with C concurrent senders (each in its own conversation, each
/// waiting for its ack before the next send); sends per second. Baseline: the relay hub's ack.
/// </summary>
internal static class SendScenario
{
    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var o = ctx.Options;
        var c = Math.Max(1, o.Concurrency);
        var result = new ScenarioResult("send", "send→ack latency and sends/s");
        result.Parameters["concurrent senders"] = c.ToString(CultureInfo.InvariantCulture);
        result.Parameters["seconds per series"] = o.SeriesSeconds.ToString(CultureInfo.InvariantCulture);
        var users = await ctx.UsersAsync(2 * c);
        var duration = TimeSpan.FromSeconds(o.SeriesSeconds);

        var hubs = await ctx.ConnectAsync(users);
        try
        {
            var conversations = await Task.WhenAll(Enumerable.Range(0, c).Select(async i =>
                (await hubs[2 * i].InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, users[2 * i + 1].UserId, Guid.NewGuid().ToString("N"), "hello"))).Message.ConversationId));
            foreach (var senders in new[] { 1, c })
            {
                result.Series.Add(await ctx.ClosedLoopAsync($"ours, {senders} sender(s)", senders, duration,
                    (i, _) => hubs[2 * i].InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(conversations[i], null, Guid.NewGuid().ToString("N"), "x")), "sends/s"));
            }
        }
        finally
        {
            await BenchContext.DisposeAllAsync(hubs);
        }

        var relay = await ctx.ConnectRelayAsync(users.Select(u => u.UserId).ToList());
        try
        {
            foreach (var senders in new[] { 1, c })
            {
                result.Series.Add(await ctx.ClosedLoopAsync($"baseline relay, {senders} sender(s)", senders, duration,
                    (i, _) => relay[2 * i].InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, users[2 * i + 1].UserId, "c", "x")), "sends/s"));
            }
        }
        finally
        {
            await BenchContext.DisposeAllAsync(relay);
        }

        result.Ratios["p50 (1 sender) / relay"] = LatencyScenario.Ratio(result.Series[0].Latency!.P50, result.Series[2].Latency!.P50);
        result.Ratios[$"sends/s ({c} senders) / relay"] = LatencyScenario.Ratio(result.Series[1].Metrics["sends/s"], result.Series[3].Metrics["sends/s"]);
        result.Notes.Add("Ack = SendMessage's return: membership check (directory), ConversationActor append (seq, dedup, SQLite writes), outbox publish.");
        return result;
    }
}
